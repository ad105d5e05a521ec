"""glassgrad.stability: how accurate is a formula's value and gradient in float32 or float64, where
does the error come from, and which equivalent formula fixes it.

``analyze("-log(exp(x)/(exp(x)+exp(y)))", {"x": (-100, 100), "y": (-100, 100)})`` measures
glassgrad's value and partial derivatives against mpmath's exact ones in Herbie's bits of error, finds the first
op that loses accuracy or overflows, and proposes measured rewrites (``softplus(y - x)``). SymPy and
mpmath are imported only when an analysis runs, matplotlib only for a plot.
"""

from .analyze import (NonFinite, OpError, QuantityError, Rejected,
                      Rewrite, StabilityError, StabilityResult, WorstInput, analyze, checked_ranges)
from .bits import bits_of_error, ordinals, ulp_distance
from .defaults import DEFAULT_RANGE, DEFAULT_SAMPLES
from .ground_truth import GroundTruth, Truth
from .sampling import sample_inputs, uniform_floats

__all__ = ["analyze", "StabilityResult", "StabilityError", "QuantityError", "WorstInput", "OpError",
           "NonFinite", "Rewrite", "Rejected", "DEFAULT_RANGE", "DEFAULT_SAMPLES", "checked_ranges",
           "bits_of_error", "ordinals", "ulp_distance", "GroundTruth", "Truth", "sample_inputs",
           "uniform_floats"]
