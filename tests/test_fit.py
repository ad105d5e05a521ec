"""The closed-form least-squares check against the optima stated for the seed's Q2 data (issue 5),
against the normal equations solved exactly in rational arithmetic, and against the seed's own
gradient-descent weights."""

from fractions import Fraction

import numpy as np
import pytest

import glassgrad as gg
from conftest import Q2_X, Q2_Y
from glassgrad.fit import least_squares

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
