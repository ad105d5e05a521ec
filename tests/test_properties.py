"""Property tests: random graphs over every registered op have the right gradients.

Hypothesis builds random programs: one to three float64 leaves of broadcast-compatible shapes,
then a few steps, each applying one op of ``glassgrad.ops.REGISTRY`` (by its public API) to
values picked from everything computed so far, so nodes are reused (``x * x``, a value feeding
several ops) and binary ops broadcast. The output is a weighted sum of every computed value.

* first order: every leaf gradient equals float64 central finite differences, and equals
  PyTorch's (same program, ``torch`` in place of ``glassgrad``) where PyTorch is installed;
* second order: the gradient of ``sum(v * grad)`` taken with ``create_graph=True`` (a Hessian-
  vector product, which runs every vjp through glassgrad itself) equals finite differences of
  the first-order gradient, and PyTorch's;
* ``test_every_registered_op_is_generated`` fails for an op without a ``SPECS`` entry, and
  reports any op that the random programs of this run never used.

Domain: each spec keeps its op where it is defined and smooth *at the drawn point*: a step is
dropped when an input is too close to a kink or a tie (relu at 0, max of near-equal values) for
finite differences to be meaningful, and inputs are mapped into the domain (``x * x + 0.5``
before log) when needed. Shrunk failures are kept as plain tests at the end of the file.
"""

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import glassgrad as gg
from conftest import CASE_COUNTS
from glassgrad.ops import REGISTRY

try:
    import torch
except ImportError:  # PyTorch is the second oracle; finite differences run without it
    torch = None

MARGIN = 1e-3       # minimum distance from a kink or tie, at the drawn point
MAX_VALUE = 1e3     # a step whose value exceeds this is dropped: keeps differences accurate
EPS = 1e-6          # central difference step (1e-3 when a float32 round trip is in the graph)
LEAF_SHAPES = [(), (3,), (2, 1), (1, 3), (2, 3), (2, 2, 3)]


@dataclass
class Step:
    """One op application: ``build(lib, F, *inputs)`` with ``lib`` glassgrad or torch and ``F``
    its ``nn.functional``; ``inputs`` index the program's values."""

    op: str
    inputs: tuple
    build: Callable
    text: str           # how the step reads, for the failure report
    rounding: bool = False


class Program:
    def __init__(self, leaves, steps, weights):
        self.leaves, self.steps, self.weights = leaves, steps, weights

    def run(self, lib, F, leaves):
        values = list(leaves)
        for step in self.steps:
            values.append(step.build(lib, F, *(values[i] for i in step.inputs)))
        out = 0
        for value, weight in zip(values[len(leaves):], self.weights):
            out = out + (value * lib.tensor(weight, dtype=lib.float64)).sum()
        return out

    @property
    def eps(self):
        return 1e-3 if any(s.rounding for s in self.steps) else EPS

    def __str__(self):
        lines = [f"v{k} = leaf {a.shape}: {a.tolist()}" for k, a in enumerate(self.leaves)]
        lines += [f"v{len(self.leaves) + k} = {step.text.format(*(f'v{i}' for i in step.inputs))}"
                  for k, step in enumerate(self.steps)]
        return "\n".join(lines + ["out = sum(w_k * v_k) over the computed values"])


# ------------------------------------------------------------------------------------------------
# Specs: for each op, how to apply it to values of the pool (None when it does not fit)
# ------------------------------------------------------------------------------------------------

SPECS = {}
SECOND_ORDER_ONLY = {
    # getitem's vjp under create_graph: reached by the second-order property only
    "index_scatter",
}


def spec(*names):
    def register(function):
        for name in names:
            SPECS[name] = (lambda n: lambda draw, pool: function(n, draw, pool))(name)
        return function
    return register


def _pick(draw, pool, fits=lambda a: True):
    candidates = [k for k, a in enumerate(pool) if fits(a)]
    return draw(st.sampled_from(candidates)) if candidates else None


def _broadcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def _pick_pair(draw, pool):
    """Two values that broadcast together; often the same one twice (``x * x``)."""
    i = _pick(draw, pool)
    j = _pick(draw, pool, lambda a: _broadcasts(a.shape, pool[i].shape))
    return i, j


def _widens_to(shape, target):
    """``shape`` broadcasts to ``target`` without widening it."""
    return _broadcasts(shape, target) and np.broadcast_shapes(shape, target) == tuple(target)


def _away(distance):
    return np.size(distance) == 0 or float(np.min(np.abs(distance))) > MARGIN


# Guards: a value as it is when it already lies in the domain, else mapped into it.
def _positive(a):
    if a.size and a.min() > 0.2:
        return "{}", lambda lib, x: x
    return "({} * {} + 0.5)", lambda lib, x: x * x + 0.5


def _nonzero(a):
    if a.size == 0 or np.abs(a).min() > 0.2:
        return "{}", lambda lib, x: x
    return "({} * {} + 0.5)", lambda lib, x: x * x + 0.5


def _bounded(a, bound):
    if a.size == 0 or np.abs(a).max() <= bound:
        return "{}", lambda lib, x: x
    return f"(tanh({{}}) * {bound})", lambda lib, x: lib.tanh(x) * bound


