"""Binds the functional API onto Tensor as methods: ``x.exp()`` is ``glassgrad.exp(x)``.

In-place variants (``x.exp_()``, ``x.clamp_(0, 1)``) compute the out-of-place result and write it
into ``x``; under autograd, ``x`` takes over the result's grad_fn, as in PyTorch.
"""

from . import functional as F
from .autograd import grad_mode
from .tensor import Tensor, _cast_error

# Every function is a method too (x.exp()), but for those of several tensors or of none;
# names Tensor defines itself (detach, numel, t) are left as they are.
_NOT_METHODS = {"cat", "concat", "concatenate", "stack", "is_tensor"}
_METHODS = [name for name in F.__all__ if name not in _NOT_METHODS]

_INPLACE = (
    "exp log log1p expm1 sin cos tan tanh sigmoid sqrt reciprocal rsqrt log2 log10 exp2 asin "
    "acos atan sinh cosh floor ceil round trunc relu abs neg clamp clip pow masked_fill tril "
    "triu"
).split()


def _inplace_method(function):
    def method(self, *args, **kwargs):
        if grad_mode.enabled and self._requires_grad:
            return self._inplace_recorded(lambda old: function(old, *args, **kwargs), function.__name__)
        result = function(self.detach(), *args, **kwargs)._data
        error = _cast_error(result.dtype, self._data.dtype, function.__name__)
        if error is not None:  # exp_ of an int64 tensor would silently truncate
            raise error
        self._write(result, function.__name__ + "_")
        self._bump_version()
        return self
    method.__name__ = function.__name__ + "_"
    method.__doc__ = f"In-place {function.__name__}."
    return method


def bind_methods():
    for name in _METHODS:
        if not hasattr(Tensor, name):
            setattr(Tensor, name, getattr(F, name))
    for name in _INPLACE:
        setattr(Tensor, name + "_", _inplace_method(getattr(F, name)))
    Tensor.where = lambda self, condition, other: F.where(condition, self, other)
    Tensor.negative = Tensor.neg
    Tensor.absolute = Tensor.abs
