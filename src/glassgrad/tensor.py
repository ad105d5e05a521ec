"""The Tensor: a NumPy array plus what autograd needs to know about it.

Operators and methods are thin: they turn their arguments into tensors (with PyTorch's dtype
rules) and call ``apply`` with an op record. In-place methods write into the same NumPy array,
so views (rows, slices, ``.T``) see the change, and bump a version counter shared with those
views so that backward can tell when a value it saved has been overwritten.
"""

import operator
import warnings
import weakref

import numpy as np

from . import _dtype
from ._printing import format_tensor
from . import autograd
from .autograd import engine, graph, grad_mode
from .autograd.graph import apply, apply1, apply2
from .ops import elementwise as E
from .ops import shape as S


class Size(tuple):
    """A tensor's shape: a tuple that prints like ``torch.Size([2, 3])``."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


_INPLACE_UFUNCS = {E.add: np.add, E.sub: np.subtract, E.mul: np.multiply, E.div: np.divide}
# The compiler's tracer while it records a call (glassgrad.compiler.trace), else None. Every hook
# below is one global read when nothing is traced; the tracer never changes what a call does.
_tracer = None


class Tensor:
    """An n-dimensional array that can record the operations applied to it and differentiate them.

    >>> x = Tensor._wrap(np.array([3.0], dtype=np.float32)).requires_grad_()
    >>> y = (x * x).sum()
    >>> y.backward(); x.grad
    tensor([6.])
    """

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_grad", "_vc", "_base", "_hooks",
                 "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, data=()):
        from .factories import tensor
        t = tensor(data, dtype=_dtype.get_default_dtype())
        self._data = t._data
        self._requires_grad = False
        self._grad_fn = self._grad = self._vc = self._base = self._hooks = None

    @classmethod
    def _wrap(cls, array):
        """A new tensor around ``array`` (a NumPy ndarray), with no autograd history."""
        t = object.__new__(cls)
        t._data = array
        t._requires_grad = False
        t._grad_fn = t._grad = t._vc = t._base = t._hooks = None
        if _tracer is not None:
            _tracer.wrapped(t)
        return t

    # ----- autograd attributes -------------------------------------------------------------
    @property
    def requires_grad(self):
        if _tracer is not None:
            _tracer.touch(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if self._grad_fn is not None:
            if flag:
                return
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(this one is {self.dtype!r})")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        if _tracer is not None:
            _tracer.touch(self)
        node = self._grad_fn
        return node if node is None else graph.expose(node)

    @property
    def is_leaf(self):
        if _tracer is not None:
            _tracer.touch(self)
        return self._grad_fn is None

    @property
    def grad(self):
        if _tracer is not None:
            _tracer.grad_read(self)
        if self._grad is None and self._grad_fn is not None and (
                self._grad_fn.retain is None or self._grad_fn.retain() is not self):
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value.shape)} for a "
                    f"tensor of size {list(self.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: {value.dtype.name} for a "
                    f"tensor of type {self.dtype.name}")
        if _tracer is not None:
            _tracer.grad_write(self, value)
        self._grad = value

    @property
    def retains_grad(self):
        return self._grad_fn is not None and self._grad_fn.retain is not None

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if _tracer is not None:
            _tracer.unsupported("retain_grad()")
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        self._grad_fn._hooks().retain = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if _tracer is not None:
            _tracer.unsupported("register_hook()")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            return self._grad_fn.register_prehook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return graph._RemovableHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on."""
        if gradient is None and inputs is None and not create_graph and self._data.size == 1 \
                and self._grad_fn is not None:
            # The common case (loss.backward()), without the general argument handling.
            engine.run_backward((self,), (_ones_like(self._data),), bool(retain_graph))
            return
        if _tracer is not None and isinstance(gradient, Tensor):
            _tracer.touch(gradient)
        if gradient is not None and not isinstance(gradient, Tensor):
            # autograd.backward would read a list as one gradient per output
            raise TypeError(f"backward(): gradient must be a Tensor or None, not {type(gradient).__name__}")
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """The same values, sharing memory and version counter, cut off from the graph."""
        if _tracer is not None:
            _tracer.touch(self)
        t = Tensor._wrap(self._data)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None and self._grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """The values as a tensor outside autograd (its in-place changes are not tracked)."""
        if _tracer is not None:
            _tracer.touch(self)
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        if _tracer is not None:
            _tracer.unsupported("assigning to .data")
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        _dtype.from_numpy_dtype(array.dtype)  # refuse unsupported dtypes now, not at the next repr
        self._data = array

    @property
    def name(self):
        """An optional label (``x.name = "x"``) that graphs and explanations show for this tensor."""
        return _tensor_names.get(id(self))

    @name.setter
    def name(self, label):
        key = id(self)
        if key not in _tensor_names:
            weakref.finalize(self, _tensor_names.pop, key, None)  # forget it with the tensor
        _tensor_names[key] = None if label is None else str(label)

    @property
    def _version(self):
        return graph.version_of(self)

    def _bump_version(self):
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    # ----- shape and type ------------------------------------------------------------------
    @property
    def shape(self):
        if _tracer is not None:
            _tracer.touch(self)
        return Size(self._data.shape)

    def size(self, dim=None):
        if _tracer is not None:
            _tracer.touch(self)
        return Size(self._data.shape) if dim is None else self._data.shape[_dim(dim, self.ndim)]

    @property
    def ndim(self):
        if _tracer is not None:
            _tracer.touch(self)
        return self._data.ndim

    def dim(self):
        if _tracer is not None:
            _tracer.touch(self)
        return self._data.ndim

    def numel(self):
        if _tracer is not None:
            _tracer.touch(self)
        return self._data.size

    nelement = numel

    @property
    def dtype(self):
        if _tracer is not None:
            _tracer.touch(self)
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return "cpu"

    is_cuda = False

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def element_size(self):
        return self._data.itemsize

    def is_contiguous(self):
        return self._data.flags.c_contiguous

    def contiguous(self):
        return self if self._data.flags.c_contiguous else self.clone()

    def cpu(self):
        return self

    def __len__(self):
        if _tracer is not None:
            _tracer.touch(self)
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        shape = self._data.shape
        return (apply1(S.getitem, self, {"index": i, "source_shape": shape}, "UnbindBackward0")
                for i in range(shape[0]))

    # ----- conversion ------------------------------------------------------------------------
    def item(self):
        if _tracer is not None:
            _tracer.value_read(self, ".item()")
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        if _tracer is not None:
            _tracer.value_read(self, ".tolist()")
        return self._data.tolist()

    def numpy(self, force=False):
        if _tracer is not None:
            _tracer.value_read(self, ".numpy()")
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if _tracer is not None:
            _tracer.value_read(self, "np.asarray(tensor)")
        return self._data if dtype is None else self._data.astype(dtype)

    def __bool__(self):
        if _tracer is not None:
            _tracer.value_read(self, "bool(tensor) (an if or while on a tensor)")
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if _tracer is not None:
            _tracer.value_read(self, "using a tensor as an index")
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return format(str(self), spec)

    def __repr__(self):
        if _tracer is not None:
            _tracer.value_read(self, "printing a tensor")
        fn = self._grad_fn
        return format_tensor(self._data, requires_grad=self._requires_grad,
                             grad_fn_name=fn.name() if fn is not None else None)

    __str__ = __repr__
    __hash__ = object.__hash__

    # ----- arithmetic --------------------------------------------------------------------------
    def __add__(self, other):
        if other.__class__ is Tensor and other._data.dtype is self._data.dtype:
            return apply2(E.add, self, other)
        return _binary(E.add, self, other)

    def __radd__(self, other):
        return _binary(E.add, self, other)

    def __sub__(self, other):
        if other.__class__ is Tensor and other._data.dtype is self._data.dtype \
                and self._data.dtype.kind != "b":
            return apply2(E.sub, self, other)
        return _binary(E.sub, self, other)

    def __rsub__(self, other):
        if other is True or other is False or self._data.dtype == np.bool_:
            raise RuntimeError(_BOOL_SUBTRACTION)
        if isinstance(other, (int, float)):
            a, _ = _promote(self, other)
            return apply(E.rsub, (a,), {"other": other})
        return _binary(E.sub, _operand(other, self), self)

    def __mul__(self, other):
        if other.__class__ is Tensor and other._data.dtype is self._data.dtype:
            return apply2(E.mul, self, other)
        return _binary(E.mul, self, other)

    def __rmul__(self, other):
        if (other.__class__ is float or other.__class__ is int) and self._data.dtype.kind == "f":
            return apply2(E.mul, self, _scalar_operand(other, self))  # learning_rate * grad
        return _binary(E.mul, self, other)

    def __truediv__(self, other):
        if (other.__class__ is float or other.__class__ is int) and self._data.dtype.kind == "f":
            return apply2(E.div, self, _scalar_operand(other, self))  # loss / len(y)
        return _binary(E.div, self, other, true_division=True)

    def __rtruediv__(self, other):
        if isinstance(other, (int, float, bool)):
            a = self if self.is_floating_point() else self.float()
            return _binary(E.mul, apply(E.reciprocal, (a,)), other)
        return _binary(E.div, _operand(other, self), self, true_division=True)

    def __pow__(self, exponent):
        return _functional.pow(self, exponent)

    def __rpow__(self, base):
        return _functional.pow(base, self)

    def __matmul__(self, other):
        return _functional.matmul(self, other)

    def __rmatmul__(self, other):
        return _functional.matmul(_operand(other, self), self)

    def __neg__(self):
        return apply1(E.neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return apply1(E.abs, self)

    def __floordiv__(self, other):
        return _floor_divide(*_promote(self, other))

    def __rfloordiv__(self, other):
        b, a = _promote(self, other)
        return _floor_divide(a, b)

    def __mod__(self, other):
        return _binary(E.remainder, self, other)

    def __iadd__(self, other):
        return self._inplace(E.add, other)

    def __isub__(self, other):
        return self._inplace(E.sub, other)

    def __imul__(self, other):
        return self._inplace(E.mul, other)

    def __itruediv__(self, other):
        return self._inplace(E.div, other)

    # ----- comparisons and logic (no gradient) -------------------------------------------------
    def _compare(self, ufunc, other):
        if other is None:
            return False
        a, b = _promote(self, other)
        try:
            result = np.asarray(ufunc(a._data, b._data))
            if _tracer is not None:
                _tracer.array_call(ufunc, (a, b), result, _TORCH_NAMES[ufunc])
            return Tensor._wrap(result)
        except ValueError as error:
            raise graph.broadcast_error(_TORCH_NAMES[ufunc], (a._data, b._data), error) from None
        except TypeError:  # bitwise ops on floats; PyTorch raises NotImplementedError too
            raise NotImplementedError(
                f"{_TORCH_NAMES[ufunc]}: not implemented for {a.dtype.name} tensors ({self.dtype.name} "
                f"and {_operand(other, self).dtype.name} promote to it); it needs integer or bool tensors") from None

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return True if other is None else self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    def __and__(self, other):
        return self._compare(np.bitwise_and, other)

    def __or__(self, other):
        return self._compare(np.bitwise_or, other)

    def __xor__(self, other):
        return self._compare(np.bitwise_xor, other)

    def __invert__(self):
        result = np.asarray(np.invert(self._data))
        if _tracer is not None:
            _tracer.array_call(np.invert, (self,), result, "bitwise_not")
        return Tensor._wrap(result)

    # ----- in-place ---------------------------------------------------------------------------
    def _inplace(self, op, other, params=graph._NO_PARAMS):
        """Apply ``op`` to (self, other) and write the result into self's own array."""
        if other is not None:
            if other.__class__ is not Tensor:
                other = _operand(other, self)
            if (other._data.dtype is not self._data.dtype and other._data.dtype != self._data.dtype) \
                    or (op is E.div and self._data.dtype.kind != "f"):
                _check_castable(op, self, other)
        if grad_mode.enabled and (self._requires_grad or (other is not None and other._requires_grad)):
            return self._inplace_recorded(
                lambda old: apply(op, (old,) if other is None else (old, other), params), op.name)
        ufunc = _INPLACE_UFUNCS.get(op)
        tracer = _tracer
        try:
            if ufunc is not None:
                if tracer is None:
                    data = self._data
                    ufunc(data, other._data, data)  # the third argument is out
                else:
                    tracer.touch(self)
                    ufunc(self._data, other._data, out=self._data)
                    tracer.inplace_ufunc(ufunc, self, other)
            else:
                operands = (self,) if other is None else (self, other)
                result = np.asarray(op.forward(*(t._data for t in operands), **params))
                if tracer is not None:
                    tracer.raw_forward(op, operands, params, result)
                self._write(result)
        except ValueError as error:
            if "read-only" in str(error):
                self._write(None)  # raises the error that explains broadcast views
            if other is None:
                raise
            raise _inplace_shape_error(op.name + "_", self._data, other._data, error) from None
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1
        return self

    def _inplace_recorded(self, compute, name):
        """In-place under autograd: ``compute(old)`` builds the new value from a stand-in for the
        old one; the result is written into self, which takes over its grad_fn."""
        if _tracer is not None:
            _tracer.touch(self)
        self._check_inplace_allowed()
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                f"{name}_: in-place changes to a view of a tensor that requires grad are not "
                "supported; write the result out of place (y = torch.cat(...), torch.where(...)).")
        old = Tensor._wrap(self._data)  # the value before the write, as an input to the new node
        if self._vc is None:
            self._vc = [0]
        old._vc, old._grad_fn, old._requires_grad = self._vc, self._grad_fn, self._requires_grad
        result = compute(old)
        self._write(result._data, name + "_")
        self._bump_version()
        node = result._grad_fn
        if node is not None:
            if node.op.saves_out:
                node.out_data, node.out_vc, node.out_version = self._data, self._vc, self._vc[0]
            self._grad_fn, self._requires_grad = node, True
        return self

    def _check_inplace_allowed(self):
        if self._requires_grad and self._grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Wrap the update in `with torch.no_grad():` or use an out-of-place op.")
        base = self._base
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation. Wrap the update in `with torch.no_grad():`.")

    def _write(self, values, name="write"):
        """Copy ``values`` (broadcast) into this tensor's own array; ``name`` is the op, for errors."""
        if not self._data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: this tensor is a broadcast (expanded) view, and writing "
                "to it would write several elements through one memory location. Clone it first.")
        if _tracer is not None:
            _tracer.touch(self)
        try:
            np.copyto(self._data, values, casting="unsafe")
        except ValueError as error:
            raise _inplace_shape_error(name, self._data, np.asarray(values), error) from None
        if _tracer is not None:
            _tracer.wrote(self, "copyto", value=values)

    def add_(self, other, alpha=1):
        return self._inplace(E.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self._inplace(E.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self._inplace(E.mul, other)

    def div_(self, other):
        return self._inplace(E.div, other)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if value.__class__ is Tensor:
            value = value.item()
        if self._requires_grad and grad_mode.enabled:
            self._check_inplace_allowed()
            return self._inplace(E.mul, 0).add_(value)
        if _tracer is not None:
            _tracer.touch(self)
        try:
            self._data.fill(value)
            if _tracer is not None:
                _tracer.wrote(self, "fill", value=value)
        except (ValueError, TypeError):
            _expect_number("fill_", "value", value)
            self._write(value)  # raises the read-only error for broadcast views
            raise
        vc = self._vc  # _bump_version, inline: zero_() runs twice an epoch in a training loop
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1
        return self

    def copy_(self, src):
        src = _operand(src, self)
        if grad_mode.enabled and (self._requires_grad or src._requires_grad):
            self._check_inplace_allowed()
            return self._inplace(S.copy_into, src)
        self._write(src._data, "copy_")
        self._bump_version()
        return self

    def __setitem__(self, index, value):
        value = _operand(value, self)
        if _tracer is not None:
            _tracer.touch_index(index)
        index = _index(index)
        try:
            if grad_mode.enabled and (self._requires_grad or value._requires_grad):
                self._check_inplace_allowed()
                return self._inplace(S.setitem, value, {"index": index})
            if not self._data.flags.writeable:
                self._write(self._data)  # raises the read-only error
            if _tracer is not None:
                _tracer.touch(self)
            self._data[index] = value._data
            if _tracer is not None:
                _tracer.wrote(self, "setitem", index, value)
        except (ValueError, RuntimeError):
            error = _value_does_not_fit(self._data, index, value._data)
            if error is None:
                raise
            raise error from None
        self._bump_version()

    # ----- indexing and shape (views) --------------------------------------------------------
    def __getitem__(self, index):
        if _tracer is not None:
            _tracer.touch_index(index)
        index = _index(index)
        return apply1(S.getitem, self, {"index": index, "source_shape": self._data.shape},
                      _getitem_name(index))

    @property
    def T(self):
        ndim = self._data.ndim
        params = _REVERSED[ndim] if ndim < 8 else {"dims": tuple(range(ndim - 1, -1, -1))}
        return apply1(S.permute, self, params)

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def t(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return apply(S.transpose, (self,), {"dim0": 0, "dim1": self._data.ndim - 1}, name="TBackward0") \
            if self._data.ndim == 2 else apply(S.reshape, (self,), {"shape": self._data.shape,
                                                                     "source_shape": self._data.shape},
                                               name="TBackward0")

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def long(self):
        return self.to(_dtype.int64)

    def int(self):
        return self.to(_dtype.int32)

    def bool(self):
        return self.to(_dtype.bool)

    def to(self, *args, dtype=None, **kwargs):
        """Convert to a dtype (``x.to(torch.float64)``); devices other than 'cpu' are refused."""
        for a in args:
            if isinstance(a, _dtype.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            elif str(a) != "cpu":
                raise RuntimeError(f"glassgrad runs on the CPU only; cannot move a tensor to {a!r}")
        if dtype is not None and not isinstance(dtype, _dtype.dtype):
            raise TypeError(f"to(): dtype must be a torch.dtype (e.g. torch.float64), not {type(dtype).__name__}")
        if dtype is None or dtype.numpy == self._data.dtype:
            return self
        return apply(S.to_dtype, (self,), {"dtype": dtype.numpy, "source_dtype": self._data.dtype})

    def type(self, dtype=None):
        if dtype is None:
            return f"torch.{_TYPE_NAMES.get(self._data.dtype.name, self._data.dtype.name)}"
        if isinstance(dtype, str) and dtype.startswith("torch.") and dtype[6:] in _DTYPE_BY_TYPE_NAME:
            dtype = getattr(_dtype, _DTYPE_BY_TYPE_NAME[dtype[6:]])  # x.type("torch.DoubleTensor")
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def new_tensor(self, data):
        from .factories import tensor
        return tensor(data, dtype=self.dtype)

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Fill with uniform samples from [from_, to): PyTorch's numbers after the same seed."""
        from . import random
        return self._fill_random(random.uniform_array(self._data.shape, self._data.dtype, from_, to,
                                                      generator), "uniform_")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with normal samples: PyTorch's numbers after the same seed."""
        from . import random
        return self._fill_random(random.normal_array(self._data.shape, self._data.dtype, mean, std,
                                                     generator), "normal_")

    def _fill_random(self, values, name):
        if self._requires_grad and grad_mode.enabled:
            self._check_inplace_allowed()  # a leaf that requires grad: fill it under no_grad()
        self._write(values, name)
        self._bump_version()
        return self

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        from .factories import zeros
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        from .factories import ones
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


_REVERSED = [{"dims": tuple(range(n - 1, -1, -1))} for n in range(8)]  # shared: params are read-only
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
               "int32": "IntTensor", "bool": "BoolTensor", "float16": "HalfTensor",
               "uint8": "ByteTensor", "int16": "ShortTensor", "int8": "CharTensor"}
_DTYPE_BY_TYPE_NAME = {type_name: dtype_name for dtype_name, type_name in _TYPE_NAMES.items()}
_TORCH_NAMES = {np.equal: "eq", np.not_equal: "ne", np.less: "lt", np.less_equal: "le",
                np.greater: "gt", np.greater_equal: "ge", np.bitwise_and: "bitwise_and",
                np.bitwise_or: "bitwise_or", np.bitwise_xor: "bitwise_xor"}


def _dim(dim, ndim):
    """A dimension index made non-negative, with PyTorch's error for one out of range."""
    n = max(ndim, 1)
    if dim.__class__ is not int:
        dim = _as_index("dim", dim)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _as_index(argument, value):
    """``value`` as a Python int (NumPy ints and one-element integer tensors count); else TypeError."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{argument} must be an int, not {type(value).__name__}") from None


def _expect_tensor(function, value, argument="input"):
    """Raise PyTorch's TypeError when ``argument`` of ``function`` is not a Tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{argument}' must be Tensor, not {type(value).__name__}")


def _expect_number(function, argument, value):
    """Raise a TypeError naming ``function`` when ``argument`` is not a Python or NumPy number."""
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"{function}(): argument '{argument}' must be a number, not {type(value).__name__}")


def _inplace_shape_error(name, target, values, error):
    """NumPy's ValueError from writing ``values`` into ``target`` as one line naming both shapes."""
    try:
        shape = np.broadcast_shapes(target.shape, values.shape)
    except ValueError:
        return graph.broadcast_error(name, (target, values), error)
    if shape == target.shape:
        return error  # not a shape problem
    return RuntimeError(
        f"{name}: the result has the broadcast shape {shape} of {target.shape} and {values.shape}, "
        f"which doesn't fit in the output of shape {target.shape}")


def _value_does_not_fit(target, index, value):
    """The error for assigning ``value`` to ``target[index]`` when its shape can't broadcast there."""
    try:
        slot = target[index].shape
    except (IndexError, TypeError, ValueError):
        return None  # a bad index: its own error says so
    try:
        np.broadcast_to(value, slot)
    except ValueError:
        return RuntimeError(
            f"setitem: value of shape {value.shape} can't be broadcast to the indexed part of "
            f"shape {slot} (of a tensor of shape {target.shape})")
    return None


def _floor_divide(a, b):
    """Floor division of two tensors of one dtype (no gradient)."""
    try:
        result = np.asarray(np.floor_divide(a._data, b._data))
        if _tracer is not None:
            _tracer.array_call(np.floor_divide, (a, b), result, "floor_divide")
        return Tensor._wrap(result)
    except ValueError as error:
        raise graph.broadcast_error("floor_divide", (a._data, b._data), error) from None


_tensor_names = {}  # id(tensor) -> the label set with tensor.name; most tensors have none

_ones = {}


def _ones_like(array):
    """A read-only array of ones shaped like ``array``, cached: every loss.backward() needs one,
    and np.ones costs more than the rest of a small backward's setup."""
    key = (array.shape, array.dtype)
    ones = _ones.get(key)
    if ones is None:
        ones = np.ones(array.shape, array.dtype)
        ones.flags.writeable = False  # shared, so nobody may change it
        if len(_ones) < 64:
            _ones[key] = ones
    return ones


def _const(array):
    return Tensor._wrap(array)


def _operand(value, like):
    """``value`` as a tensor to combine with ``like``: numbers take PyTorch's scalar dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, (bool, int, float)):
        dtype = _dtype.result_type((like._data,), (value,))
        return _const(np.array(value, dtype=dtype))
    if isinstance(value, (list, tuple)):
        from .factories import tensor
        return tensor(value)
    raise TypeError(f"unsupported operand type: {type(value).__name__}")


def _promote(a, b):
    """Both operands as tensors of PyTorch's common dtype (casts are not recorded separately)."""
    b = _operand(b, a)
    if a._data.dtype == b._data.dtype:
        return a, b
    target = _dtype.result_type((a._data, b._data))
    return _cast(a, target), _cast(b, target)


def _cast(t, dtype):
    if t._data.dtype == dtype:
        return t
    if not t._requires_grad:
        result = t._data.astype(dtype)
        if _tracer is not None:
            _tracer.array_call(lambda a: a.astype(dtype), (t,), result, "to (a cast, no gradient)")
        return Tensor._wrap(result)
    return apply(S.to_dtype, (t,), {"dtype": dtype, "source_dtype": t._data.dtype})


def _binary(op, a, b, true_division=False):
    """Apply a broadcasting binary op with PyTorch's promotion; the hot path of every formula."""
    if op is E.sub and (b is True or b is False):
        raise RuntimeError(_BOOL_SUBTRACTION)
    if b.__class__ is not Tensor:
        b = _scalar_operand(b, a) if b.__class__ is float or b.__class__ is int else _operand(b, a)
    if op is E.sub and (a._data.dtype == np.bool_ or b._data.dtype == np.bool_):
        raise RuntimeError(_BOOL_SUBTRACTION)
    if a._data.dtype is not b._data.dtype and a._data.dtype != b._data.dtype:
        a, b = _promote(a, b)
    if true_division and a._data.dtype.kind != "f":
        float_type = _dtype.default_float_numpy()
        a, b = _cast(a, float_type), _cast(b, float_type)
    return apply2(op, a, b)


_BOOL_SUBTRACTION = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
    "invert a mask, use the `~` or `logical_not()` operator instead.")

_constants = {}


def _scalar_operand(value, like):
    """A Python number as a constant tensor of ``like``'s dtype, cached (training loops reuse
    the same few numbers: learning rates, batch sizes, exponents)."""
    if not value or value != value:
        return _operand(value, like)  # 0.0 == -0.0 and nan != nan: keys that would mislead
    key = (value, value.__class__, like._data.dtype)
    t = _constants.get(key)
    if t is None:
        t = _operand(value, like)
        if len(_constants) < 4096:
            _constants[key] = t
    return t


def _check_castable(op, target, other):
    result = _dtype.result_type((target._data, other._data))
    if op is E.div and result.kind != "f":
        result = _dtype.default_float_numpy()
    error = _cast_error(result, target._data.dtype, op.name)
    if error is not None:
        raise error


def _cast_error(result, target, name):
    """The error for writing a result of NumPy dtype ``result`` in place (``name``_) into ``target``
    when that would lose its category (float into int, int into bool); None when it is fine."""
    if _dtype._category(result) <= _dtype._category(target):
        return None
    return RuntimeError(
        f"result type {_dtype.from_numpy_dtype(result).name} can't be cast to the desired "
        f"output type {_dtype.from_numpy_dtype(target).name} (in-place {name}_)")


def _index(index):
    """An index with tensors turned into arrays, as NumPy expects; lists mean advanced indexing."""
    if isinstance(index, tuple):
        return tuple(_index_part(i) for i in index)
    return _index_part(index)


def _index_part(i):
    if isinstance(i, Tensor):
        if i._data.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return i._data
    if isinstance(i, list):
        return np.asarray([p._data if isinstance(p, Tensor) else p for p in i])
    return i


def _getitem_name(index):
    parts = index if isinstance(index, tuple) else (index,)
    if parts and all(p is None for p in parts):
        return "UnsqueezeBackward0"
    if any(isinstance(p, np.ndarray) and p.ndim > 0 for p in parts):
        return "IndexBackward0"
    if any(isinstance(p, (int, np.integer)) or (isinstance(p, np.ndarray) and p.ndim == 0)
           for p in parts):
        return "SelectBackward0"
    return "SliceBackward0"


graph.Tensor = Tensor
engine.Tensor = Tensor
_functional = None  # glassgrad.functional, bound by it on import (it imports this module)