def _guarded(text, guard):
    """A guard's text applied to the placeholder ``{}`` (the guard may repeat it)."""
    return guard[0].replace("{}", text)


def _unary(name, draw, pool, call, text, guard=None, kink=None):
    i = _pick(draw, pool)
    a = pool[i]
    g_text, g = guard(a) if guard else ("{}", lambda lib, x: x)
    if kink is not None and not _away(kink(a)):
        return None
    return Step(name, (i,), lambda lib, F, x: call(lib, F, g(lib, x)),
                text.replace("{}", _guarded("{0}", (g_text,))))


@spec("neg")
def _neg(name, draw, pool):
    return _unary(name, draw, pool, lambda lib, F, x: -x, "-{}")


@spec("rsub")
def _rsub(name, draw, pool):
    return _unary(name, draw, pool, lambda lib, F, x: 2.0 - x, "2.0 - {}")


@spec("reciprocal")
def _reciprocal(name, draw, pool):
    return _unary(name, draw, pool, lambda lib, F, x: lib.reciprocal(x), "reciprocal({})", _nonzero)


@spec("pow")
def _pow(name, draw, pool):
    exponent = draw(st.sampled_from([2, 3, -1, 0.5, 2.5, 0]))
    guard = {-1: _nonzero, 0.5: _positive, 2.5: _positive}.get(exponent)
    return _unary(name, draw, pool, lambda lib, F, x: x ** exponent, f"{{}} ** {exponent}", guard)


@spec("rpow")
def _rpow(name, draw, pool):
    base = draw(st.sampled_from([2.0, 0.5]))
    return _unary(name, draw, pool, lambda lib, F, x: base ** x, f"{base} ** {{}}",
                  lambda a: _bounded(a, 5))


ELEMENTWISE = {
    "exp": (lambda lib, F, x: lib.exp(x), lambda a: _bounded(a, 5)),
    "expm1": (lambda lib, F, x: lib.expm1(x), lambda a: _bounded(a, 5)),
    "log": (lambda lib, F, x: lib.log(x), _positive),
    "sqrt": (lambda lib, F, x: lib.sqrt(x), _positive),
    "log1p": (lambda lib, F, x: lib.log1p(x), _positive),
    "sin": (lambda lib, F, x: lib.sin(x), None),
    "cos": (lambda lib, F, x: lib.cos(x), None),
    "tan": (lambda lib, F, x: lib.tan(x), lambda a: _bounded(a, 1.2)),
    "tanh": (lambda lib, F, x: lib.tanh(x), None),
    "sigmoid": (lambda lib, F, x: lib.sigmoid(x), None),
    "clone": (lambda lib, F, x: x.clone(), None),
    "log_sigmoid": (lambda lib, F, x: F.logsigmoid(x), None),
    "rsqrt": (lambda lib, F, x: lib.rsqrt(x), _positive),
    "log2": (lambda lib, F, x: lib.log2(x), _positive),
    "log10": (lambda lib, F, x: lib.log10(x), _positive),
    "exp2": (lambda lib, F, x: lib.exp2(x), lambda a: _bounded(a, 5)),
    "asin": (lambda lib, F, x: lib.asin(x), lambda a: _bounded(a, 0.9)),
    "acos": (lambda lib, F, x: lib.acos(x), lambda a: _bounded(a, 0.9)),
    "atan": (lambda lib, F, x: lib.atan(x), None),
    "sinh": (lambda lib, F, x: lib.sinh(x), lambda a: _bounded(a, 5)),
    "cosh": (lambda lib, F, x: lib.cosh(x), lambda a: _bounded(a, 5)),
    "silu": (lambda lib, F, x: F.silu(x), None),
    "erf": (lambda lib, F, x: lib.erf(x), None),
    "gelu": (lambda lib, F, x: F.gelu(x), None),
}


@spec(*ELEMENTWISE)
def _elementwise(name, draw, pool):
    call, guard = ELEMENTWISE[name]
    return _unary(name, draw, pool, call, f"{name}({{}})", guard)


KINKED = {  # op -> (call, distance of the input from the kink)
    "relu": (lambda lib, F, x: lib.relu(x), lambda a: a),
    "abs": (lambda lib, F, x: lib.abs(x), lambda a: a),
    "sign": (lambda lib, F, x: lib.sign(x), lambda a: a),
    "leaky_relu": (lambda lib, F, x: F.leaky_relu(x, 0.2), lambda a: a),
    "elu": (lambda lib, F, x: F.elu(x, alpha=0.5), lambda a: a),
    "floor": (lambda lib, F, x: lib.floor(x), lambda a: a - np.round(a)),
    "ceil": (lambda lib, F, x: lib.ceil(x), lambda a: a - np.round(a)),
    "trunc": (lambda lib, F, x: lib.trunc(x), lambda a: a - np.round(a)),
    "round": (lambda lib, F, x: lib.round(x), lambda a: a - np.floor(a) - 0.5),
}


