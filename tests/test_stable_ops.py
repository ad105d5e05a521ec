"""The stable primitives against mpmath at 400 digits: value and gradient within 2 bits.

Error is measured as Herbie does: log2(1 + the distance in ulps between the computed value and
the correctly rounded true value), the distance counted by ordering the floats' bit patterns.
Inputs are log-spaced over +-1e4 (and down to the subnormals), plus 0 and the points where
formulas switch (20 for softplus, 37 and 88.7 for exp ...), in float64 and float32; the true
values are computed from those very floats, with formulas that do not cancel (1 - p as the sum
of the other probabilities) and enough digits for 1 + 1e-300. Infinite inputs have exact limits, checked apart,
against PyTorch where PyTorch is right. Everything is vectorised: one call per function.
"""

import functools
import math

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.nn import functional as F

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp
mp.dps = 400  # exp(1e-300) - 1 and 1e4 - 5e-324 need ~330 digits

MAX_BITS = 2.0
INF = float("inf")
DTYPES = {"float64": (np.float64, gg.float64), "float32": (np.float32, gg.float32)}
SWITCH_POINTS = [0.5, 1.0, 2.0, 20.0, 20.5, 30.0, 36.0, 37.0, 40.0, 88.0, 88.7, 89.0, 100.0,
                 700.0, 709.0, 710.0, 745.0, 746.0]


# ----- measuring error -------------------------------------------------------------------------
def ulps_apart(a, b):
    """How many floats lie between ``a`` and ``b`` (same dtype), counted on their bit patterns:
    adjacent floats are 1 apart, +0 and -0 are 0 apart."""
    a, b = np.asarray(a), np.asarray(b, dtype=np.asarray(a).dtype)
    signed = np.int64 if a.dtype == np.float64 else np.int32
    mask = np.int64(np.iinfo(signed).max)
    bits_a, bits_b = a.view(signed).astype(np.int64), b.view(signed).astype(np.int64)
    size_a, size_b = bits_a & mask, bits_b & mask  # magnitudes as ordered integers
    same_sign = (bits_a < 0) == (bits_b < 0)
    # same sign: an exact integer difference; opposite signs: the distance through zero (large,
    # so float64's rounding of it does not matter)
    return np.where(same_sign, np.abs(size_a - size_b).astype(np.float64),
                    size_a.astype(np.float64) + size_b.astype(np.float64))


def bits_of_error(computed, truth):
    """log2(1 + ulps between computed and truth), elementwise; 0 where both are the same
    infinity or both nan, the whole width where only one is non-finite."""
    computed, truth = np.asarray(computed), np.asarray(truth, dtype=np.asarray(computed).dtype)
    width = 8.0 * computed.dtype.itemsize
    bits = np.log2(1 + ulps_apart(computed, truth))
    same_special = (np.isnan(computed) & np.isnan(truth)) | (np.isinf(truth) & (computed == truth))
    one_special = ~np.isfinite(computed) | ~np.isfinite(truth)
    return np.where(same_special, 0.0, np.where(one_special, width, bits))


def test_bits_of_error_counts_ulps():
    one = np.float64(1.0)
    assert bits_of_error(np.nextafter(one, 2), one) == 1.0
    assert bits_of_error(np.float32(3.0), np.float32(3.0)) == 0.0
    assert bits_of_error(np.float64(0.0), np.float64(-0.0)) == 0.0
    assert bits_of_error(np.float64(5e-324), np.float64(-5e-324)) == np.log2(3)  # 2 ulps, via 0
    assert bits_of_error(np.float64(2.0), np.float64(1.0)) == 52.0  # 2^52 floats in [1, 2)
    assert bits_of_error(np.float32(np.inf), np.float32(np.inf)) == 0.0
    assert bits_of_error(np.float32(np.inf), np.float32(1.0)) == 32.0


