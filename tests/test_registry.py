"""The meta-test of the op registry: every record is complete, and its gradients are right.

For each op in ``glassgrad.ops.REGISTRY`` the CASES table says how to call it (inputs that
respect its domain, its parameters) on several shapes: 0-d, vector, matrix, broadcast pairs and
empty tensors. Each case is gradchecked in float64 against finite differences, and
gradgradchecked where the op is twice differentiable. An op with no entry in CASES fails.
"""

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd import gradcheck, gradgradcheck
from glassgrad.nn import functional as F
from glassgrad.autograd.graph import apply
from glassgrad.ops import REGISTRY


@dataclass
class Case:
    """One way to exercise an op: how to draw its inputs and how to call it."""

    label: str
    inputs: tuple  # one sampler per input: sampler(rng) -> float64 array
    call: Callable  # call(*tensors) -> the op's output tensor
    second_order: bool = True  # False for an op that is not twice differentiable
    tolerances: dict = field(default_factory=dict)  # overrides of eps/atol/rtol
    warns_float32: bool = False  # an input or cotangent is float32: gradcheck warns, as torch does
    engine_bug: str = ""  # a known engine bug makes gradcheck fail: xfail(strict) with this reason
    engine_bug_second_order: str = ""  # the same for gradgradcheck


# ----- input samplers: each returns a float64 array of a given shape, inside a domain ----------
def sampler(draw):
    def for_shape(shape):
        return lambda rng: np.asarray(draw(rng, shape), dtype=np.float64)
    return for_shape


real = sampler(lambda rng, shape: rng.uniform(-2, 2, shape))
positive = sampler(lambda rng, shape: rng.uniform(0.5, 2, shape))
# At least 0.5 away from 0: the kink of abs/relu/sign and the pole of 1/x.
nonzero = sampler(lambda rng, shape: rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape))
inside_pi_over_2 = sampler(lambda rng, shape: rng.uniform(-1, 1, shape))
# Away from 0 but for one entry that is exactly 0 (prod's gradient there is the others' product).
with_a_zero = sampler(lambda rng, shape: np.where(np.arange(int(np.prod(shape))).reshape(shape) == 1, 0.0,
                                                  rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)))
inside_unit = sampler(lambda rng, shape: rng.uniform(-0.9, 0.9, shape))  # asin, acos: clear of +-1
# At least 0.1 from an integer and 0.15 from a half: floor, ceil, trunc and round are flat there.
clear_of_jumps = sampler(lambda rng, shape: rng.choice([-2, -1, 0, 1, 2], shape)
                         + rng.uniform(0.1, 0.35, shape))
above_minus_one = sampler(lambda rng, shape: rng.uniform(-0.5, 2, shape))
# Near -1.25, 0 and 1.25 (within 0.25): clear of clamp's corners at -0.5 and 0.5.
clear_of_half = sampler(lambda rng, shape: rng.choice([-1.25, 0.0, 1.25], shape)
                        + rng.uniform(-0.25, 0.25, shape))
probability = sampler(lambda rng, shape: rng.uniform(0.05, 0.95, shape))
# Two interleaved grids: any "odd" value is at least 0.3 from any "even" one (max/min ties).
odd_grid = sampler(lambda rng, shape: rng.choice([-1.5, -0.5, 0.5, 1.5], shape)
                   + rng.uniform(-0.1, 0.1, shape))
even_grid = sampler(lambda rng, shape: rng.choice([-1.0, 0.0, 1.0], shape)
                    + rng.uniform(-0.1, 0.1, shape))
# a / b stays at least 0.09 from an integer, so floor(a / b) is locally constant.
dividend = sampler(lambda rng, shape: rng.choice([-2, -1, 0, 1, 2], shape)
                   + rng.uniform(0.3, 0.7, shape))
divisor = sampler(lambda rng, shape: rng.uniform(1.0, 1.1, shape))
# Distinct values at least 0.3 apart: no ties for max/min.
distinct = sampler(lambda rng, shape: (rng.permutation(int(np.prod(shape, dtype=int))) * 0.5
                                       + rng.uniform(-0.1, 0.1, int(np.prod(shape, dtype=int))))
                   .reshape(shape))

