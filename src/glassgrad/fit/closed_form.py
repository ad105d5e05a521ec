"""The exact least-squares optimum of a model linear in its parameters, y ~ b + sum_k w_k f_k.

Solved with NumPy's ``lstsq`` in float64 (a QR/SVD solve, not the normal equations, so a badly
conditioned design such as the seed's x and x^2 columns keeps its accuracy).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LeastSquares:
    """The optimum: parameters by name (``b`` for the bias, ``w_<feature>`` for the rest), the
    mean squared error there, and the design matrix's rank."""

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
    if len(y) == 0:
        raise ValueError("least_squares: no data")
    names = (["b"] if bias else []) + [f"w_{name}" for name in columns]
    design = np.column_stack(([np.ones_like(y)] if bias else []) + list(columns.values()))
    coefficients, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return LeastSquares(dict(zip(names, coefficients.tolist())), float(residual @ residual / len(y)),
                        int(rank))


def _as_column(name, values):
    array = np.asarray(getattr(values, "_data", values), dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"least_squares: {name!r} has a value that is not a finite number")
    return array
