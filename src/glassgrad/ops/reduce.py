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


def _count(shape, dim):
    return math.prod(shape[d] for d in dim) if dim is not None else math.prod(shape)


def _mean(x, dim, keepdim):
    """np.mean's numbers without its set-up (5 us of 6 on 20 elements): the sum divided by the
    count. np.mean divides a float32 sum in float64 and rounds back, which gives the same
    correctly rounded quotient as float32 division while the count is exact in float32. float16
    (summed in float32 by np.mean) and empty inputs (a warning) are left to np.mean."""
    count = _count(x.shape, dim)
    if x.dtype.char in "fd" and 0 < count < 2 ** 24:
        return np.add.reduce(x, axis=dim, keepdims=keepdim) / count
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
    vjps=(lambda xp, g, x, dim, keepdim: xp.unreduce(g, x.shape, dim, keepdim) / _count(x.shape, dim),),
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
