"""Fitting (issue 5): the closed-form optimum against the optima stated for the seed's Q2 data and
the normal equations in exact arithmetic; the CSV reader's errors; models and their linear form
against columns computed by hand; training against PyTorch step for step and against the optimum."""

import contextlib
import io
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from conftest import Q2_X, Q2_Y
from glassgrad.fit import (DataError, Diverged, Model, ModelError, fit, largest_stable_lr,
                           least_squares, load_csv, read_csv)
from glassgrad.fit.seed import seed_initial_values
from glassgrad.fit.training import _Standardization

X, Y = Q2_X, Q2_Y
x, y = np.array(X), np.array(Y)


def test_the_three_seed_models_reach_the_stated_optima():
    quadratic = least_squares({"x": x, "x2": x * x}, y)
    assert quadratic.params["b"] == pytest.approx(0.5344, abs=5e-5)
    assert quadratic.params["w_x"] == pytest.approx(41.9708, abs=5e-5)
    assert quadratic.params["w_x2"] == pytest.approx(0.000119, abs=5e-7)
    assert quadratic.mse == pytest.approx(1.17263, abs=5e-6)
    linear = least_squares({"x": x}, y)
    assert (linear.params["b"], linear.params["w_x"]) == (pytest.approx(0.5316, abs=5e-5),
                                                          pytest.approx(41.9721, abs=5e-5))
    assert linear.mse == pytest.approx(1.17263, abs=5e-6)
    no_bias = least_squares({"x": x}, y, bias=False)
    assert no_bias.params == {"w_x": pytest.approx(42.0567, abs=5e-5)}
    assert no_bias.mse == pytest.approx(1.22084, abs=5e-6)


def test_agrees_with_the_normal_equations_in_exact_arithmetic():
    xs, ys = [Fraction(v) for v in X], [Fraction(v) for v in Y]
    n, sx, sy = len(xs), sum(xs), sum(ys)
    sxx, sxy = sum(a * a for a in xs), sum(a * b for a, b in zip(xs, ys))
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    intercept = (sy - slope * sx) / n
    fit = least_squares({"x": x}, y)
    assert fit.params["w_x"] == pytest.approx(float(slope), rel=1e-12)
    assert fit.params["b"] == pytest.approx(float(intercept), rel=1e-9)


def test_gradient_descent_approaches_the_optimum():
    # the seed's Model 3 after 10 epochs printed w = 42.0557; the optimum is 42.0567
    w = gg.zeros(1, 1, requires_grad=True)
    xt, yt = gg.tensor(X).view(-1, 1), gg.tensor(Y).view(-1, 1)
    for _ in range(10):
        error = xt @ w.T - yt
        loss = (error.T @ error) / len(yt)
        loss.backward()
        with gg.no_grad():
            w -= 0.01 * w.grad
            w.grad.zero_()
    optimum = least_squares({"x": x}, y, bias=False).params["w_x"]
    assert abs(w.item() - optimum) < 2e-3


def test_tensors_are_accepted_and_bad_data_is_named():
    assert least_squares({"x": gg.tensor(X)}, gg.tensor(Y)).params["w_x"] == pytest.approx(41.9721, abs=1e-3)
    with pytest.raises(ValueError, match="feature 'x' has 3 values, the target has 2"):
        least_squares({"x": [1.0, 2.0, 3.0]}, [1.0, 2.0])
    with pytest.raises(ValueError, match="'target' has a value that is not a finite number"):
        least_squares({"x": [1.0, 2.0]}, [1.0, float("nan")])
    with pytest.raises(ValueError, match="no data"):
        least_squares({"x": []}, [])


# ----- the data file ---------------------------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_q2_csv_holds_the_seed_data_exactly():
    table = load_csv(EXAMPLES / "q2.csv")
    assert table.columns == ("x", "y") and table.rows == 20
    assert table.column("x").tolist() == X and table.column("y").tolist() == Y