UNARY_SHAPES = {"scalar": (), "vector": (3,), "matrix": (2, 3), "empty": (0,)}
BINARY_SHAPES = {
    "scalars": ((), ()), "vectors": ((3,), (3,)), "matrices": ((2, 3), (2, 3)),
    "matrix-vector": ((2, 3), (3,)), "column-row": ((2, 1), (1, 3)),
    "scalar-matrix": ((), (2, 3)), "empty": ((0,), (0,)), "empty-broadcast": ((0, 3), (3,)),
}


def unary(call, domain=real, shapes=UNARY_SHAPES, **options):
    return [Case(label, (domain(shape),), call, **options) for label, shape in shapes.items()]


def binary(call, domains=(real, real), shapes=BINARY_SHAPES, **options):
    return [Case(label, (domains[0](a), domains[1](b)), call, **options)
            for label, (a, b) in shapes.items()]


def case(label, domains_and_shapes, call, **options):
    return Case(label, tuple(domain(shape) for domain, shape in domains_and_shapes), call,
                **options)


def pow_cases():
    exponents = {"square": (2, real), "cube": (3, real), "sqrt": (0.5, positive),
                 "inverse": (-1, nonzero), "fractional": (2.5, positive), "zero": (0, real)}
    cases = []
    for label, (exponent, domain) in exponents.items():
        call = (lambda e: lambda x: x ** e)(exponent)
        cases += [case(f"{label}-{shape_label}", [(domain, shape)], call)
                  for shape_label, shape in (("scalar", ()), ("matrix", (2, 3)), ("empty", (0,)))]
    return cases


def where_cases():
    def call(a, b):
        # A fixed, shape-dependent condition that picks from both branches.
        shape = np.broadcast_shapes(a.shape, b.shape)
        condition = (np.arange(int(np.prod(shape, dtype=int))) % 2 == 0).reshape(shape)
        return gg.where(gg.tensor(condition), a, b)
    return binary(call)


def setitem_row(a, b):
    out = a.clone()
    out[1] = b
    return out


def setitem_column(a, b):
    out = a.clone()
    out[:, 0:1] = b
    return out


def copy_into(a, b):
    out = a.clone()
    out.copy_(b)
    return out


def scatter(index, shape):
    return lambda g: apply(REGISTRY["index_scatter"], (g,), {"index": index, "shape": shape})


# Casting to float32 rounds to ~1e-7 relative, so differences need a bigger step.
FLOAT32_ROUNDING = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}

