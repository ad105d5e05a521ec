"""Worked backpropagation (issue 4): golden numbers, autograd/PyTorch/finite-difference agreement,
spec errors, overrides, renderers and the answer checker."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import glassgrad as gg
from glassgrad.worked import (AutogradMismatch, SpecError, check_answers, load_spec, parse_spec,
                              solve)
from glassgrad.worked.checker import normalise_name
from glassgrad.worked.verify import check_against_autograd

ROOT = Path(__file__).resolve().parent.parent
MAZUR = ROOT / "examples" / "mazur.toml"
Q4 = ROOT / "examples" / "q4.toml"
Q4_VALUES = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50,
             "w8": 0.55, "b_h1": 0.35, "b_h2": 0.35, "b_o1": 0.60, "b_o2": 0.60}


# ---- the golden test: Mazur's published numbers -----------------------------------------------

@pytest.fixture(scope="module")
def mazur():
    return solve(load_spec(MAZUR))


@pytest.mark.parametrize("name, digits, published", [
    ("E", 9, 0.298371109),
    ("dE/dw5", 9, 0.082167041),
    ("new w5", 8, 0.35891648),
    ("new w1", 9, 0.149780716),
    # his intermediate values along the way
    ("h1", 9, 0.593269992),
    ("o1", 8, 0.75136507),
    ("dE/do1", 8, 0.74136507),
    ("do1/dnet_o1", 9, 0.186815602),
    ("dE/dh1", 9, 0.036350306),
    ("dh1/dnet_h1", 9, 0.241300709),
    ("dE/dw1", 9, 0.000438568),
    ("new w6", 9, 0.408666186),
    ("new w8", 9, 0.561370121),
])
def test_mazur_reproduces_published_numbers(mazur, name, digits, published):
    assert round(mazur.value(name), digits) == published


def test_mazur_biases_are_not_updated_but_weights_are(mazur):
    rows = {row.name: row for row in mazur.updates}
    assert not rows["b1"].updated and rows["b1"].new == 0.35
    assert not rows["b2"].updated and rows["b2"].new == 0.60
    assert all(rows[f"w{i}"].updated for i in range(1, 9))
    assert mazur.new_loss < mazur.loss


# ---- q4: the same gradients as glassgrad autograd and PyTorch ---------------------------------

def q4_by_hand_with(lib):
    """The Q4 network written out neuron by neuron with `lib`'s tensors (glassgrad or torch)."""
    p = {n: lib.tensor(v, dtype=lib.float64, requires_grad=True) for n, v in Q4_VALUES.items()}
    x1, x2 = 0.05, 0.10
    h1 = lib.sigmoid(p["w1"] * x1 + p["w2"] * x2 + p["b_h1"])
    h2 = lib.sigmoid(p["w3"] * x1 + p["w4"] * x2 + p["b_h2"])
    o1 = p["w5"] * h1 + p["w6"] * h2 + p["b_o1"]
    o2 = p["w7"] * h1 + p["w8"] * h2 + p["b_o2"]
    loss = 0.5 * (o1 - 0.01) ** 2 + 0.5 * (o2 - 0.99) ** 2
    loss.backward()
    return loss.item(), {n: t.grad.item() for n, t in p.items()}


@pytest.fixture(scope="module")
def q4():
    return solve(load_spec(Q4))


def test_q4_spec_is_the_seed_network():
    spec = load_spec(Q4)
    assert [layer.activation for layer in spec.layers] == ["sigmoid", "linear"]
    assert spec.learning_rate == 10 and spec.targets == {"o1": 0.01, "o2": 0.99}
    assert {n: p.value for n, p in spec.parameters.items()} == Q4_VALUES
    assert all(p.updated for p in spec.parameters.values())


@pytest.mark.parametrize("library", ["glassgrad", "torch"])
def test_q4_gradients_match_autograd(q4, library):
    lib = gg if library == "glassgrad" else pytest.importorskip("torch")
    loss, gradients = q4_by_hand_with(lib)
    assert math.isclose(q4.loss, loss, rel_tol=1e-12)
    assert set(gradients) == set(q4.backward.gradients)
    for name, value in gradients.items():
        assert math.isclose(q4.value(f"dE/d{name}"), value, rel_tol=1e-10, abs_tol=1e-15), name