def assert_within_bits(name, computed, truth, inputs, limit=MAX_BITS):
    """Every element of ``computed`` within ``limit`` bits (a number or one per element) of
    ``truth``; the message lists the worst points. ``inputs`` are shown per element when shaped
    like the result, else per row."""
    bits = bits_of_error(computed, truth)
    excess = (bits - np.broadcast_to(limit, bits.shape)).ravel()
    worst = [w for w in np.argsort(excess)[::-1][:5] if excess[w] > 0]
    lines = []
    for w in worst:
        where = np.unravel_index(w, bits.shape)
        shown = [np.asarray(a)[where] if np.shape(a) == bits.shape else np.asarray(a)[where[:1]]
                 for a in inputs]
        lines.append(f"  at {[v.tolist() for v in shown]}: got {computed.ravel()[w]!r}, "
                     f"true {truth.ravel()[w]!r}, {bits.ravel()[w]:.1f} bits")
    count = int(np.sum(excess > 0))
    assert not lines, f"{name}: {count} points over the limit of {MAX_BITS} bits\n" + "\n".join(lines)


def true_values(function, *columns, dtype):
    """``function`` (on mpf numbers) at each row of ``columns``, rounded once to ``dtype``."""
    out = np.empty(len(columns[0]), dtype=np.float64)
    for k, args in enumerate(zip(*columns)):
        out[k] = float(function(*(mp.mpf(float(a)) for a in args)))
    return out.astype(dtype)


# ----- inputs ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def grid(dtype_name, count=70):
    """Log-spaced magnitudes from the subnormals to 1e4, both signs, 0, and the switch points."""
    dtype = DTYPES[dtype_name][0]
    tiny = np.finfo(dtype).smallest_subnormal
    low = -300 if dtype is np.float64 else -37
    magnitudes = np.concatenate([10.0 ** np.linspace(low, 4, count), SWITCH_POINTS,
                                 [float(tiny), float(tiny) * 1000, 1e4]])
    values = np.concatenate([[0.0], magnitudes, -magnitudes]).astype(dtype)
    return np.unique(values)


def leaf(values, dtype_name):
    return gg.tensor(values, dtype=DTYPES[dtype_name][1], requires_grad=True)


def value_and_grads(function, *arrays, dtype_name, upstream=None):
    """The output of ``function`` on glassgrad leaves, and the gradient of each input for the
    upstream gradient ``upstream`` (ones by default)."""
    leaves = [leaf(a, dtype_name) for a in arrays]
    out = function(*leaves)
    weights = np.ones(out.shape) if upstream is None else upstream
    grads = gg.autograd.grad(out, leaves, grad_outputs=gg.tensor(weights, dtype=out.dtype))
    return out.detach().numpy(), [g.numpy() for g in grads]


def sigma(x):
    return 1 / (1 + mp.exp(-x))


# ----- one input ---------------------------------------------------------------------------------
UNARY = {
    # name: (glassgrad function, true value, true derivative)
    "sigmoid": (gg.sigmoid, sigma, lambda x: sigma(x) * sigma(-x)),
    "log_sigmoid": (F.logsigmoid, lambda x: -mp.log1p(mp.exp(-x)), lambda x: sigma(-x)),
    "softplus": (lambda x: F.softplus(x, threshold=INF), lambda x: mp.log1p(mp.exp(x)), sigma),
    # PyTorch's softplus: x itself above the threshold (20)
    "softplus-threshold": (F.softplus, lambda x: x if x > 20 else mp.log1p(mp.exp(x)),
                           lambda x: 1 if x > 20 else sigma(x)),
    "softplus-beta-2": (lambda x: F.softplus(x, beta=2.0, threshold=INF),
                        lambda x: mp.log1p(mp.exp(2 * x)) / 2, lambda x: sigma(2 * x)),
    "expm1": (gg.expm1, mp.expm1, mp.exp),
    "log1p": (gg.log1p, lambda x: mp.log1p(x) if x > -1 else (mp.ninf if x == -1 else mp.nan),
              lambda x: mp.inf if x == -1 else 1 / (1 + x)),  # PyTorch's formula below -1 too
}


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary_value_and_gradient_within_2_bits(name, dtype_name):
    function, value, derivative = UNARY[name]
    x = grid(dtype_name)
    dtype = DTYPES[dtype_name][0]
    out, (grad,) = value_and_grads(function, x, dtype_name=dtype_name)
    assert out.dtype == dtype and grad.dtype == dtype
    assert_within_bits(f"{name} value", out, true_values(value, x, dtype=dtype), [x])
    assert_within_bits(f"{name} gradient", grad, true_values(derivative, x, dtype=dtype), [x])


