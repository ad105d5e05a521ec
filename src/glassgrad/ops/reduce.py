"""Reductions: sum, mean, max, min and logsumexp, over all elements or chosen dimensions.

``dim`` is None (every element) or a tuple of non-negative axes, normalised by the caller. The
vjps broadcast the incoming gradient back over the reduced axes with ``xp.unreduce``.
"""

import math

import numpy as np

from . import numerics
from .namespaces import numpy_ns
from .registry import Domain, register

# A sum of finite values can still overflow.
_SUM_DOMAIN = Domain("all real numbers; the sum overflows past the dtype's max (3.4e38 in float32)",
                     lambda finfo, **_: [("|sum(x)|", "<=", float(finfo.max))])


def _logsumexp(x, dim, keepdim):
    # max + log1p(sum of exp(x - max) over the rest): see numerics.Softmax
    parts = numerics.Softmax(x, dim)
    out = numerics.narrow(parts.restore(parts.logsumexp()), x.dtype)
    return out if keepdim else np.squeeze(out, axis=dim)


def _logsumexp_gradient(xp, g, x, dim, keepdim):
    """g times the softmax of x, recomputed from x rather than as exp(x - out): exact limits at
    +-inf (an all -inf row shares the gradient evenly instead of 0/0) and no amplified rounding."""
    spread = xp.unreduce(g, x.shape, dim, keepdim)
    if xp is numpy_ns:
        parts = numerics.Softmax(x, dim)
        return spread * numerics.narrow(parts.restore(parts.probabilities()), g.dtype)
    from ..autograd.graph import apply  # under create_graph: the softmax record, differentiable
    from .stable import softmax
    return spread * apply(softmax, (x,), {"dim": dim})


def count(shape, dim):
    """How many elements a reduction over ``dim`` (None: all) of ``shape`` takes into each result."""
    return math.prod(shape[d] for d in dim) if dim is not None else math.prod(shape)


def _mean(x, dim, keepdim):
    """np.mean's numbers without its set-up (5 us of 6 on 20 elements): the sum divided by the
    count. np.mean divides a float32 sum in float64 and rounds back, which gives the same
    correctly rounded quotient as float32 division while the count is exact in float32. float16
    (summed in float32 by np.mean) and empty inputs (a warning) are left to np.mean."""
    n = count(x.shape, dim)
    if x.dtype.char in "fd" and 0 < n < 2 ** 24:
        return np.add.reduce(x, axis=dim, keepdims=keepdim) / n
    return np.mean(x, axis=dim, keepdims=keepdim)


def _extreme_mask(xp, x, out, dim, keepdim, ties):
    """Where the gradient of a max or min goes: a constant array shaped like x.

    ``ties="split"`` shares it evenly between equal extremes (PyTorch's max(), amax);
    ``ties="first"`` gives it all to the first one along ``dim`` (PyTorch's max(dim)).
    """
    x, out = xp.data(x), xp.data(out)
    extreme = out if keepdim or dim is None else np.expand_dims(out, dim)
    hit = x == extreme
    if ties == "split" or dim is None:
        hit = hit.astype(x.dtype)
        return hit / hit.sum(axis=dim, keepdims=True)
    axis = dim[0]
    first = np.argmax(hit, axis=axis, keepdims=True)
    mask = np.zeros_like(x)
    np.put_along_axis(mask, first, 1, axis=axis)
    return mask


sum = register(
    "sum", inputs=("x",), params=("dim", "keepdim"),
    forward=lambda x, dim, keepdim: x.sum(axis=dim, keepdims=keepdim),
    vjps=(lambda xp, g, x, dim, keepdim: xp.unreduce(g, x.shape, dim, keepdim),),
    grad_fn_name="SumBackward1", formula="sum(x)", latex=r"\sum_i x_i",
    derivatives=("1",), derivatives_latex=("1",), domain=_SUM_DOMAIN,
)
mean = register(
    "mean", inputs=("x",), params=("dim", "keepdim"),
    forward=_mean,
    vjps=(lambda xp, g, x, dim, keepdim: xp.unreduce(g, x.shape, dim, keepdim) / count(x.shape, dim),),
    grad_fn_name="MeanBackward1", formula="mean(x)", latex=r"\frac{1}{n}\sum_i x_i",
    derivatives=("1/n",), derivatives_latex=(r"\frac{1}{n}",),
)
def _register_extreme(name, reduce, grad_fn_name, word):
    """max and min: the same record but for the NumPy reduction and the words."""
    return register(
        name, inputs=("x",), params=("dim", "keepdim", "ties"),
        forward=lambda x, dim, keepdim, ties: reduce(x, axis=dim, keepdims=keepdim),
        vjps=(lambda xp, g, x, out, dim, keepdim, ties:
              xp.unreduce(g, x.shape, dim, keepdim) * _extreme_mask(xp, x, out, dim, keepdim, ties),),
        grad_fn_name=grad_fn_name, formula=f"{name}(x)", latex=rf"\{name}_i x_i",
        derivatives=(f"1 at the {word} (shared between ties), else 0",),
        derivatives_latex=(rf"\mathbb{{1}}[x_i = \{name} x] / \#\{{\text{{ties}}\}}",),
    )


