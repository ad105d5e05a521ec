"""The exact least-squares optimum of a model linear in its parameters, y ~ b + sum_k w_k f_k.

Solved with NumPy's ``lstsq`` in float64 (a QR/SVD solve, not the normal equations, so a badly
conditioned design such as the seed's x and x^2 columns keeps its accuracy).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LeastSquares:
    """The optimum: parameters by name, the mean squared error there, and the design matrix's
    rank (fewer than the parameters when some are redundant, as in ``b + c + w*x``)."""

    params: dict
    mse: float
    rank: int


def least_squares(features, target, bias=True):
    """The parameters minimising mean((target - (b + sum w_k * features[k]))^2).

    ``features`` maps names to 1-D arrays (or tensors) of equal length; ``target`` is the same
    length. Raises ValueError naming the problem for empty, ragged or non-finite data.
    """
    columns = {name: _as_column(name, values) for name, values in features.items()}
    y = _as_column("target", target)
    for name, column in columns.items():
        if len(column) != len(y):
            raise ValueError(f"least_squares: feature {name!r} has {len(column)} values, "
                             f"the target has {len(y)}")
    if bias:
        columns = {"b": np.ones_like(y), **{f"w_{name}": column for name, column in columns.items()}}
    else:
        columns = {f"w_{name}": column for name, column in columns.items()}
    return linear_least_squares(columns, y)


def linear_least_squares(columns, target):
    """The coefficients minimising mean((target - sum_k c_k * columns[k])^2), by name.

    The general form: any model linear in its parameters is a set of columns (one per parameter)
    once its offset is subtracted from the target.
    """
    columns = {name: _as_column(name, values) for name, values in columns.items()}
    y = _as_column("target", target)
    for name, column in columns.items():
        if len(column) != len(y):
            raise ValueError(f"least_squares: column {name!r} has {len(column)} values, "
                             f"the target has {len(y)}")
    if len(y) == 0:
        raise ValueError("least_squares: no data")
    design = np.column_stack(list(columns.values())) if columns else np.zeros((len(y), 0))
    coefficients, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return LeastSquares(dict(zip(columns, coefficients.tolist())), float(residual @ residual / len(y)),
                        int(rank))


def _as_column(name, values):
    array = np.asarray(getattr(values, "_data", values), dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"least_squares: {name!r} has a value that is not a finite number")
    return array