@pytest.mark.parametrize("text, message", [
    ("", "demo.csv: the file is empty; the first line must name the columns"),
    ("x,y\n", "demo.csv: no data rows after the header"),
    ("x,y\n1,2\n3,\n", "demo.csv:3: column 'y' has no value"),
    ("x,y\n1,2\n3,abc\n", "demo.csv:3: column 'y': 'abc' is not a number"),
    ("x,y\n1,2\nnan,4\n", "demo.csv:3: column 'x': 'nan' is not a finite number"),
    ("x,y\n1,2,3\n", "demo.csv:2: 3 values, but the header names 2 columns (x, y)"),
    ("1,2\n3,4\n", "demo.csv:1: the first line must name the columns, but column 1 is the number 1"),
    ("x,x\n1,2\n", "demo.csv:1: column 'x' appears twice"),
    ("x,my col\n1,2\n", "demo.csv:1: column name 'my col' cannot be used in a formula"),
    ("x,\n1,2\n", "demo.csv:1: column 2 has no name"),
])
def test_bad_csv_is_named_by_line_and_column(text, message):
    with pytest.raises(DataError) as error:
        read_csv(io.StringIO(text), name="demo.csv")
    assert str(error.value).startswith(message)


def test_blank_lines_are_skipped_and_line_numbers_stay_true():
    table = read_csv(io.StringIO("x,y\n\n1,2\n\n3,4\n"), name="d.csv")
    assert table.column("y").tolist() == [2.0, 4.0]
    with pytest.raises(DataError, match=r"d.csv:5: column 'y' has no value"):
        read_csv(io.StringIO("x,y\n\n1,2\n\n3,\n"), name="d.csv")


# ----- the model -------------------------------------------------------------------------------
def test_names_that_are_columns_are_inputs_and_the_rest_parameters():
    model = Model("b + w1*x + w2*x**2 + c*z", columns=("x", "z", "y"))
    assert model.inputs == ("x", "z") and model.parameters == ("b", "w1", "w2", "c")


@pytest.mark.parametrize("formula, kwargs, message", [
    ("x**2", {}, "has no parameters"),
    ("a + b*t", {}, "uses no data column (the columns are x)"),
    ("b + w*x + y", {"target": "y"}, "the model uses 'y', the column it is fitted to"),
    ("b + w*z", {"parameters": ["b", "w"]}, "names 'z', which is neither a data column (x) nor a parameter (b, w)"),
    ("b + w*x", {"parameters": ["b", "w", "c"]}, "parameter 'c' does not appear"),
    ("b + x*x", {"parameters": ["b", "x"]}, "parameter 'x' is also a data column"),
])
def test_models_that_cannot_be_fitted_are_refused_in_one_line(formula, kwargs, message):
    with pytest.raises(ModelError, match=re.escape(message)):
        Model(formula, columns=("x",), **kwargs)