@spec(*KINKED)
def _kinked(name, draw, pool):
    call, kink = KINKED[name]
    return _unary(name, draw, pool, call, f"{name}({{}})", kink=kink)


@spec("clamp")
def _clamp(name, draw, pool):
    low, high = draw(st.sampled_from([(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.2, 1.5)]))
    kink = lambda a: np.concatenate([np.ravel(a - b) for b in (low, high) if b is not None])  # noqa: E731
    return _unary(name, draw, pool, lambda lib, F, x: lib.clamp(x, min=low, max=high),
                  f"clamp({{}}, {low}, {high})", kink=kink)


@spec("softplus")
def _softplus(name, draw, pool):
    beta, threshold = draw(st.sampled_from([(1.0, 20.0), (2.0, 1.5), (0.5, 3.0)]))
    return _unary(name, draw, pool, lambda lib, F, x: F.softplus(x, beta=beta, threshold=threshold),
                  f"softplus({{}}, beta={beta}, threshold={threshold})",
                  kink=lambda a: beta * a - threshold)


@spec("to_dtype")
def _to_dtype(name, draw, pool):
    i = _pick(draw, pool)
    return Step(name, (i,), lambda lib, F, x: x.to(lib.float32).to(lib.float64),
                "{}.to(float32).to(float64)", rounding=True)


BINARY = {
    "add": (lambda lib, F, a, b: a + b, "{} + {}", None),
    "sub": (lambda lib, F, a, b: a - b, "{} - {}", None),
    "mul": (lambda lib, F, a, b: a * b, "{} * {}", None),
    "div": (lambda lib, F, a, b: a / b, "{} / {}", _nonzero),
    "pow_tensor": (lambda lib, F, a, b: a ** lib.tanh(b), "{} ** tanh({})", None),
    "logaddexp": (lambda lib, F, a, b: lib.logaddexp(a, b), "logaddexp({}, {})", None),
    "xlogy": (lambda lib, F, a, b: lib.xlogy(a, b), "xlogy({}, {})", _positive),
}


@spec(*BINARY)
def _binary(name, draw, pool):
    call, text, guard_b = BINARY[name]
    i, j = _pick_pair(draw, pool)
    guard_a = _positive(pool[i]) if name == "pow_tensor" else ("{}", lambda lib, x: x)
    guard_b = guard_b(pool[j]) if guard_b else ("{}", lambda lib, x: x)
    ga, gb = guard_a[1], guard_b[1]
    return Step(name, (i, j), lambda lib, F, a, b: call(lib, F, ga(lib, a), gb(lib, b)),
                text.format(_guarded("{0}", guard_a), _guarded("{1}", guard_b)))


@spec("maximum", "minimum")
def _extremum(name, draw, pool):
    i, j = _pick_pair(draw, pool)
    if not _away(pool[i] - pool[j]):  # a tie: the gradient is split, differences see a kink
        return None
    return Step(name, (i, j), lambda lib, F, a, b: getattr(lib, name)(a, b), f"{name}({{}}, {{}})")


@spec("atan2")
def _atan2(name, draw, pool):
    i, j = _pick_pair(draw, pool)
    a, b = np.broadcast_arrays(pool[i], pool[j])
    # singular at (0, 0), and it jumps from pi to -pi across a = 0 where b < 0
    if not (_away(np.hypot(a, b)) and _away(np.where(b < 0, a, 1.0))):
        return None
    return Step(name, (i, j), lambda lib, F, a, b: lib.atan2(a, b), "atan2({}, {})")


@spec("cumsum", "flip")
def _along(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1)
    if i is None:
        return None
    ndim = pool[i].ndim
    if name == "cumsum":
        dim = draw(st.sampled_from(range(-ndim, ndim)))
        return Step(name, (i,), lambda lib, F, x: x.cumsum(dim), f"cumsum({{}}, {dim})")
    dims = draw(st.sampled_from([d for d in [(0,), (-1,), (0, -1)] if len({k % ndim for k in d}) == len(d)]))
    return Step(name, (i,), lambda lib, F, x: x.flip(dims), f"flip({{}}, {dims})")


@spec("repeat")
def _repeat(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.size <= 12)
    if i is None:
        return None
    sizes = draw(st.sampled_from([(2,), (1, 2), (2, 1, 1), (1, 1, 1, 2)]))
    sizes = (1,) * max(0, pool[i].ndim - len(sizes)) + sizes  # at least one size per dimension
    return Step(name, (i,), lambda lib, F, x: x.repeat(*sizes), f"repeat({{}}, {sizes})")


@spec("prod")
def _prod(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.size > 0)
    if i is None:
        return None
    ndim = pool[i].ndim
    dim = draw(st.sampled_from([None, *[(d, keep) for d in range(-ndim, ndim) for keep in (False, True)]]))
    # Entries clear of 0, like PyTorch's formula g * prod / x needs: near 0 its second
    # derivative cancels catastrophically (1/x - x/x^2), and at 0 it is not supported.
    text, guard = _nonzero(pool[i])
    text = _guarded("{0}", (text,))
    if dim is None:
        return Step(name, (i,), lambda lib, F, x: guard(lib, x).prod(), f"prod({text})")
    return Step(name, (i,), lambda lib, F, x: guard(lib, x).prod(dim[0], keepdim=dim[1]),
                f"prod({text}, {dim[0]}, keepdim={dim[1]})")


