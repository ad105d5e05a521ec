"""The torch-like functions (``glassgrad.exp``, ``glassgrad.sum``, ...), also bound as Tensor methods.

Each function checks and normalises its arguments (dims, dtypes, Python numbers) and applies one
op record; composites such as ``flatten`` or ``squeeze`` are a single shape op with PyTorch's
grad_fn name.
"""

import builtins
import operator
import sys
import warnings

import numpy as np

from . import _dtype
from . import tensor as _tensor_module
from .autograd.graph import apply, apply1, apply2
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S
from .ops import stable as ST
from .autograd import graph
from .tensor import (Tensor, _binary, _cast, _dim, _expect_number, _expect_tensor,
                     _floor_divide, _operand, _promote)

__all__ = (
    "exp log log1p expm1 sin cos tan tanh sigmoid sqrt reciprocal rsqrt log2 log10 exp2 asin "
    "arcsin acos arccos atan arctan sinh cosh floor ceil round trunc fix relu abs neg sign "
    "square add sub mul div remainder floor_divide pow maximum minimum clamp clip where sum "
    "mean max min amax amin argmax argmin var std norm prod cumsum trace erf gather "
    "index_select bmm atan2 arctan2 masked_fill flip tril triu outer ger logical_not split "
    "chunk unbind repeat sort topk "
    "logsumexp logaddexp xlogy softmax log_softmax all any mm matmul dot mv reshape view "
    "flatten squeeze unsqueeze transpose swapaxes permute t expand expand_as view_as "
    "reshape_as cat concat concatenate stack clone detach numel is_tensor is_floating_point "
    "eq ne gt ge lt le isnan isinf isfinite isclose allclose equal"
).split()

class _ReturnType(tuple):
    """A (values, indices) pair printed like PyTorch's ``torch.return_types.max(...)``."""

    __slots__ = ()
    _kind = "max"

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"torch.return_types.{self._kind}(\nvalues={self[0]!r},\nindices={self[1]!r})"


class return_max(_ReturnType):
    __slots__ = ()
    _kind = "max"


class return_min(_ReturnType):
    __slots__ = ()
    _kind = "min"


class return_sort(_ReturnType):
    __slots__ = ()
    _kind = "sort"


class return_topk(_ReturnType):
    __slots__ = ()
    _kind = "topk"


def _float(x):
    """``x`` as a floating-point tensor (integer tensors become the default float type)."""
    if not isinstance(x, Tensor):
        from .factories import tensor
        x = tensor(x)
    return x if x._data.dtype.kind == "f" else _cast(x, _dtype.default_float_numpy())


def _unary(op):
    def function(input):
        return apply(op, (_float(input),))
    function.__name__ = op.name
    function.__doc__ = f"Elementwise {op.formula}; derivative {op.derivatives[0]}."
    return function


exp = _unary(E.exp)
log = _unary(E.log)
log1p = _unary(E.log1p)
expm1 = _unary(E.expm1)
sin = _unary(E.sin)
cos = _unary(E.cos)
tan = _unary(E.tan)
tanh = _unary(E.tanh)
sigmoid = _unary(E.sigmoid)
sqrt = _unary(E.sqrt)
reciprocal = _unary(E.reciprocal)
rsqrt = _unary(E.rsqrt)
log2 = _unary(E.log2)
log10 = _unary(E.log10)
exp2 = _unary(E.exp2)
asin = arcsin = _unary(E.asin)
acos = arccos = _unary(E.acos)
atan = arctan = _unary(E.atan)
sinh = _unary(E.sinh)
cosh = _unary(E.cosh)
erf = _unary(E.erf)


def atan2(input, other):
    """The angle of the point (other, input): arctan(input / other) in the right quadrant."""
    _expect_tensor("atan2", input)
    return _binary(E.atan2, input, other, true_division=True)


arctan2 = atan2


