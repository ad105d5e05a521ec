"""The two array namespaces a vjp can be handed as ``xp``.

``numpy_ns`` works on plain NumPy arrays: the fast path of every ordinary ``backward()``.
``tensor_ns`` works on glassgrad tensors through the op registry, so a vjp evaluated with it is
itself recorded and differentiable (``create_graph=True``). Both expose the same names; a vjp
never needs to know which one it got.
"""

import math

import numpy as np


def _normalise(shape, dim, keepdim):
    """The shape a reduced gradient takes before being broadcast back to ``shape``."""
    if dim is None:
        return (1,) * len(shape)
    return tuple(1 if i in dim else s for i, s in enumerate(shape))


def sum_to_axes(shape, target):
    """The axes to sum over (and whether to reshape) to bring ``shape`` down to ``target``."""
    lead = len(shape) - len(target)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(target) if n == 1 and shape[i + lead] != 1)
    return axes, lead


_UNSIGNED = {2: np.uint16, 4: np.uint32, 8: np.uint64}  # float width -> same-width integer
_sum_to_plans = {}  # (shape, target) -> (axes, keep them?, leading axes): a loop repeats the same few
_add_reduce = np.add.reduce
_libm_erf = np.frompyfunc(math.erf, 1, 1)


class numpy_ns:
    """NumPy arrays in, NumPy arrays out. Methods rather than np.* wrappers: on the tiny arrays
    of teaching examples, NumPy's Python-level wrappers cost more than the arithmetic."""

    cos = staticmethod(np.cos)
    sin = staticmethod(np.sin)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sign = staticmethod(np.sign)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    tanh = staticmethod(np.tanh)
    zeros_like = staticmethod(np.zeros_like)
    matmul = staticmethod(np.matmul)
    floor_divide = staticmethod(np.floor_divide)
    tril = staticmethod(np.tril)
    triu = staticmethod(np.triu)

    @staticmethod
    def erf(a):
        """The C library's erf (NumPy has none), element by element in float64, rounded to a's
        dtype: within an ulp, about 60 ns an element."""
        return np.asarray(_libm_erf(a.astype(np.float64)), dtype=np.float64).astype(a.dtype, copy=False)

    @staticmethod
    def flip(a, dims):
        return np.flip(a, dims).copy()

    @staticmethod
    def cumsum(a, dim):
        return np.cumsum(a, axis=dim)

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def swapaxes(a, dim0, dim1):
        return a.swapaxes(dim0, dim1)

    @staticmethod
    def permute(a, dims):
        return a.transpose(dims)

    @staticmethod
    def where(condition, a, b):
        out = np.where(condition, a, b)
        # Keep the gradient's dtype: np.where with a Python 0.0 would not change float32.
        dtype = a.dtype if hasattr(a, "dtype") else b.dtype
        return out.astype(dtype, copy=False)

    @staticmethod
    def keep_where(condition, g):
        """``g`` where ``condition`` holds, +0 elsewhere, bit for bit as np.where(condition, g, 0)
        (an inf or nan in ``g`` is dropped, not multiplied by 0): a bitwise AND with an all-ones
        or all-zeros mask, several times faster than np.where on large arrays."""
        unsigned = _UNSIGNED.get(g.dtype.itemsize) if g.dtype.kind == "f" else None
        if unsigned is None or condition.shape != g.shape:
            return numpy_ns.where(condition, g, 0.0)
        mask = np.negative(condition.view(np.uint8), dtype=unsigned)  # True -> all ones
        return np.bitwise_and(g.view(unsigned), mask).view(g.dtype)

    @staticmethod
    def data(a):
        return a

    @staticmethod
    def astype(a, dtype):
        return a.astype(dtype, copy=False)

    @staticmethod
    def sum(a, dim, keepdim):
        return a.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def mT(a):
        return a.swapaxes(-1, -2)

    @staticmethod
    def sum_to(g, shape):
        source = g.shape
        if source == shape:
            return g
        plan = _sum_to_plans.get((source, shape))
        if plan is None:
            axes, lead = sum_to_axes(source, shape)
            # One call when dropping the summed axes leaves ``shape`` (a bias's gradient, summed
            # over the batch); else they are kept and the result reshaped. A 0-d ``shape`` keeps
            # them too: reduced to nothing, NumPy would hand back a scalar, not an array.
            kept = tuple(n for i, n in enumerate(source) if i not in axes)
            plan = axes, not shape or kept != shape, lead
            if len(_sum_to_plans) < 1024:
                _sum_to_plans[(source, shape)] = plan
        axes, keep, lead = plan
        out = _add_reduce(g, axes, None, None, keep)  # what g.sum does, minus its Python wrapper
        return out.reshape(shape) if keep and lead else out

    @staticmethod
    def unreduce(g, shape, dim, keepdim):
        if not keepdim:
            g = g.reshape(_normalise(shape, dim, keepdim))
        out = np.empty(shape, dtype=g.dtype)
        out[...] = g  # a broadcasting copy: faster than np.broadcast_to, and writable
        return out

    @staticmethod
    def narrow(g, dim, start, length):
        index = [slice(None)] * g.ndim
        index[dim] = slice(start, start + length)
        return g[tuple(index)]

    @staticmethod
    def select(g, dim, i):
        return g.take(i, axis=dim)

    @staticmethod
    def getitem(g, index):
        return g[index]

    @staticmethod
    def index_scatter(g, index, shape):
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, index, g)
        return out


class tensor_ns:
    """glassgrad tensors in and out: every call is recorded, so the result can be differentiated."""

    @staticmethod
    def data(t):
        return t._data


def _fill_tensor_ns():
    # Imported late: the functional API needs the Tensor class, which needs the registry.
    from .. import functional as F

    for name in ("cos", "sin", "sinh", "cosh", "tanh", "exp", "log", "erf", "sign", "zeros_like",
                 "matmul", "reshape", "where", "sum_to", "unreduce", "narrow", "select", "getitem",
                 "index_scatter", "astype", "mT", "swapaxes", "permute", "floor_divide", "tril",
                 "triu", "flip", "cumsum"):
        setattr(tensor_ns, name, staticmethod(getattr(F, name)))
    tensor_ns.sum = staticmethod(lambda a, dim, keepdim: F.sum(a, dim, keepdim))
    tensor_ns.keep_where = staticmethod(lambda condition, g: F.where(condition, g, 0.0))
