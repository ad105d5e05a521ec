"""The stability analyzer: bits of error against hand-counted ULP distances, ground truth against
closed forms and high-precision mpmath, the seed's formulas flagged at the inputs where they
overflow, and rewrites measured accurate."""

import doctest
import importlib
import json
import math

import numpy as np
import pytest

pytest.importorskip("sympy")
mpmath = pytest.importorskip("mpmath")

from glassgrad.expr import parse  # noqa: E402
from glassgrad.stability import (StabilityError, analyze, bits_of_error, ordinals,  # noqa: E402
                                 ulp_distance)
from glassgrad.stability.bits import from_ordinals  # noqa: E402
from glassgrad.stability.ground_truth import KNOWN, UNDEFINED, GroundTruth  # noqa: E402
from glassgrad.stability.rewrites import candidates  # noqa: E402
from glassgrad.stability.sampling import sample_inputs, uniform_floats  # noqa: E402

SEED = "-log(exp(x)/(exp(x)+exp(y)))"
SEED_ANSWER = "log(1 + exp(y - x))"
WIDE = {"x": (-100, 100), "y": (-100, 100)}
# exp overflows float32 above log(largest float32)
EXP_LIMIT_FLOAT32 = math.log(float(np.finfo(np.float32).max))

F32 = np.float32


def up(value, steps=1):
    for _ in range(steps):
        value = np.nextafter(value, type(value)(np.inf))
    return value


def down(value, steps=1):
    for _ in range(steps):
        value = np.nextafter(value, type(value)(-np.inf))
    return value


# ------------------------------------------------------------------------------------------------
# Bits of error
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("computed, true, ulps", [
    (up(F32(1), 2), F32(1), 2),
    (down(F32(1), 3), F32(1), 3),  # below 1 the floats are twice as dense: still 3 steps
    (up(F32(0)), down(F32(0)), 2),  # across zero: +tiny, 0, -tiny
    (F32(-0.0), F32(0.0), 0),
    (F32(np.inf), F32(np.finfo(np.float32).max), 1),
    (F32(np.finfo(np.float32).tiny), down(F32(np.finfo(np.float32).tiny)), 1),  # into subnormals
    (up(np.float64(1), 5), np.float64(1), 5),
    (np.float64(-2.5), down(np.float64(-2.5), 7), 7),
])
def test_bits_of_error_counts_ulps_as_nextafter_steps(computed, true, ulps):
    dtype = computed.dtype
    assert ulp_distance(computed, true, dtype) == ulps
    assert bits_of_error(computed, true, dtype) == pytest.approx(math.log2(1 + ulps))


def test_bits_of_error_at_the_extremes():
    largest = 0x7F800000  # the bit pattern of float32 +inf is its ordinal
    assert bits_of_error(-np.inf, np.inf, "float32") == pytest.approx(math.log2(1 + 2 * largest))
    assert bits_of_error(np.nan, 1.0, "float32") == 32
    assert bits_of_error(np.nan, 1.0, "float64") == 64
    assert np.isnan(bits_of_error(1.0, np.nan, "float32"))  # no true value: not measured
    # 1.0 and -1.0 in float64: twice the ordinal of 1.0 = 0x3FF0000000000000 steps apart
    assert ulp_distance(1.0, -1.0, "float64") == 2 * 0x3FF0000000000000


def test_ordinals_are_monotone_and_invertible():
    rng = np.random.default_rng(1)
    patterns = rng.integers(0, 2**32, size=4000, dtype=np.uint64).astype(np.uint32)
    values = patterns.view(np.float32)
    values = np.sort(values[np.isfinite(values)])
    positions = ordinals(values, "float32")
    assert np.all(np.diff(positions) >= 0)
    back = from_ordinals(positions, "float32")
    assert np.array_equal(back[values != 0], values[values != 0])


# ------------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------------

