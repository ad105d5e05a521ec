"""Data types with PyTorch's names and PyTorch's type-promotion rules.

A glassgrad dtype wraps a NumPy dtype and prints as PyTorch does (``torch.float32``), so the seed
homework run with ``import glassgrad as torch`` prints what PyTorch prints. Promotion follows
PyTorch, not NumPy: Python floats become the default float type, and a dimensioned tensor wins
over a zero-dimensional one of the same category.
"""

import numpy as np


class dtype:
    """A tensor element type: ``glassgrad.float32`` wraps ``numpy.float32``."""

    __slots__ = ("name", "numpy", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, numpy_dtype):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.is_floating_point = self.numpy.kind == "f"
        self.is_signed = self.numpy.kind in "fi"
        self.itemsize = self.numpy.itemsize

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.numpy,))


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.numpy: d for d in ALL}
_default_float = float32


def from_numpy_dtype(numpy_dtype):
    """The glassgrad dtype for a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _BY_NUMPY[np.dtype(numpy_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert NumPy array of type {np.dtype(numpy_dtype)}: glassgrad supports "
            + ", ".join(d.name for d in ALL)
        ) from None


def to_numpy_dtype(d):
    """Accept a glassgrad dtype, a NumPy dtype or a Python type, and return the NumPy dtype."""
    if isinstance(d, dtype):
        return d.numpy
    if d is _builtin_float:
        return _default_float.numpy
    if d is _builtin_int:
        return np.dtype(np.int64)
    if d is _builtin_bool:
        return np.dtype(np.bool_)
    try:
        numpy_dtype = np.dtype(d)
    except TypeError:  # not a dtype at all: NumPy's "data type 'x' not understood" names no argument
        raise TypeError(f"dtype must be a torch.dtype (e.g. torch.float32), not {type(d).__name__} {d!r}") from None
    return from_numpy_dtype(numpy_dtype).numpy


_builtin_float, _builtin_int, _builtin_bool = type(0.5), type(1), type(True)


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d!r}")
    _default_float = d


def default_float_numpy():
    return _default_float.numpy


def _category(np_dtype):
    # PyTorch promotes across categories: bool < integer < floating point.
    kind = np_dtype.kind
    return 0 if kind == "b" else 2 if kind == "f" else 1


def scalar_dtype(value):
    """The NumPy dtype PyTorch gives a bare Python number: bool, int64 or the default float."""
    if isinstance(value, _builtin_bool):
        return np.dtype(np.bool_)
    if isinstance(value, _builtin_int):
        return np.dtype(np.int64)
    return _default_float.numpy


def promote_types(a, b):
    """PyTorch's promotion of two dtypes: within a category as NumPy does (int8 + uint8 ->
    int16); across categories the higher one's type wins unwidened (int64 + float32 -> float32)."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca == cb:
        return np.promote_types(a, b)
    return a if ca > cb else b


def result_type(arrays, scalars=()):
    """PyTorch's result dtype for NumPy operands ``arrays`` and Python numbers ``scalars``.

    Dimensioned operands decide first; a zero-dimensional operand or a Python number changes the
    result only when it belongs to a higher category (a float scalar makes an int tensor float).
    """
    dim_result = zero_result = None
    for a in arrays:
        if a.ndim:
            dim_result = a.dtype if dim_result is None else promote_types(dim_result, a.dtype)
        else:
            zero_result = a.dtype if zero_result is None else promote_types(zero_result, a.dtype)
    result = dim_result
    if zero_result is not None:
        if result is None or _category(zero_result) > _category(result):
            result = zero_result
    for s in scalars:
        s_dtype = scalar_dtype(s)
        if result is None:
            result = s_dtype
        elif _category(s_dtype) > _category(result):
            result = s_dtype
    return result