amax = _register_extreme("max", np.max, "MaxBackward1", "maximum")
amin = _register_extreme("min", np.min, "MinBackward1", "minimum")
logsumexp = register(
    "logsumexp", inputs=("x",), params=("dim", "keepdim"), forward=_logsumexp,
    vjps=(_logsumexp_gradient,),
    grad_fn_name="LogsumexpBackward0", formula="log(sum(exp(x)))", latex=r"\ln \sum_i e^{x_i}",
    derivatives=("exp(x - logsumexp(x)) (the softmax)",),
    derivatives_latex=(r"\frac{e^{x_i}}{\sum_j e^{x_j}}",),
    domain="all real numbers and +-inf (never overflows; all -inf gives -inf, with the gradient "
           "shared evenly)",
)


# ----- spread and size: var, std, and the vector norms ------------------------------------------

def _per_degree_of_freedom(n, correction):
    """1 / (n - correction), inf when no degree of freedom is left (the result is then nan or
    inf, as in PyTorch)."""
    return 1.0 / (n - correction) if n > correction else math.inf


def _var(x, dim, keepdim, correction):
    # Two passes (the mean, then the squared deviations); np.var would warn from NumPy's own
    # module when no degree of freedom is left, where PyTorch returns nan silently.
    n = count(x.shape, dim)
    deviation = x - np.add.reduce(x, axis=dim, keepdims=True) / n
    squares = np.add.reduce(deviation * deviation, axis=dim, keepdims=keepdim)
    freedom = n - correction
    return np.asarray(squares / freedom if freedom > 0 else squares * math.inf)


def _var_gradient(xp, g, x, dim, keepdim, correction):
    """PyTorch's order: (2 / (n - correction)) * g * (x - mean(x))."""
    n = count(x.shape, dim)
    deviation = x - xp.sum(x, dim, True) / n
    return (2.0 * _per_degree_of_freedom(n, correction)) * xp.unreduce(g, x.shape, dim, keepdim) * deviation


var = register(
    "var", inputs=("x",), params=("dim", "keepdim", "correction"), forward=_var,
    vjps=(_var_gradient,),
    grad_fn_name="VarBackward0", formula="sum((x - mean(x))^2) / (n - correction)",
    latex=r"\frac{1}{n - c}\sum_i (x_i - \bar{x})^2",
    derivatives=("2 (x - mean(x)) / (n - correction)",),
    derivatives_latex=(r"\frac{2 (x_i - \bar{x})}{n - c}",),
    domain="all real numbers (nan when n <= correction)",
)
std = register(
    "std", inputs=("x",), params=("dim", "keepdim", "correction"),
    forward=lambda x, dim, keepdim, correction: np.sqrt(_var(x, dim, keepdim, correction)),
    # PyTorch's std_backward: var's gradient of g / (2 std), 0 where std is 0 (no direction)
    vjps=(lambda xp, g, x, out, dim, keepdim, correction:
          _var_gradient(xp, xp.where(out == 0, 0.0, g / (out * 2)), x, dim, keepdim, correction),),
    grad_fn_name="StdBackward0", formula="sqrt(var(x))",
    latex=r"\sqrt{\frac{1}{n - c}\sum_i (x_i - \bar{x})^2}",
    derivatives=("(x - mean(x)) / ((n - correction) * std(x))",),
    derivatives_latex=(r"\frac{x_i - \bar{x}}{(n - c)\,\sigma}",),
    domain="all real numbers (where every x is the same the gradient is taken as 0, as in PyTorch)",
)