@spec("tril", "triu", "trace")
def _matrix_part(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim == 2 if name == "trace" else a.ndim >= 2)
    if i is None:
        return None
    if name == "trace":
        return Step(name, (i,), lambda lib, F, x: x.trace(), "trace({})")
    diagonal = draw(st.sampled_from([-1, 0, 1]))
    return Step(name, (i,), lambda lib, F, x: getattr(x, name)(diagonal), f"{name}({{}}, {diagonal})")


@spec("masked_fill")
def _masked_fill(name, draw, pool):
    i = _pick(draw, pool)
    if not _away(pool[i] - 0.3):  # the mask x > 0.3 would flip under a finite difference
        return None
    return Step(name, (i,), lambda lib, F, x: x.masked_fill(x > 0.3, -0.5),
                "masked_fill({0}, {0} > 0.3, -0.5)")


@spec("where")
def _where(name, draw, pool):
    i, j = _pick_pair(draw, pool)
    shape = np.broadcast_shapes(pool[i].shape, pool[j].shape)
    mask = draw(arrays(np.bool_, shape))
    return Step(name, (i, j), lambda lib, F, a, b: lib.where(lib.tensor(mask), a, b),
                f"where({mask.tolist()}, {{}}, {{}})")


@spec("remainder")
def _remainder(name, draw, pool):
    i, j = _pick_pair(draw, pool)
    divisor = pool[j] * pool[j] + 1.0
    quotient = pool[i] / divisor
    if not _away((quotient - np.round(quotient)) * divisor):  # a jump of the remainder
        return None
    return Step(name, (i, j), lambda lib, F, a, b: a % (b * b + 1.0), "{} % ({} * {} + 1.0)"
                .replace("{} * {}", "{1} * {1}").replace("{} %", "{0} %"))


@spec("clamp_tensor")
def _clamp_tensor(name, draw, pool):
    i = _pick(draw, pool)
    # Bounds that broadcast to x's shape: PyTorch's backward fails when they widen it.
    j = _pick(draw, pool, lambda a: _widens_to(a.shape, pool[i].shape))
    k = _pick(draw, pool, lambda a: _widens_to(a.shape, pool[i].shape))
    low, high = pool[j] - 0.5, pool[k] + 0.5
    x = pool[i]
    if not (_away(x - low) and _away(x - high) and _away(low - high)):
        return None
    return Step(name, (i, j, k), lambda lib, F, x, lo, hi: lib.clamp(x, min=lo - 0.5, max=hi + 0.5),
                "clamp({}, min={} - 0.5, max={} + 0.5)")


@spec("binary_cross_entropy_with_logits")
def _bce_with_logits(name, draw, pool):
    i = _pick(draw, pool)
    j = _pick(draw, pool, lambda a: a.shape == pool[i].shape)
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return Step(name, (i, j), lambda lib, F, x, y: F.binary_cross_entropy_with_logits(
        x, lib.sigmoid(y), reduction=reduction),
        f"binary_cross_entropy_with_logits({{}}, sigmoid({{}}), reduction={reduction!r})")


@spec("nll_loss")
def _nll_loss(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim in (1, 2) and a.size > 0)
    if i is None:
        return None
    shape = pool[i].shape
    classes = shape[-1]
    labels = [draw(st.integers(0, classes - 1)) for _ in range(shape[0])] if len(shape) == 2 \
        else draw(st.integers(0, classes - 1))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return Step(name, (i,), lambda lib, F, x: F.nll_loss(x, lib.tensor(labels), reduction=reduction),
                f"nll_loss({{}}, {labels}, reduction={reduction!r})")


@spec("mm")
def _mm(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim == 2)
    if i is None:
        return None
    j = _pick(draw, pool, lambda a: a.ndim == 2 and a.shape[0] == pool[i].shape[1])
    if j is None:  # a @ a.T: the same node on both sides
        return Step(name, (i,), lambda lib, F, a: lib.mm(a, a.t()), "mm({0}, {0}.t())")
    return Step(name, (i, j), lambda lib, F, a, b: lib.mm(a, b), "mm({}, {})")


@spec("addmm")
def _addmm(name, draw, pool):
    """F.linear(a, a, bias) = bias + a @ a.T, the bias another value that broadcasts to it."""
    i = _pick(draw, pool, lambda a: a.ndim == 2)
    if i is None:
        return None
    rows = pool[i].shape[0]
    j = _pick(draw, pool, lambda b: 1 <= b.ndim <= 2 and _widens_to(b.shape, (rows, rows)))
    if j is None:
        return None
    return Step(name, (i, j), lambda lib, F, a, b: F.linear(a, a, b), "linear({0}, {0}, {1})")