# ----- two inputs ----------------------------------------------------------------------------------
def pairs(dtype_name, count=1200, seed=0):
    """Pairs drawn from the grid, a quarter of them close (b = a times 1 + 2^-k, cancelling)."""
    values = grid(dtype_name, 40)
    rng = np.random.default_rng(seed)
    a, b = rng.choice(values, count), rng.choice(values, count)
    close = slice(0, count // 4)
    b[close] = (a[close] * (1 + 2.0 ** -rng.integers(1, 20, count // 4))).astype(a.dtype)
    return a, b


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_logaddexp_within_2_bits(dtype_name):
    a, b = pairs(dtype_name)
    dtype = DTYPES[dtype_name][0]
    out, (grad_a, grad_b) = value_and_grads(gg.logaddexp, a, b, dtype_name=dtype_name)
    truth = true_values(lambda p, q: max(p, q) + mp.log1p(mp.exp(-abs(p - q))), a, b, dtype=dtype)
    assert_within_bits("logaddexp value", out, truth, [a, b])
    assert_within_bits("logaddexp d/da", grad_a, true_values(lambda p, q: sigma(p - q), a, b, dtype=dtype), [a, b])
    assert_within_bits("logaddexp d/db", grad_b, true_values(lambda p, q: sigma(q - p), a, b, dtype=dtype), [a, b])


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_xlogy_within_2_bits(dtype_name):
    x = grid(dtype_name, 40)
    rng = np.random.default_rng(2)
    a, b = rng.choice(x, 1000), rng.choice(x[x >= 0], 1000)
    a[:50] = 0  # 0 * log(b) is 0, b = 0 included
    dtype = DTYPES[dtype_name][0]
    out, (grad_a, grad_b) = value_and_grads(gg.xlogy, a, b, dtype_name=dtype_name)
    # the conventions at a = 0: xlogy(0, b) = 0 for every b, so d/db = 0; d/da = 0 at b = 0 too
    value = true_values(lambda p, q: 0 if p == 0 else p * mp.log(q), a, b, dtype=dtype)
    d_da = true_values(lambda p, q: 0 if p == q == 0 else mp.log(q), a, b, dtype=dtype)
    d_db = true_values(lambda p, q: 0 if p == 0 else (p / q if q else mp.inf * mp.sign(p)),
                       a, b, dtype=dtype)
    assert_within_bits("xlogy value", out, value, [a, b])
    assert_within_bits("xlogy d/da", grad_a, d_da, [a, b])
    assert_within_bits("xlogy d/db", grad_b, d_db, [a, b])


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_binary_cross_entropy_with_logits_within_2_bits(dtype_name):
    x = grid(dtype_name, 40)
    labels = np.array([0.0, 1.0, 0.25, 0.5, 0.75])
    x, y = [v.ravel() for v in np.meshgrid(x, labels, indexing="ij")]
    dtype = DTYPES[dtype_name][0]
    x, y = x.astype(dtype), y.astype(dtype)
    out, (grad_x, grad_y) = value_and_grads(
        lambda p, q: F.binary_cross_entropy_with_logits(p, q, reduction="none"), x, y,
        dtype_name=dtype_name)

    def loss(p, q):
        return q * mp.log1p(mp.exp(-p)) + (1 - q) * mp.log1p(mp.exp(p))

    def slope(p, q):
        return (1 - q) * sigma(p) - q * sigma(-p)
    assert_within_bits("bce value", out, true_values(loss, x, y, dtype=dtype), [x, y])
    # (1 - y) sigmoid(x) - y sigmoid(-x) crosses 0 at x = logit(y): there the two rounded terms
    # cancel (condition number sigmoid(x) / |result|); elsewhere, 2 bits.
    truth = true_values(slope, x, y, dtype=dtype)
    terms = true_values(lambda p, q: (1 - q) * sigma(p), x, y, dtype=np.float64)
    allowance = np.log2(np.maximum(1.0, terms / np.maximum(np.abs(truth.astype(np.float64)), 1e-300)))
    assert_within_bits("bce d/dx", grad_x, truth, [x, y], limit=MAX_BITS + allowance)
    hard = (y == 0) | (y == 1)  # the usual labels: no allowance needed
    assert_within_bits("bce d/dx, labels 0 and 1", grad_x[hard], truth[hard], [x[hard], y[hard]])
    assert_within_bits("bce d/dy", grad_y, true_values(lambda p, q: -p, x, y, dtype=dtype), [x, y])


# ----- along a dimension -------------------------------------------------------------------------
def rows(dtype_name, count=300, width=3, seed=0):
    """Rows of ``width`` values drawn from the grid (and some ties): softmax-like inputs."""
    values = grid(dtype_name, 40)
    rng = np.random.default_rng(seed)
    picked = rng.choice(values, size=(count, width))
    picked[:20, 1] = picked[:20, 0]  # ties with the first entry
    return picked


class TrueSoftmax:
    """Softmax of one row in mpmath, with 1 - p and log p computed without cancellation (p can
    be 1 - 1e-8000, beyond any fixed precision)."""

    def __init__(self, row):
        top = max(row)
        self.exps = [mp.exp(v - top) for v in row]
        self.total = mp.fsum(self.exps)
        self.top = top

    def others(self, i):
        return mp.fsum(e for j, e in enumerate(self.exps) if j != i)

    def p(self, i):
        return self.exps[i] / self.total

    def one_minus_p(self, i):
        return self.others(i) / self.total

    def log_p(self, i):
        return -mp.log1p(self.others(i) / self.exps[i])

    def logsumexp(self):
        first_top = self.exps.index(max(self.exps))
        return self.top + mp.log1p(self.others(first_top))

    def delta_minus_p(self, j, k):
        """(j == k) - p_k."""
        return self.one_minus_p(k) if j == k else -self.p(k)


@functools.lru_cache(maxsize=None)
def true_softmax(row):
    """TrueSoftmax of a row given as a tuple of floats (cached: several tests share rows)."""
    return TrueSoftmax([mp.mpf(a) for a in row])


def row_truths(function, x, dtype):
    """``function(TrueSoftmax(row), j)`` for every element, rounded once to ``dtype``."""
    out = np.empty(x.shape)
    for r, row in enumerate(x):
        truth = true_softmax(tuple(float(a) for a in row))
        out[r] = [float(function(truth, j)) for j in range(len(row))]
    return out.astype(dtype)


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_logsumexp_within_2_bits(dtype_name):
    x = rows(dtype_name)
    dtype = DTYPES[dtype_name][0]
    out, (grad,) = value_and_grads(lambda t: gg.logsumexp(t, 1), x, dtype_name=dtype_name)
    truth = row_truths(lambda t, j: t.logsumexp(), x, dtype)[:, 0]
    assert_within_bits("logsumexp value", out, truth, [x])
    assert_within_bits("logsumexp gradient", grad, row_truths(TrueSoftmax.p, x, dtype), [x])


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("k", [0, 1, 2])
def test_softmax_and_log_softmax_within_2_bits(dtype_name, k):
    """Values, and the gradient for a one-hot upstream gradient at class k (cross-entropy's)."""
    x = rows(dtype_name)
    dtype = DTYPES[dtype_name][0]
    onehot = np.zeros(x.shape)
    onehot[:, k] = 1

    out, (grad,) = value_and_grads(lambda t: gg.softmax(t, 1), x, dtype_name=dtype_name, upstream=onehot)
    assert_within_bits("softmax value", out, row_truths(TrueSoftmax.p, x, dtype), [x])
    truth = row_truths(lambda t, j: t.p(j) * t.delta_minus_p(j, k), x, dtype)
    assert_within_bits(f"softmax gradient (class {k})", grad, truth, [x])

    out, (grad,) = value_and_grads(lambda t: gg.log_softmax(t, 1), x, dtype_name=dtype_name, upstream=onehot)
    assert_within_bits("log_softmax value", out, row_truths(TrueSoftmax.log_p, x, dtype), [x])
    truth = row_truths(lambda t, j: t.delta_minus_p(k, j), x, dtype)
    assert_within_bits(f"log_softmax gradient (class {k})", grad, truth, [x])


@pytest.mark.parametrize("k", [0, 1, 2])
def test_float32_log_softmax_gradient_within_2_bits_on_ordinary_rows(k):
    """Rows of ordinary logits (no top that dominates its row): the kernels' plain sums and the
    short form of the gradient, g - p sum(g), are used for the whole array, and the values and
    gradients are still within 2 bits."""
    from glassgrad.ops import numerics
    x = np.random.default_rng(5).uniform(-6, 6, size=(300, 3)).astype(np.float32)
    x[:20, 1] = x[:20, 0]  # ties
    assert numerics.Softmax(x, (1,)).plain  # the short forms apply
    onehot = np.zeros(x.shape)
    onehot[:, k] = 1
    out, (grad,) = value_and_grads(lambda t: gg.log_softmax(t, 1), x, dtype_name="float32", upstream=onehot)
    assert_within_bits("log_softmax value", out, row_truths(TrueSoftmax.log_p, x, np.float32), [x])
    truth = row_truths(lambda t, j: t.delta_minus_p(k, j), x, np.float32)
    assert_within_bits(f"log_softmax gradient (class {k})", grad, truth, [x])


@pytest.mark.parametrize("shape", [(4, 5, 2), (2, 300, 3), (300, 4), (3, 300)])
def test_float32_softmax_family_along_every_dim(shape):
    """Rows short or long, first, middle or last (the kernels swap short rows' axis to the
    front): float32 results against float64 formulas rounded once (no ties in these rows)."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    upstream = rng.standard_normal(shape).astype(np.float32).astype(np.float64)
    wide = x.astype(np.float64)
    for dim in range(len(shape)):
        shifted = wide - wide.max(axis=dim, keepdims=True)
        # log1p of the others' sum: log(sum) would lose the top's log-probability near 0
        log_total = np.log1p(np.where(shifted == 0, 0, np.exp(shifted)).sum(axis=dim, keepdims=True))
        p = np.exp(shifted - log_total)
        first_row = np.take(upstream, [0], axis=dim)  # logsumexp's upstream: one per row
        cases = [
            (lambda t: gg.log_softmax(t, dim), shifted - log_total,
             upstream - p * upstream.sum(axis=dim, keepdims=True)),
            (lambda t: gg.softmax(t, dim), p,
             p * (upstream - (upstream * p).sum(axis=dim, keepdims=True))),
            (lambda t: gg.logsumexp(t, dim, keepdim=True), wide.max(axis=dim, keepdims=True) + log_total,
             first_row * p),
        ]
        for function, value, gradient in cases:
            t = gg.tensor(x, requires_grad=True)
            out = function(t)
            out.backward(gg.tensor((upstream if out.shape == shape else first_row).astype(np.float32)))
            np.testing.assert_array_max_ulp(out.detach().numpy(), value.astype(np.float32), maxulp=1)
            assert out.detach().numpy().flags.c_contiguous and t.grad.numpy().flags.c_contiguous
            np.testing.assert_allclose(t.grad.numpy(), gradient, rtol=1e-5, atol=1e-6)


def test_log_softmax_backward_reuses_the_forwards_pieces(monkeypatch):
    """For outputs up to a size limit the backward takes the softmax pieces its forward computed
    (one numerics.Softmax for forward and backward, not two), with the same bits as computing
    them again; the pieces are dropped when the backward takes them or the output goes."""
    from glassgrad.ops import numerics, stable

    made = []

    class CountedSoftmax(numerics.Softmax):
        def __init__(self, x, dim):
            made.append(x.shape)
            super().__init__(x, dim)

    def gradient(x, upstream):
        t = gg.tensor(x, requires_grad=True)
        gg.log_softmax(t, 1).backward(gg.tensor(upstream))
        return t.grad.numpy()

    monkeypatch.setattr(numerics, "Softmax", CountedSoftmax)
    rng = np.random.default_rng(11)
    for shape, kept in [((4, 3), True), ((260, 260), False)]:  # 67,600 elements: over the limit
        x = (rng.standard_normal(shape) * 5).astype(np.float32)
        upstream = rng.standard_normal(shape).astype(np.float32)
        made.clear()
        reused = gradient(x, upstream)
        assert len(made) == (1 if kept else 2) and not stable._pieces
        with monkeypatch.context() as m:
            m.setattr(stable, "_PIECES_MAX_SIZE", -1)
            assert reused.tobytes() == gradient(x, upstream).tobytes()
    out = gg.log_softmax(gg.tensor(np.ones((2, 3), np.float32), requires_grad=True), 1)
    assert len(stable._pieces) == 1
    del out  # never backpropagated: its pieces go with it
    assert not stable._pieces
    kept = [gg.log_softmax(gg.tensor(np.ones((2, 3), np.float32), requires_grad=True), 1)
            for _ in range(3 * stable._PIECES_KEPT)]
    assert len(stable._pieces) == stable._PIECES_KEPT  # outputs kept without a backward
    with gg.no_grad():
        kept = [gg.log_softmax(gg.tensor(np.ones((2, 3), np.float32)), 1) for _ in range(3)]
    assert len(stable._pieces) == 0  # the outputs above went; no_grad keeps nothing


def test_changing_log_softmax_output_in_place_stops_its_backward_like_pytorch():
    """The backward reads the output (PyTorch's LogSoftmaxBackward0 saves its result), so an
    in-place change to it is an error there, not a silently different gradient."""
    for torch, functional in [(gg, F)] + _torch_if_installed():
        x = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        y = functional.log_softmax(x, 1)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def _torch_if_installed():
    try:
        import torch
    except ImportError:
        return []
    return [(torch, torch.nn.functional)]


@pytest.mark.parametrize("dtype_name", DTYPES)
def test_cross_entropy_per_sample_within_2_bits(dtype_name):
    x = rows(dtype_name, seed=1)
    dtype = DTYPES[dtype_name][0]
    target = np.arange(len(x)) % x.shape[1]
    out, (grad,) = value_and_grads(
        lambda t: F.cross_entropy(t, gg.tensor(target), reduction="none"), x, dtype_name=dtype_name)
    truths = [true_softmax(tuple(float(a) for a in row)) for row in x]
    value = np.array([float(-t.log_p(c)) for t, c in zip(truths, target)]).astype(dtype)
    assert_within_bits("cross_entropy value", out, value, [x])
    slope = np.array([[float(-t.delta_minus_p(c, j)) for j in range(x.shape[1])]
                      for t, c in zip(truths, target)]).astype(dtype)
    assert_within_bits("cross_entropy gradient", grad, slope, [x])


# ----- limits at +-inf, exactly ---------------------------------------------------------------
LIMITS = [
    # (name, call, inputs, value, gradients); gradients are of out.sum()
    ("logsumexp all -inf", lambda x: gg.logsumexp(x, 0), [[-INF, -INF]], -INF, [[0.5, 0.5]]),
    ("logsumexp one +inf", lambda x: gg.logsumexp(x, 0), [[INF, 1.0, -INF]], INF, [[1.0, 0.0, 0.0]]),
    ("logsumexp two +inf", lambda x: gg.logsumexp(x, 0), [[INF, 1.0, INF]], INF, [[0.5, 0.0, 0.5]]),
    ("logsumexp +-1e4", lambda x: gg.logsumexp(x, 0), [[1e4, -1e4]], 1e4, [[1.0, 0.0]]),
    ("logaddexp -inf -inf", gg.logaddexp, [-INF, -INF], -INF, [0.5, 0.5]),
    ("logaddexp +inf +inf", gg.logaddexp, [INF, INF], INF, [0.5, 0.5]),
    ("logaddexp +inf -inf", gg.logaddexp, [INF, -INF], INF, [1.0, 0.0]),
    ("logaddexp -inf finite", gg.logaddexp, [-INF, 2.0], 2.0, [0.0, 1.0]),
    ("softmax all -inf", lambda x: (gg.softmax(x, 0) * gg.tensor([1.0, 3.0], dtype=x.dtype)).sum(),
     [[-INF, -INF]], 2.0, [[-0.5, 0.5]]),
    ("log_softmax +inf", lambda x: gg.log_softmax(x, 0)[1], [[INF, 0.0]], -INF, [[-1.0, 1.0]]),
    ("softplus -inf", F.softplus, [-INF], 0.0, [0.0]),
    ("softplus +inf", F.softplus, [INF], INF, [1.0]),
    ("log_sigmoid -inf", F.logsigmoid, [-INF], -INF, [1.0]),
    ("log_sigmoid +inf", F.logsigmoid, [INF], 0.0, [0.0]),
    ("sigmoid -inf", gg.sigmoid, [-INF], 0.0, [0.0]),
    ("sigmoid +inf", gg.sigmoid, [INF], 1.0, [0.0]),
    ("expm1 -inf", gg.expm1, [-INF], -1.0, [0.0]),
    ("log1p +inf", gg.log1p, [INF], INF, [0.0]),
    ("xlogy 0 0", gg.xlogy, [0.0, 0.0], 0.0, [0.0, 0.0]),
    ("xlogy 0 +inf", gg.xlogy, [0.0, INF], 0.0, [INF, 0.0]),
    ("bce x=+inf y=1", lambda x, y: F.binary_cross_entropy_with_logits(x, y), [[INF], [1.0]], 0.0, [[0.0], [-INF]]),
    ("bce x=-inf y=0", lambda x, y: F.binary_cross_entropy_with_logits(x, y), [[-INF], [0.0]], 0.0, [[0.0], [INF]]),
    ("bce x=-inf y=1", lambda x, y: F.binary_cross_entropy_with_logits(x, y), [[-INF], [1.0]], INF, [[-1.0], [INF]]),
]


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("name, call, inputs, value, grads", LIMITS, ids=[c[0] for c in LIMITS])
def test_limits_at_infinity(name, call, inputs, value, grads, dtype_name):
    if "bce" in name or "logaddexp" in name or "xlogy" in name:
        arrays = [np.array(v) for v in inputs]
    else:
        arrays = [np.array(inputs[0])]
    out, got = value_and_grads(lambda *t: call(*t).sum(), *arrays, dtype_name=dtype_name)
    assert out == value
    for g, expected in zip(got, grads):
        np.testing.assert_array_equal(g, np.reshape(expected, g.shape))


def test_torch_agrees_where_it_is_right_and_we_differ_where_it_is_not():
    """PyTorch 2.13 returns nan gradients for logsumexp of all -inf and logaddexp(-inf, -inf)
    (issues #49724, #31829), and 0 for sigmoid's gradient at 40 (1 - sigmoid rounds to 0); it
    agrees with glassgrad on the finite cases."""
    torch = pytest.importorskip("torch")

    def both(function_name, values, lib_call):
        results = []
        for lib in (torch, gg):
            x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
            lib_call(lib, x).sum().backward()
            results.append(x.grad.numpy())
        return results

    theirs, ours = both("logsumexp", [[-INF, -INF], [1.0, 2.0]], lambda lib, x: lib.logsumexp(x, 1))
    assert np.isnan(theirs[0]).all() and ours[0].tolist() == [0.5, 0.5]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-15)
    theirs, ours = both("sigmoid", [-3.0, 0.5, 40.0], lambda lib, x: lib.sigmoid(x))
    np.testing.assert_allclose(ours[:2], theirs[:2], rtol=1e-15)
    assert theirs[2] == 0.0 and ours[2] == pytest.approx(math.exp(-40), rel=1e-15)
    theirs, ours = both("softplus", [-50.0, 0.0, 5.0, 25.0], lambda lib, x: lib.nn.functional.softplus(x))
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


# ----- where: the unused branch never poisons the gradient (PyTorch #68425) -------------------
def test_where_unused_branch_does_not_poison_the_gradient():
    a = gg.tensor(100.0, requires_grad=True)  # float32: exp(100) = inf in the unused branch
    gg.where(a <= 0, gg.exp(a), 1 + a).backward()
    assert a.grad.item() == 1.0  # PyTorch gives nan here
    x = gg.tensor([0.0, 4.0], requires_grad=True)
    gg.where(x > 0, gg.sqrt(x), gg.zeros_like(x)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.25]  # sqrt'(0) = inf, times the 0 where sends it
    y = gg.tensor([0.0, 2.0], requires_grad=True)
    gg.where(y != 0, 1 / y, gg.zeros_like(y)).sum().backward()
    assert y.grad.tolist() == [0.0, -0.25]


def test_where_masks_an_infinite_upstream_gradient():
    """where's vjp selects with where: an inf gradient meant for the other branch stays out."""
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    b = gg.tensor([3.0, 4.0], requires_grad=True)
    out = gg.where(gg.tensor([True, False]), a, b)
    out.backward(gg.tensor([INF, 1.0]))
    assert a.grad.tolist() == [INF, 0.0] and b.grad.tolist() == [0.0, 1.0]


def test_a_zero_gradient_is_not_masked_where_it_is_a_variable():
    """The double-vjp trick (jvp) differentiates with respect to a g of zeros: zero must stay
    a variable where the derivative is finite."""
    x = gg.tensor([0.5, 2.0], dtype=gg.float64, requires_grad=True)
    _, tangent = gg.autograd.functional.jvp(lambda t: gg.exp(t), x, gg.ones(2, dtype=gg.float64))
    np.testing.assert_allclose(tangent.numpy(), np.exp([0.5, 2.0]), rtol=1e-15)
