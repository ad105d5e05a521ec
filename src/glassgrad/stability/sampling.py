"""The inputs a formula is measured on: uniform over the floating-point values of each variable's
range (uniform over the ordered bit patterns, as Herbie samples), plus the range's edge points.

Uniform over floats, not over reals: a range like [-100, 100] holds as many floats in [1e-30, 1e-29]
as in [10, 100], and formulas fail at both ends of the exponent range (cancellation near zero,
overflow at the top), so each binade gets its share.
"""

import itertools
from typing import NamedTuple

import numpy as np

from .bits import float_dtype, from_ordinals, ordinals

# Edge points per formula beyond which a random subset (always with both corners) is kept.
MAX_EDGE_POINTS = 64


class Samples(NamedTuple):
    """The measured inputs: name -> float64 array (every value exactly a float of the working
    dtype); the first ``edges`` entries are edge points, the rest are random."""

    points: dict
    edges: int

    @property
    def count(self):
        return len(next(iter(self.points.values()))) if self.points else 0

    def at(self, index):
        """One input as name -> Python float."""
        return {name: float(values[index]) for name, values in self.points.items()}


def uniform_floats(low, high, count, dtype, rng):
    """``count`` floats of ``dtype`` drawn uniformly from the floats in [low, high]."""
    first, last = ordinals([low, high], dtype)
    positions = rng.integers(first, last, size=count, endpoint=True, dtype=np.int64)
    return from_ordinals(positions, dtype).astype(np.float64)


def edge_values(low, high):
    """The values a range must always be tried at: its ends, and 0, 1, -1 when inside it."""
    return sorted({low, high} | {v for v in (0.0, 1.0, -1.0) if low < v < high})


def sample_inputs(ranges, dtype, count, seed=0):
    """Edge points (every combination of the variables' edge values) then ``count`` random inputs.

    ``ranges`` is name -> (low, high), already checked (finite, low <= high, representable).
    """
    dtype = float_dtype(dtype)
    rng = np.random.default_rng(seed)
    names = list(ranges)
    bounds = {name: tuple(float(np.asarray(v, dtype=dtype)) for v in ranges[name]) for name in names}
    corners = list(itertools.product(*(edge_values(*bounds[name]) for name in names)))
    if len(corners) > MAX_EDGE_POINTS:
        # keep the all-low and all-high corners, which are where overflow usually lives
        middle = rng.choice(np.arange(1, len(corners) - 1), MAX_EDGE_POINTS - 2, replace=False)
        corners = [corners[0]] + [corners[i] for i in sorted(middle)] + [corners[-1]]
    points = {}
    for k, name in enumerate(names):
        edge = np.array([corner[k] for corner in corners], dtype=np.float64)
        points[name] = np.concatenate([edge, uniform_floats(*bounds[name], count, dtype, rng)])
    return Samples(points, len(corners))
