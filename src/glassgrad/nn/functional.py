"""Losses and activations with PyTorch's signatures (``glassgrad.nn.functional``, usually ``F``).

Losses and activations are composites of glassgrad ops, except the numerically delicate ones,
which are records of their own (``glassgrad/ops/stable.py``) with a gradient as stable as their
value: ``softmax``, ``log_softmax``, ``softplus``, ``logsigmoid`` and
``binary_cross_entropy_with_logits`` give finite, accurate values and gradients for logits of
+-1e4, and the right limits at +-inf.

>>> import glassgrad as torch
>>> from glassgrad.nn import functional as F
>>> F.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
tensor(2.)
"""

import warnings

import numpy as np

from .. import functional as G
from .._methods import _inplace_method
from ..autograd.graph import apply as _apply
from ..factories import tensor as _tensor
from ..ops import elementwise as _elementwise
from ..ops import linalg as _linalg
from ..ops import stable as _stable
from ..tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "softmax",
           "log_softmax", "linear", "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh",
           "softplus", "logsigmoid", "log_sigmoid"]

_REDUCTIONS = ("mean", "sum", "none")


# ----- helpers ------------------------------------------------------------------------------------
def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _as_tensor(value, like):
    return value if isinstance(value, Tensor) else _tensor(value, dtype=like.dtype)


def _warn_if_broadcast(function, input, target):
    """PyTorch broadcasts a regression target of another size, but warns: it is usually a bug."""
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape!r}) that is different to the input size "
            f"({input.shape!r}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise RuntimeError(f"{function}: the size of input {list(input.shape)} and of target "
                               f"{list(target.shape)} cannot be broadcast together") from None


def _regression(function, input, target, reduction, elementwise):
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    _warn_if_broadcast(function, input, target)
    return _reduce(elementwise(input - target), reduction)