def test_samples_are_uniform_over_floats_not_over_reals():
    values = uniform_floats(-100, 100, 20000, "float32", np.random.default_rng(0))
    assert np.all(values.astype(np.float32) == values)  # every sample is a float32
    assert values.min() >= -100 and values.max() <= 100
    # the share of floats with |x| < 1 among those in [-100, 100]: ordinal(1) / ordinal(100)
    expected = ordinals(F32(1), "float32") / ordinals(F32(100), "float32")
    assert np.mean(np.abs(values) < 1) == pytest.approx(expected, abs=0.01)
    assert expected > 0.9  # a uniform real sample would put 1% there


def test_edge_points_come_first_and_cover_the_corners():
    samples = sample_inputs({"x": (-100, 100), "y": (0, 5)}, "float32", 10, seed=3)
    corners = set(zip(samples.points["x"][:samples.edges], samples.points["y"][:samples.edges]))
    assert {(-100, 0), (-100, 5), (100, 0), (100, 5), (0, 1)} <= corners
    assert samples.count == samples.edges + 10


# ------------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------------

def _truth(formula, dtype="float64", **inputs):
    expression = parse(formula)
    points = {name: np.atleast_1d(np.asarray(inputs[name], dtype=np.float64))
              for name in expression.names}
    return GroundTruth(points, dtype).of(expression.to_sympy())


@pytest.mark.parametrize("formula, inputs, expected", [
    ("exp(x) - 1", {"x": 1e-30}, 1e-30),  # the naive float64 answer is 0
    ("log(1 + x)", {"x": 1e-300}, 1e-300),
    ("sin(x)", {"x": 1e22}, -0.8522008497671888),  # needs ~70 digits of pi to reduce
    ("logaddexp(x, y)", {"x": 1000.0, "y": 1000.0}, 1000.6931471805599),
    ("sqrt(x)", {"x": 2.0}, 1.4142135623730951),
    ("pi * x", {"x": 1.0}, math.pi),
    ("exp(x) - 1", {"x": 1.0}, 1.7182818284590453),  # e - 1 rounded once (math.e - 1 is 1 ULP low)
    # mpmath's exp(2^-142) at 128 bits claims [1, 1]; the widened interval must not trust it
    ("exp(x) - 1", {"x": 1.517508933327316e-43}, 1.517508933327316e-43),
    ("cos(x) - 1", {"x": 1e-8}, -5e-17),
])
def test_ground_truth_matches_closed_forms(formula, inputs, expected):
    truth = _truth(formula, **inputs)
    assert truth.status[0] == KNOWN
    assert truth.value[0] == expected


def test_ground_truth_agrees_with_mpmath_at_high_precision():
    formula = "tanh(x) * exp(-y) + log1p(x ** 2) / (y - x) - cos(x * y)"
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(-30, 30, 60), rng.uniform(-30, 30, 60)
    truth = _truth(formula, x=xs, y=ys)
    with mpmath.workdps(60):
        for k, (x, y) in enumerate(zip(xs, ys)):
            x, y = mpmath.mpf(x), mpmath.mpf(y)
            exact = (mpmath.tanh(x) * mpmath.exp(-y) + mpmath.log1p(x ** 2) / (y - x)
                     - mpmath.cos(x * y))
            assert truth.value[k] == float(exact), (float(x), float(y))


def test_ground_truth_knows_where_there_is_no_answer():
    assert _truth("log(x)", x=-1.0).status[0] == UNDEFINED
    assert _truth("1 / x", x=0.0).status[0] == UNDEFINED
    log_zero = _truth("log(x)", x=0.0)
    assert log_zero.value[0] == -np.inf and not log_zero.finite[0]  # exact -inf, not an overflow
    overflow = _truth("exp(x)", dtype="float32", x=100.0)
    assert overflow.value[0] == np.inf and overflow.overflows[0]
    assert overflow.wide[0] == pytest.approx(math.exp(100))