CASES = {
    "add": binary(lambda a, b: a + b),
    "sub": binary(lambda a, b: a - b),
    "rsub": unary(lambda x: 2.0 - x),
    "mul": binary(lambda a, b: a * b),
    "div": binary(lambda a, b: a / b, domains=(real, nonzero)),
    "neg": unary(lambda x: -x),
    "reciprocal": unary(gg.reciprocal, nonzero),
    "pow": pow_cases(),
    "rpow": unary(lambda x: 2.0 ** x) + [case("base-half", [(real, (3,))], lambda x: 0.5 ** x)],
    "pow_tensor": binary(lambda a, b: a ** b, domains=(positive, real)),
    "exp": unary(gg.exp),
    "log": unary(gg.log, positive),
    "log1p": unary(gg.log1p, above_minus_one),
    "expm1": unary(gg.expm1),
    "sin": unary(gg.sin),
    "cos": unary(gg.cos),
    "tan": unary(gg.tan, inside_pi_over_2),
    "tanh": unary(gg.tanh),
    "sigmoid": unary(gg.sigmoid),
    "relu": unary(gg.relu, nonzero),
    "sqrt": unary(gg.sqrt, positive),
    "sign": unary(gg.sign, nonzero),
    "rsqrt": unary(gg.rsqrt, positive),
    "log2": unary(gg.log2, positive),
    "log10": unary(gg.log10, positive),
    "exp2": unary(gg.exp2),
    "asin": unary(gg.asin, inside_unit),
    "acos": unary(gg.acos, inside_unit),
    "atan": unary(gg.atan),
    "sinh": unary(gg.sinh),
    "cosh": unary(gg.cosh),
    "floor": unary(gg.floor, clear_of_jumps),
    "ceil": unary(gg.ceil, clear_of_jumps),
    "round": unary(gg.round, clear_of_jumps),
    "trunc": unary(gg.trunc, clear_of_jumps),
    "leaky_relu": unary(F.leaky_relu, nonzero) + [
        case("slope", [(nonzero, (2, 3))], lambda x: F.leaky_relu(x, 0.2))],
    "elu": unary(F.elu, nonzero) + [
        case("alpha", [(nonzero, (2, 3))], lambda x: F.elu(x, alpha=0.5))],
    "silu": unary(F.silu),
    "erf": unary(gg.erf),
    "gelu": unary(F.gelu) + [case("tanh", [(real, (2, 3))], lambda x: F.gelu(x, approximate="tanh"))],
    "atan2": binary(gg.atan2, domains=(real, nonzero)),
    "masked_fill": [
        case("matrix", [(real, (2, 3))],
             lambda x: x.masked_fill(gg.tensor([[True, False, False], [False, True, True]]), 0.5)),
        case("broadcast-mask", [(real, (2, 3))],
             lambda x: gg.masked_fill(x, gg.tensor([False, True, False]), -1.0))],
    "cumsum": [
        case("vector", [(real, (3,))], lambda x: gg.cumsum(x, 0)),
        case("matrix-dim1", [(real, (2, 3))], lambda x: x.cumsum(1)),
        case("matrix-negative-dim", [(real, (2, 3))], lambda x: x.cumsum(-2))],
    "prod": [
        case("vector", [(nonzero, (3,))], gg.prod),
        case("matrix-dim", [(nonzero, (2, 3))], lambda x: gg.prod(x, 1)),
        case("matrix-dim-keepdim", [(nonzero, (2, 3))], lambda x: x.prod(0, keepdim=True)),
        # exact where an entry is 0 (the product of the others); not twice differentiable there
        case("a-zero", [(with_a_zero, (2, 3))], gg.prod, second_order=False),
        case("a-zero-dim", [(with_a_zero, (2, 3))], lambda x: x.prod(1), second_order=False)],
    "trace": [
        case("square", [(real, (3, 3))], gg.trace),
        case("wide", [(real, (2, 3))], lambda x: x.trace())],
    "repeat": [
        case("rows", [(real, (2, 3))], lambda x: x.repeat(2, 1)),
        case("new-leading-axis", [(real, (2, 3))], lambda x: gg.repeat(x, 2, 1, 3)),
        case("vector", [(real, (3,))], lambda x: x.repeat(3))],
    "flip": [
        case("vector", [(real, (3,))], lambda x: gg.flip(x, 0)),
        case("matrix-both", [(real, (2, 3))], lambda x: x.flip((0, 1)))],
    "tril": [
        case("square", [(real, (3, 3))], gg.tril),
        case("below", [(real, (3, 4))], lambda x: x.tril(-1)),
        case("batch", [(real, (2, 3, 3))], lambda x: gg.tril(x, 1))],
    "triu": [
        case("square", [(real, (3, 3))], gg.triu),
        case("above", [(real, (4, 3))], lambda x: x.triu(1))],
    "abs": unary(gg.abs, nonzero),
    "maximum": binary(gg.maximum, domains=(odd_grid, even_grid)),
    "minimum": binary(gg.minimum, domains=(odd_grid, even_grid)),
    "clamp": unary(lambda x: gg.clamp(x, -0.5, 0.5), clear_of_half)
    + [case("min-only", [(clear_of_half, (2, 3))], lambda x: gg.clamp(x, min=-0.5)),
       case("max-only", [(clear_of_half, (2, 3))], lambda x: gg.clamp(x, max=0.5))],
    "clamp_tensor": [
        case("tensor-bounds", [(clear_of_half, (2, 3)), (real, (3,)), (real, (3,))],
             lambda x, lo, hi: gg.clamp(x, min=lo - 1.0, max=hi + 1.0)),
        case("0-d-bound", [(clear_of_half, (2, 3)), (real, ())],
             lambda x, lo: gg.clamp(x, min=lo * 0.1))],
    "where": where_cases(),
    "remainder": binary(lambda a, b: a % b, domains=(dividend, divisor)),
    "mm": [case("2x3@3x4", [(real, (2, 3)), (real, (3, 4))], gg.mm),
           case("1x1@1x1", [(real, (1, 1)), (real, (1, 1))], gg.mm),
           case("empty-rows", [(real, (0, 3)), (real, (3, 2))], gg.mm),
           case("empty-inner", [(real, (2, 0)), (real, (0, 3))], gg.mm)],
    "addmm": [case("linear", [(real, (2, 4)), (real, (3, 4)), (real, (3,))], F.linear),
              case("linear-1-row", [(real, (1, 2)), (real, (3, 2)), (real, (3,))], F.linear),
              case("bias-column", [(real, (3, 1)), (real, (3, 2)), (real, (2, 4))],
                   lambda bias, a, b: apply(REGISTRY["addmm"], (bias, a, b)))],
    "matmul": [case("dot", [(real, (3,)), (real, (3,))], gg.matmul),
               case("matrix-vector", [(real, (2, 3)), (real, (3,))], gg.matmul),
               case("vector-matrix", [(real, (3,)), (real, (3, 2))], gg.matmul),
               case("batch-matrix", [(real, (2, 2, 3)), (real, (3, 2))], gg.matmul),
               case("matrix-batch", [(real, (2, 3)), (real, (2, 3, 2))], gg.matmul),
               case("empty-batch", [(real, (0, 2, 3)), (real, (3, 2))], gg.matmul)],
    "sum": unary(gg.sum) + [
        case("dim-keepdim", [(real, (2, 3))], lambda x: gg.sum(x, 1, keepdim=True)),
        case("dims", [(real, (2, 3))], lambda x: gg.sum(x, (0, 1))),
        case("empty-dim", [(real, (0, 3))], lambda x: gg.sum(x, 1))],
    "mean": unary(gg.mean, shapes={"scalar": (), "vector": (3,), "matrix": (2, 3)}) + [
        case("dim-keepdim", [(real, (2, 3))], lambda x: gg.mean(x, 1, keepdim=True)),
        case("negative-dim", [(real, (2, 3))], lambda x: gg.mean(x, -2)),
        case("empty-dim", [(real, (0, 3))], lambda x: gg.mean(x, 1))],
    "max": unary(gg.max, distinct, shapes={"scalar": (), "vector": (3,), "matrix": (2, 3)}) + [
        case("dim", [(distinct, (2, 3))], lambda x: gg.max(x, 1).values),
        case("dim-keepdim", [(distinct, (2, 3))], lambda x: gg.max(x, 0, keepdim=True).values),
        case("amax-dims", [(distinct, (2, 3))], lambda x: gg.amax(x, (0, 1)))],
    "min": unary(gg.min, distinct, shapes={"scalar": (), "vector": (3,), "matrix": (2, 3)}) + [
        case("dim", [(distinct, (2, 3))], lambda x: gg.min(x, 1).values),
        case("amin", [(distinct, (2, 3))], lambda x: gg.amin(x, 0)),
        case("amin-dims", [(distinct, (2, 2, 2))], lambda x: gg.amin(x, (1, 2)))],
    "var": [
        case("vector", [(real, (3,))], gg.var),
        case("matrix-dim", [(real, (2, 3))], lambda x: gg.var(x, 1)),
        case("dims-keepdim-biased", [(real, (2, 3))],
             lambda x: gg.var(x, (0, 1), keepdim=True, unbiased=False)),
        case("correction-2", [(real, (4, 3))], lambda x: x.var(0, correction=2))],
    "std": [
        case("vector", [(real, (3,))], gg.std),
        case("matrix-dim-keepdim", [(real, (2, 3))], lambda x: gg.std(x, -1, keepdim=True)),
        case("biased", [(real, (2, 3))], lambda x: x.std(0, unbiased=False))],
    "norm": [
        case("vector", [(real, (3,))], gg.norm),
        case("matrix-dim", [(real, (2, 3))], lambda x: gg.norm(x, dim=1)),
        case("scalar", [(nonzero, ())], gg.norm),
        case("p1-dim-keepdim", [(nonzero, (2, 3))], lambda x: x.norm(1, 0, keepdim=True))],
    "logsumexp": [
        case("vector", [(real, (3,))], lambda x: gg.logsumexp(x, 0)),
        case("matrix-dim", [(real, (2, 3))], lambda x: gg.logsumexp(x, 1)),
        case("matrix-dims-keepdim", [(real, (2, 3))],
             lambda x: gg.logsumexp(x, (0, 1), keepdim=True)),
        case("empty-rows", [(real, (0, 3))], lambda x: gg.logsumexp(x, 1))],
    # the stable records (glassgrad/ops/stable.py)
    "softmax": [
        case("rows", [(real, (2, 3))], lambda x: gg.softmax(x, 1)),
        case("vector", [(real, (3,))], lambda x: gg.softmax(x, 0)),
        case("scalar", [(real, ())], lambda x: gg.softmax(x, 0)),
        case("empty-rows", [(real, (0, 3))], lambda x: gg.softmax(x, 1))],
    "log_softmax": [
        case("rows", [(real, (2, 3))], lambda x: gg.log_softmax(x, 1)),
        case("columns", [(real, (2, 3))], lambda x: gg.log_softmax(x, 0)),
        case("scalar", [(real, ())], lambda x: gg.log_softmax(x, 0))],
    "logaddexp": binary(gg.logaddexp),
    "softplus": unary(F.softplus) + [
        case("beta-threshold", [(real, (2, 3))], lambda x: F.softplus(x, beta=2.0, threshold=1.5)),
        case("no-threshold", [(real, (3,))], lambda x: F.softplus(x * 30, threshold=float("inf")))],
    "log_sigmoid": unary(F.logsigmoid),
    "xlogy": binary(gg.xlogy, domains=(real, positive)),
    "binary_cross_entropy_with_logits": [
        case(f"{reduction}", [(real, (2, 3)), (probability, (2, 3))],
             lambda x, y, r=reduction: F.binary_cross_entropy_with_logits(x, y, reduction=r))
        for reduction in ("mean", "sum", "none")] + [
        case("weights", [(real, (2, 3)), (probability, (2, 3))],
             lambda x, y: F.binary_cross_entropy_with_logits(
                 x, y, weight=gg.tensor([1.0, 0.5, 2.0]), pos_weight=gg.tensor([2.0, 1.0, 0.25])))],
    "nll_loss": [
        case(f"{reduction}", [(real, (3, 4))],
             lambda x, r=reduction: F.nll_loss(x, gg.tensor([1, 3, 0]), reduction=r))
        for reduction in ("mean", "sum", "none")] + [
        case("weights-ignored-row", [(real, (3, 4))],
             lambda x: F.nll_loss(x, gg.tensor([1, -100, 2]), weight=gg.tensor([1.0, 0.5, 2.0, 3.0]))),
        case("one-sample", [(real, (4,))], lambda x: F.nll_loss(x, gg.tensor(2)))],
    "reshape": [
        case("matrix-to-vector", [(real, (2, 3))], lambda x: x.reshape(-1)),
        case("vector-to-matrix", [(real, (6,))], lambda x: x.view(3, 2)),
        case("scalar-to-vector", [(real, ())], lambda x: x.reshape(1)),
        case("unsqueeze", [(real, (3,))], lambda x: x.unsqueeze(0)),
        case("squeeze", [(real, (3, 1))], lambda x: x.squeeze(1)),
        case("empty", [(real, (0,))], lambda x: x.reshape(0, 3))],
    "permute": [
        case("matrix-T", [(real, (2, 3))], lambda x: x.T),
        case("3d", [(real, (2, 3, 1))], lambda x: x.permute(2, 0, 1)),
        case("scalar", [(real, ())], lambda x: x.permute()),
        case("empty", [(real, (0, 2))], lambda x: x.permute(1, 0))],
    "transpose": [
        case("matrix", [(real, (2, 3))], lambda x: x.transpose(0, 1)),
        case("t", [(real, (3, 2))], lambda x: x.t()),
        case("3d-negative-dims", [(real, (2, 1, 3))], lambda x: x.transpose(-1, 0)),
        case("empty", [(real, (0, 3))], lambda x: x.transpose(0, 1))],
    "expand": [
        case("vector-to-matrix", [(real, (3,))], lambda x: x.expand(2, 3)),
        case("column", [(real, (2, 1))], lambda x: x.expand(2, 3)),
        case("scalar", [(real, ())], lambda x: x.expand(2, 2)),
        case("empty", [(real, (1, 0))], lambda x: x.expand(2, 0))],
    "getitem": [
        case("select", [(real, (3,))], lambda x: x[1]),
        case("slice", [(real, (2, 3))], lambda x: x[:, 1:]),
        case("repeated-index", [(real, (3,))], lambda x: x[[0, 0, 2]]),
        case("row", [(real, (2, 3))], lambda x: x[-1]),
        case("scalar-newaxis", [(real, ())], lambda x: x[None]),
        case("empty-slice", [(real, (3,))], lambda x: x[1:1])],
    "index_scatter": [
        case("distinct", [(real, (2,))], scatter(np.array([0, 2]), (3,))),
        case("repeated", [(real, (2,))], scatter(np.array([1, 1]), (3,))),
        case("scalar", [(real, ())], scatter(1, (3,))),
        case("rows", [(real, (2, 3))], scatter(np.array([2, 0]), (4, 3)))],
    "cat": [
        case("rows", [(real, (2, 3)), (real, (1, 3))], lambda a, b: gg.cat([a, b], 0)),
        case("columns", [(real, (2, 1)), (real, (2, 2))], lambda a, b: gg.cat([a, b], 1)),
        case("with-empty", [(real, (3,)), (real, (0,))], lambda a, b: gg.cat([a, b])),
        case("three", [(real, (1,)), (real, (2,)), (real, (1,))],
             lambda a, b, c: gg.cat([a, b, c]))],
    "stack": [
        case("vectors", [(real, (3,)), (real, (3,))], lambda a, b: gg.stack([a, b])),
        case("matrices-dim1", [(real, (2, 3)), (real, (2, 3))],
             lambda a, b: gg.stack([a, b], 1)),
        case("scalars", [(real, ()), (real, ()), (real, ())], lambda a, b, c: gg.stack([a, b, c])),
        case("empty", [(real, (0,)), (real, (0,))], lambda a, b: gg.stack([a, b], -1))],
    "clone": unary(gg.clone),
    "to_dtype": unary(lambda x: x.to(gg.float32), tolerances=FLOAT32_ROUNDING,
                      warns_float32=True),
    "setitem": [
        case("row", [(real, (2, 3)), (real, (3,))], setitem_row),
        case("broadcast-scalar", [(real, (2, 3)), (real, ())], setitem_row),
        case("column-slice", [(real, (2, 3)), (real, (2, 1))], setitem_column),
        case("vector", [(real, (3,)), (real, ())], setitem_row)],
    "copy": [
        case("same-shape", [(real, (2, 3)), (real, (2, 3))], copy_into),
        case("broadcast", [(real, (2, 3)), (real, (3,))], copy_into),
        case("scalars", [(real, ()), (real, ())], copy_into)],
}