def test_q4_updates_use_learning_rate_ten(q4):
    for row in q4.updates:
        assert row.new == pytest.approx(row.old - 10 * row.gradient, rel=1e-15)
    # the second forward pass really runs on the new values
    assert q4.new_loss == pytest.approx(solve(load_spec(Q4, overrides=q4.final_parameters)).loss)


# ---- deeper networks: tanh / relu hidden layers, softmax, mse and cross-entropy ---------------

DEEP = """
title = "3 layers"
loss = "{loss}"
learning_rate = 0.1

[inputs]
x1 = 0.5
x2 = -1.2
x3 = 0.8

[targets]
y1 = 0.2
y2 = 0.7
y3 = 0.1

[[layers]]
size = 3
activation = "tanh"
weights = [[0.3, -0.2, 0.5], [0.1, 0.4, -0.6], [-0.7, 0.2, 0.3]]
biases = [0.1, -0.2, 0.05]

[[layers]]
neurons = ["g1", "g2"]
activation = "relu"
bias = 0.1

[[layers]]
size = 3
activation = "{output}"

[weights]
v1 = {{ from = "h1_1", to = "g1", value = 0.8 }}
v2 = {{ from = "h1_2", to = "g1", value = -0.5 }}
v3 = {{ from = "h1_3", to = "g1", value = 0.3 }}
v4 = {{ from = "h1_1", to = "g2", value = -0.9 }}
v5 = {{ from = "h1_2", to = "g2", value = -0.8 }}
v6 = {{ from = "h1_3", to = "g2", value = 0.4 }}
u1 = {{ from = "g1", to = "y1", value = 0.6 }}
u2 = {{ from = "g2", to = "y1", value = -0.3 }}
u3 = {{ from = "g1", to = "y2", value = 1.1 }}
u4 = {{ from = "g2", to = "y2", value = 0.2 }}
u5 = {{ from = "g1", to = "y3", value = -0.4 }}
u6 = {{ from = "g2", to = "y3", value = 0.9 }}

[biases]
b_y1 = 0.05
b_y2 = -0.1
b_y3 = 0.2
"""

DEEP_CASES = [("softmax", "cross_entropy"), ("softmax", "mse"), ("sigmoid", "mse"),
              ("linear", "mse"), ("sigmoid", "cross_entropy"), ("tanh", "half_squared_error")]


def deep_spec(output, loss, overrides=None):
    return parse_spec(DEEP.format(output=output, loss=loss), "deep.toml", overrides)


@pytest.mark.parametrize("output, loss", DEEP_CASES)
def test_deep_network_matches_finite_differences(output, loss):
    spec = deep_spec(output, loss)
    solution = solve(spec)  # also checked against glassgrad autograd inside
    step = 1e-6
    for name, parameter in spec.parameters.items():
        up = solve(deep_spec(output, loss, {name: parameter.value + step}), check=False).loss
        down = solve(deep_spec(output, loss, {name: parameter.value - step}), check=False).loss
        assert solution.value(f"dE/d{name}") == pytest.approx((up - down) / (2 * step),
                                                              rel=1e-6, abs=1e-9), name


def torch_deep_gradients(torch, spec):
    """The deep network with PyTorch matrices and PyTorch's own losses."""
    F = torch.nn.functional
    leaves = {n: torch.tensor(p.value, dtype=torch.float64, requires_grad=True)
              for n, p in spec.parameters.items()}
    values = torch.tensor(list(spec.inputs.values()), dtype=torch.float64)
    for layer in spec.layers:
        weights = torch.stack([torch.stack([leaves[w.name] for w in spec.incoming_weights(n)])
                               for n in layer.neurons])
        biases = torch.stack([leaves[spec.bias_of(n).name] for n in layer.neurons])
        net = weights @ values + biases
        if layer.activation == "softmax" and spec.loss == "cross_entropy":
            values = net  # F.cross_entropy takes the logits
        else:
            activation = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
                          "softmax": lambda t: torch.softmax(t, 0), "linear": lambda t: t}
            values = activation[layer.activation](net)
    targets = torch.tensor(list(spec.targets.values()), dtype=torch.float64)
    if spec.loss == "mse":
        loss = F.mse_loss(values, targets)
    elif spec.loss == "half_squared_error":
        loss = 0.5 * F.mse_loss(values, targets, reduction="sum")
    elif spec.output_layer.activation == "sigmoid":
        loss = F.binary_cross_entropy(values, targets, reduction="sum")
    else:
        loss = F.cross_entropy(values[None], targets[None], reduction="sum")
    loss.backward()
    return loss.item(), {n: t.grad.item() for n, t in leaves.items()}


