"""Numerically stable composites, each its own record so that its gradient is as stable as its value.

softmax, log_softmax, logaddexp, softplus, log_sigmoid, xlogy and binary_cross_entropy_with_logits
could be written with exp, log and where; as records they get a vjp written for the whole
function (``sigmoid(a - b)`` for logaddexp, ``softmax`` for log-sum-exp), which never overflows,
keeps its digits at +-1e4, and has the right limits at +-inf. The NumPy kernels are in
``numerics``. Under ``create_graph`` each vjp is built from records (sigmoid, softmax ...) so that
second derivatives work; those need not be as careful.
"""

import weakref

import numpy as np

from ..autograd import grad_mode
from . import numerics
from .elementwise import _keep_zero
from .elementwise import sigmoid as _sigmoid
from .namespaces import numpy_ns
from .registry import register


def _apply(op, *tensors, **params):
    from ..autograd.graph import apply  # late: the graph module is loaded after the ops
    return apply(op, tensors, params)


# ----- softmax, log_softmax ---------------------------------------------------------------------
def _softmax(x, dim):
    parts = numerics.Softmax(x, dim)
    return numerics.narrow(parts.restore(parts.probabilities()), x.dtype)


def _softmax_gradient(xp, g, out, dim):
    if xp is numpy_ns:
        return numerics.narrow(numerics.softmax_vjp(numerics.wide(g), numerics.wide(out), dim),
                               g.dtype)
    return out * (g - xp.sum(g * out, dim, True))


softmax = register(
    "softmax", inputs=("x",), params=("dim",), forward=_softmax,
    vjps=(_softmax_gradient,),
    grad_fn_name="SoftmaxBackward0", formula="exp(x) / sum(exp(x))",
    latex=r"\frac{e^{x_i}}{\sum_j e^{x_j}}",
    derivatives=("softmax(x) * (g - sum(g * softmax(x)))",),
    derivatives_latex=(r"s_i\,(\delta_{ij} - s_j)",),
    domain="all real numbers and +-inf (rows of -inf give the uniform limit)",
)


# The forward's softmax pieces, kept for the backward of the same output so that it need not
# compute them again: 10 NumPy calls, a third of a small classifier's cross-entropy. Keyed by
# id(output), and dropped when the output goes or the backward takes them. Only while gradients
# are recorded, for small inputs (the pieces weigh about 5 times the output) and for the last
# few outputs (outputs kept without a backward, say for evaluation, keep no pieces alive).
_PIECES_MAX_SIZE = 1 << 16
_PIECES_KEPT = 16
_pieces = {}  # id(output array) -> (weak reference to it, numerics.Softmax), oldest first


def _log_softmax(x, dim):
    parts = numerics.Softmax(x, dim)
    out = numerics.narrow(parts.restore(parts.log_probabilities()), x.dtype)
    # (not for a compiler's Syms, which are not arrays)
    if out.__class__ is np.ndarray and out.size <= _PIECES_MAX_SIZE and grad_mode.enabled:
        if len(_pieces) >= _PIECES_KEPT:
            del _pieces[next(iter(_pieces))]  # its weak reference goes too, and its callback
        key = id(out)
        # the callback runs as the output is freed, before any new object can take its id
        _pieces[key] = (weakref.ref(out, lambda _, key=key: _pieces.pop(key, None)), parts)
    return out


def _log_softmax_gradient(xp, g, x, dim, out):
    if xp is numpy_ns:
        kept = _pieces.pop(id(out), None)
        # the saved x and out are unchanged since the forward (the engine checks their versions)
        parts = kept[1] if kept is not None and kept[0]() is out else numerics.Softmax(x, dim)
        gradient = numerics.log_softmax_vjp(parts.arrange(g), parts)
        return numerics.narrow(parts.restore(gradient), g.dtype)
    return g - _apply(softmax, x, dim=dim) * xp.sum(g, dim, True)