def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` (a bool tensor broadcast to its shape) is True."""
    mask_data = _array("masked_fill", mask)
    if mask_data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype "
                           f"{_dtype.from_numpy_dtype(mask_data.dtype)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("masked_fill only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = value.item()
    _expect_number("masked_fill", "value", value)
    shape = _array("masked_fill", input).shape
    try:
        fits = np.broadcast_shapes(mask_data.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"masked_fill: the mask of shape {list(mask_data.shape)} does not "
                           f"broadcast to the input's shape {list(shape)}")
    return apply(E.masked_fill, (input,), {"mask": mask_data, "value": value})


def flip(input, dims):
    """A copy of ``input`` with the order of its entries reversed along each of ``dims``."""
    ndim = _array("flip", input).ndim
    dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
    axes = tuple(_dim(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dims has a dimension more than once: {list(dims)}")
    return apply(S.flip, (input,), {"dims": axes})


def tril(input, diagonal=0):
    """``input`` with the entries above diagonal ``diagonal`` set to 0 (the last two dims)."""
    if _array("tril", input).ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return apply(S.tril, (input,), {"diagonal": diagonal})


def triu(input, diagonal=0):
    """``input`` with the entries below diagonal ``diagonal`` set to 0 (the last two dims)."""
    if _array("triu", input).ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return apply(S.triu, (input,), {"diagonal": diagonal})


def outer(input, vec2):
    """The outer product of two vectors: out[i, j] = input[i] * vec2[j]."""
    if _array("outer", input).ndim != 1 or _array("outer", vec2).ndim != 1:
        raise RuntimeError(f"outer: expected 1-D vectors, got {input.ndim}-D and {vec2.ndim}-D")
    return input.reshape(-1, 1) * vec2


ger = outer


def logical_not(input):
    return Tensor._wrap(np.logical_not(_array("logical_not", input)))


def _rounding(op):
    def function(input):
        if _array(op.name, input).dtype.kind in "biu":
            return input.clone()  # already whole: PyTorch returns a copy of the same dtype
        return apply1(op, input)
    function.__name__ = op.name
    function.__doc__ = f"Elementwise {op.name}, keeping the dtype; its gradient is 0."
    return function


floor = _rounding(E.floor)
ceil = _rounding(E.ceil)
trunc = fix = _rounding(E.trunc)


def round(input, *, decimals=0):
    """To the nearest whole number (halves to even, PyTorch's and NumPy's rule), or to
    ``decimals`` places; the dtype is kept and the gradient is 0."""
    if _array("round", input).dtype.kind in "biu" and decimals == 0:
        return input.clone()
    return apply(E.round, (input,), {"decimals": decimals},
                 name=None if decimals == 0 else "RoundBackward1")


def relu(input):
    return apply1(E.relu, input)


def abs(input):
    return apply1(E.abs, input)


def neg(input):
    return apply1(E.neg, input)


def sign(input):
    return apply1(E.sign, input)


def square(input):
    return pow(input, 2)


def add(input, other, alpha=1):
    input = _number_first("add", input, other)
    return _binary(E.add, input, other if alpha == 1 else other * alpha)


def sub(input, other, alpha=1):
    input = _number_first("sub", input, other)
    return _binary(E.sub, input, other if alpha == 1 else other * alpha)


def mul(input, other):
    return _binary(E.mul, _number_first("mul", input, other), other)


def div(input, other):
    return _binary(E.div, _number_first("div", input, other), other, true_division=True)


def remainder(input, other):
    return _binary(E.remainder, _number_first("remainder", input, other), other)


def _number_first(function, input, other):
    """``input`` itself if it is a tensor; as a tensor if it is a Python number and ``other`` a
    tensor, as PyTorch allows (``add(1.0, t)``); otherwise TypeError naming ``function``."""
    if isinstance(input, Tensor):
        return input
    if isinstance(input, (bool, int, float)) and isinstance(other, Tensor):
        return _operand(input, other)
    _expect_tensor(function, input)
    return input


def floor_divide(input, other):
    if not isinstance(input, Tensor):
        input = _number_first("floor_divide", input, other)
    return _floor_divide(*_promote(input, other))


def pow(input, exponent):
    """``input ** exponent``; either may be a Python number (PowBackward0/1/2 as in PyTorch)."""
    if not isinstance(input, Tensor):
        _expect_number("pow", "self", input)
        _expect_tensor("pow", exponent, "exponent")
        if isinstance(input, bool) and exponent._data.dtype == np.bool_:
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
        target = _dtype.result_type((exponent._data,), (input,))
        return apply(E.rpow_scalar, (_cast(exponent, target),), {"base": input})
    if isinstance(exponent, Tensor):
        if input._data.dtype == np.bool_ and exponent._data.dtype == np.bool_:
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
        return _binary(E.pow, input, exponent)
    if input._data.dtype == np.bool_ and isinstance(exponent, bool):
        # bool ** True is the tensor itself and bool ** False is all True, as in PyTorch
        return Tensor._wrap(input._data.copy() if exponent else np.ones_like(input._data))
    target = _dtype.result_type((input._data,), (exponent,))
    if target == np.bool_:
        target = np.dtype(np.int64)  # bool ** int is int64 in PyTorch (bool ** True stays bool)
    try:
        return apply(E.pow_scalar, (_cast(input, target),), {"exponent": exponent})
    except TypeError:
        _expect_number("pow", "exponent", exponent)
        raise


def maximum(input, other):
    return _binary(E.maximum, _number_first("maximum", input, other), other)


def minimum(input, other):
    return _binary(E.minimum, _number_first("minimum", input, other), other)


def clamp(input, min=None, max=None):
    """Limit values to [min, max]; the bounds may be numbers or tensors (then they get gradients)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    for argument, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, Tensor):
            _expect_number("clamp", argument, bound)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        low = min if min is not None else float("-inf")
        high = max if max is not None else float("inf")
        x, low = _promote(input, low)
        x, high = _promote(x, high)
        low, _ = _promote(low, high)
        return apply(E.clamp_tensor, (x, low, high))
    if input._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        input = _float(input)
    return apply(E.clamp, (input,), {"min": min, "max": max})


clip = clamp


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``. Only the chosen branch gets gradient."""
    if input is None and other is None:
        return tuple(Tensor._wrap(i) for i in np.nonzero(_data(condition)))
    like = input if isinstance(input, Tensor) else other
    a, b = _promote(_operand(input, like), other)
    mask = _data(condition)
    if mask.dtype != np.bool_:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_dtype.from_numpy_dtype(mask.dtype).name}")
    try:
        return apply(E.where, (a, b), {"condition": mask})
    except RuntimeError:
        _check_condition_shape(mask, a._data, b._data)
        raise


def _check_condition_shape(condition, input, other):
    """Raise an error naming where's condition when its shape is what doesn't broadcast (the op
    record sees the condition as a param, so its own error names only input and other)."""
    try:
        shape = np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        return  # input and other don't broadcast with each other: the original error says so
    try:
        np.broadcast_shapes(condition.shape, shape)
    except ValueError:
        raise RuntimeError(f"where: condition of shape {condition.shape} doesn't broadcast with input "
                           f"{input.shape} and other {other.shape}") from None


def _data(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _array(function, input):
    """``input``'s NumPy array; a TypeError naming ``function`` if it is not a tensor."""
    try:
        return input._data
    except AttributeError:
        _expect_tensor(function, input)
        raise


# ----- reductions ------------------------------------------------------------------------------
def _dims(dim, ndim):
    """``dim`` (None, an int or a sequence) as None or a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    if ndim == 0:
        _dim(dim if not isinstance(dim, (list, tuple)) else (dim or [0])[0], 0)  # range check
        return None  # PyTorch lets a 0-d tensor be reduced along dim 0 or -1: all of it
    if isinstance(dim, (list, tuple)):
        return tuple(sorted(_dim(d, ndim) for d in dim)) if dim else None
    return (_dim(dim, ndim),)


def sum(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    elif _array("sum", input).dtype.kind in "bui" and input._data.dtype != np.int64:
        input = _cast(input, np.dtype(np.int64))
    dims = _dims(dim, input.ndim)
    return apply(R.sum, (input,), {"dim": dims, "keepdim": keepdim},
                 name="SumBackward0" if dims is None else None)


def mean(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if _array("mean", input).dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_dtype.from_numpy_dtype(input._data.dtype).name.capitalize()}")
    dims = _dims(dim, input.ndim)
    return apply(R.mean, (input,), {"dim": dims, "keepdim": keepdim},
                 name="MeanBackward0" if dims is None else None)


def _extreme(op, index_fn, input, dim, keepdim, name):
    if isinstance(dim, Tensor):
        return (maximum if op is R.amax else minimum)(input, dim)
    _array(name, input)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        return apply(op, (input,), {"dim": None, "keepdim": False, "ties": "split"})
    dims = _dims(dim, input.ndim)
    if input.ndim and input._data.shape[dims[0]] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dims[0]} to have non-zero size.")
    values = apply(op, (input,), {"dim": dims, "keepdim": keepdim, "ties": "first"},
                   name=op.grad_fn_name.replace("1", "0"))
    indices = index_fn(input._data, axis=dims[0], keepdims=keepdim) if input.ndim else np.array(0)
    pair = return_max if op is R.amax else return_min
    return pair(values, Tensor._wrap(np.asarray(indices, dtype=np.int64)))


def max(input, dim=None, keepdim=False):
    """The largest element; with ``dim``, (values, indices) along it; with a tensor, ``maximum``."""
    return _extreme(R.amax, np.argmax, input, dim, keepdim, "max")


def min(input, dim=None, keepdim=False):
    return _extreme(R.amin, np.argmin, input, dim, keepdim, "min")


def amax(input, dim=(), keepdim=False):
    dims = _dims(dim, input.ndim) if dim != () else None
    return apply(R.amax, (input,), {"dim": dims, "keepdim": keepdim, "ties": "split"},
                 name="AmaxBackward0")


def amin(input, dim=(), keepdim=False):
    dims = _dims(dim, input.ndim) if dim != () else None
    return apply(R.amin, (input,), {"dim": dims, "keepdim": keepdim, "ties": "split"},
                 name="AminBackward0")


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(input._data), dtype=np.int64))
    return Tensor._wrap(np.asarray(np.argmax(input._data, axis=_dim(dim, input.ndim), keepdims=keepdim),
                                   dtype=np.int64))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(input._data), dtype=np.int64))
    return Tensor._wrap(np.asarray(np.argmin(input._data, axis=_dim(dim, input.ndim), keepdims=keepdim),
                                   dtype=np.int64))


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) along ``dim``, computed without overflow; its gradient (the softmax)
    is finite at +-inf too (an all -inf row shares it evenly)."""
    return apply(R.logsumexp, (_float(input),), {"dim": _dims(dim, input.ndim), "keepdim": keepdim})


def _correction(function, dim, unbiased, correction):
    """(dim, correction) from PyTorch's two spellings: ``unbiased`` (also ``x.var(False)``, a bool
    where dim goes) or ``correction``; Bessel's n - 1 by default."""
    if isinstance(dim, bool):  # x.var(False): the old signature's unbiased
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{function}(): give unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _spread(function, op, input, dim, unbiased, keepdim, correction):
    if _array(function, input).dtype.kind != "f":
        raise RuntimeError(f"{function}(): only floating point dtypes are supported, got "
                           f"{_dtype.from_numpy_dtype(input._data.dtype)}")
    dim, correction = _correction(function, dim, unbiased, correction)
    dims = _dims(dim, input.ndim)
    if R.count(input._data.shape, dims) <= correction:
        warnings.warn(f"{function}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return apply(op, (input,), {"dim": dims, "keepdim": keepdim, "correction": correction})


def prod(input, dim=None, keepdim=False, dtype=None):
    """The product of all elements, or along one ``dim``; its gradient is exact where some
    entries are 0 (the product of the others, not prod / x)."""
    if dtype is not None:
        input = input.to(dtype)
    elif _array("prod", input).dtype.kind in "bui" and input._data.dtype != np.int64:
        input = _cast(input, np.dtype(np.int64))
    if dim is None:
        return apply(R.prod, (input,), {"dim": None, "keepdim": False}, name="ProdBackward0")
    axis = None if input.ndim == 0 else _dim(dim, input.ndim)
    return apply(R.prod, (input,), {"dim": axis, "keepdim": keepdim and input.ndim > 0})


def cumsum(input, dim, dtype=None):
    """Running sums along ``dim``: out[i] = input[0] + ... + input[i]."""
    if dtype is not None:
        input = input.to(dtype)
    elif _array("cumsum", input).dtype.kind in "bui" and input._data.dtype != np.int64:
        input = _cast(input, np.dtype(np.int64))
    if input.ndim == 0:
        _dim(dim, 0)  # range check: a 0-d tensor takes dim 0 or -1
        return input.clone()
    return apply(R.cumsum, (input,), {"dim": _dim(dim, input.ndim)})


def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and so on): ``index`` (int64) picks along
    ``dim``, its other sizes no larger than input's."""
    data, picks = _array("gather", input), _array("gather", index)
    if data.ndim == 0:
        raise RuntimeError("gather(): a 0-d input is not supported; index a 1-d tensor")
    axis = _dim(dim, data.ndim)
    if picks.dtype.kind not in "iu":
        raise RuntimeError(f"gather(): Expected an integer index, got {_dtype.from_numpy_dtype(picks.dtype)}")
    if picks.ndim != data.ndim or builtins.any(picks.shape[d] > data.shape[d] for d in range(data.ndim) if d != axis):
        raise RuntimeError(f"gather(): index of shape {list(picks.shape)} does not fit input of shape "
                           f"{list(data.shape)} along dimension {dim}")
    _check_picks("gather", picks, dim, data.shape[axis])
    grid = list(np.indices(picks.shape, sparse=True))
    grid[axis] = picks  # out[i][j] = input[i][index[i][j]] for dim 1: the other axes count up
    return apply(S.getitem, (input,), {"index": tuple(grid), "source_shape": data.shape},
                 name="GatherBackward0")


def _check_picks(function, picks, dim, size):
    """PyTorch's error for an index outside 0 .. size - 1 (negative ones included)."""
    if picks.size:
        bad = picks.min() if picks.min() < 0 else picks.max()
        if bad < 0 or bad >= size:
            raise RuntimeError(f"{function}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def index_select(input, dim, index):
    """The entries of ``input`` at positions ``index`` (a 1-D integer tensor) along ``dim``."""
    data, picks = _array("index_select", input), _array("index_select", index)
    if picks.ndim > 1 or picks.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Index is supposed to be a vector of integers")
    axis = _dim(dim, data.ndim)
    _check_picks("index_select", picks, dim, data.shape[axis])
    index = (slice(None),) * axis + (picks.reshape(-1),)
    return apply(S.getitem, (input,), {"index": index, "source_shape": data.shape},
                 name="IndexSelectBackward0")


def bmm(input, mat2):
    """Batched matrix products of two 3-D tensors: out[b] = input[b] @ mat2[b]."""
    if _array("bmm", input).ndim != 3 or _array("bmm", mat2).ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: batch1 and batch2 shapes cannot be multiplied "
                           f"({list(input.shape)} and {list(mat2.shape)})")
    if input._data.dtype != mat2._data.dtype:
        _same_dtype("bmm", input, mat2, "mat2")
    return apply(L.matmul, (input, mat2), name="BmmBackward0")


def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces along ``dim``: each ``split_size`` long (the last may be
    shorter), or as long as each entry of a list of sections."""
    axis = _dim(dim, _array("split", tensor).ndim)
    size = tensor._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split(): split_size must be positive, got {step}")
        sections = [builtins.min(step, size - start) for start in range(0, size, step or 1)]
        name = "SplitBackward0"
    else:
        sections, name = list(split_size_or_sections), "SplitWithSizesBackward0"
        if builtins.sum(sections) != size or builtins.min(sections, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {dim}), but got split_sizes={sections}")
    return _pieces(tensor, axis, sections, name)


def chunk(input, chunks, dim=0):
    """``chunks`` views along ``dim``, each ceil(size / chunks) long (the last may be shorter,
    and there may be fewer)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = _array("chunk", input).shape[_dim(dim, input.ndim)]
    step = -(-size // chunks)
    return split(input, step, dim) if size else split(input, [0] * chunks, dim)


def unbind(input, dim=0):
    """Each slice along ``dim``, that dimension removed."""
    axis = _dim(dim, _array("unbind", input).ndim)
    return tuple(apply(S.getitem, (input,), {"index": (slice(None),) * axis + (k,),
                                             "source_shape": input._data.shape}, name="UnbindBackward0")
                 for k in range(input._data.shape[axis]))


def _pieces(tensor, axis, sections, name):
    pieces, start = [], 0
    for length in sections:
        index = (slice(None),) * axis + (slice(start, start + length),)
        pieces.append(apply(S.getitem, (tensor,), {"index": index, "source_shape": tensor._data.shape},
                            name=name))
        start += length
    return tuple(pieces)


def repeat(input, *sizes):
    """``input`` tiled ``sizes[k]`` times along each dimension (leading new ones as needed)."""
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    if len(sizes) < _array("repeat", input).ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return apply(S.repeat, (input,), {"sizes": tuple(sizes)})


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) along ``dim``, ascending unless ``descending``; equal values keep their
    order, and nan sorts above every number, as PyTorch's CPU sort does."""
    data = _array("sort", input)
    if data.ndim == 0:
        return return_sort(input.clone(), Tensor._wrap(np.zeros((), dtype=np.int64)))
    axis = _dim(dim, data.ndim)
    return _picked(input, _sort_order(data, axis, descending), axis, return_sort, "SortBackward0")


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices, in order."""
    data = _array("topk", input)
    if data.ndim == 0:
        if k not in (0, 1):
            raise RuntimeError(f"topk(): selected index k out of range: k = {k}, size = 1")
        return return_topk(input.clone(), Tensor._wrap(np.zeros((), dtype=np.int64)))
    axis = _dim(dim, data.ndim)
    if not 0 <= k <= data.shape[axis]:
        raise RuntimeError(f"topk(): selected index k out of range: k = {k}, size = {data.shape[axis]}")
    order = np.take(_sort_order(data, axis, largest), range(k), axis=axis)
    return _picked(input, order, axis, return_topk, "TopkBackward0")


def _sort_order(data, axis, descending):
    """The stable sorting permutation along ``axis``; descending puts nan first, then the
    numbers from the largest, equal ones in their order."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    key = np.where(np.isnan(data), -np.inf, -data) if data.dtype.kind == "f" else -data.astype(np.int64)
    return np.argsort(key, axis=axis, kind="stable")


def _picked(input, order, axis, kind, name):
    """(input's entries at ``order`` along ``axis``, the order) as a differentiable selection."""
    grid = list(np.indices(order.shape, sparse=True))
    grid[axis] = order
    values = apply(S.getitem, (input,), {"index": tuple(grid), "source_shape": input._data.shape},
                   name=name)
    return kind(values, Tensor._wrap(order.astype(np.int64, copy=False)))


def trace(input):
    """The sum of the diagonal of a matrix."""
    if _array("trace", input).ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return apply(R.trace, (input,))


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The variance along ``dim`` (all elements by default), divided by n - correction (n - 1
    unless ``unbiased=False`` or ``correction`` says otherwise)."""
    return _spread("var", R.var, input, dim, unbiased, keepdim, correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The standard deviation: the square root of :func:`var`."""
    return _spread("std", R.std, input, dim, unbiased, keepdim, correction)


def norm(input, p="fro", dim=None, keepdim=False):
    """The vector p-norm along ``dim`` (all elements by default): p = 2 ("fro", the default) or 1."""
    if _array("norm", input).dtype.kind != "f":
        raise RuntimeError(f"norm(): only floating point dtypes are supported, got "
                           f"{_dtype.from_numpy_dtype(input._data.dtype)}")
    if p not in ("fro", 2, 1):
        raise NotImplementedError(f"norm(): p={p!r} is not supported; p is 2 (or 'fro') or 1")
    return apply(R.norm, (input,), {"dim": _dims(dim, input.ndim), "keepdim": keepdim,
                                    "p": 1 if p == 1 else 2})


# ----- stable composites (records in ops/stable.py) ---------------------------------------------
def logaddexp(input, other):
    """log(exp(input) + exp(other)) without overflow; gradients sigmoid(input - other) and
    sigmoid(other - input)."""
    return _binary(ST.logaddexp, _number_first("logaddexp", input, other), other, true_division=True)


def xlogy(input, other):
    """input * log(other), and 0 where input is 0 (even where other is 0); either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        _expect_tensor("xlogy", other, "other")
    if not isinstance(input, Tensor):
        input = _operand(input, other)
    return _binary(ST.xlogy, input, other, true_division=True)


def _softmax_input(input, dim, dtype, function):
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        raise TypeError(f"{function}() missing required argument 'dim'")
    input = _float(input)
    return input, _dims(dim, input.ndim)


def softmax(input, dim, dtype=None):
    """exp(input) / sum(exp(input)) along ``dim``; finite for any input, +-inf included."""
    input, dims = _softmax_input(input, dim, dtype, "softmax")
    return apply(ST.softmax, (input,), {"dim": dims})


def log_softmax(input, dim, dtype=None):
    """input - logsumexp(input) along ``dim``; its gradient keeps its digits when one class
    takes nearly all the probability."""
    input, dims = _softmax_input(input, dim, dtype, "log_softmax")
    return apply(ST.log_softmax, (input,), {"dim": dims})


def all(input, dim=None):
    return Tensor._wrap(np.asarray(np.all(input._data, axis=_dims(dim, input.ndim))))


def any(input, dim=None):
    return Tensor._wrap(np.asarray(np.any(input._data, axis=_dims(dim, input.ndim))))


# ----- linear algebra ----------------------------------------------------------------------------
def mm(input, mat2):
    if input.__class__ is not Tensor or mat2.__class__ is not Tensor or input._data.dtype is not mat2._data.dtype:
        _same_dtype("mm", input, mat2, "mat2")
    return apply2(L.mm, input, mat2)


def matmul(input, other):
    if input.__class__ is not Tensor or other.__class__ is not Tensor or input._data.dtype is not other._data.dtype:
        _same_dtype("matmul", input, other)
    if input._data.ndim == 2 and other._data.ndim == 2:
        return apply2(L.mm, input, other)
    try:
        return apply(L.matmul, (input, other), name=L.matmul_grad_fn_name(input.ndim, other.ndim))
    except RuntimeError:
        _check_batch_dims(input.shape, other.shape)
        raise


def _same_dtype(function, a, b, b_name="other"):
    """Matrix products take tensors of one dtype (PyTorch does not promote them)."""
    _expect_tensor(function, a)
    _expect_tensor(function, b, b_name)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{function}: expected both tensors to have the same dtype, but got "
                           f"{a.dtype} and {b.dtype}; convert one first (.float(), .double(), .to(...))")


def _check_batch_dims(a, b):
    """Raise a RuntimeError naming matmul's batch dimensions (all but the last two) when they
    don't broadcast; NumPy's error would blame the matrix dimensions."""
    batch_a, batch_b = a[:-2], b[:-2]
    n = builtins.max(len(batch_a), len(batch_b))
    padded_a, padded_b = (1,) * (n - len(batch_a)) + batch_a, (1,) * (n - len(batch_b)) + batch_b
    for i, (x, y) in enumerate(zip(padded_a, padded_b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"matmul: shapes {tuple(a)} and {tuple(b)}: batch dimensions {tuple(batch_a)} and "
                f"{tuple(batch_b)} don't broadcast (sizes {x} and {y} at batch dimension {i})")


def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input._data.shape != other._data.shape:
        raise RuntimeError(f"dot: inconsistent tensor size: shapes {tuple(input.shape)} and "
                           f"{tuple(other.shape)} must have the same number of elements")
    return matmul(input, other)


def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got {input.ndim}-D and {vec.ndim}-D")
    if input._data.shape[1] != vec._data.shape[0]:
        raise RuntimeError(f"mv: matrix of shape {tuple(input.shape)} and vector of shape "
                           f"{tuple(vec.shape)} cannot be multiplied ({input.shape[1]} and {vec.shape[0]} differ)")
    return matmul(input, vec)


# ----- shape ---------------------------------------------------------------------------------------
def _infer_shape(shape, array, function):
    """``shape`` with one -1 filled in, checked against ``array``'s size, for ``function``'s errors."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = _sizes(function, shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{function}: only one dimension can be inferred")
    known = 1
    for i, s in enumerate(shape):
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{function}: invalid shape dimension {s} at index {i} of shape {list(shape)}")
            known *= s
    numel = array.size
    if -1 in shape:
        if known == 0 or numel % known:
            raise _shape_error(function, shape, array)
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise _shape_error(function, shape, array)
    return shape


def _shape_error(function, shape, array):
    return RuntimeError(f"{function}: shape '{list(shape)}' is invalid for input of size {array.size} "
                        f"(input shape {list(array.shape)})")


def _sizes(function, sizes):
    """``sizes`` as a tuple of Python ints; a TypeError naming ``function`` for floats, strings ..."""
    try:
        return tuple([operator.index(s) for s in sizes])
    except TypeError:
        bad = next(s for s in sizes if not isinstance(s, (int, np.integer, Tensor)))  # the culprit
        raise TypeError(f"{function}(): sizes must be ints, but got {type(bad).__name__} {bad!r} in "
                        f"{list(sizes)}") from None


def reshape(input, *shape):
    """The same values in a new shape: a view when the memory layout allows, else a copy."""
    array = _array("reshape", input)
    shape = _infer_shape(shape, array, "reshape")
    name = None if _viewable(input._data, shape) else "UnsafeViewBackward0"
    return apply1(S.reshape, input, {"shape": shape, "source_shape": input._data.shape}, name)


def view(input, *shape):
    """The same memory seen with a new shape; refuses (like PyTorch) when that needs a copy."""
    if shape and isinstance(shape[0], _dtype.dtype):
        raise RuntimeError("view(dtype) is not supported; use .to(dtype)")
    target = _infer_shape(shape, input._data, "view")
    if not _viewable(input._data, target):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return apply1(S.reshape, input, {"shape": target, "source_shape": input._data.shape})


def _viewable(array, shape):
    if array.flags.c_contiguous:
        return True
    probe = array.view()
    try:
        probe.shape = shape  # NumPy refuses exactly when a copy would be needed
    except AttributeError:
        return False
    return True


def flatten(input, start_dim=0, end_dim=-1):
    if _array("flatten", input).ndim == 0:
        return reshape(input, 1)
    start, end = _dim(start_dim, input.ndim), _dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    if start == end:
        return input
    shape = input.shape
    new = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
    return reshape(input, new)


def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        new, name = tuple(s for s in shape if s != 1), "SqueezeBackward0"
    else:
        dims = _dims(dim, input.ndim)
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        name = "SqueezeBackward1" if not isinstance(dim, (tuple, list)) else "SqueezeBackward2"
    return apply(S.reshape, (input,), {"shape": new, "source_shape": shape}, name=name)


def unsqueeze(input, dim):
    shape = input._data.shape
    d = _dim(dim, input.ndim + 1)
    new = shape[:d] + (1,) + shape[d:]
    return apply(S.reshape, (input,), {"shape": new, "source_shape": shape}, name="UnsqueezeBackward0")


def transpose(input, dim0, dim1):
    n = _array("transpose", input).ndim
    return apply(S.transpose, (input,), {"dim0": _dim(dim0, n), "dim1": _dim(dim1, n)})


swapaxes = transpose


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    dims = tuple(_dim(d, input.ndim) for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {list(dims)} are not a permutation of {input.ndim} dimensions")
    return apply(S.permute, (input,), {"dims": dims})


def t(input):
    return input.t()


def expand(input, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = _sizes("expand", sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})")
    padded = (1,) * (len(sizes) - len(shape)) + shape
    new = []
    for i, (want, have) in enumerate(zip(sizes, padded)):
        if want == -1:
            want = have
        elif want < 0:
            raise RuntimeError(f"expand: invalid size {want} at dimension {i} of {list(sizes)}: sizes "
                               "must be non-negative, or -1 to keep the existing size")
        if have != 1 and want != have:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size ({have}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
        new.append(want)
    return apply(S.expand, (input,), {"shape": tuple(new), "source_shape": shape})


def expand_as(input, other):
    return expand(input, other.shape)


def view_as(input, other):
    return reshape(input, other.shape)


reshape_as = view_as


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    tensors = _common_dtype(tensors)
    for k, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"torch.cat(): zero-dimensional tensor (at position {k}) cannot be "
                               "concatenated; use torch.stack, or reshape it to 1-D")
    d = _dim(dim, tensors[0].ndim)
    for k, t in enumerate(tensors[1:], 1):
        a, b = tensors[0]._data.shape, t._data.shape
        if len(a) != len(b) or builtins.any(x != y for i, (x, y) in enumerate(zip(a, b)) if i != d):
            raise RuntimeError(
                f"torch.cat(): Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(a)} but got size {list(b)} for tensor number {k} in the list.")
    sizes = tuple(t._data.shape[d] for t in tensors)
    return apply(S.cat, tensors, {"dim": d, "sizes": sizes})


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dimension."""
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    tensors = _common_dtype(tensors)
    for k, t in enumerate(tensors[1:], 1):
        if t._data.shape != tensors[0]._data.shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {k}")
    return apply(S.stack, tensors, {"dim": _dim(dim, tensors[0].ndim + 1)})


def _tensor_list(function, tensors):
    """``tensors`` as a list; a TypeError for a bare tensor (``cat(a, b)`` would make b the dim)."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{function}(): expected a sequence of Tensors as the first argument, got a "
                        f"Tensor; pass them as a list: {function}([a, b], dim)")
    return list(tensors)


def _common_dtype(tensors):
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a sequence of Tensors, got an element of type {type(t).__name__}")
    target = _dtype.result_type([t._data for t in tensors])
    return [_cast(t, target) for t in tensors]


def clone(input):
    return apply1(S.clone, input)


def detach(input):
    return input.detach()


def numel(input):
    return input._data.size


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input._data.dtype.kind == "f"


# ----- comparisons (no gradient) -----------------------------------------------------------------
def _comparison(name, symbol, compare):
    def function(input, other):
        _expect_tensor(name, input)  # 3 < x works; torch.lt(3, x) does not
        return compare(input, other)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input {symbol} other`` elementwise, as a bool tensor (no gradient)."
    return function


eq = _comparison("eq", "==", operator.eq)
ne = _comparison("ne", "!=", operator.ne)
gt = _comparison("gt", ">", operator.gt)
ge = _comparison("ge", ">=", operator.ge)
lt = _comparison("lt", "<", operator.lt)
le = _comparison("le", "<=", operator.le)


def isnan(input):
    return Tensor._wrap(np.isnan(_array("isnan", input)))


def isinf(input):
    return Tensor._wrap(np.isinf(_array("isinf", input)))


def isfinite(input):
    return Tensor._wrap(np.isfinite(_array("isfinite", input)))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _array("isclose", input), _data(other)
    try:
        return Tensor._wrap(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError as error:
        raise graph.broadcast_error("isclose", (a, b), error) from None


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _array("allclose", input), _data(other)
    try:
        return builtins.bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError as error:
        raise graph.broadcast_error("allclose", (a, b), error) from None


def equal(input, other):
    return input.shape == other.shape and builtins.bool(np.array_equal(input._data, other._data))


# ----- used by vjps under create_graph (see ops.namespaces.tensor_ns) ---------------------------
def zeros_like(input):
    return Tensor._wrap(np.zeros_like(input._data))


def sum_to(g, shape):
    from .ops.namespaces import sum_to_axes
    if tuple(g.shape) == tuple(shape):
        return g
    axes, lead = sum_to_axes(g._data.shape, tuple(shape))
    out = sum(g, axes, keepdim=True) if axes else g
    return reshape(out, tuple(shape)) if lead else out


def unreduce(g, shape, dim, keepdim):
    if not keepdim:
        kept = (1,) * len(shape) if dim is None else tuple(
            1 if i in dim else s for i, s in enumerate(shape))
        g = reshape(g, kept)
    return expand(g, tuple(shape))


def narrow(g, dim, start, length):
    index = [slice(None)] * g.ndim
    index[dim] = slice(start, start + length)
    return g[tuple(index)]


def select(g, dim, i):
    index = [slice(None)] * g.ndim
    index[dim] = i
    return g[tuple(index)]


def getitem(g, index):
    return g[index]


def index_scatter(g, index, shape):
    return apply(S.index_scatter, (g,), {"index": index, "shape": tuple(shape)})


def astype(g, dtype):
    return _cast(g, np.dtype(dtype))


def mT(g):
    return transpose(g, -2, -1)


_tensor_module._functional = sys.modules[__name__]

from .ops.namespaces import _fill_tensor_ns  # noqa: E402  (needs the functions above)

_fill_tensor_ns()