@pytest.mark.parametrize("output, loss", DEEP_CASES)
def test_deep_network_matches_pytorch(output, loss):
    torch = pytest.importorskip("torch")
    spec = deep_spec(output, loss)
    solution = solve(spec)
    torch_loss, gradients = torch_deep_gradients(torch, spec)
    assert solution.loss == pytest.approx(torch_loss, rel=1e-12)
    for name, value in gradients.items():
        assert solution.value(f"dE/d{name}") == pytest.approx(value, rel=1e-9, abs=1e-15), name


def test_deep_network_has_a_dead_relu_and_the_sum_over_softmax_outputs():
    solution = solve(deep_spec("softmax", "cross_entropy"))
    values = solution.values()
    # g2's net input is negative here: relu passes no gradient to the weights into it
    assert values["net_g2"] < 0 and values["dg2/dnet_g2"] == 0
    assert values["dE/dv4"] == values["dE/dv5"] == values["dE/dv6"] == 0
    # softmax + cross-entropy: dE/dnet_j = o_j - target_j, reached through the full sum over k
    for neuron, target in [("y1", 0.2), ("y2", 0.7), ("y3", 0.1)]:
        assert values[f"dE/dnet_{neuron}"] == pytest.approx(values[neuron] - target, rel=1e-12)
    texts = {q.name: q.formula.text for q in solution.backward.quantities}
    assert texts["dE/dnet_y1"] == ("dE/dy1*dy1/dnet_y1 + dE/dy2*dy2/dnet_y1 + "
                                   "dE/dy3*dy3/dnet_y1")


def test_matrix_weights_are_numbered_like_mazur():
    spec = deep_spec("softmax", "cross_entropy")
    first = [p for p in spec.parameters.values() if p.layer == 1 and p.kind == "weight"]
    assert [(p.name, p.source, p.targets[0]) for p in first[:4]] == [
        ("w1", "x1", "h1_1"), ("w2", "x2", "h1_1"), ("w3", "x3", "h1_1"), ("w4", "x1", "h1_2")]
    assert spec.parameters["b2"].targets == ("g1", "g2")  # a shared bias named b<layer>


def test_matrix_form_of_mazur_gives_the_same_solution(mazur):
    text = MAZUR.read_text().split("# Mazur's numbering")[0]
    text = text.replace("bias = 0.35", "bias = 0.35\nweights = [[0.15, 0.20], [0.25, 0.30]]")
    text = text.replace("bias = 0.60", "bias = 0.60\nweights = [[0.40, 0.45], [0.50, 0.55]]")
    assert solve(parse_spec(text, "matrix.toml")).values() == mazur.values()


def test_several_steps_chain_their_updates(mazur):
    two = solve(load_spec(MAZUR, overrides={"steps": 2}))
    assert two.value("E") == mazur.value("E")
    assert two.value("step2 E") == pytest.approx(mazur.new_loss, rel=1e-15)
    again = solve(load_spec(MAZUR, overrides=mazur.final_parameters))
    assert two.value("step2 dE/dw5") == pytest.approx(again.value("dE/dw5"), rel=1e-15)
    assert two.new_loss < two.value("step2 E")


# ---- the autograd check can fail -------------------------------------------------------------

def test_a_wrong_hand_gradient_is_an_error():
    solution = solve(load_spec(MAZUR), check=False)
    solution.steps[0].backward.gradients["w5"] *= 1 + 1e-7
    with pytest.raises(AutogradMismatch, match=r"dE/dw5: the hand calculation"):
        check_against_autograd(solution)


def test_a_wrong_forward_value_is_an_error():
    solution = solve(load_spec(MAZUR), check=False)
    solution.final_forward.activations["o2"] += 1e-6
    with pytest.raises(AutogradMismatch, match=r"^new o2:"):
        check_against_autograd(solution)


def test_an_error_in_the_formulas_is_caught_by_solve(monkeypatch):
    from glassgrad.worked import solution as module
    original = module.activate
    monkeypatch.setattr(module, "activate",
                        lambda activation, net: original(activation, net) * (1 + 1e-8))
    with pytest.raises(AutogradMismatch):
        solve(load_spec(MAZUR))


# ---- spec errors ------------------------------------------------------------------------------

