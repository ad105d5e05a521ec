"""Anomaly mode: the first op that makes nan or inf, forward or backward, with its line and values.

The seed's Q3 (exp(100) overflows float32 inside log_exp) is the main case; the others cover
backward-only anomalies (sqrt at 0, the gradient of a / b overflowing), values passed on rather
than made, the switches (check_nan, check_inf, nesting, the decorator, set_detect_anomaly), and
that leaving the mode puts every record back as it was.
"""

import inspect
import math
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from conftest import EXAMPLES, run_like_notebook
from glassgrad.autograd import AnomalyError, detect_anomaly, set_detect_anomaly
from glassgrad.ops import REGISTRY

Q3 = EXAMPLES / "q3_stability.py"


def line_of(text, path=Q3):
    """The 1-based number of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def here(offset=0):
    """This test's line number (plus ``offset``): where the op under test is created."""
    return inspect.currentframe().f_back.f_lineno + offset


def records_snapshot():
    return {name: (op.forward, op.vjps, op.node_class) for name, op in REGISTRY.items()}


# ----- the seed's Q3 ----------------------------------------------------------------------------
def test_seed_q3_stops_at_exp_of_100_in_log_exp():
    with pytest.raises(AnomalyError) as caught:
        with detect_anomaly():
            run_like_notebook(Q3)
    error = caught.value
    assert isinstance(error, RuntimeError)
    assert (error.phase, error.op_name, error.kind, error.formula) == ("forward", "exp", "inf", "exp(x)")
    assert error.inputs["x"].tolist() == [100.0] and error.dtype == np.float32
    assert error.filename == str(Q3) and error.function == "log_exp"
    assert error.lineno == line_of("return -torch.log(torch.exp(x)/(torch.exp(x) + torch.exp(y)))")
    # The largest safe input: exp(88.72) is finite in float32, exp(88.73) is not.
    assert error.largest_safe_input == pytest.approx(math.log(np.finfo(np.float32).max), rel=1e-12)
    assert np.isfinite(np.exp(np.float32(88.72))) and np.isinf(np.exp(np.float32(88.73)))
    message = str(error)
    assert "\n" not in message
    for part in ("exp(x) produced inf", "x = [100]", f"q3_stability.py:{error.lineno} in log_exp",
                 "exp is finite in float32 only while x <= 88.7228", "float32"):
        assert part in message, (part, message)


def test_seed_q3_before_the_overflow_runs_unchanged(tmp_path):
    """Up to (50, 100) the seed's cells run in anomaly mode and print what they print without."""
    source = Q3.read_text()
    prefix = tmp_path / "q3_prefix.py"
    prefix.write_text(source[:source.index("x, y = torch.tensor([50.0]")])
    with detect_anomaly():
        printed = run_like_notebook(prefix)
    assert printed == run_like_notebook(prefix)
    assert "x.grad =  tensor([-0.7311])" in printed


def test_the_seeds_stable_version_still_overflows_past_88_7():
    stable_line = line_of("return torch.log(1+ torch.exp(y-x))")
    namespace = {}
    exec(compile(Q3.read_text().split("grad(log_exp, x, y)")[0], str(Q3), "exec"), namespace)
    exec(compile("\n" * (stable_line - 2) + "def stable_log_exp(x, y):\n"
                 "    return torch.log(1+ torch.exp(y-x))\n", str(Q3), "exec"), namespace)
    x, y = gg.tensor([0.0]), gg.tensor([100.0])
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        namespace["stable_log_exp"](x, y)
    assert caught.value.op_name == "exp" and caught.value.lineno == stable_line
    assert caught.value.inputs["x"].tolist() == [100.0]


# ----- only the op that makes the value -----------------------------------------------------------
def test_values_passed_on_are_not_anomalies_but_a_new_nan_is():
    x = gg.tensor([float("inf"), 1.0])
    with detect_anomaly():
        y = (x * 2 + 1).exp().sum()  # inf in, inf out: passed on
        assert math.isinf(y.item())
        with pytest.raises(AnomalyError) as caught:
            x - x  # inf - inf: a nan made here
    assert (caught.value.op_name, caught.value.kind) == ("sub", "nan")
    assert caught.value.index == (0,)