def test_a_derivative_at_a_kink_has_no_answer():
    result = analyze("relu(x) * y", {"x": (-1, 1), "y": (1, 2)}, samples=50, rewrites=False)
    df_dx = result.quantities[1]
    assert df_dx.name == "df/dx" and df_dx.undefined >= 1  # the edge point x = 0


# ------------------------------------------------------------------------------------------------
# The seed
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_result():
    return analyze(SEED, WIDE, dtype="float32", samples=600, seed=0)


@pytest.fixture(scope="module")
def answer_result():
    return analyze(SEED_ANSWER, WIDE, dtype="float32", samples=600, seed=0)


def test_the_seed_is_flagged_where_y_minus_x_passes_the_exp_limit(seed_result):
    assert seed_result.flagged
    f = seed_result.quantities[0]
    assert f.name == "f" and f.non_finite > 0 and f.worst_bits > 25
    overflowing = [w for w in seed_result.worst_inputs if math.isinf(w.computed["f"])]
    assert overflowing
    for worst in overflowing:
        point = worst.point
        assert point["y"] - point["x"] > EXP_LIMIT_FLOAT32
        assert worst.exact["f"] == pytest.approx(point["y"] - point["x"], rel=1e-6)


def test_the_seed_error_starts_at_an_exp_that_overflows(seed_result):
    first = seed_result.first_error
    assert first.text in ("exp(x)", "exp(y)") and first.overflows > 0
    (variable,) = [name for name in ("x", "y") if name in first.text]
    assert first.example[variable] > EXP_LIMIT_FLOAT32 and first.computed == math.inf
    f_origins = dict(seed_result.non_finite[0].origins)
    assert set(f_origins) <= {"exp(x)", "exp(y)", "exp(x) + exp(y)"}


def test_the_seed_numbers_are_what_pytorch_computes(seed_result):
    torch = pytest.importorskip("torch")
    for worst in seed_result.worst_inputs:
        x = torch.tensor([worst.point["x"]], dtype=torch.float32, requires_grad=True)
        y = torch.tensor([worst.point["y"]], dtype=torch.float32, requires_grad=True)
        z = -torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))
        z.backward()
        for name, value in (("f", z), ("df/dx", x.grad), ("df/dy", y.grad)):
            ours, theirs = worst.computed[name], value.item()
            if math.isfinite(theirs):  # exp and log may differ by an ULP between libraries
                assert ulp_distance(ours, theirs, "float32") <= 4, name
            else:
                np.testing.assert_array_equal(ours, theirs, err_msg=name)


@pytest.mark.parametrize("which", ["seed_result", "answer_result"])
def test_softplus_rewrite_is_accurate_everywhere(which, request):
    result = request.getfixturevalue(which)
    best = result.rewrites[0]
    assert best.text == "softplus(y - x)"
    for quantity in best.quantities:
        assert quantity.average_bits <= 1.0, quantity.name
        assert quantity.non_finite == 0
        # the only loss left is y - x rounding before exp: relative error |y - x| * 2^-24
        assert quantity.worst_bits < 8, quantity.name


def test_the_seed_answer_is_flagged_too(answer_result):
    assert answer_result.flagged
    f = answer_result.quantities[0]
    assert f.non_finite > 0
    assert answer_result.first_error.text == "exp(y - x)"
    for worst in answer_result.worst_inputs:
        if math.isinf(worst.computed["f"]):
            assert worst.point["y"] - worst.point["x"] > EXP_LIMIT_FLOAT32


def test_logaddexp_form_is_offered_and_sympys_wrong_rewrite_is_rejected(seed_result):
    shown = [rewrite.text for rewrite in seed_result.rewrites]
    assert "logaddexp(x, y) - x" in shown
    rejected = {r.text: r.reason for r in seed_result.rejected}
    # SymPy's logsumexp_2terms_opt: max(a, b) + log1p(exp(min(a, b))) is not log(e^a + e^b)
    assert rejected["maximum(x, y) + log1p(exp(minimum(x, y))) - x"].startswith("not equivalent")