def mazur_with(old, new):
    text = MAZUR.read_text()
    assert old in text
    return text.replace(old, new, 1)


SPEC_ERRORS = [
    ("missing field", mazur_with('loss = "half_squared_error"\n', ""),
     r"^mazur\.toml: loss: missing field$"),
    ("unknown field", mazur_with("learning_rate = 0.5", "learning_rate = 0.5\nmomentum = 0.9"),
     r"^mazur\.toml:9: momentum: unknown field"),
    ("unknown layer field", mazur_with("bias = 0.35", "dropout = 0.5\nbias = 0.35"),
     r"^mazur\.toml:22: layers\[1\]\.dropout: unknown field"),
    ("unknown activation", mazur_with('activation = "sigmoid"\nbias = 0.60',
                                      'activation = "swish"\nbias = 0.60'),
     r"^mazur\.toml:26: layers\[2\]\.activation: unknown activation 'swish'"),
    ("softmax in a hidden layer", mazur_with('activation = "sigmoid"', 'activation = "softmax"'),
     r"^mazur\.toml:21: layers\[1\]\.activation: softmax is only allowed on the output layer"),
    ("unknown loss", mazur_with("half_squared_error", "hinge"),
     r"^mazur\.toml:7: loss: unknown loss 'hinge'"),
    ("cross-entropy on linear outputs",
     mazur_with('activation = "sigmoid"\nbias = 0.60', 'activation = "linear"\nbias = 0.60')
     .replace("half_squared_error", "cross_entropy"),
     r"^mazur\.toml:7: loss: cross_entropy needs a softmax or sigmoid output layer"),
    ("a weight missing", mazur_with('w8 = { from = "h2", to = "o2", value = 0.55 }\n', ""),
     r"^mazur\.toml:30: weights: layer 2 \(o1, o2\) needs 4 weights from \(h1, h2\), got 3; "
     r"missing h2->o2$"),
    ("a connection twice", mazur_with('w8 = { from = "h2"', 'w8 = { from = "h1"'),
     r"^mazur\.toml:38: weights\.w8: connection h1->o2 already has weight w7$"),
    ("a weight skipping a layer", mazur_with('w5 = { from = "h1"', 'w5 = { from = "i1"'),
     r"^mazur\.toml:35: weights\.w5: 'from' must be a neuron of the layer before o1"),
    ("a weight to nowhere", mazur_with('to = "o2", value = 0.55', 'to = "o9", value = 0.55'),
     r"^mazur\.toml:38: weights\.w8: 'to' names no neuron"),
    ("a weight without a value", mazur_with('to = "o1", value = 0.45 }', 'to = "o1" }'),
     r"^mazur\.toml:36: weights\.w6: missing field 'value'$"),
    ("a non-number", mazur_with("value = 0.45", 'value = "0.45x"'),
     r"^mazur\.toml:36: weights\.w6: expected a number, got '0\.45x'$"),
    ("a boolean is not a number", mazur_with("i2 = 0.10", "i2 = true"),
     r"^mazur\.toml:13: inputs\.i2: expected a number, got True$"),
    ("output neurons are not the targets", mazur_with('["o1", "o2"]', '["o1", "o3"]'),
     r"^mazur\.toml:25: layers\[2\]\.neurons: the output layer's neurons must be the targets"),
    ("an unknown parameter to update", mazur_with('update = "weights"', 'update = ["w9"]'),
     r"^mazur\.toml:9: update: no parameter named 'w9'$"),
    ("not TOML", mazur_with("i2 = 0.10", "i2 = "),
     r"^mazur\.toml: not valid TOML: .*line 13"),
    ("bias given twice", mazur_with("bias = 0.35", "bias = 0.35\nbiases = [0.3, 0.3]"),
     r"^mazur\.toml:22: layers\[1\]\.bias: give bias \(shared\) or biases"),
    ("zero steps", mazur_with("update =", "steps = 0\nupdate ="),
     r"^mazur\.toml:9: steps: expected a whole number of at least 1"),
]


@pytest.mark.parametrize("case, text, message", SPEC_ERRORS, ids=[c[0] for c in SPEC_ERRORS])
def test_spec_errors_name_the_field_and_line(case, text, message):
    with pytest.raises(SpecError, match=message) as error:
        parse_spec(text, "mazur.toml")
    assert "\n" not in str(error.value)
    assert isinstance(error.value, ValueError)