def test_a_nan_in_the_input_is_passed_on_silently():
    x = gg.tensor([float("nan"), 1.0], requires_grad=True)
    with detect_anomaly():
        y = (x.exp() * 3).sum()
        y.backward()
    assert math.isnan(y.item()) and math.isnan(x.grad[0].item())


def test_check_inf_false_lets_overflow_pass_and_finds_the_nan_it_causes():
    """A where done with a 0/1 mask: 0 * log(0) = 0 * -inf = nan, made by the mul."""
    x = gg.tensor([0.0, 2.0])
    mask = gg.tensor([0.0, 1.0])
    with detect_anomaly(check_inf=False):
        logs = gg.log(x)  # -inf: not checked
        with pytest.raises(AnomalyError) as caught:
            mask * logs + (1 - mask) * x  # line of the bad where
        assert gg.where(mask > 0, logs, x).tolist() == [0.0, float(np.log(np.float32(2)))]  # fine
    assert (caught.value.op_name, caught.value.kind) == ("mul", "nan")
    assert caught.value.lineno == line_of("mask * logs + (1 - mask) * x  # line", Path(__file__))


def test_check_nan_false_ignores_nan():
    with detect_anomaly(check_nan=False):
        assert math.isnan(gg.sqrt(gg.tensor(-1.0)).item())
        with pytest.raises(AnomalyError):
            gg.exp(gg.tensor(100.0))


# ----- backward --------------------------------------------------------------------------------
def test_sqrt_at_zero_is_a_backward_anomaly_at_the_line_that_created_it():
    x = gg.tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        root = x.sqrt()
        created = here(-1)
        loss = root.sum()
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    error = caught.value
    assert (error.phase, error.op_name, error.kind, error.grad_fn_name) == (
        "backward", "sqrt", "inf", "SqrtBackward0")
    assert error.formula == "1 / (2 * sqrt(x))" and error.input_index == 0
    assert error.lineno == created and error.filename == __file__
    assert error.inputs["g"].tolist() == [1.0, 1.0] and error.inputs["out"].tolist() == [0.0, 2.0]
    assert str(error).startswith("Function 'SqrtBackward0' returned inf values in its 0th output")


def test_a_node_shown_before_backward_keeps_its_line():
    x = gg.tensor([0.0], requires_grad=True)
    with detect_anomaly():
        root = x.sqrt()
        created = here(-1)
        assert type(root.grad_fn).__name__ == "SqrtBackward0"  # shown: takes PyTorch's class
        with pytest.raises(AnomalyError) as caught:
            root.sum().backward()
    assert caught.value.grad_fn_name == "SqrtBackward0" and caught.value.lineno == created


@pytest.mark.filterwarnings("ignore:Error detected in")  # torch's traceback of the forward call
def test_norm_of_zero_stops_at_sqrt_where_torch_stops_later():
    """sqrt(sum(x^2)) at x = 0: sqrt's gradient is inf (the first non-finite value), and only
    the next vjp turns it into nan, which is where PyTorch's anomaly mode (nan only) stops."""
    def norm(lib, x):
        return (x ** 2).sum().sqrt()
    x = gg.tensor([0.0, 0.0], requires_grad=True)
    with detect_anomaly():
        with pytest.raises(AnomalyError) as caught:
            norm(gg, x).backward()
    assert caught.value.grad_fn_name == "SqrtBackward0"
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.0, 0.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection"), torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="PowBackward0' returned nan"):
            norm(torch, t).backward()


def test_gradient_overflow_of_a_division_names_its_second_input():
    a = gg.tensor([1.0], requires_grad=True)
    b = gg.tensor([1e-30], requires_grad=True)  # a / b = 1e30 is fine; -a / b^2 = -1e60 is not
    with detect_anomaly():
        ratio = a / b
        created = here(-1)
        with pytest.raises(AnomalyError) as caught:
            ratio.sum().backward()
    error = caught.value
    assert (error.grad_fn_name, error.input_index, error.formula) == ("DivBackward0", 1, "-a/b^2")
    assert error.lineno == created and "in its 1st output" in str(error)


def test_nodes_created_before_the_mode_have_no_line():
    x = gg.tensor([0.0], requires_grad=True)
    root = x.sqrt()
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        root.backward()
    assert caught.value.lineno is None and "line unknown" in str(caught.value)