@spec("matmul")
def _matmul(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1)
    if i is None:
        return None
    j = _pick(draw, pool, lambda a: a.ndim >= 1 and _matmul_fits(pool[i].shape, a.shape))
    if j is None:
        if pool[i].ndim == 1:
            return Step(name, (i,), lambda lib, F, a: lib.matmul(a, a), "{0} @ {0}")
        return Step(name, (i,), lambda lib, F, a: lib.matmul(a, a.transpose(-1, -2)),
                    "{0} @ {0}.transpose(-1, -2)")
    return Step(name, (i, j), lambda lib, F, a, b: lib.matmul(a, b), "{} @ {}")


def _matmul_fits(a, b):
    try:
        np.matmul(np.empty(a), np.empty(b))
        return True
    except ValueError:
        return False


REDUCTIONS = {
    "sum": lambda lib, x, *dim: x.sum(*dim),
    "mean": lambda lib, x, *dim: x.mean(*dim),
    "logsumexp": lambda lib, x, *dim: lib.logsumexp(x, *dim),
}


@spec(*REDUCTIONS)
def _reduction(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.size > 0 and (a.ndim >= 1 or name != "logsumexp"))
    if i is None:
        return None
    ndim = pool[i].ndim
    dims = [()] if name != "logsumexp" else []
    dims += [(d, keep) for d in range(-ndim, ndim) for keep in (False, True)]
    dim = draw(st.sampled_from(dims))
    call = REDUCTIONS[name]
    return Step(name, (i,), lambda lib, F, x: call(lib, x, *dim),
                f"{name}({{}}{''.join(f', {d}' for d in dim)})")


@spec("var", "std", "norm")
def _spread(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.size > 0)
    if i is None:
        return None
    a = pool[i]
    dim = draw(st.sampled_from([None, *range(-a.ndim, a.ndim)]))
    keepdim = draw(st.booleans())
    axes = None if dim is None else dim % a.ndim
    if name == "norm":
        p = draw(st.sampled_from([2, 1]))
        # p = 2 has a kink where a whole slice is 0, p = 1 where any element is
        if not _away(a if p == 1 else np.sqrt((a * a).sum(axis=axes))):
            return None
        return Step(name, (i,), lambda lib, F, x: x.norm(p, dim, keepdim),
                    f"norm({{}}, p={p}, dim={dim}, keepdim={keepdim})")
    correction = draw(st.sampled_from([0, 1]))
    n = a.size if axes is None else a.shape[axes]
    if n <= correction:
        return None  # no degree of freedom left: nan in both libraries
    if name == "std" and n > 1 and not _away(np.std(a, axis=axes, ddof=correction)):
        return None  # std's kink where a slice is constant
    return Step(name, (i,), lambda lib, F, x: getattr(x, name)(dim, keepdim=keepdim,
                                                               correction=correction),
                f"{name}({{}}, dim={dim}, keepdim={keepdim}, correction={correction})")


@spec("max", "min")
def _max_min(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.size > 1)
    if i is None:
        return None
    a = pool[i]
    dim = draw(st.sampled_from([None, *range(a.ndim)]))
    keepdim = draw(st.booleans())
    ordered = np.sort(a.reshape(-1) if dim is None else np.moveaxis(a, dim, -1), axis=-1)
    if ordered.shape[-1] > 1:  # a reduced axis of length 1 has no tie
        gaps = ordered[..., -1] - ordered[..., -2] if name == "max" else ordered[..., 1] - ordered[..., 0]
    else:
        gaps = np.inf
    if not _away(gaps):
        return None  # a tie for the extreme: PyTorch and glassgrad may pick different ones
    if dim is None:
        return Step(name, (i,), lambda lib, F, x: getattr(x, name)(), f"{{}}.{name}()")
    return Step(name, (i,), lambda lib, F, x: getattr(x, name)(dim, keepdim=keepdim).values,
                f"{{}}.{name}({dim}, keepdim={keepdim}).values")


@spec("softmax", "log_softmax")
def _softmax(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1)
    if i is None:
        return None
    dim = draw(st.integers(-pool[i].ndim, pool[i].ndim - 1))
    return Step(name, (i,), lambda lib, F, x: getattr(F, name)(x, dim), f"{name}({{}}, {dim})")


