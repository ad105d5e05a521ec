"""Fitting models to data by gradient descent (the seed's Q2), checked against the exact answer.

``fit`` trains any formula's parameters on a data table (SGD or Adam on the mean squared error,
with the seed's log lines, a progress bar, early and divergence stops); ``least_squares`` and
``linear_least_squares`` give the closed-form optimum that a model linear in its parameters is
measured against; ``load_csv`` reads the data.

>>> import numpy as np
>>> fit = least_squares({"x": np.array([1.0, 2.0, 3.0])}, np.array([2.0, 4.0, 6.0]))
>>> round(fit.params["w_x"], 12), round(fit.params["b"], 12), round(fit.mse, 12)
(2.0, 0.0, 0.0)
"""

from .closed_form import LeastSquares, least_squares, linear_least_squares
from .data import DataError, Table, load_csv, read_csv
from .model import LinearForm, Model, ModelError
from .training import Diverged, FitResult, fit, largest_stable_lr

__all__ = ["fit", "FitResult", "Diverged", "Model", "ModelError", "LinearForm", "LeastSquares",
           "least_squares", "linear_least_squares", "largest_stable_lr", "load_csv", "read_csv",
           "Table", "DataError"]