# ----- the meta-test ---------------------------------------------------------------------------
MISSING = Case("no-entry-in-CASES", (), None)


def all_cases(second_order=False):
    """(op name, case) for every registered op: an op missing from CASES yields MISSING."""
    params = []
    for name in REGISTRY:
        for c in CASES.get(name) or [MISSING]:
            bug = c.engine_bug_second_order if second_order else c.engine_bug
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            params.append(pytest.param(name, c, id=f"{name}-{c.label}", marks=marks))
    return params


def expected_warnings(c):
    """gradcheck's float32 warning where the case has float32 values, else nothing."""
    if c.warns_float32:
        return pytest.warns(UserWarning, match="is not a double precision floating point")
    return contextlib.nullcontext()


def make_inputs(c, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(gg.tensor(draw(rng), dtype=gg.float64, requires_grad=True) for draw in c.inputs)


def check_record_is_complete(op, name):
    inputs_count = 1 if op.variadic else len(op.inputs)
    assert op.name == name
    assert callable(op.forward)
    for text_field in ("grad_fn_name", "formula", "latex", "domain"):
        value = getattr(op, text_field)
        assert isinstance(value, str) and value.strip(), f"{name}: {text_field} is empty"
    for per_input in ("vjps", "derivatives", "derivatives_latex"):
        values = getattr(op, per_input)
        assert len(values) == inputs_count, f"{name}: {per_input} needs one entry per input"
        for value in values:
            assert callable(value) if per_input == "vjps" else (
                isinstance(value, str) and value.strip()), f"{name}: empty {per_input} entry"


def check_calls_the_record(c, op, inputs):
    out = c.call(*inputs)
    assert out.grad_fn is not None, f"{c.label}: the output has no grad_fn"
    assert out.grad_fn.op is op, f"{c.label} ran {out.grad_fn.op.name!r}, not {op.name!r}"


@pytest.mark.parametrize("name, c", all_cases())
def test_every_registered_op_is_complete_and_gradchecked(name, c):
    if c is MISSING:
        pytest.fail(f"op {name!r} is registered but has no entry in CASES: add how to call it")
    op = REGISTRY[name]
    check_record_is_complete(op, name)
    inputs = make_inputs(c)
    check_calls_the_record(c, op, inputs)
    assert gradcheck(c.call, inputs, **c.tolerances)


def second_order_cases():
    return [p for p in all_cases(second_order=True)
            if p.values[1] is MISSING or p.values[1].second_order]


@pytest.mark.parametrize("name, c", second_order_cases())
def test_every_registered_op_is_gradgradchecked(name, c):
    if c is MISSING:
        pytest.fail(f"op {name!r} is registered but has no entry in CASES: add how to call it")
    with expected_warnings(c):
        assert gradgradcheck(c.call, make_inputs(c, seed=1), **c.tolerances)


def test_cases_cover_exactly_the_registry():
    assert sorted(set(REGISTRY) - set(CASES)) == [], "registered ops without a gradcheck case"
    assert sorted(set(CASES) - set(REGISTRY)) == [], "cases for ops that are not registered"


def test_the_meta_test_catches_a_wrong_vjp():
    """A record with a wrong derivative must fail gradcheck (so the meta-test can fail)."""
    from glassgrad.ops.registry import Op

    wrong_sin = Op("wrong_sin", inputs=("x",), forward=np.sin,
                   vjps=(lambda g, x: g * np.sin(x),),  # should be cos
                   grad_fn_name="SinBackward0", formula="sin(x)", latex=r"\sin x",
                   derivatives=("cos(x)",), derivatives_latex=(r"\cos x",))
    x = gg.tensor([0.3, 1.2], dtype=gg.float64, requires_grad=True)
    # Applied by name: the record is deliberately left out of REGISTRY (and of this meta-test).
    assert not gradcheck(lambda t: apply(wrong_sin, (t,), name="SinBackward0"), x,
                         raise_exception=False)


# ----- reused nodes: a value feeding several consumers gets the sum of their gradients --------
REUSE_FUNCTIONS = {
    "a+a": lambda lib, a: a + a,
    "x*x": lambda lib, x: x * x,
    "shared-subexpression": lambda lib, x: (lambda y: y * y + y)(x * 2),
    "diamond": lambda lib, x: (lambda y: lib.sin(y) * lib.exp(y))(x * x),
    "reuse-across-reduction": lambda lib, x: (lambda s: s * x)(x.sum()),
}


@pytest.mark.parametrize("name", REUSE_FUNCTIONS)
def test_reused_nodes_match_finite_differences(name):
    f = REUSE_FUNCTIONS[name]
    x = gg.tensor([0.3, -1.1, 0.8], dtype=gg.float64, requires_grad=True)
    assert gradcheck(lambda t: f(gg, t), x)
    assert gradgradcheck(lambda t: f(gg, t), x)


@pytest.mark.parametrize("name", REUSE_FUNCTIONS)
def test_reused_nodes_match_torch(name):
    torch = pytest.importorskip("torch")
    f = REUSE_FUNCTIONS[name]
    values = [0.3, -1.1, 0.8]
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    f(gg, x).sum().backward()
    x_torch = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    f(torch, x_torch).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_torch.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_shared_subexpression_closed_form():
    # y = 2x; z = y*y + y; dz/dx = (2y + 1) * 2
    x = gg.tensor(3.0, dtype=gg.float64, requires_grad=True)
    y = x * 2
    (y * y + y).backward()
    assert x.grad.item() == (2 * 6.0 + 1) * 2


# ----- regressions: engine bugs this meta-test found, now fixed -------------------------------
@pytest.mark.parametrize("reduce", [
    lambda x: gg.sum(x, 0), lambda x: gg.mean(x, 0), lambda x: gg.max(x, 0).values,
    lambda x: gg.logsumexp(x, 0), lambda x: gg.amax(x, -1)],
    ids=["sum", "mean", "max", "logsumexp", "amax"])
def test_reducing_a_scalar_along_dim_0_is_the_identity(reduce):
    x = gg.tensor(1.5, dtype=gg.float64, requires_grad=True)
    out = reduce(x)
    out.backward()
    assert out.item() == 1.5 and x.grad.item() == 1.0


def test_amax_splits_the_gradient_between_ties():
    x = gg.tensor([1.0, 3.0, 3.0], dtype=gg.float64, requires_grad=True)
    gg.amax(x, 0).backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_zero_to_the_power_x_has_zero_gradient_at_x_zero():
    x = gg.tensor([0.0, 2.0], dtype=gg.float64, requires_grad=True)
    (0.0 ** x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