@spec("reshape")
def _reshape(name, draw, pool):
    i = _pick(draw, pool)
    n = pool[i].size
    shapes = [(-1,), (1, -1), (-1, 1)] + [(d, n // d) for d in range(2, n) if n % d == 0]
    shape = draw(st.sampled_from(shapes))
    return Step(name, (i,), lambda lib, F, x: x.reshape(*shape), f"{{}}.reshape{shape}")


@spec("permute")
def _permute(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 2)
    if i is None:
        return None
    dims = draw(st.sampled_from(list(itertools.permutations(range(pool[i].ndim)))))
    return Step(name, (i,), lambda lib, F, x: x.permute(*dims), f"{{}}.permute{dims}")


@spec("transpose")
def _transpose(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 2)
    if i is None:
        return None
    d0, d1 = draw(st.sampled_from(list(itertools.combinations(range(pool[i].ndim), 2))))
    return Step(name, (i,), lambda lib, F, x: x.transpose(d0, d1), f"{{}}.transpose({d0}, {d1})")


@spec("expand")
def _expand(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim <= 2)
    if i is None:
        return None
    shape = pool[i].shape
    target = (2, 3) if _broadcasts(shape, (2, 3)) and len(shape) <= 2 else (2, *shape)
    return Step(name, (i,), lambda lib, F, x: x.expand(*target), f"{{}}.expand{target}")


@spec("getitem")
def _getitem(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1 and a.shape[0] >= 1)
    if i is None:
        return None
    a = pool[i]
    choices = {"[0]": lambda x: x[0], "[-1]": lambda x: x[-1], "[..., ::2]": lambda x: x[..., ::2],
               "[[0, 0, -1]]": lambda x: x[[0, 0, -1]], "[1:]": lambda x: x[1:]}
    mask = a > np.median(a)
    key = draw(st.sampled_from(sorted(choices) + ["[mask]"]))
    if key == "[mask]":
        return Step(name, (i,), lambda lib, F, x: x[lib.tensor(mask)], f"{{}}[{mask.tolist()}]")
    index = choices[key]
    return Step(name, (i,), lambda lib, F, x: index(x), f"{{}}{key}")


@spec("cat")
def _cat(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1)
    if i is None:
        return None
    a = pool[i]
    dim = draw(st.integers(0, a.ndim - 1))
    j = _pick(draw, pool, lambda b: b.ndim == a.ndim
              and b.shape[:dim] + b.shape[dim + 1:] == a.shape[:dim] + a.shape[dim + 1:])
    return Step(name, (i, j), lambda lib, F, a, b: lib.cat([a, b], dim), f"cat([{{}}, {{}}], {dim})")


@spec("stack")
def _stack(name, draw, pool):
    i = _pick(draw, pool)
    j = _pick(draw, pool, lambda b: b.shape == pool[i].shape)
    dim = draw(st.integers(0, pool[i].ndim))
    return Step(name, (i, j), lambda lib, F, a, b: lib.stack([a, b], dim),
                f"stack([{{}}, {{}}], {dim})")


@spec("setitem")
def _setitem(name, draw, pool):
    i = _pick(draw, pool, lambda a: a.ndim >= 1 and a.shape[0] >= 1)
    if i is None:
        return None
    j = _pick(draw, pool, lambda b: b.ndim < pool[i].ndim and _widens_to(b.shape, pool[i].shape[1:]))
    if j is None:
        return None

    def build(lib, F, a, b):
        out = a.clone()
        out[0] = b
        return out
    return Step(name, (i, j), build, "{0}.clone() with [0] = {1}")


@spec("copy")
def _copy(name, draw, pool):
    i = _pick(draw, pool)
    j = _pick(draw, pool, lambda b: _widens_to(b.shape, pool[i].shape))

    def build(lib, F, a, b):
        out = a.clone()
        out.copy_(b)
        return out
    return Step(name, (i, j), build, "{0}.clone().copy_({1})")


# ------------------------------------------------------------------------------------------------
# Building a program, and the oracles
# ------------------------------------------------------------------------------------------------

OPS_USED = set()


def _leaf_values():
    return st.sampled_from(LEAF_SHAPES).flatmap(lambda shape: arrays(
        np.float64, shape, elements=st.floats(-2, 2, allow_subnormal=False, width=64)))


def _evaluate_step(step, pool):
    """The step's value at the drawn point, or None when it is not finite or too large."""
    with gg.no_grad():
        value = step.build(gg, gg.nn.functional, *(gg.tensor(pool[i]) for i in step.inputs))
    array = np.asarray(value.numpy(), dtype=np.float64)
    if not np.all(np.isfinite(array)) or (array.size and np.abs(array).max() > MAX_VALUE):
        return None
    return array


def build_program(draw, max_steps, first_op=None):
    """A random program of up to ``max_steps`` steps; its first step applies ``first_op`` when
    given (the program is rejected when that op does not fit the drawn leaves)."""
    leaves = draw(st.lists(_leaf_values(), min_size=1, max_size=3))
    pool = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
    steps = []
    names = sorted(SPECS)
    for k in range(draw(st.integers(1, max_steps))):
        op = first_op if k == 0 and first_op else draw(st.sampled_from(names))
        step = SPECS[op](draw, pool)
        if step is not None and op == first_op and _evaluate_step(step, pool) is None:
            step = None
        if step is None:
            assume(op != first_op or k > 0)
            continue
        value = _evaluate_step(step, pool)
        if value is None:
            continue
        steps.append(step)
        pool.append(value)
    assume(steps)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    weights = [rng.uniform(0.5, 1.5, value.shape) * rng.choice([-1, 1], value.shape)
               for value in pool[len(leaves):]]
    return Program(pool[:len(leaves)], steps, weights)


def glassgrad_gradients(program, leaves=None, create_graph=False):
    tensors = [gg.tensor(a, dtype=gg.float64, requires_grad=True)
               for a in (program.leaves if leaves is None else leaves)]
    out = program.run(gg, gg.nn.functional, tensors)
    grads = gg.autograd.grad(out, tensors, allow_unused=True, create_graph=create_graph)
    grads = [gg.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]
    return out, tensors, grads


def finite_differences(function, leaves, eps):
    """d function / d leaf, elementwise, by central differences in float64."""
    result = []
    for k, leaf in enumerate(leaves):
        derivative = np.zeros_like(leaf)
        for index in np.ndindex(leaf.shape):
            shifted = [a.copy() for a in leaves]
            shifted[k][index] += eps
            up = function(shifted)
            shifted[k][index] -= 2 * eps
            down = function(shifted)
            derivative[index] = (up - down) / (2 * eps)
        result.append(derivative)
    return result


def _output(program, leaves):
    with gg.no_grad():
        return program.run(gg, gg.nn.functional, [gg.tensor(a, dtype=gg.float64) for a in leaves]).item()


def assert_close(actual, expected, tolerance, what, program):
    for k, (a, e) in enumerate(zip(actual, expected)):
        a, e = np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64)
        bad = np.abs(a - e) > tolerance * (1 + np.abs(e))
        if np.any(bad):
            raise AssertionError(f"{what}: leaf v{k} gets {a.tolist()}, expected {e.tolist()}"
                                 f"\nprogram:\n{program}")


def torch_gradients(program, create_graph=False):
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in program.leaves]
    out = program.run(torch, torch.nn.functional, leaves)
    grads = torch.autograd.grad(out, leaves, allow_unused=True, create_graph=create_graph)
    return out, leaves, [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]