log_softmax = register(
    "log_softmax", inputs=("x",), params=("dim",), forward=_log_softmax,
    vjps=(_log_softmax_gradient,),
    grad_fn_name="LogSoftmaxBackward0", formula="x - logsumexp(x)",
    latex=r"x_i - \ln \sum_j e^{x_j}",
    derivatives=("g - softmax(x) * sum(g)",),
    derivatives_latex=(r"\delta_{ij} - s_j",),
    domain="all real numbers and +-inf (never overflows)",
)


# ----- logaddexp -------------------------------------------------------------------------------
def _logaddexp(a, b):
    return numerics.narrow(numerics.logaddexp(numerics.wide(a), numerics.wide(b)),
                           np.result_type(a, b))


def _logaddexp_gradient(xp, g, a, b, i):
    """g * sigmoid(a - b) for a, g * sigmoid(b - a) for b, on the exact difference."""
    if xp is numpy_ns:
        weights = numerics.sigmoid_of_difference(numerics.wide(a), numerics.wide(b))
        return g * numerics.narrow(weights[i], g.dtype)
    a_data, b_data = xp.data(a), xp.data(b)
    same_infinity = (a_data == b_data) & np.isinf(a_data)  # inf - inf: the limit is 1/2 each
    difference = a - b if i == 0 else b - a
    return g * _apply(_sigmoid, xp.where(same_infinity, 0.0, difference))


logaddexp = register(
    "logaddexp", broadcasts=True, inputs=("a", "b"), forward=_logaddexp,
    vjps=(lambda xp, g, a, b: _logaddexp_gradient(xp, g, a, b, 0),
          lambda xp, g, a, b: _logaddexp_gradient(xp, g, a, b, 1)),
    grad_fn_name="LogaddexpBackward0", formula="log(exp(a) + exp(b))", latex=r"\ln(e^{a} + e^{b})",
    derivatives=("sigmoid(a - b)", "sigmoid(b - a)"),
    derivatives_latex=(r"\sigma(a - b)", r"\sigma(b - a)"),
    domain="all real numbers and +-inf (never overflows)",
)


# ----- softplus, log_sigmoid -------------------------------------------------------------------
def _softplus(x, beta, threshold):
    wide = numerics.wide(x)
    z = wide * beta
    # PyTorch's definition: x itself above the threshold
    out = np.where(z > threshold, wide, numerics.softplus(z) / beta)
    return numerics.narrow(out, x.dtype)


def _softplus_gradient(xp, g, x, beta, threshold):
    if xp is numpy_ns:
        z = numerics.wide(x) * beta
        return g * numerics.narrow(np.where(z > threshold, 1.0, numerics.sigmoid(z)), g.dtype)
    z = x * beta
    return xp.where(xp.data(z) > threshold, g, g * _apply(_sigmoid, z))


softplus = register(
    "softplus", inputs=("x",), params=("beta", "threshold"), forward=_softplus,
    vjps=(_softplus_gradient,),
    grad_fn_name="SoftplusBackward0",
    formula="log(1 + exp(beta * x)) / beta, or x where beta * x > threshold",
    latex=r"\tfrac{1}{\beta}\ln(1 + e^{\beta x})",
    derivatives=("sigmoid(beta * x), or 1 where beta * x > threshold",),
    derivatives_latex=(r"\sigma(\beta x)",),
    domain="all real numbers and +-inf (never overflows)",
)


def _log_sigmoid_gradient(xp, g, x):
    if xp is numpy_ns:
        return g * numerics.narrow(numerics.sigmoid(-numerics.wide(x)), g.dtype)
    return g * _apply(_sigmoid, -x)


log_sigmoid = register(
    "log_sigmoid", inputs=("x",),
    forward=lambda x: numerics.narrow(numerics.log_sigmoid(numerics.wide(x)), x.dtype),
    vjps=(_log_sigmoid_gradient,),
    grad_fn_name="LogSigmoidBackward0", formula="log(sigmoid(x)) = -softplus(-x)",
    latex=r"\ln \sigma(x)",
    derivatives=("sigmoid(-x)",), derivatives_latex=(r"\sigma(-x)",),
    domain="all real numbers and +-inf (never overflows)",
)


