"""Fitting models to data by gradient descent (the seed's Q2), checked against the exact answer.

``fit`` trains any formula's parameters on a data table (SGD or Adam on the mean squared error,
with the seed's log lines, a progress bar, early and divergence stops); ``least_squares`` and
``linear_least_squares`` give the closed-form optimum that a model linear in its parameters is
measured against; ``load_csv`` reads the data.

>>> import numpy as np
>>> from glassgrad.fit import least_squares
>>> fit = least_squares({"x": np.array([1.0, 2.0, 3.0])}, np.array([2.0, 4.0, 6.0]))
>>> round(fit.params["w_x"], 12), round(fit.params["b"], 12), round(fit.mse, 12)
(2.0, 0.0, 0.0)
"""

import importlib

# name -> the submodule that defines it. Loaded on first use (PEP 562), so that building the
# command line's parser, which registers `glassgrad fit`, does not import the training code.
_EXPORTS = {
    "fit": "training", "FitResult": "training", "Diverged": "training", "largest_stable_lr": "training",
    "Model": "model", "ModelError": "model", "LinearForm": "model",
    "LeastSquares": "closed_form", "least_squares": "closed_form", "linear_least_squares": "closed_form",
    "load_csv": "data", "read_csv": "data", "Table": "data", "DataError": "data",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
