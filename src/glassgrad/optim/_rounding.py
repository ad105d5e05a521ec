"""Arithmetic that rounds the way PyTorch's CPU kernels do, on NumPy arrays.

PyTorch computes ``a.add(b, alpha=s)``, ``lerp`` and ``addcmul`` with a fused multiply-add (one
rounding, not two). NumPy has no FMA, so we get the single rounding another way: in float32 the
product of two float32 values is exact in float64, and in float64 we use error-free
transformations (Dekker's product, Knuth's sum).
"""

import numpy as np

_SPLITTER = 134217729.0  # 2**27 + 1: splits a float64 into two 26-bit halves (Dekker)


def _two_sum(a, b):
    """s, e with s = fl(a + b) and a + b = s + e exactly."""
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _split(a):
    c = _SPLITTER * a
    high = c - (c - a)
    return high, a - high


def _two_product(a, b):
    """p, e with p = fl(a * b) and a * b = p + e exactly (barring overflow)."""
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    return p, ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


def fused_multiply_add(a, b, c):
    """a * b + c with a single rounding (as the FMA in PyTorch's kernels), in c's dtype."""
    dtype = np.result_type(a, b, c)
    if dtype == np.float32:
        # float32 x float32 is exact in float64, so only the final rounding to float32 remains
        wide = np.multiply(a, b, dtype=np.float64)
        return np.asarray(np.add(wide, c, dtype=np.float64)).astype(np.float32)
    a, b, c = (np.asarray(v, dtype=dtype) for v in (a, b, c))
    if dtype != np.float64:
        return a * b + c
    with np.errstate(all="ignore"):
        product, product_error = _two_product(a, b)
        total, sum_error = _two_sum(product, c)
        fused = total + (sum_error + product_error)
    # the error terms are meaningless where the product or sum overflows: fall back to plain math
    return np.where(np.isfinite(fused), fused, a * b + c)


def scalar(value, like):
    """A Python number as PyTorch casts it for a kernel on ``like``: to ``like``'s dtype."""
    return np.asarray(value, dtype=like.dtype)


def add_scaled(a, b, alpha):
    """``a.add(b, alpha=alpha)``: a + alpha * b, fused."""
    return fused_multiply_add(scalar(alpha, b), b, a)


def lerp(start, end, weight):
    """``start.lerp(end, weight)`` as PyTorch's CPU kernel: exact at both ends."""
    weight = scalar(weight, start)
    difference = end - start
    if abs(weight) < 0.5:
        return fused_multiply_add(weight, difference, start)
    return fused_multiply_add(-difference, np.asarray(1, start.dtype) - weight, end)


def addcmul(a, t1, t2, value):
    """``a.addcmul(t1, t2, value=value)``: (value * t1) * t2 + a, the last step fused."""
    return fused_multiply_add(scalar(value, t1) * t1, t2, a)


def addcdiv(a, t1, t2, value):
    """``a.addcdiv(t1, t2, value=value)``: a + (value * t1) / t2 (PyTorch does not fuse this one)."""
    return a + scalar(value, t1) * t1 / t2
