"""Fitting models to data (the seed's Q2): the closed-form least-squares optimum as a check.

``least_squares`` solves a model that is linear in its parameters exactly, in float64, so a
gradient-descent fit can be compared with the best possible answer. The training loop, the
optimizers' use and the ``glassgrad fit`` command build on it (issue 5).

>>> import numpy as np
>>> fit = least_squares({"x": np.array([1.0, 2.0, 3.0])}, np.array([2.0, 4.0, 6.0]))
>>> round(fit.params["w_x"], 12), round(fit.params["b"], 12), round(fit.mse, 12)
(2.0, 0.0, 0.0)
"""

from .closed_form import LeastSquares, least_squares

__all__ = ["LeastSquares", "least_squares"]