MATRIX_SPEC = """
loss = "mse"
learning_rate = 1
[inputs]
a = 1.0
b = 2.0
[targets]
y = 0.5
[[layers]]
size = 2
activation = "relu"
weights = [[0.1, 0.2, 0.3], [0.4, 0.5]]
[[layers]]
size = 1
activation = "linear"
weights = [[1.0, 1.0]]
"""


def test_a_matrix_of_the_wrong_shape_is_reported():
    with pytest.raises(SpecError, match=r"^m\.toml:12: layers\[1\]\.weights: expected 2 rows of 2 "
                                        r"weights \(2 neurons x 2 inputs\), got row lengths \[3, 2\]$"):
        parse_spec(MATRIX_SPEC, "m.toml")
    fixed = parse_spec(MATRIX_SPEC.replace("0.3], [", "], ["), "m.toml")
    assert [p.name for p in fixed.parameters.values()] == ["w1", "w2", "w3", "w4", "w5", "w6"]
    assert fixed.output_layer.neurons == ("y",)


def test_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "nope.toml")


# ---- overrides --------------------------------------------------------------------------------

def test_overrides_replace_values_before_solving(mazur):
    changed = solve(load_spec(MAZUR, overrides={"w1": 0.2, "learning_rate": 1}))
    edited = solve(parse_spec(mazur_with("value = 0.15", "value = 0.2")
                              .replace("learning_rate = 0.5", "learning_rate = 1"), "x"))
    assert changed.values() == edited.values()
    assert changed.value("new w1") == pytest.approx(0.2 - changed.value("dE/dw1"), rel=1e-15)
    assert changed.value("E") != mazur.value("E")


def test_overrides_accept_strings_inputs_targets_and_loss():
    spec = load_spec(MAZUR, overrides={"w1": "0.3", "i1": 1, "targets.o1": "0.5", "loss": "mse",
                                       "steps": "2"})
    assert spec.parameters["w1"].value == 0.3 and spec.inputs["i1"] == 1.0
    assert spec.targets["o1"] == 0.5 and spec.loss == "mse" and spec.steps == 2


@pytest.mark.parametrize("overrides, message", [
    ({"w9": 1}, r"override 'w9': unknown name"),
    ({"w1": "abc"}, r"override 'w1': expected a number, got 'abc'"),
    ({"loss": "hinge"}, r"override 'loss': unknown value 'hinge'"),
    ({"learning_rate": float("nan")}, r"override 'learning_rate': expected a finite number"),
])
def test_bad_overrides_are_spec_errors(overrides, message):
    with pytest.raises(SpecError, match=message):
        load_spec(MAZUR, overrides=overrides)


# ---- renderers --------------------------------------------------------------------------------

def test_text_shows_formulas_numbers_and_the_updates_table(mazur):
    text = mazur.text()
    assert "dE/dw5 = dE/do1*do1/dnet_o1*dnet_o1/dw5\n" in text
    assert "       = 0.7413650696*0.1868156018*0.5932699921\n       = 0.08216704056\n" in text
    assert "dE/dh1 = dE/dnet_o1*w5 + dE/dnet_o2*w7\n" in text  # the sum over the outputs fed
    assert "net_h1 = w1*i1 + w2*i2 + b1\n       = 0.15*0.05 + 0.2*0.1 + 0.35\n" in text
    assert "w5         0.4        0.08216704056    0.5            0.3589164797" in text
    assert "b1         0.35       0.01872560939    0.5            0.35 (not updated)" in text
    assert "E: 0.2983711088 -> 0.2910277737" in text
    assert "agrees with glassgrad's autograd" in text
    # calculation order: forward, backward (output layer first), updates, second forward
    order = ["h1 = ", "E = E_o1", "dE/dw5 =", "dE/dw1 =", "Updates", "new E ="]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_markdown_has_latex_math(mazur):
    markdown = mazur.markdown()
    assert markdown.startswith("# Mazur's step-by-step backpropagation example\n")
    assert (r"\frac{\partial E}{\partial w_{5}} &= \frac{\partial E}{\partial o_{1}} \cdot "
            r"\frac{\partial o_{1}}{\partial \mathrm{net}_{o1}} \cdot "
            r"\frac{\partial \mathrm{net}_{o1}}{\partial w_{5}}") in markdown
    assert "| $w_{5}$ | 0.4 | 0.08216704056 | 0.5 | 0.3589164797 |" in markdown
    assert markdown.count("$$") % 2 == 0


