"""Accurate NumPy kernels behind the stable ops: sigmoid, softplus, softmax and their relatives.

float16 and float32 inputs are computed in float64 and rounded once at the end, which leaves
them correctly rounded or within an ulp. float64 is computed as is, with compensated arithmetic
where a rounding would be amplified: ``sigmoid(a - b)`` and ``exp(x - max)`` use the exact
rounding error of the difference (Knuth's TwoSum), because near x = -700 one ulp of the
argument is 700 ulps of the result. These functions work on arrays only; the op records in
``elementwise``, ``reduce`` and ``stable`` wrap them.
"""

import numpy as np


def wide(x):
    """``x`` as an array of at least float64 precision (float16/float32 are widened)."""
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.dtype.itemsize < 8:
        return x.astype(np.float64)
    return x


def narrow(result, dtype):
    """``result`` rounded to ``dtype`` (once), always as a C-contiguous ndarray."""
    return np.asarray(result).astype(dtype, order="C", copy=False)


def difference(a, b):
    """``a - b`` as ``hi + lo``: ``hi`` the rounded difference, ``lo`` its exact rounding error
    (TwoSum; 0 where the difference is not finite)."""
    hi = a - b
    virtual_b = hi - a
    lo = (a - (hi - virtual_b)) - (b + virtual_b)
    return hi, np.where(np.isfinite(lo), lo, 0.0)


def sigmoid_pair(z):
    """``(sigmoid(z), sigmoid(-z))``, both to full relative precision (exp of -|z| only)."""
    e = np.exp(-np.abs(z))
    big, small = 1 / (1 + e), e / (1 + e)
    positive = z >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def sigmoid(z):
    return sigmoid_pair(z)[0]


def sigmoid_of_difference(a, b):
    """``(sigmoid(a - b), sigmoid(b - a))`` for the exact difference of ``a`` and ``b``; equal
    infinities (whose difference is nan) give 1/2 each, the limit along a = b."""
    hi, lo = difference(a, b)
    same_infinity = (a == b) & np.isinf(a)
    hi = np.where(same_infinity, 0.0, hi)
    up, down = sigmoid_pair(hi)
    # sigmoid(hi + lo) = sigmoid(hi) (1 + sigmoid(-hi) lo) to first order; lo/hi < 2^-52
    return up + up * (down * lo), down - down * (up * lo)


def logaddexp(a, b):
    """log(exp(a) + exp(b)) = max + log1p(exp(-d)) with d = max - min taken exactly (hi + lo):
    near a result of 0, one ulp of d would otherwise be many ulps of the result."""
    top, bottom = np.maximum(a, b), np.minimum(a, b)
    hi, lo = difference(top, bottom)
    hi = np.where((a == b) & np.isinf(a), 0.0, hi)  # equal infinities: top + log(2) = top
    # d/dd log1p(exp(-d)) = -sigmoid(-d)
    return top + (np.log1p(np.exp(-hi)) - sigmoid(-hi) * lo)


def sigmoid_derivative(z):
    """``sigmoid(z) * sigmoid(-z)`` = e / (1 + e)^2 with e = exp(-|z|): no 1 - sigmoid(z)."""
    e = np.exp(-np.abs(z))
    one_plus = 1 + e
    return e / one_plus / one_plus


def softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): never overflows, exact limits at +-inf."""
    tail = np.log1p(np.exp(-np.abs(z)))
    return np.where(z > 0, z + tail, tail)


def log_sigmoid(z):
    """log(sigmoid(z)) = min(z, 0) - log1p(exp(-|z|))."""
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


class Softmax:
    """The pieces of softmax, log-softmax and log-sum-exp of ``x`` along ``dim`` (None or a tuple
    of axes; shapes keep the reduced axes as 1), computed in at least float64.

    ``top`` is the maximum (nan, +-inf included) and ``at_top`` marks the elements equal to it;
    ``ties`` counts them; ``rest`` is the sum of exp(x - top) over the other elements, computed
    apart so that 1 - softmax(top) = rest / total keeps its digits when the top dominates.
    Rows whose top is infinite are the limit along equal arguments: the gradient is shared
    evenly between the tied infinities (all of the row when it is all -inf), never nan.

    The usual case takes a few fast NumPy calls (W2's cross-entropy on 256 x 10 float32 logits):
    - the rounding error of ``x - top`` is only carried for float64 input (float16/32 widened to
      float64 lose nothing that shows after rounding back);
    - the infinite-top handling only runs when some row's top is infinite (for float16/32,
      the search for such rows only when the plain sum below fails its test);
    - float16/32 rows where no top dominates (``plain``) need only the plain sum of exp(x - top):
      no ``at_top``, ``ties`` or ``rest``;
    - float16/32 rows shorter than their count are worked on with the reduced axis swapped to
      the front, so that reductions run along contiguous memory (3-5x faster than along short
      rows). The summation order this changes is far below float32's rounding. The pieces are
      then in that layout (``dim`` is ``(0,)``); ``arrange`` puts a gradient into it,
      ``restore`` takes a result out.
    """

    def __init__(self, x, dim):
        x = np.asarray(x)
        compensate = x.dtype.itemsize >= 8  # else results go back to float16/32: 29+ spare bits
        self.moved = None
        if not compensate and dim is not None and len(dim) == 1 and x.size:
            axis = dim[0] % x.ndim
            if axis != 0 and x.shape[axis] ** 2 < x.size:
                self.moved, dim = axis, (0,)
        self.dim = dim
        x = self.arrange(x)
        top = np.maximum.reduce(x, axis=dim, keepdims=True, initial=-np.inf)
        self.top = top
        if not compensate:
            # Rounded back to float16/32, plain sums lose nothing unless some row's top
            # dominates: summing n terms costs float64 about n eps, which log(total) and
            # 1 - p_top amplify by 1 / (total - 1). Above 1 + n 2^-20 that stays under 2^-32
            # (float32's ulp is 2^-24) and the careful pieces (at_top, ties, rest) are not
            # needed. A top that is infinite or nan makes a total nan, which fails the test:
            # those rows take the way below, so the usual case skips looking for them.
            hi = x - top
            exp = np.exp(hi)
            total = np.add.reduce(exp, axis=dim, keepdims=True)
            count = x.size // max(total.size, 1)
            if np.minimum.reduce(total, axis=None, initial=np.inf) > 1 + count * 2.0 ** -20:
                self.any_infinite, self.plain = False, True
                self.shifted, self.exp, self.total = hi, exp, total
                return
        self.plain = False
        self.infinite_top = np.isinf(top)
        # ufunc reductions called directly: ndarray.any and .min add a Python wrapper (1 us each)
        self.any_infinite = bool(np.logical_or.reduce(self.infinite_top, axis=None))
        shift = np.where(self.infinite_top, 0.0, top) if self.any_infinite else top
        if compensate:
            hi, lo = difference(x, shift)
            exp = np.exp(hi)
            corrected = exp + exp * lo  # exp(hi + lo) to first order
            # inf stays inf (inf * lo would be nan)
            exp = np.where(np.isinf(exp), exp, corrected) if self.any_infinite else corrected
        elif self.any_infinite:
            hi = x - shift
            exp = np.exp(hi)
        self.shifted, self.exp = hi, exp
        self.at_top = x == top
        self.ties = np.add.reduce(self.at_top, axis=dim, keepdims=True, dtype=x.dtype)
        rest = np.add.reduce(np.where(self.at_top, 0.0, exp), axis=dim, keepdims=True)
        if self.any_infinite:
            rest = np.where(self.infinite_top, 0.0, rest)  # exp(finite - 0) may overflow
        self.rest = rest
        self.total = self.ties + rest

    # (NumPy's warnings for 0/0 in rows that are empty or nan are silenced in glassgrad/__init__.)
    def logsumexp(self):
        if self.plain:
            return self.top + np.log(self.total)
        inner = np.log1p(self.ties - 1 + self.rest)
        return np.where(np.isfinite(self.top), self.top + inner, self.top)

    def probabilities(self):
        p = self.exp / self.total
        if self.any_infinite:
            p = np.where(self.infinite_top, self.at_top / self.ties, p)
        return p

    def log_probabilities(self):
        if self.plain:
            return self.shifted - np.log(self.total)
        log_p = self.shifted - np.log1p(self.ties - 1 + self.rest)
        if self.any_infinite:
            limit = np.where(self.at_top, -np.log(self.ties), -np.inf)
            log_p = np.where(self.infinite_top, limit, log_p)
        return log_p

    def complement_of_top(self):
        """1 - softmax at the top element of each row (meaningful where it is unique)."""
        return self.rest / self.total

    def arrange(self, a):
        """``a`` (shaped like x) widened and in the layout of the pieces."""
        if self.moved is None:
            return wide(a)
        return a.swapaxes(0, self.moved).astype(np.float64, order="C")

    def restore(self, a):
        """A result in the layout of the pieces, back in x's layout."""
        return a if self.moved is None else a.swapaxes(0, self.moved)


def softmax_vjp(g, p, dim):
    """The gradient of softmax given its output ``p``: p * (g - sum(g * p)), written as
    p * ((g - g_top) + sum(p * (g_top - g))) with g_top the gradient at the largest p, so that
    the top's own entry is a sum of small terms rather than the difference of two near-equal
    ones (its true value can be 1e-20 while both terms are about 1)."""
    at_top = p == np.max(p, axis=dim, keepdims=True, initial=-np.inf)
    ties = np.sum(at_top, axis=dim, keepdims=True)
    g_top = np.sum(np.where(at_top, g, 0.0), axis=dim, keepdims=True) / np.maximum(ties, 1)
    c = np.sum(p * (g_top - g), axis=dim, keepdims=True)
    return p * ((g - g_top) + c)


def log_softmax_vjp(g, parts):
    """The gradient of log-softmax: g - softmax * sum(g). Where one element is the unique top,
    its entry is g_top (1 - p_top) - p_top sum(g elsewhere), with 1 - p_top = rest / total."""
    dim = parts.dim
    p = parts.probabilities()
    total_g = np.add.reduce(g, axis=dim, keepdims=True)
    plain = g - p * total_g
    if parts.plain:  # its cancellation at the top costs about eps / (1 - p_top): see Softmax
        return plain
    unique = parts.at_top & (parts.ties == 1)
    g_elsewhere = np.add.reduce(np.where(parts.at_top, 0.0, g), axis=dim, keepdims=True)
    top_entry = g * parts.complement_of_top() - p * g_elsewhere
    return np.where(unique, top_entry, plain)