def test_the_seed_in_float64_loses_bits_to_cancellation_not_overflow():
    result = analyze(SEED, WIDE, dtype="float64", samples=300)
    f = result.quantities[0]
    assert f.non_finite == 0 and f.worst_bits > 40
    assert result.rewrites[0].text == "softplus(y - x)"
    assert all(q.average_bits <= 1 for q in result.rewrites[0].quantities)


# ------------------------------------------------------------------------------------------------
# Other formulas
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_product_is_exact(dtype):
    result = analyze("x * y", WIDE, dtype=dtype, samples=400)
    for quantity in result.quantities:
        assert quantity.average_bits == 0 and quantity.worst_bits == 0
    assert result.verdict == "accurate" and result.rewrites == [] and result.first_error is None


def test_exp_minus_one_is_fixed_by_sympys_expm1():
    result = analyze("exp(x) - 1", {"x": (-1, 1)}, dtype="float64", samples=300)
    assert result.quantities[0].average_bits > 30  # most floats in [-1, 1] are tiny
    assert result.first_error.text == "exp(x) - 1"
    best = result.rewrites[0]
    assert best.text == "expm1(x)" and best.average_bits <= 1


def test_inputs_outside_the_domain_are_counted_not_measured():
    result = analyze("sqrt(x)", {"x": (-1, 1)}, samples=400, rewrites=False)
    f = result.quantities[0]
    negative = int(np.sum(result.inputs()["x"] < 0))
    assert f.undefined == negative and f.measured == 400 + result.edge_points - negative


def test_log_of_sigmoid_becomes_log_sigmoid():
    result = analyze("log(sigmoid(x))", {"x": (-100, 100)}, samples=300)
    assert "log_sigmoid(x)" in [rewrite.text for rewrite in result.rewrites]


@pytest.mark.parametrize("formula, expected", [
    (SEED_ANSWER, "softplus(y - x)"),
    ("exp(x) - 1", "expm1(x)"),
    ("log(1 + x)", "log1p(x)"),
    ("1 / (1 + exp(-x))", "sigmoid(x)"),
    ("exp(x) / (exp(x) + exp(y))", "sigmoid(x - y)"),
    ("log(sigmoid(x))", "log_sigmoid(x)"),
    ("log(exp(x) + exp(y) + exp(z))", "logaddexp(z, logaddexp(x, y))"),
])
def test_rewrite_rules_propose(formula, expected):
    assert expected in [candidate.text for candidate in candidates(parse(formula))]


@pytest.mark.parametrize("formula", [SEED, SEED_ANSWER, "log(sigmoid(x)) + 1 / (1 + exp(y))",
                                     "log(exp(x) + exp(y) + exp(z))"])
def test_our_rewrites_are_the_same_function(formula):
    """Independent of the analyzer's own check: each rewrite (SymPy's wrong logsumexp_2terms_opt
    aside) has the formula's value at random points, in 40-digit mpmath."""
    original = parse(formula).to_sympy()
    rng = np.random.default_rng(5)
    for candidate in candidates(parse(formula)):
        if "logsumexp_2terms_opt" in candidate.origin:
            continue
        rewritten = parse(candidate.text).to_sympy()
        for _ in range(8):
            point = {s: rng.uniform(-20, 20) for s in original.free_symbols}
            a, b = (float(e.evalf(40, subs=point)) for e in (original, rewritten))
            assert b == pytest.approx(a, rel=1e-12, abs=1e-300), candidate


@pytest.mark.parametrize("ranges, message", [
    ({"z": (0, 1)}, "which the formula does not use"),
    ({"x": (5, 1)}, "empty"),
    ({"x": (0, math.inf)}, "finite"),
    ({"x": (0, 1e39)}, "beyond the largest float32"),
    ({"x": "a"}, "two numbers"),
])
def test_bad_ranges_are_named(ranges, message):
    with pytest.raises(StabilityError, match=message):
        analyze("x * y", ranges, samples=5)