# ----- xlogy ------------------------------------------------------------------------------------
def _xlogy(a, b):
    wide_a, wide_b = numerics.wide(a), numerics.wide(b)
    out = np.where((wide_a == 0) & ~np.isnan(wide_b), 0.0, wide_a * np.log(wide_b))
    return numerics.narrow(out, np.result_type(a, b))


def _xlogy_gradient_a(xp, g, a, b):
    """g * log(b); 0 where a = b = 0 (the 0 log 0 = 0 convention, as PyTorch), and where g = 0."""
    a_data, b_data = xp.data(a), xp.data(b)
    if xp is numpy_ns:
        log_b = numerics.narrow(np.log(numerics.wide(b)), g.dtype)
    else:
        log_b = xp.log(b)
    return _keep_zero(xp, g, xp.where((a_data == 0) & (b_data == 0), 0.0, g * log_b))


def _xlogy_gradient_b(xp, g, a, b):
    """g * a / b; 0 where a = 0 and b is 0 or nan (xlogy(0, b) is 0 for every b), and where
    g = 0. Elsewhere at a = 0 it is the product itself, a signed zero as in PyTorch, so that its
    derivative with respect to a, g / b, is there for second derivatives."""
    a_data, b_data = xp.data(a), xp.data(b)
    undefined = (a_data == 0) & ((b_data == 0) | np.isnan(b_data))
    return _keep_zero(xp, g, xp.where(undefined, 0.0, g * a / b))


xlogy = register(
    "xlogy", broadcasts=True, inputs=("a", "b"), forward=_xlogy,
    vjps=(_xlogy_gradient_a, _xlogy_gradient_b),
    grad_fn_name="XlogyBackward0", formula="a * log(b), 0 where a = 0",
    latex=r"a \ln b",
    derivatives=("log(b) (0 where a = b = 0)", "a / b (0 where a = 0 and b = 0)"),
    derivatives_latex=(r"\ln b", r"\frac{a}{b}"),
    domain="b > 0, or a = 0 (then the result is 0)",
)


# ----- binary cross-entropy on logits ----------------------------------------------------------
def _bce_terms(x, y, pos_weight):
    """The loss per element, y pw softplus(-x) + (1 - y) softplus(x): no cancellation, and a
    label of exactly 0 or 1 ignores the other term, even where it is infinite (x = +-inf)."""
    positive = numerics.softplus(-x) * (y if pos_weight is None else pos_weight * y)
    negative = numerics.softplus(x) * (1 - y)
    return np.where(y == 0, 0.0, positive) + np.where(y == 1, 0.0, negative)


def _reduce(losses, reduction):
    if reduction == "mean":
        return np.mean(losses)
    if reduction == "sum":
        return np.sum(losses)
    return losses


def _bce_logits(x, y, weight, pos_weight, reduction):
    losses = _bce_terms(numerics.wide(x), numerics.wide(y), pos_weight)
    if weight is not None:
        losses = losses * weight
    return numerics.narrow(_reduce(losses, reduction), x.dtype)


def _spread(xp, g, shape, reduction):
    """The incoming gradient as one value per element of the unreduced loss."""
    if reduction == "none":
        return g
    g = xp.unreduce(g, shape, None, False)
    return g / max(int(np.prod(shape)), 1) if reduction == "mean" else g


def _bce_gradient_x(xp, g, x, y, weight, pos_weight, reduction):
    """(1 - y) sigmoid(x) - pw y sigmoid(-x): for y = 1, -sigmoid(-x) keeps its digits where
    sigmoid(x) - 1 would round to 0."""
    spread = _spread(xp, g, x.shape, reduction)
    if weight is not None:
        spread = spread * weight
    if xp is numpy_ns:
        wide_x, wide_y = numerics.wide(x), numerics.wide(y)
        up, down = numerics.sigmoid_pair(wide_x)
        positive = wide_y if pos_weight is None else pos_weight * wide_y
        return spread * numerics.narrow((1 - wide_y) * up - positive * down, spread.dtype)
    positive = y if pos_weight is None else y * pos_weight
    return spread * ((1 - y) * _apply(_sigmoid, x) - positive * _apply(_sigmoid, -x))