def _implicit_dim(function, ndim):
    warnings.warn(f"Implicit dimension choice for {function} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


# ----- activations --------------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(x, 0), elementwise."""
    return input.relu_() if inplace else G.relu(input)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: for a batch of rows one AddmmBackward0 node, as in PyTorch."""
    if not isinstance(input, Tensor) or input.ndim == 0:
        raise RuntimeError("linear(): the input must be a tensor of at least 1 dimension")
    if input.shape[-1] != weight.shape[-1] or weight.ndim != 2:
        raise RuntimeError(f"linear(): input of shape {list(input.shape)} and weight of shape "
                           f"{list(weight.shape)} cannot be multiplied")
    if bias is None:
        return G.matmul(input, weight.t())
    if len({input.dtype, weight.dtype, bias.dtype}) > 1:
        raise RuntimeError(f"linear(): input, weight and bias must have the same dtype, got "
                           f"{input.dtype}, {weight.dtype} and {bias.dtype}")
    rows = input if input.ndim == 2 else input.reshape(-1, input.shape[-1])
    out = _apply(_linalg.addmm, (bias, rows, weight.t()))
    return out if input.ndim == 2 else out.reshape(*input.shape[:-1], weight.shape[0])


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return _activation("leaky_relu", _elementwise.leaky_relu, input, inplace,
                       {"negative_slope": negative_slope}, inplace_name="LeakyReluBackward1")


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _activation("elu", _elementwise.elu, input, inplace, {"alpha": alpha},
                       inplace_name="EluBackward1")


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF (by erf); ``approximate="tanh"`` uses the tanh
    approximation 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation("gelu", _elementwise.gelu, input, False, {"approximate": approximate})


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return _activation("silu", _elementwise.silu, input, inplace, {})


def _activation(function, op, input, inplace, params, inplace_name=None):
    """``op`` (a record) on ``input``; with ``inplace``, written into it as ``x.relu_()`` is,
    its node named as PyTorch names the in-place variant's (``inplace_name``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{function}(): argument 'input' must be Tensor, not {type(input).__name__}")

    def compute(x):
        return _apply(op, (G._float(x),), params, name=inplace_name if inplace else None)
    compute.__name__ = function
    return _inplace_method(compute)(input) if inplace else compute(input)


def sigmoid(input):
    """1 / (1 + exp(-x)), elementwise."""
    return G.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent, elementwise."""
    return G.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta*x)) / beta, and x itself where beta*x > threshold (PyTorch's definition).

    One record (SoftplusBackward0), computed as max(z, 0) + log1p(exp(-|z|)) with z = beta*x:
    no overflow for any input, gradient sigmoid(beta*x). With ``threshold=float("inf")`` it is
    log(1 + exp(beta*x)) / beta everywhere, to the last bit.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"softplus(): argument 'input' must be Tensor, not {type(input).__name__}")
    return _apply(_stable.softplus, (G._float(input),), {"beta": beta, "threshold": threshold})


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x): finite for any finite x, gradient sigmoid(-x)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"logsigmoid(): argument 'input' must be Tensor, not {type(input).__name__}")
    return _apply(_stable.log_sigmoid, (G._float(input),))


log_sigmoid = logsigmoid


def log_softmax(input, dim=None, dtype=None):
    """x - logsumexp(x) along ``dim``: finite for any logits (one record, LogSoftmaxBackward0)."""
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim)
    return G.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim=None, dtype=None):
    """exp(x - max) / sum(exp(x - max)) along ``dim`` (one record, SoftmaxBackward0)."""
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim)
    return G.softmax(input, dim, dtype=dtype)


# ----- regression losses --------------------------------------------------------------------------
def mse_loss(input, target, reduction="mean"):
    """(x - y)^2, reduced."""
    return _regression("mse_loss", input, target, reduction, lambda d: d * d)


def l1_loss(input, target, reduction="mean"):
    """|x - y|, reduced."""
    return _regression("l1_loss", input, target, reduction, G.abs)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); plain L1 when beta = 0."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction)

    def elementwise(d):
        size = G.abs(d)
        return G.where(size < beta, 0.5 * d * d / beta, size - 0.5 * beta)
    return _regression("smooth_l1_loss", input, target, reduction, elementwise)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta) (d = x - y)."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def elementwise(d):
        size = G.abs(d)
        return G.where(size <= delta, 0.5 * d * d, delta * (size - 0.5 * delta))
    return _regression("huber_loss", input, target, reduction, elementwise)


# ----- classification losses ----------------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped at -100 (as PyTorch)."""
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape!r}) that is different to the input "
                         f"size ({input.shape!r}) is deprecated. Please ensure they have the same "
                         "size.")
    values = input.detach().numpy()
    if np.any((values < 0) | (values > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_x = G.clamp(G.log(input), min=-100)
    log_1mx = G.clamp(G.log(1 - input), min=-100)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits x: y pw softplus(-x) + (1 - y) softplus(x), one record
    (BinaryCrossEntropyWithLogitsBackward0): finite and accurate for any x, exact at x = +-inf
    when the label is 0 or 1, gradient (1 - y) sigmoid(x) - pw y sigmoid(-x).

    ``weight`` and ``pos_weight`` are constants here (no gradient flows into them).
    """
    _check_reduction(reduction)
    target = _as_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape!r}) must be the same as input size "
                         f"({input.shape!r})")
    input = G._float(input)
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    params = {"weight": _constant_array(weight, input), "pos_weight": _constant_array(pos_weight, input),
              "reduction": reduction}
    return _apply(_stable.binary_cross_entropy_with_logits, (input, target), params)


def _constant_array(value, like):
    """An optional weight as a NumPy array of ``like``'s dtype (None stays None)."""
    if value is None:
        return None
    array = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
    return array.astype(like.detach().numpy().dtype, copy=False)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[n, target[n]] (times weight[target[n]]); 'mean' divides by the summed weights."""
    _check_reduction(reduction)
    log_probs, classes = _rows_by_class(input, target)
    num_classes = log_probs.shape[1]
    if weight is not None and tuple(weight.shape) != (num_classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {num_classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    # (read through numpy(): a compiled function learns that this call reads values, and runs it
    # eagerly, as the labels' values would otherwise become constants of its program)
    dtype = input.detach().numpy().dtype
    # (as unsigned, a negative class is larger than any count: one reduction checks both ends)
    if (weight is None and classes.size and not 0 <= ignore_index < num_classes
            and np.maximum.reduce(classes.view(np.uint64)) < num_classes):
        # the usual case (no weights, every target a class): each row weighs 1
        rows, row_weights, total_weight = _unweighted_rows(len(classes), dtype)
        safe_classes = classes
    else:
        kept = classes != ignore_index
        bad = classes[kept & ((classes < 0) | (classes >= num_classes))]
        if bad.size:
            raise IndexError(f"Target {bad[0]} is out of bounds.")
        safe_classes = np.where(kept, classes, 0)
        class_weights = np.ones(num_classes) if weight is None else weight.detach().numpy()
        row_weights = np.where(kept, class_weights[safe_classes], 0).astype(dtype)
        rows, total_weight = np.arange(len(classes)), np.array(row_weights.sum(), dtype=dtype)
    params = {"index": (rows, safe_classes), "row_weights": row_weights,
              "total_weight": total_weight, "reduction": reduction,
              "out_shape": _target_shape(input, target)}
    # (N, C, d1, ...) goes in as the (rows, C) view _rows_by_class made of it
    return _apply(_stable.nll_loss, (input if input.ndim <= 2 else log_probs,), params)


_unweighted = {}  # (rows, dtype) -> nll_loss's row numbers, weights of 1 and their total


def _unweighted_rows(count, dtype):
    """Row numbers, ones and their total for ``count`` equally weighted rows: read-only arrays,
    made once per batch size (a training loop asks for the same few)."""
    key = (count, dtype)
    arrays = _unweighted.get(key)
    if arrays is None:
        ones = np.ones(count, dtype)
        arrays = np.arange(count), ones, np.array(ones.sum(), dtype=dtype)  # the general way's sum
        for array in arrays:
            array.flags.writeable = False  # shared by every loss of this size
        if len(_unweighted) < 64:
            _unweighted[key] = arrays
    return arrays


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """log_softmax over the class dimension (1, or 0 for a single sample) then nll_loss; or,
    with a float target of input's shape (class probabilities), -sum(y * log_softmax(x))."""
    _check_reduction(reduction)
    if label_smoothing != 0.0:
        raise NotImplementedError("cross_entropy: label_smoothing is not supported yet")
    class_dim = 0 if input.ndim == 1 else 1
    log_probs = log_softmax(input, class_dim)
    if isinstance(target, Tensor) and target.is_floating_point():
        return _soft_cross_entropy(log_probs, target, weight, reduction, class_dim)
    return nll_loss(log_probs, target, weight, ignore_index, reduction)


def _soft_cross_entropy(log_probs, target, weight, reduction, class_dim):
    if target.shape != log_probs.shape:
        raise RuntimeError(f"cross_entropy: a probability target must have the input's shape "
                           f"{list(log_probs.shape)}, got {list(target.shape)}")
    # 0 * log(0) is 0 here: a class of probability 0 adds nothing, even if its logit is -inf.
    terms = G.where(target == 0, G.zeros_like(log_probs), log_probs) * target
    if weight is not None:
        shape = [1] * log_probs.ndim
        shape[class_dim] = -1
        terms = terms * weight.reshape(shape)
    losses = -terms.sum(class_dim)
    return _reduce(losses, reduction)


def _rows_by_class(input, target):
    """input as (rows, classes) and target as a flat int64 array, checking their shapes agree."""
    classes = np.asarray(target.numpy(force=True) if isinstance(target, Tensor) else target)
    if classes.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {classes.dtype}")
    if input.ndim == 1:
        if classes.ndim != 0:
            raise ValueError(f"Expected input batch_size (1) to match target batch_size "
                             f"({classes.shape[0] if classes.ndim else 1}).")
        return input.reshape(1, -1), classes.reshape(1).astype(np.int64)
    shape = input._data.shape
    if classes.ndim == 0 or classes.shape[0] != shape[0]:
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target "
                         f"batch_size ({classes.shape[0] if classes.ndim else 0}).")
    expected = shape[:1] + shape[2:]
    if classes.shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(classes.shape)}")
    if input.ndim > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C): the class axis last, then flatten
        dims = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = input.permute(*dims).reshape(-1, shape[1])
    return input, classes.reshape(-1).astype(np.int64, copy=False)


def _target_shape(input, target):
    return tuple(target.shape) if isinstance(target, Tensor) else np.shape(target)