# ------------------------------------------------------------------------------------------------
# The properties
# ------------------------------------------------------------------------------------------------

SETTINGS = dict(deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


def check_first_order(program):
    OPS_USED.update(step.op for step in program.steps)
    out, _, grads = glassgrad_gradients(program)
    numeric = finite_differences(lambda leaves: _output(program, leaves), program.leaves, program.eps)
    tolerance = 1e-5 if program.eps == EPS else 1e-2
    tolerance *= 1 + abs(out.item()) / 1e3  # rounding in the differences grows with the output
    assert_close([g.numpy() for g in grads], numeric, tolerance, "gradient vs finite differences",
                 program)
    if torch is not None:
        torch_out, _, torch_grads = torch_gradients(program)
        assert_close([out.item()], [torch_out.item()], 1e-10, "output vs torch", program)
        assert_close([g.numpy() for g in grads], [g.numpy(force=True) for g in torch_grads], 1e-9,
                     "gradient vs torch", program)


def check_second_order(program):
    """grad of sum(v * grad f) with create_graph=True against differences of v . grad f."""
    OPS_USED.update(step.op for step in program.steps)
    directions = [np.random.default_rng(k).uniform(-1, 1, a.shape)
                  for k, a in enumerate(program.leaves)]

    def directional_gradient(leaves):  # v . grad f by glassgrad's first-order backward
        _, _, grads = glassgrad_gradients(program, leaves)
        return sum(float((g.numpy() * v).sum()) for g, v in zip(grads, directions))

    _, tensors, grads = glassgrad_gradients(program, create_graph=True)
    contracted = sum((g * gg.tensor(v)).sum() for g, v in zip(grads, directions))
    if not contracted.requires_grad:
        return False  # the gradient is constant (a linear program): nothing to differentiate
    if any(s.op == "getitem" for s in program.steps):
        OPS_USED.add("index_scatter")  # getitem's vjp under create_graph
    hvp = gg.autograd.grad(contracted, tensors, allow_unused=True)
    hvp = [np.zeros(t.shape) if h is None else h.numpy() for t, h in zip(tensors, hvp)]
    numeric = finite_differences(directional_gradient, program.leaves, max(program.eps, 1e-5))
    tolerance = 1e-4 if program.eps == EPS else 3e-2
    assert_close(hvp, numeric, tolerance, "Hessian-vector product vs finite differences", program)
    if torch is not None:
        _, leaves, torch_grads = torch_gradients(program, create_graph=True)
        contracted = sum((g * torch.tensor(v)).sum() for g, v in zip(torch_grads, directions))
        torch_hvp = (torch.autograd.grad(contracted, leaves, allow_unused=True)
                     if contracted.requires_grad else [None] * len(leaves))
        torch_hvp = [np.zeros(t.shape) if h is None else h.numpy(force=True)
                     for t, h in zip(leaves, torch_hvp)]
        try:
            assert_close(torch_hvp, numeric, tolerance, "PyTorch vs finite differences", program)
        except AssertionError:
            # A second opinion only where it is right: PyTorch 2.13 masks pow's gradient at a zero
            # exponent to a constant and loses its derivative there (glassgrad keeps it).
            CASE_COUNTS["test_properties: second order, PyTorch wrong, not compared"] += 1
        else:
            assert_close(hvp, torch_hvp, 1e-9, "Hessian-vector product vs torch", program)
    return True


@settings(max_examples=60, **SETTINGS)
@given(st.data())
def test_random_graph_gradients_match_finite_differences_and_torch(data):
    check_first_order(build_program(data.draw, max_steps=8))
    CASE_COUNTS["test_properties: first order, random graphs"] += 1


@pytest.mark.parametrize("op", sorted(SPECS))
@settings(max_examples=3, **SETTINGS)
@given(data=st.data())
def test_each_op_in_random_graphs(op, data):
    """Every op, as the first step of a random graph (so each op is in some graph every run)."""
    check_first_order(build_program(data.draw, max_steps=4, first_op=op))
    CASE_COUNTS["test_properties: first order, each op first"] += 1


@pytest.mark.parametrize("first_op", [None, "getitem"], ids=["any", "getitem"])
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_random_graph_second_derivatives_match_finite_differences_and_torch(first_op, data):
    if check_second_order(build_program(data.draw, max_steps=5, first_op=first_op)):
        CASE_COUNTS["test_properties: second order, random graphs"] += 1


def test_every_registered_op_is_generated():
    missing = sorted(set(REGISTRY) - set(SPECS) - SECOND_ORDER_ONLY)
    assert missing == [], f"ops without a spec in tests/test_properties.py: {missing}"
    if OPS_USED:  # the properties ran in this session: each op must have been in some graph
        assert sorted(set(REGISTRY) - OPS_USED) == []


# ------------------------------------------------------------------------------------------------
# Shrunk failures, kept as regressions
# ------------------------------------------------------------------------------------------------

def test_clamp_whose_tensor_bounds_widen_a_0d_input():
    # Shrunk from the first-order property: v0 = 0.0 (0-d), v1 = stack([v0, v0]), then
    # clamp(v0, min=v0 - 1, max=v1 + 1). PyTorch 2.13's backward fails here ("output with shape []
    # doesn't match the broadcast shape [2]"), so the property keeps bounds from widening x; this
    # pins glassgrad's answer: both outputs are v0, so d(sum)/dv0 = 2.
    program = Program([np.array(0.0)], [
        Step("stack", (0, 0), lambda lib, F, a, b: lib.stack([a, b], 0), "stack([{}, {}], 0)"),
        Step("clamp_tensor", (0, 0, 1), lambda lib, F, x, lo, hi: lib.clamp(x, min=lo - 1.0, max=hi + 1.0),
             "clamp({}, min={} - 1, max={} + 1)")], [np.zeros(2), np.ones(2)])
    _, _, grads = glassgrad_gradients(program)
    assert grads[0].item() == 2.0
    numeric = finite_differences(lambda leaves: _output(program, leaves), program.leaves, EPS)
    assert abs(numeric[0] - 2.0) < 1e-8


def test_max_over_an_axis_of_length_one_has_no_tie():
    # Shrunk from the generator itself: a (1, 3) leaf reduced by min over dim 0 (length 1).
    program = Program([np.zeros((1, 3))], [
        Step("min", (0,), lambda lib, F, x: x.min(0, keepdim=False).values, "{}.min(0).values")],
        [np.array([1.0, -2.0, 0.5])])
    check_first_order(program)
    assert glassgrad_gradients(program)[2][0].tolist() == [[1.0, -2.0, 0.5]]


def test_xlogy_second_derivative_at_a_zero_first_argument():
    # Shrunk from the second-order property (CI's longer run): v0 = 1.0, v1 = 0.0, then
    # xlogy(v1, v0). d/da of d/db xlogy(a, b) = d/da (a / b) = 1 / b, also at a = 0, where the
    # first-order gradient for b had been masked to a constant 0.
    a = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    b = gg.tensor(2.0, dtype=gg.float64, requires_grad=True)
    _, grad_b = gg.autograd.grad(gg.xlogy(a, b), (a, b), create_graph=True)
    (second,) = gg.autograd.grad(grad_b, (a,))
    assert second.item() == 0.5
    program = Program([np.array(1.0), np.array(0.0)], [
        Step("xlogy", (1, 0), lambda lib, F, x, y: lib.xlogy(x, y), "xlogy({}, {})")],
        [np.array(0.3)])
    check_second_order(program)


def test_pow_second_derivative_at_a_zero_exponent():
    # Shrunk from the second-order property (a local run): v0 = 1.0, v1 = 0.0, then
    # v0 ** tanh(v1). d/db of d/da a ** b = d/db (b a^(b - 1)) = a^(b - 1) (1 + b ln a), which is
    # 1 / a at b = 0, where the first-order gradient for a had been masked to a constant 0
    # (PyTorch 2.13 masks it too and gives 0 here).
    a = gg.tensor(2.0, dtype=gg.float64, requires_grad=True)
    b = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    grad_a, _ = gg.autograd.grad(a ** b, (a, b), create_graph=True)
    assert grad_a.item() == 0.0
    (second,) = gg.autograd.grad(grad_a, (b,))
    assert second.item() == 0.5
    program = Program([np.array(1.0), np.array(0.0)], [
        Step("tanh", (1,), lambda lib, F, x: lib.tanh(x), "tanh({})"),
        Step("pow_tensor", (0, 2), lambda lib, F, x, y: x ** y, "{} ** {}")],
        [np.array(0.3), np.array(0.7)])
    check_second_order(program)