def test_to_dict_is_json_and_holds_every_quantity(mazur):
    data = json.loads(json.dumps(mazur.to_dict()))
    assert data["values"]["dE/dw5"] == mazur.value("dE/dw5")
    assert data["checked_against_autograd"] is True
    assert len(data["values"]) == len(mazur.quantities())  # names are unique
    step = data["steps"][0]
    assert step["backward"]["gradients"]["w1"] == mazur.value("dE/dw1")
    assert {"name": "w5", "old": 0.4, "gradient": mazur.value("dE/dw5"), "learning_rate": 0.5,
            "new": mazur.value("new w5"), "updated": True} in step["updates"]
    assert data["spec"]["parameters"][0] == {"name": "w1", "kind": "weight", "value": 0.15,
                                             "layer": 1, "from": "i1", "to": ["h1"],
                                             "updated": True}
    assert data["final_forward"]["loss"] == mazur.new_loss


# ---- the answer checker -----------------------------------------------------------------------

def test_checker_finds_the_first_wrong_step(mazur):
    answers = {"new w5": 0.3, "h1": 0.593269992, "dE/dw5": 0.0822, "dE/do1": 0.7413650,
               "do1/dnet_o1": 0.1868, "o1": 0.75136507, "E": 0.2984, "dE/dh1": 0.05}
    report = check_answers(mazur, answers)
    assert report.first_wrong.name == "dE/dh1"  # before new w5 in calculation order
    assert [c.name for c in report.checks if not c.is_right] == ["dE/dh1", "new w5"]
    assert report.score == (6, 8) and not report.all_correct
    text = report.text()
    assert ("First wrong step: dE/dh1 = 0.05; it should be dE/dnet_o1*w5 + dE/dnet_o2*w7 = "
            "0.1384985616*0.4 + (-0.03809823652)*0.5 = 0.03635030639") in text


def test_checker_all_right_and_tolerance(mazur):
    report = check_answers(mazur, {"E_total": 0.298371109, "∂E/∂w5": 0.082167041,
                                   "w5_new": 0.35891648})
    assert report.all_correct and report.first_wrong is None
    strict = check_answers(mazur, {"E": 0.2984}, rel_tol=1e-9)
    assert strict.first_wrong.name == "E"


def test_checker_reports_unknown_names_and_non_numbers(mazur):
    report = check_answers(mazur, {"o9": 1.0, "o1": "about 0.75"})
    assert report.unknown == ["o9"] and report.first_wrong.name == "o1"
    assert report.to_dict()["answers"] == [{"name": "o1", "given": "about 0.75",
                                            "correct": mazur.value("o1"), "right": False}]


def test_checker_suggests_the_names_an_unknown_one_may_be_a_slip_for(mazur):
    report = check_answers(mazur, {"dE/dW5": 0.0822, "h_1": 0.5933, "banana": 1.0})
    assert report.unknown == ["dE/dW5", "h_1", "banana"] and report.checks == []
    names = {q.name for q in mazur.quantities()}
    assert report.suggestions["dE/dW5"] == ["dE/dw5"]  # only the case differs: that one alone
    assert report.suggestions["h_1"][0] == "h1" and set(report.suggestions["h_1"]) <= names
    assert "banana" not in report.suggestions
    text = report.text()
    assert text.startswith("0 of 0 answers right") and "; 3 not in the solution\n" in text
    assert "  ?      dE/dW5: no quantity of that name in the solution (did you mean dE/dw5?)" in text
    assert "  ?      banana: no quantity of that name in the solution\n" in text


@pytest.mark.parametrize("spelling, name", [("E_total", "E"), ("∂E/∂w5", "dE/dw5"),
                                            ("dE_total/dw5", "dE/dw5"), ("new_w5", "new w5"),
                                            ("w5+", "new w5"), ("new E_total", "new E")])
def test_checker_accepts_common_spellings(spelling, name):
    assert normalise_name(spelling) == name


# ---- packaging --------------------------------------------------------------------------------

def test_import_glassgrad_does_not_load_worked():
    code = "import sys, glassgrad; print(any('worked' in m for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT / "src")}, check=True)
    assert result.stdout.strip() == "False"


def test_module_docstring_example_runs(monkeypatch):
    import doctest
    import glassgrad.worked as worked
    monkeypatch.chdir(ROOT)
    assert doctest.testmod(worked).failed == 0
