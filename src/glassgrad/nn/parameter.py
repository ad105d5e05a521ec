"""``glassgrad.nn.Parameter``: a tensor that a Module registers as one of its parameters."""

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and that a Module lists in
    ``parameters()``. It shares its data with the tensor it is made from, as in PyTorch."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        source = data if isinstance(data, Tensor) else Tensor._wrap(np.empty(0, dtype=np.float32))
        if source._vc is None:
            source._vc = [0]
        parameter = cls._wrap(source._data)
        parameter._vc = source._vc  # writes through either are seen by both
        parameter._requires_grad = bool(requires_grad)
        return parameter

    def __init__(self, data=None, requires_grad=True):
        pass  # __new__ did the work; Tensor.__init__ would build a new array

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # Tensor's __str__ is its own __repr__, not this one