def test_a_formula_without_variables_is_refused():
    with pytest.raises(StabilityError, match="no variables"):
        analyze("exp(2) - 1", samples=5)


def test_json_and_markdown(seed_result):
    data = json.loads(json.dumps(seed_result.to_dict(), allow_nan=False))
    assert data["verdict"] == "unstable" and data["rewrites"][0]["text"] == "softplus(y - x)"
    assert data["first_error"]["text"] in ("exp(x)", "exp(y)")
    assert any(w["computed"]["f"] == "inf" for w in data["worst_inputs"])
    markdown = seed_result.markdown()
    assert "| `softplus(y - x)` |" in markdown and "**Verdict:** UNSTABLE" in markdown


def test_plot_draws_one_panel_per_variable(seed_result, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "error.png"
    data = seed_result.plot(path)
    assert path.read_bytes() == data and data.startswith(b"\x89PNG")
    svg = seed_result.plot(tmp_path / "error.svg").decode()
    assert svg.count('id="axes_') == 2


@pytest.mark.parametrize("module", ["bits", "ground_truth", "rewrites", "analyze"])
def test_docstring_examples_hold(module):
    results = doctest.testmod(importlib.import_module(f"glassgrad.stability.{module}"))
    assert results.failed == 0 and results.attempted > 0


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def glassgrad_main(monkeypatch):
    """glassgrad.cli.main with the stability sub-command registered (as the lead will wire it)."""
    from glassgrad import cli
    from glassgrad.stability.cli import register

    build = cli.build_parser
    if "stability" not in build()._subparsers._group_actions[0].choices:
        def build_with_stability():
            parser = build()
            register(parser._subparsers._group_actions[0])
            return parser
        monkeypatch.setattr(cli, "build_parser", build_with_stability)
    return cli.main


def test_cli_json_for_the_seed(glassgrad_main, capsys):
    status = glassgrad_main(["stability", SEED, "--range", "x=-100:100", "--range", "y=-100:100",
                             "--samples", "200", "--json"])
    out = capsys.readouterr().out
    assert status == 0
    data = json.loads(out)
    assert data["verdict"] == "unstable" and data["rewrites"][0]["text"] == "softplus(y - x)"
    assert data["samples"] == 200 and data["ranges"] == {"x": [-100, 100], "y": [-100, 100]}


def test_cli_text_and_plot(glassgrad_main, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "error.png"
    status = glassgrad_main(["stability", SEED_ANSWER, "--samples", "100", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert status == 0 and plot.read_bytes().startswith(b"\x89PNG")
    assert "verdict: UNSTABLE" in out and "softplus(y - x)" in out and f"wrote {plot}" in out


@pytest.mark.parametrize("arguments, message", [
    (["x*y", "--range", "x=5:1"], "low 5 is above high 1"),
    (["x*y", "--range", "x=a:1"], "must be numbers"),
    (["x*y", "--range", "x"], "expected NAME=LOW:HIGH"),
    (["x*y", "--range", "z=0:1"], "does not use"),
    (["x*y", "--range", "x=0:1", "--range", "x=0:2"], "given twice"),
    (["x*y", "--range", "x=0:inf"], "finite"),
    (["exp(x", "--range", "x=0:1"], "never closed"),
    (["x*y", "--samples", "0"], "at least 1"),
    (["x*y", "--plot", "error.txt"], ".txt"),
])
def test_cli_usage_errors_are_one_line(glassgrad_main, capsys, arguments, message, tmp_path):
    status = glassgrad_main(["stability", *arguments])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("glassgrad stability: ")


def test_cli_plot_into_a_missing_folder_writes_nothing(glassgrad_main, capsys, tmp_path):
    target = tmp_path / "missing" / "error.png"
    status = glassgrad_main(["stability", "x*y", "--samples", "20", "--plot", str(target)])
    assert status == 2 and not target.exists() and not target.parent.exists()
    assert "does not exist" in capsys.readouterr().err