def _bce_gradient_y(xp, g, x, y, weight, pos_weight, reduction):
    """pw softplus(-x) - softplus(x), which is -x when there is no pos_weight."""
    spread = _spread(xp, g, x.shape, reduction)
    if weight is not None:
        spread = spread * weight
    if pos_weight is None:
        return spread * -x
    if xp is numpy_ns:
        wide_x = numerics.wide(x)
        slope = pos_weight * numerics.softplus(-wide_x) - numerics.softplus(wide_x)
        return spread * numerics.narrow(slope, spread.dtype)
    return spread * (_apply(softplus, -x, beta=1, threshold=np.inf) * pos_weight
                     - _apply(softplus, x, beta=1, threshold=np.inf))


binary_cross_entropy_with_logits = register(
    "binary_cross_entropy_with_logits", inputs=("x", "y"),
    params=("weight", "pos_weight", "reduction"), forward=_bce_logits,
    vjps=(_bce_gradient_x, _bce_gradient_y),
    grad_fn_name="BinaryCrossEntropyWithLogitsBackward0",
    formula="y * pos_weight * softplus(-x) + (1 - y) * softplus(x), times weight, reduced",
    latex=r"-w\,[p\,y \ln \sigma(x) + (1 - y) \ln(1 - \sigma(x))]",
    derivatives=("(1 - y) * sigmoid(x) - pos_weight * y * sigmoid(-x)",
                 "pos_weight * softplus(-x) - softplus(x)"),
    derivatives_latex=(r"(1 - y)\,\sigma(x) - p\,y\,\sigma(-x)",
                       r"p \ln(1 + e^{-x}) - \ln(1 + e^{x})"),
    domain="all real x and +-inf; y in [0, 1]",
)


# ----- nll_loss ----------------------------------------------------------------------------------
# PyTorch's NllLossBackward0: one node for the loss, as cross_entropy prints it. The arithmetic is
# the composite's, in its order (-x[rows, target] * row weight, summed, / total weight), so the
# value and gradient are those of the ops it replaces, bit for bit.
def _nll_loss(x, index, row_weights, total_weight, reduction, out_shape):
    losses = -x.reshape(-1, x.shape[-1])[index] * row_weights
    if reduction == "none":
        return losses.reshape(out_shape)
    total = np.add.reduce(losses, axis=None)  # losses.sum() without its Python wrapper
    return total if reduction == "sum" else total / total_weight


def _nll_loss_gradient(xp, g, x, index, row_weights, total_weight, reduction):
    if reduction == "mean":
        g = g / total_weight
    elif reduction == "none":
        g = xp.reshape(g, row_weights.shape)
    contribution = -(g * row_weights)
    shape = (row_weights.shape[0], x.shape[-1])
    if xp is numpy_ns:  # one target per row: assigning is adding, and 10x faster than np.add.at
        rows = np.zeros(shape, contribution.dtype)
        rows[index] = contribution + 0.0  # as adding into zeros would: an ignored row's -0 is 0
    else:
        rows = xp.index_scatter(contribution, index, shape)
    return xp.reshape(rows, tuple(x.shape))


nll_loss = register(
    "nll_loss", inputs=("x",), params=("index", "row_weights", "total_weight", "reduction", "out_shape"),
    forward=_nll_loss, vjps=(_nll_loss_gradient,), grad_fn_name="NllLossBackward0",
    formula="-x[n, target[n]] * weight[target[n]], summed over n (mean: / the summed weights)",
    latex=r"-\sum_n w_{t_n} x_{n, t_n}",
    derivatives=("-weight[target[n]] at each row's target class (mean: / the summed weights), else 0",),
    derivatives_latex=(r"-w_{t_n}",),
    domain="x is (classes,) or (rows, classes) of log-probabilities; target in [0, classes)",
)