def _norm(x, dim, keepdim, p):
    if p == 1:
        return np.asarray(np.add.reduce(np.abs(x), axis=dim, keepdims=keepdim))
    return np.sqrt(np.add.reduce(x * x, axis=dim, keepdims=keepdim))


def _norm_gradient(xp, g, x, out, dim, keepdim, p):
    if p == 1:
        return xp.unreduce(g, x.shape, dim, keepdim) * xp.sign(x)
    # PyTorch's: x * (g / norm), with 0 where the norm is 0 (all of x is 0: no direction)
    scale = xp.where(out == 0, 0.0, g / out)
    return x * xp.unreduce(scale, x.shape, dim, keepdim)


norm = register(
    "norm", inputs=("x",), params=("dim", "keepdim", "p"), forward=_norm,
    vjps=(_norm_gradient,),
    grad_fn_name="LinalgVectorNormBackward0", formula="(sum(|x|^p))^(1/p)",
    latex=r"\lVert x \rVert_p",
    derivatives=("x / norm(x) (p = 2), sign(x) (p = 1)",),
    derivatives_latex=(r"\frac{x_i}{\lVert x \rVert_2},\ \operatorname{sign}(x_i)",),
    domain=_SUM_DOMAIN,
)


# ----- running and whole products and sums: cumsum, prod, trace ---------------------------------

cumsum = register(
    "cumsum", inputs=("x",), params=("dim",),
    forward=lambda x, dim: np.cumsum(x, axis=dim),
    # each x_i reaches every later partial sum: the gradient is g summed from the end
    vjps=(lambda xp, g, dim: xp.flip(xp.cumsum(xp.flip(g, (dim,)), dim), (dim,)),),
    grad_fn_name="CumsumBackward0", formula="x_1 + ... + x_i along dim",
    latex=r"\sum_{j \le i} x_j",
    derivatives=("1 for every later partial sum",), derivatives_latex=(r"\mathbb{1}[j \le i]",),
    domain=_SUM_DOMAIN,
)


def _prod(x, dim, keepdim):
    return np.asarray(np.prod(x, axis=dim, keepdims=keepdim))


def _product_of_the_others(x, dim):
    """For each x_i, the product of the other entries along ``dim`` (None: all), without
    dividing: exact where x has zeros. The products before i times the products after i."""
    flat = dim is None
    a = x.reshape(-1) if flat else x
    axis = 0 if flat else dim
    ones = np.ones_like(np.take(a, [0], axis=axis))
    before = np.concatenate([ones, np.cumprod(a, axis=axis)], axis=axis)
    after = np.flip(np.cumprod(np.flip(a, axis), axis=axis), axis)
    after = np.concatenate([after, ones], axis=axis)
    n = a.shape[axis]
    others = np.take(before, range(n), axis=axis) * np.take(after, range(1, n + 1), axis=axis)
    return others.reshape(x.shape) if flat else others


def _prod_gradient(xp, g, x, out, dim, keepdim):
    """PyTorch's: g * (prod / x) when no x is 0; else the product of the other entries."""
    axes = None if dim is None else (dim,)
    spread = xp.unreduce(g, x.shape, axes, keepdim)
    if not (xp.data(x) == 0).any():
        return spread * (xp.unreduce(out, x.shape, axes, keepdim) / x)
    if xp is not numpy_ns:
        raise NotImplementedError("prod: a second derivative where the input has zeros is not supported")
    return spread * _product_of_the_others(x, dim)


prod = register(
    "prod", inputs=("x",), params=("dim", "keepdim"), forward=_prod, vjps=(_prod_gradient,),
    grad_fn_name="ProdBackward1", formula="x_1 * x_2 * ... * x_n", latex=r"\prod_i x_i",
    derivatives=("the product of the other entries",), derivatives_latex=(r"\prod_{j \ne i} x_j",),
    domain=Domain("all real numbers; overflows past the dtype's max (3.4e38 in float32)",
                  lambda finfo, **_: [("|prod(x)|", "<=", float(finfo.max))]),
)
trace = register(
    "trace", inputs=("x",), forward=lambda x: np.asarray(np.trace(x)),
    vjps=(lambda xp, g, x: g * np.eye(*x.shape, dtype=xp.data(g).dtype),),
    grad_fn_name="TraceBackward0", formula="sum of the diagonal of x", latex=r"\operatorname{tr} x",
    derivatives=("1 on the diagonal, 0 elsewhere",), derivatives_latex=(r"\mathbb{1}[i = j]",),
    domain=_SUM_DOMAIN,
)