def test_linear_form_equals_the_columns_computed_by_hand():
    x = np.linspace(0.5, 3.0, 7)
    form = Model("3 - (w*x)/2 + b*(x + 1) + sin(x)*c - -d", columns=("x",)).linear_form({"x": x})
    np.testing.assert_allclose(form.offset, 3.0, rtol=0, atol=0)
    np.testing.assert_allclose(form.columns["w"], -x / 2, rtol=1e-15)
    np.testing.assert_allclose(form.columns["b"], x + 1, rtol=1e-15)
    np.testing.assert_allclose(form.columns["c"], np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(form.columns["d"], 1.0, rtol=0)


@pytest.mark.parametrize("formula, culprit", [
    ("a*exp(k*x)", "exp(k * x)"), ("a*b*x", "a * b"), ("x**p", "x ** p"), ("x/w", "x / w"),
])
def test_nonlinear_models_have_no_linear_form_and_say_where(formula, culprit):
    model = Model(formula, columns=("x",))
    assert model.linear_form({"x": np.array([1.0, 2.0])}) is None
    assert culprit in model.nonlinear_reason


def test_the_predictor_computes_the_formula():
    x = np.array([0.5, 1.0, 2.0])
    model = Model("a*exp(-k*x) + sigmoid(x)/(1 + c) - 2", columns=("x",))
    predict = model.predictor({"x": gg.tensor(x, dtype=gg.float64)}, gg.float64)
    params = {"a": 1.5, "k": 0.3, "c": 0.25}
    values = predict({n: gg.tensor(v, dtype=gg.float64) for n, v in params.items()}).numpy()
    np.testing.assert_allclose(values, 1.5 * np.exp(-0.3 * x) + 1 / (1 + np.exp(-x)) / 1.25 - 2, rtol=1e-15)


# ----- fitting ---------------------------------------------------------------------------------
SEED_FORMULAS = [("b + w1*x + w2*x**2", {"b": "b", "w1": "w_x", "w2": "w_x2"}, True),
                 ("b + w1*x", {"b": "b", "w1": "w_x"}, True),
                 ("w1*x", {"w1": "w_x"}, False)]


@pytest.mark.parametrize("formula, names, bias", SEED_FORMULAS)
def test_fit_reports_the_same_optimum_as_the_independent_solve(formula, names, bias):
    features = {"x": x, "x2": x * x} if "w2" in formula else {"x": x}
    independent = least_squares(features, y, bias=bias)
    result = fit(formula, {"x": x, "y": y}, epochs=1, lr=1e-6)
    for ours, theirs in names.items():
        assert result.optimum.params[ours] == pytest.approx(independent.params[theirs], rel=1e-12)
    assert result.optimum.mse == pytest.approx(independent.mse, rel=1e-12)


@pytest.mark.parametrize("formula, names, bias", SEED_FORMULAS)
def test_standardized_float64_descent_reaches_the_optimum(formula, names, bias):
    result = fit(formula, {"x": x, "y": y}, lr=0.3, epochs=20000, dtype=gg.float64,
                 standardize=True, patience=200)
    assert result.epochs < 20000  # it converged and stopped by itself
    for name, gap in result.param_gaps.items():
        assert abs(gap) <= 1e-6 * max(1.0, abs(result.optimum.params[name])), name
    assert result.loss_gap == pytest.approx(0, abs=1e-10)
    assert result.loss == pytest.approx(result.optimum.mse, rel=1e-10)


def test_standardization_maps_parameters_back_exactly():
    form = Model("b + w1*x + w2*x**2", columns=("x",)).linear_form({"x": x})
    scaling = _Standardization(form)
    original = {"b": 0.7, "w1": 41.0, "w2": -0.3}
    standardized = scaling.to_standardized(original)
    back = scaling.to_original(standardized)
    assert back == {k: pytest.approx(v, rel=1e-13) for k, v in original.items()}
    # the same predictions from both parameterisations
    direct = sum(original[p] * form.columns[p] for p in original)
    through = sum(standardized[p] * scaling.columns[p] for p in standardized)
    np.testing.assert_allclose(through, direct, rtol=1e-12)
    for p, column in scaling.columns.items():
        if p != "b":
            assert abs(column.mean()) < 1e-12 and column.std() == pytest.approx(1, rel=1e-12)


def test_seed_model_3_matches_the_seeds_pytorch_loop_step_for_step():
    torch = pytest.importorskip("torch")
    init = seed_initial_values("w1*x", seed=0)
    torch.manual_seed(0)
    assert init["w1"] == torch.normal(0, 0.01, size=(1, 1)).item()  # the seed's own draw
    w = torch.tensor(init["w1"], requires_grad=True)
    xt, yt = torch.tensor(X), torch.tensor(Y)
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.mse_loss(w * xt, yt)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad  # the seed's sgd_step
            w.grad.zero_()
    for compiled in (True, False):
        result = fit("w1*x", {"x": x, "y": y}, lr=0.01, epochs=10, init=init, compile=compiled)
        assert result.params["w1"] == w.item()
        # float32 sums of 20 terms round differently in PyTorch's vectorised order and NumPy's
        # pairwise one (a few ulps of the loss); the gradient path agrees to the bit, as w shows
        assert result.losses.tolist() == pytest.approx(losses, rel=16 * 2.0 ** -24)


@pytest.mark.parametrize("optimizer, kwargs", [("sgd", {}), ("sgd", {"momentum": 0.9}), ("adam", {})])
def test_compiled_fit_equals_eager_fit_bit_for_bit(optimizer, kwargs):
    runs = [fit("b + w1*x + w2*x**2", {"x": x, "y": y}, optimizer=optimizer, epochs=300,
                lr=1e-4 if optimizer == "sgd" else 0.1, compile=compiled, **kwargs)
            for compiled in (True, False)]
    assert runs[0].params == runs[1].params
    assert runs[0].losses.tolist() == runs[1].losses.tolist()


def test_adam_and_momentum_match_pytorch():
    torch = pytest.importorskip("torch")
    for optimizer, kwargs in (("adam", {}), ("sgd", {"momentum": 0.9})):
        b = torch.tensor(0.0, requires_grad=True)
        w = torch.tensor(0.0, requires_grad=True)
        xt, yt = torch.tensor(X), torch.tensor(Y)
        opt = (torch.optim.Adam([b, w], lr=0.5) if optimizer == "adam"
               else torch.optim.SGD([b, w], lr=0.001, **kwargs))
        for _ in range(50):
            opt.zero_grad()
            torch.nn.functional.mse_loss(b + w * xt, yt).backward()
            opt.step()
        result = fit("b + w*x", {"x": x, "y": y}, optimizer=optimizer, epochs=50,
                     lr=0.5 if optimizer == "adam" else 0.001, **kwargs)
        assert result.params["b"] == pytest.approx(b.item(), rel=1e-6)
        assert result.params["w"] == pytest.approx(w.item(), rel=1e-6)


def test_the_seed_log_line_every_n_epochs():
    lines = []
    result = fit("w1*x", {"x": x, "y": y}, lr=0.01, epochs=10, log_every=3,
                 logger=lambda epoch, loss: lines.append((epoch, loss)))
    assert lines == [(e + 1, result.losses[e]) for e in (0, 3, 6, 9)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fit("w1*x", {"x": x, "y": y}, lr=0.01, epochs=2, log_every=1)
    assert re.fullmatch(r"epoch: 1 --> loss \d+\.\d+\nepoch: 2 --> loss \d+\.\d+\n", out.getvalue())


def test_divergence_stops_at_the_first_bad_epoch_with_a_learning_rate_that_works():
    data = {"x": x, "y": y}
    with pytest.raises(Diverged) as error:
        fit("b + w1*x + w2*x**2", data, lr=0.01, epochs=100000)
    limit = largest_stable_lr(Model("b + w1*x + w2*x**2", ("x",)).linear_form({"x": x}).columns)
    message = str(error.value)
    assert message.startswith(f"the loss became inf at epoch {error.value.epoch} (sgd, lr 0.01)")
    assert f"stable only for lr < {limit:.3g}" in message and error.value.epoch < 100
    assert np.all(np.isfinite(error.value.result.losses))
    suggested = float(re.search(r"try lr ([0-9.e-]+)", message).group(1))
    assert suggested < limit
    # the bound is the real edge: just below it descent converges, just above it blows up
    fit("b + w1*x + w2*x**2", data, lr=0.98 * limit, epochs=3000, dtype=gg.float64)
    with pytest.raises(Diverged):
        fit("b + w1*x + w2*x**2", data, lr=1.02 * limit, epochs=100000, dtype=gg.float64)


def test_patience_stops_once_the_loss_stops_improving():
    result = fit("b + w*x", {"x": x, "y": y}, lr=0.3, epochs=50000, standardize=True, patience=50)
    assert result.epochs < 2000 and result.stopped.startswith("stopped early")
    best = int(np.argmin(result.losses))
    assert result.epochs - 1 - best == 50


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; choose from sgd, adam"),
    ({"lr": -1.0}, "the learning rate must be a positive number, got -1.0"),
    ({"epochs": 0}, "epochs must be a positive whole number, got 0"),
    ({"optimizer": "adam", "momentum": 0.9}, "momentum applies to sgd only"),
    ({"init": {"q": 1.0}}, "init: 'q' is not a parameter of the model (b, w)"),
    ({"target": "z"}, "no column 'z' to fit to (the columns are x, y)"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ModelError, match=re.escape(message)):
        fit("b + w*x", {"x": x, "y": y}, **kwargs)


def test_standardize_refuses_a_nonlinear_model():
    with pytest.raises(ModelError, match=re.escape("needs a model linear in its parameters; in "
                                                   "'a*exp(k*x)' a parameter enters 'exp(k * x)'")):
        fit("a*exp(k*x)", {"x": x, "y": y}, standardize=True)


def test_a_nonlinear_model_fits_without_a_closed_form():
    xs = np.linspace(0, 2, 30)
    result = fit("a*exp(k*x)", {"x": xs, "y": 2.0 * np.exp(0.7 * xs)}, optimizer="adam", lr=0.05,
                 epochs=3000, init={"a": 1.0, "k": 0.1}, dtype=gg.float64)
    assert result.optimum is None and "exp(k * x)" in result.nonlinear_reason
    assert result.params == {"a": pytest.approx(2.0, rel=1e-4), "k": pytest.approx(0.7, rel=1e-4)}


def test_progress_bar_shows_the_fraction_done_and_clears_its_line():
    from glassgrad.fit.progress import ProgressBar
    stream = io.StringIO()
    bar = ProgressBar(200, stream=stream, delay=0.0, interval=0.0)
    bar.update(50, 1.5)
    drawn = stream.getvalue()
    assert drawn.startswith("\r[######..................]  25% epoch 50/200 loss 1.5 (")
    bar.close()
    assert stream.getvalue()[len(drawn):] == "\r" + " " * 100 + "\r"
    quiet = io.StringIO()
    ProgressBar(200, stream=quiet, delay=60.0).update(50, 1.5)  # a short run draws nothing
    assert quiet.getvalue() == ""
