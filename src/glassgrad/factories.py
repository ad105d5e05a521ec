"""Creating tensors: from data (``tensor``), filled (``zeros``, ``full``), ranges and random draws.

Dtypes follow PyTorch: Python floats give the default float type (float32), ints give int64,
bools give bool, and NumPy arrays keep their own dtype. Random draws come from
``glassgrad.random``, which reproduces PyTorch's CPU generator.
"""

import numpy as np

from . import _dtype
from . import random as _random
from .tensor import Tensor, _expect_tensor


def _resolve(dtype, default=None):
    if dtype is None:
        return default
    return _dtype.to_numpy_dtype(dtype)


def _like(function, input):
    """``input``'s NumPy array, for the ``*_like`` factories; a TypeError if it is not a tensor."""
    _expect_tensor(function, input)
    return input._data


def _generator(function, generator):
    """``generator`` checked to be None or a glassgrad Generator (it is read deep inside random)."""
    if generator is not None and not isinstance(generator, _random.Generator):
        raise TypeError(f"{function}(): argument 'generator' must be a torch.Generator, not "
                        f"{type(generator).__name__}")
    return generator


def _finish(array, requires_grad):
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _plain(data):
    """Nested lists with any tensors replaced by their values, ready for ``np.array``."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_plain(d) for d in data]
    return data


def _infer_dtype(values):
    """PyTorch's dtype for nested lists: float beats int beats bool, and within a kind the widest
    wins, a Python float counting as the default float dtype, a Python int as int64 and a NumPy
    scalar or array as its own dtype ([np.float64(1), 2.0] is float64, [np.int32(1), 2] int64)."""
    found = {"f": [], "i": [], "b": []}
    stack = [values]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fiub":
            found["i" if v.dtype.kind == "u" else v.dtype.kind].append(v.dtype)
        elif isinstance(v, bool):
            found["b"].append(np.dtype(np.bool_))
        elif isinstance(v, int):
            found["i"].append(np.dtype(np.int64))
        elif isinstance(v, float):
            found["f"].append(_dtype.default_float_numpy())
        else:
            raise TypeError(f"Could not infer dtype of {type(v).__name__}")
    for kind in "fib":
        if found[kind]:
            return np.result_type(*found[kind])
    return _dtype.default_float_numpy()  # an empty list


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor)."""
    if isinstance(data, Tensor):
        array = np.array(data._data, dtype=_resolve(dtype, data._data.dtype), copy=True)
    elif isinstance(data, (np.ndarray, np.generic)):  # a NumPy scalar keeps its dtype, as in PyTorch
        _dtype.from_numpy_dtype(data.dtype)
        array = np.array(data, dtype=_resolve(dtype, data.dtype), copy=True)
    else:
        plain = _plain(data)
        try:
            array = np.array(plain, dtype=_resolve(dtype, _infer_dtype(plain)))
        except ValueError as error:
            raise ValueError(f"tensor(): data is not a rectangular nested list of numbers ({error})") from None
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with it where possible (a NumPy array or a tensor)."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        return Tensor._wrap(data if dtype is None else data.astype(_resolve(dtype), copy=False))
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with the NumPy ``array``: changes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise RuntimeError(f"sizes must be non-negative integers, got {list(size)}")
    return tuple(int(s) for s in size)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.zeros(_shape(size), _resolve(dtype, _dtype.default_float_numpy())), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.ones(_shape(size), _resolve(dtype, _dtype.default_float_numpy())), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    default = _dtype.scalar_dtype(fill_value)
    return _finish(np.full(_shape((size,)), fill_value, _resolve(dtype, default)), requires_grad)


def zeros_like(input, dtype=None, requires_grad=False):
    array = _like("zeros_like", input)
    return _finish(np.zeros(array.shape, _resolve(dtype, array.dtype)), requires_grad)


def ones_like(input, dtype=None, requires_grad=False):
    array = _like("ones_like", input)
    return _finish(np.ones(array.shape, _resolve(dtype, array.dtype)), requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    array = _like("full_like", input)
    return _finish(np.full(array.shape, fill_value, _resolve(dtype, array.dtype)), requires_grad)


empty_like = zeros_like


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from ``start`` up to (not including) ``end``; int64 unless a float is involved."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not all(np.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (step {step}); bounds must be finite")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign: "
                           f"{start} -> {end} with step {step}")
    is_float = any(isinstance(v, float) for v in (start, end, step))
    default = _dtype.default_float_numpy() if is_float else np.dtype(np.int64)
    # Like PyTorch, count the elements in float64 and compute each as start + i * step.
    n = int(np.ceil((end - start) / step))
    values = start + np.arange(max(n, 0), dtype=np.float64 if is_float else np.int64) * step
    return _finish(values.astype(_resolve(dtype, default)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    values = np.linspace(start, end, steps, dtype=np.float64)
    return _finish(values.astype(_resolve(dtype, _dtype.default_float_numpy())), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    for name, size in (("n", n), ("m", m)):
        if size is not None and size < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {size}")
    return _finish(np.eye(n, m, dtype=_resolve(dtype, _dtype.default_float_numpy())), requires_grad)


def _float_dtype(dtype):
    resolved = _resolve(dtype, _dtype.default_float_numpy())
    if resolved.kind != "f":
        raise RuntimeError(f"random floats need a floating-point dtype, got {resolved}")
    return resolved


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform samples from [0, 1): the same numbers PyTorch draws after the same manual_seed."""
    array = _random.uniform_array(_shape(size), _float_dtype(dtype),
                                   generator=_generator("rand", generator))
    return _finish(array, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal samples: the same numbers PyTorch draws after the same manual_seed."""
    array = _random.normal_array(_shape(size), _float_dtype(dtype),
                                   generator=_generator("randn", generator))
    return _finish(array, requires_grad)


def rand_like(input, dtype=None, requires_grad=False):
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, dtype=None, requires_grad=False):
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, requires_grad=False, device=None):
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    array = _random.randint_array(low, high, _shape((size,)), _resolve(dtype, np.dtype(np.int64)),
                                  generator=_generator("randint", generator))
    return _finish(array, requires_grad)


def randperm(n, generator=None, dtype=None, requires_grad=False, device=None):
    array = _random.randperm_array(n, generator=_generator("randperm", generator))
    return _finish(array.astype(_resolve(dtype, np.dtype(np.int64))), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False, device=None):
    """Normal samples: ``normal(0, 0.01, size=(1, 2))`` as in PyTorch, or elementwise from tensors."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        mean_a = mean._data if isinstance(mean, Tensor) else np.asarray(mean)
        std_a = std._data if isinstance(std, Tensor) else np.asarray(std)
        shape = np.broadcast_shapes(mean_a.shape, std_a.shape)
        base_dtype = (mean if isinstance(mean, Tensor) else std)._data.dtype
        if (std_a < 0).any():
            raise RuntimeError(f"normal expects all elements of std >= 0.0, but its smallest element is {np.min(std_a)}")
        z = _random.normal_array(shape, base_dtype, generator=_generator("normal", generator))
        return _finish((mean_a + std_a * z).astype(base_dtype), requires_grad)
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    array = _random.normal_array(_shape((size,)), _float_dtype(dtype), mean=mean, std=std,
                                 generator=_generator("normal", generator))
    return _finish(array, requires_grad)


def manual_seed(seed):
    """Seed the default generator; later draws match PyTorch's after ``torch.manual_seed(seed)``."""
    return _random.manual_seed(seed)