def test_anomaly_inside_a_create_graph_backward():
    x = gg.tensor([0.0], requires_grad=True)
    with detect_anomaly():
        y = x.exp() * x.sqrt()
        with pytest.raises(AnomalyError) as caught:
            gg.autograd.grad(y, x, create_graph=True)
    assert caught.value.op_name in ("sqrt", "div") and caught.value.kind == "inf"


# ----- what the message shows ----------------------------------------------------------------------
def test_big_inputs_are_shown_by_shape_and_the_offending_element():
    values = np.zeros(1000, dtype=np.float32)
    values[417] = 100.0
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        gg.exp(gg.tensor(values))
    assert caught.value.index == (417,)
    assert "x = shape [1000], [417] = 100" in str(caught.value)


def test_overflow_bounds_come_from_the_record_and_its_params():
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        gg.tensor([1e20]) ** 2
    (what, relation, bound), = caught.value.limits
    assert (what, relation) == ("|x|", "<=")
    assert bound == pytest.approx(math.sqrt(np.finfo(np.float32).max), rel=1e-12)
    assert REGISTRY["exp"].domain.limits(np.float64) == [("x", "<=", math.log(np.finfo(np.float64).max))]


# ----- switching ---------------------------------------------------------------------------------
def test_leaving_the_mode_restores_every_record_even_after_an_error():
    before = records_snapshot()
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            assert gg.autograd.is_anomaly_enabled()
            assert REGISTRY["exp"].forward is not before["exp"][0]
            gg.exp(gg.tensor(1000.0))
    assert not gg.autograd.is_anomaly_enabled()
    after = records_snapshot()
    assert all(after[name][0] is before[name][0] and after[name][1] is before[name][1]
               and after[name][2] is before[name][2] for name in before)


def test_decorator_and_nesting():
    @detect_anomaly(check_nan=False)
    def overflow(x):
        return gg.exp(x)

    with pytest.raises(AnomalyError):
        overflow(gg.tensor(100.0))
    assert not gg.autograd.is_anomaly_enabled()
    with detect_anomaly():
        assert gg.autograd.is_anomaly_check_nan_enabled()
        with detect_anomaly(check_nan=False):
            assert math.isnan(gg.log(gg.tensor(-1.0)).item())
        with pytest.raises(AnomalyError):
            gg.log(gg.tensor(-1.0))  # the outer setting is back


def test_set_detect_anomaly_as_a_call_and_as_a_block():
    try:
        set_detect_anomaly(True)
        assert gg.autograd.is_anomaly_enabled()
        with set_detect_anomaly(False):
            assert not gg.autograd.is_anomaly_enabled()
            gg.exp(gg.tensor(100.0))
        assert gg.autograd.is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert not gg.autograd.is_anomaly_enabled()
    assert REGISTRY["exp"].forward is np.exp


def test_gradients_are_unchanged_in_anomaly_mode():
    values = [0.3, -1.2, 2.5]

    def run():
        x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
        (gg.logsumexp(x * x, 0) + gg.sigmoid(x).sum()).backward()
        return x.grad.tolist()
    plain = run()
    with detect_anomaly():
        checked = run()
    assert checked == plain


@pytest.mark.filterwarnings("ignore:Error detected in")  # torch's traceback of the forward call
def test_a_where_done_with_a_mask_has_no_backward_anomaly_here_but_has_one_in_torch():
    """c * sqrt(x) + (1 - c) * x at x = 0, c = 0: sqrt's gradient is inf, times the mask's 0.
    PyTorch's anomaly mode stops at SqrtBackward0 (0 * inf = nan); glassgrad keeps a zero
    gradient zero through sqrt, so the gradient is the other branch's: 1."""
    def masked(lib, x, c):
        return c * x.sqrt() + (1 - c) * x

    x = gg.tensor([0.0], requires_grad=True)
    with detect_anomaly():
        masked(gg, x, gg.tensor([0.0])).sum().backward()
    assert x.grad.tolist() == [1.0]
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection"), torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="SqrtBackward0' returned nan"):
            masked(torch, t, torch.tensor([0.0])).sum().backward()
