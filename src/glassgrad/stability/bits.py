"""Bits of error, as Herbie measures them: log2 of one plus the distance in ULPs between a computed
float and the correctly rounded true value, counted on the floats' ordered bit patterns.

Every float of a format gets an ordinal (its position in the ordered list of all finite floats and
the two infinities, with +0 and -0 both at 0), so the distance is exact integer arithmetic even
across zero, into subnormals and up to infinity. Zero bits means the computed value is the correctly
rounded one; a NaN where the true value is a number costs the full width (32 or 64 bits).
"""

import numpy as np

# The signed integer type with the same width as each float format.
_INT_TYPES = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def float_dtype(dtype):
    """The NumPy float dtype named by ``dtype`` ("float32", np.float32, glassgrad.float64 ...)."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    name = name.rsplit(".", 1)[-1]
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    return np.dtype(name)


def width(dtype):
    """The format's width in bits: the error charged for a NaN where a number was due."""
    return float_dtype(dtype).itemsize * 8


def ordinals(values, dtype):
    """Each float's position in the ordered sequence of floats of ``dtype`` (int64; +0 and -0 are
    both 0, the smallest positive subnormal is 1, -inf is the most negative)."""
    dtype = float_dtype(dtype)
    values = np.asarray(values, dtype=dtype)
    signed = np.ascontiguousarray(values).view(_INT_TYPES[dtype]).reshape(values.shape)
    signed = signed.astype(np.int64)
    lowest = np.int64(np.iinfo(_INT_TYPES[dtype]).min)
    # negative floats have the sign bit set: mirror them below zero, nearest to zero first
    return np.where(signed < 0, lowest - signed, signed)


def from_ordinals(positions, dtype):
    """The floats of ``dtype`` at the given ordinals (the inverse of ``ordinals``; 0 gives +0.0)."""
    dtype = float_dtype(dtype)
    positions = np.asarray(positions, dtype=np.int64)
    lowest = np.int64(np.iinfo(_INT_TYPES[dtype]).min)
    signed = np.where(positions < 0, lowest - positions, positions)
    return signed.astype(_INT_TYPES[dtype]).view(dtype)


def ulp_distance(a, b, dtype):
    """How many floats of ``dtype`` lie between ``a`` and ``b`` (as float64: exact below 2**53)."""
    first, second = ordinals(a, dtype), ordinals(b, dtype)
    same_side = (first >= 0) == (second >= 0)
    # int64 subtraction cannot overflow on one side of zero; across zero the sum of magnitudes
    # is only large when the distance is astronomically large anyway
    with np.errstate(over="ignore"):
        near = np.abs(first - second).astype(np.float64)
    across = np.abs(first).astype(np.float64) + np.abs(second).astype(np.float64)
    return np.where(same_side, near, across)


def bits_of_error(computed, true, dtype):
    """log2(1 + ULP distance) between ``computed`` and the correctly rounded ``true`` values, both
    taken in ``dtype``; NaN where the true value is NaN (no real answer: not measured), the full
    width where only the computed value is NaN.

    >>> import numpy as np
    >>> one_up = np.nextafter(np.float32(1), np.float32(2))
    >>> float(bits_of_error(np.nextafter(one_up, np.float32(2)), np.float32(1), "float32"))
    1.584962500721156
    """
    dtype = float_dtype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        computed = np.asarray(computed, dtype=np.float64).astype(dtype)
        true = np.asarray(true, dtype=np.float64).astype(dtype)
    computed, true = np.broadcast_arrays(computed, true)
    unmeasured = np.isnan(true)
    lost = np.isnan(computed) & ~unmeasured
    safe_computed = np.where(np.isnan(computed), true, computed)
    safe_true = np.where(unmeasured, 0, true)
    bits = np.log2(1.0 + ulp_distance(safe_computed, safe_true, dtype))
    bits = np.where(lost, float(width(dtype)), bits)
    return np.where(unmeasured, np.nan, bits)
