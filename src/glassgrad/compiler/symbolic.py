"""Symbolic arrays: run NumPy code once on real values while writing down each call as source.

A :class:`Sym` stands for one array of the program being built. Operators, methods, ufuncs and
NumPy functions applied to it compute the real result (on a private copy of the data, so the
user's arrays are never touched twice) and append the same call, as a line of Python, to the
:class:`Builder`. Running an op record's forward or vjp on Syms therefore yields the exact NumPy
calls the eager engine makes, in the same order: the generated code rounds like eager code, bit
for bit. Anything that would turn a traced value into a Python value (``float(x)``, ``if x``,
``x.item()``) or give a result whose shape depends on the data raises :class:`Untraceable`.
"""

import builtins
import contextlib
import operator
import sys

import numpy as np


class Untraceable(Exception):
    """A computation that a straight-line program cannot reproduce; carries the reason."""


# Functions whose result shape depends on the values: their output can't be specialised on shapes.
DATA_DEPENDENT = frozenset(
    "nonzero argwhere flatnonzero unique unique_values unique_counts unique_inverse unique_all "
    "extract compress trim_zeros setdiff1d intersect1d union1d setxor1d isin in1d".split())
# Functions that only read shapes and dtypes: computed now, never emitted.
STATIC_FUNCTIONS = frozenset("shape ndim size result_type iscomplexobj isrealobj".split())
# ufunc -> operator, for readable lines: ``a + b`` runs exactly np.add(a, b) on arrays.
OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
             np.matmul: "@", np.floor_divide: "//", np.remainder: "%"}


def _is_array(value):
    return isinstance(value, (np.ndarray, np.generic))


def _is_value(value):
    # Python numbers too: np.count_nonzero(x) == x.size is a Python bool an if may test
    return isinstance(value, (np.ndarray, np.generic, int, float, complex))


class Sym:
    """One array of the program: a variable name, its value now, and the storage it lives in.

    ``root`` is the Sym that owns the memory (itself unless this is a view), so writes through
    a view can be charged to the storage they change.
    """

    __slots__ = ("name", "value", "root", "kind", "builder", "static", "permuted", "product",
                 "view_of", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, builder, name, value, kind="temp", root=None):
        self.builder = builder
        builder.made.append(self)
        self.name = name
        self.value = value
        # "temp", "input" (read from a tensor at each call), "const" (someone else's array, bound
        # by reference, never written) or "fixed" (a value that is the same at every call, made
        # from shapes and Python numbers: folded into constants; copied first if written)
        self.kind = kind
        self.root = root if root is not None else self
        # The same at every call (made only from fixed values): an if on it needs no check.
        self.static = kind == "fixed"
        self.permuted = None  # (source Sym, axes) when this is source.transpose(axes)
        self.product = None   # (a, b) when this is a @ b of two Syms
        self.view_of = None   # (source Sym, method, args) when this is source.method(*args), a view

    def is_static(self):
        return self.static and self.root.static

    def __repr__(self):
        return f"<Sym {self.name}: {type(self.value).__name__} {getattr(self.value, 'shape', '')}>"

    __hash__ = object.__hash__

    # ----- what may not be asked of a traced value ---------------------------------------------
    def _value_read(self, what):
        raise Untraceable(f"{what} of a traced array depends on its values")

    def __bool__(self):
        return self.builder.truth(self)

    def __format__(self, spec):
        self._value_read("formatting")

    def __float__(self):
        self._value_read("float()")

    def __int__(self):
        self._value_read("int()")

    def __index__(self):
        self._value_read("use as an index")

    def __array__(self, dtype=None, copy=None):
        raise Untraceable("converting a traced array with np.asarray outside the traced calls")

    def __iter__(self):
        return iter([self[i] for i in range(len(self.value))])

    def __len__(self):
        return len(self.value)

    # ----- static facts: read from the value now ---------------------------------------------
    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    def __getattr__(self, attribute):
        value = getattr(self.value, attribute)
        if attribute in ("T", "mT") and isinstance(self.value, np.ndarray):
            axes = list(range(self.value.ndim))
            if attribute == "T":
                axes.reverse()
            elif len(axes) >= 2:
                axes[-1], axes[-2] = axes[-2], axes[-1]
            return self.builder.permute(self, tuple(axes))
        if callable(value):
            return _Method(self, attribute)
        if _is_array(value):  # .T, .real, .mT: a new array (usually a view)
            return self.builder.emit(f"{{0}}.{attribute}", (self,), lambda v: getattr(v, attribute))
        return value  # shape-like facts (strides, itemsize, flags)

    # ----- NumPy protocols: every ufunc and array function on a Sym lands here ------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return self.builder.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return self.builder.function(func, args, kwargs)

    # ----- operators: the same Python operator on the values -----------------------------------
    def __getitem__(self, index):
        return self.builder.getitem(self, index)

    def __setitem__(self, index, value):
        self.builder.setitem(self, index, value)

    def __neg__(self):
        return self.builder.emit("-{0}", (self,), operator.neg)

    def __pos__(self):
        return self.builder.emit("+{0}", (self,), operator.pos)

    def __abs__(self):
        return self.builder.emit("abs({0})", (self,), builtins.abs)

    def __invert__(self):
        return self.builder.emit("~{0}", (self,), operator.invert)


def _binary(symbol, function):
    def forward(self, other):
        return self.builder.emit(f"{{0}} {symbol} {{1}}", (self, other), function)

    def reflected(self, other):
        return self.builder.emit(f"{{0}} {symbol} {{1}}", (other, self), function)

    def inplace(self, other):
        return self.builder.inplace_operator(symbol, self, other, function)
    return forward, reflected, inplace


for _name, _symbol, _function, _inplace in (
        ("add", "+", operator.add, operator.iadd), ("sub", "-", operator.sub, operator.isub),
        ("mul", "*", operator.mul, operator.imul), ("truediv", "/", operator.truediv, operator.itruediv),
        ("floordiv", "//", operator.floordiv, operator.ifloordiv), ("mod", "%", operator.mod, operator.imod),
        ("pow", "**", operator.pow, operator.ipow), ("matmul", "@", operator.matmul, operator.imatmul),
        ("and", "&", operator.and_, operator.iand), ("or", "|", operator.or_, operator.ior),
        ("xor", "^", operator.xor, operator.ixor)):
    _forward, _reflected, _ = _binary(_symbol, _function)
    setattr(Sym, f"__{_name}__", _forward)
    setattr(Sym, f"__r{_name}__", _reflected)
    setattr(Sym, f"__i{_name}__", lambda self, other, s=_symbol, f=_inplace:
            self.builder.inplace_operator(s, self, other, f))


def _matmul(self, other):
    result = self.builder.emit("{0} @ {1}", (self, other), operator.matmul)
    if isinstance(other, Sym):
        result.product = (self, other)  # remembered for rewrites of the gradients' sums
    return result


Sym.__matmul__ = _matmul

for _name, _symbol, _function in (("eq", "==", operator.eq), ("ne", "!=", operator.ne),
                                  ("lt", "<", operator.lt), ("le", "<=", operator.le),
                                  ("gt", ">", operator.gt), ("ge", ">=", operator.ge)):
    setattr(Sym, f"__{_name}__", _binary(_symbol, _function)[0])


class _Method:
    """A bound method of a Sym's value, called later: ``x.sum(axis=0)``, ``x.astype(...)``."""

    __slots__ = ("sym", "attribute")

    def __init__(self, sym, attribute):
        self.sym, self.attribute = sym, attribute

    def __call__(self, *args, **kwargs):
        if self.attribute in ("item", "tolist", "tobytes", "__bool__", "__float__", "__int__"):
            raise Untraceable(f".{self.attribute}() of a traced array depends on its values")
        if self.attribute in DATA_DEPENDENT:
            raise Untraceable(f".{self.attribute}() gives a result whose shape depends on the values")
        return self.sym.builder.method(self.sym, self.attribute, args, kwargs)


class Statement:
    """One line of the program: ``targets = text``, or a bare call or write when there are none."""

    __slots__ = ("targets", "text", "reads", "writes", "comment", "guard", "arithmetic")

    def __init__(self, targets, text, reads, writes, comment):
        self.guard = False        # a value check: returns RETRACE when the data takes another branch
        self.arithmetic = None    # (template, operands) when the text is ``a op b`` for op in +-*/
        #                           or the one-element update ``t[{index}] = t op b``
        self.targets = targets    # the Syms this line defines (usually one)
        self.text = text          # the right-hand side, or the whole statement without targets
        self.reads = reads        # Syms the line reads
        self.writes = writes      # the Sym whose storage the line changes in place, or None
        self.comment = comment

    def line(self):
        text = f"{', '.join(t.name for t in self.targets)} = {self.text}" if self.targets else self.text
        return f"{text}  # {self.comment}" if self.comment else text


class Builder:
    """Collects the program's lines, its constants, and the Syms they define."""

    def __init__(self):
        self.statements = []
        self.constants = {}       # namespace name -> object (bound when the source is exec'd)
        self._constant_names = {}  # id(object) -> name
        self._keep = []           # objects named by id above stay alive
        self._used = set()
        self._counters = {}
        self.comment = ""         # attached to the next line emitted (then cleared)
        self.sym_constants = {}   # id(array) -> const Sym
        self._views = {}          # (Sym, axes) -> the Sym of that transposed view
        self.made = []            # every Sym, for release()

    def release(self):
        """Let go of the trace's arrays. A Sym is its own root and points at this builder, so
        without this its value (a copy of every array the traced call made) would wait for the
        next full garbage collection: twice a model's activations, long after compiling."""
        for sym in self.made:
            sym.value = sym.root = sym.builder = sym.permuted = sym.product = sym.view_of = None
        for container in (self.made, self.statements, self.constants, self._constant_names,
                          self._keep, self.sym_constants, self._views):
            container.clear()

    # ----- names -------------------------------------------------------------------------------
    def new_name(self, hint="t"):
        hint = hint if hint.isidentifier() else "t"
        if hint not in self._used and hint not in _RESERVED:
            self._used.add(hint)
            return hint
        k = self._counters.get(hint, 0)  # numbered from where this hint left off: no rescans
        while f"{hint}{k}" in self._used or f"{hint}{k}" in _RESERVED:
            k += 1
        self._counters[hint] = k + 1
        self._used.add(f"{hint}{k}")
        return f"{hint}{k}"

    def reserve(self, name):
        self._used.add(name)

    def constant(self, value, hint="c"):
        """The namespace name under which the program sees ``value`` (bound by reference)."""
        key = id(value)
        name = self._constant_names.get(key)
        if name is None:
            name = self.new_name(hint)
            self._constant_names[key] = name
            self.constants[name] = value
            self._keep.append(value)
        return name

    def const_sym(self, array, hint="c", program_value=None, kind="const"):
        """A Sym for a constant array: the program reads ``program_value`` (default: ``array``,
        by reference); the shadow computation works on a private copy. ``kind`` "fresh" marks a
        value made from shapes and numbers, the same at every call."""
        sym = self.sym_constants.get(id(array))
        if sym is None:
            shadow = array.copy() if isinstance(array, np.ndarray) else array
            sym = Sym(self, None, shadow, kind=kind)
            sym.name = self.constant(array if program_value is None else program_value, hint)
            self.sym_constants[id(array)] = sym
            self._keep.append(array)
        return sym

    def input_sym(self, name, shadow_value):
        return Sym(self, name, shadow_value, kind="input")

    # ----- rendering arguments as source -------------------------------------------------------
    def render(self, value, reads, subscript=False):
        if isinstance(value, Sym):
            reads.append(value)
            return value.name
        if value is None or value is True or value is False or value is Ellipsis:
            return "..." if value is Ellipsis else repr(value)
        cls = value.__class__
        if cls is int or cls is str:
            return repr(value)
        if cls is float:
            return repr(value) if value == value and value not in (float("inf"), float("-inf")) \
                else self.constant(value, "inf" if value == value else "nan")
        if cls is slice:
            parts = [("" if p is None else self.render(p, reads)) for p in (value.start, value.stop, value.step)]
            if subscript:
                text = f"{parts[0]}:{parts[1]}"
                return text + (f":{parts[2]}" if parts[2] else "")
            return f"slice({', '.join(p or 'None' for p in parts)})"
        if cls is tuple:
            items = [self.render(v, reads, subscript) for v in value]
            if subscript:
                return ", ".join(items) if len(items) != 1 else items[0] + ","
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if cls is list:
            return f"[{', '.join(self.render(v, reads) for v in value)}]"
        if cls is dict:
            return "{" + ", ".join(f"{self.render(k, reads)}: {self.render(v, reads)}"
                                   for k, v in value.items()) + "}"
        if isinstance(value, np.ndarray):  # made by a vjp from shapes and params: fixed
            return self.render(self.const_sym(value, kind="fixed"), reads)
        if isinstance(value, np.dtype):
            return self.constant(value, value.name if value.name.isidentifier() else "dtype")
        if isinstance(value, type) and getattr(np, value.__name__, None) is value:
            return f"np.{value.__name__}"
        if isinstance(value, np.generic):
            return self.constant(value, "c")
        return self.constant(value, getattr(value, "__name__", "c"))

    def _concrete(self, value):
        """``value`` with every Sym replaced by its value (recursing into tuples, lists, dicts)."""
        if isinstance(value, Sym):
            return value.value
        cls = value.__class__
        if cls is tuple or cls is list:
            return cls(self._concrete(v) for v in value)
        if cls is dict:
            return {k: self._concrete(v) for k, v in value.items()}
        if cls is slice:
            return slice(self._concrete(value.start), self._concrete(value.stop), self._concrete(value.step))
        return value

    # ----- emitting ------------------------------------------------------------------------------
    def _take_comment(self):
        comment, self.comment = self.comment, ""
        return comment

    def _result(self, value, text, reads, hint="t", source_syms=()):
        """A new Sym for ``value`` (an array) defined by ``text``; views keep their base's root."""
        if not _is_value(value):
            raise Untraceable(f"{text.format(*[r.name for r in reads]) if '{' in text else text} gives "
                              f"a Python {type(value).__name__}, which depends on the values")
        root = None
        if isinstance(value, np.ndarray):
            for s in source_syms:
                if isinstance(s, Sym) and isinstance(s.value, np.ndarray) and np.may_share_memory(value, s.value):
                    root = s.root
                    break
        sym = Sym(self, self.new_name(hint), value, root=root)
        sym.static = all(r.is_static() for r in reads)
        self.statements.append(Statement((sym,), text, tuple(reads), None, self._take_comment()))
        return sym

    def _written(self, target, reads):
        """``target``'s storage changed, from ``reads``: it stays static only if they are."""
        if target is not None:
            target.root.static = target.root.static and all(r.is_static() for r in reads)

    def truth(self, sym):
        """``bool(sym)`` for an ``if`` in op code: decided now when the value is fixed, else
        the program checks at run time that it is the same, and asks for a new trace if not."""
        value = bool(sym.value)
        if not sym.is_static():
            statement = Statement((), f"if {'not ' if value else ''}{sym.name}: return RETRACE",
                                  (sym,), None, "value check: the traced branch no longer applies")
            statement.guard = True
            self.statements.append(statement)
        return value

    def _syms_in(self, values):
        found = []
        stack = list(values)
        while stack:
            v = stack.pop()
            if isinstance(v, Sym):
                found.append(v)
            elif isinstance(v, (tuple, list)):
                stack.extend(v)
            elif isinstance(v, dict):
                stack.extend(v.values())
        return found

    def emit(self, template, operands, function, hint="t"):
        """``function(*values)`` as the line ``template.format(*rendered operands)``."""
        if template in _ARITHMETIC:
            operands = (self._as_0d(operands[0], operands[1]), self._as_0d(operands[1], operands[0]))
        reads = []
        rendered = [self.render(o, reads) for o in operands]
        value = function(*[self._concrete(o) for o in operands])
        if value is NotImplemented:
            raise Untraceable(f"operation {template} is not defined for these operands")
        result = self._result(value, template.format(*rendered), reads, hint, self._syms_in(operands))
        if template in _ARITHMETIC:
            self.statements[-1].arithmetic = (template, operands)
        return result

    def inplace_operator(self, symbol, target, other, function):
        if not isinstance(target.value, np.ndarray):  # numbers rebind: x += y is x = x + y
            return self.emit(f"{{0}} {symbol} {{1}}", (target, other), getattr(operator, _PLAIN[symbol]))
        reads = [target]
        operand = self.render(other, reads)
        text = f"{target.name} {symbol}= {operand}"
        if _one_float_like(target, other) and symbol in "+-*/":
            # NumPy's in-place ufuncs are slow on one element (~2x); the same operation and a
            # copy into the target give the same bits faster
            text = f"{target.name}[...] = {target.name} {symbol} {operand}"
        function(target.value, self._concrete(other))
        self.statements.append(Statement((), text, tuple(reads), target, self._take_comment()))
        if text.startswith(f"{target.name}[...] = ") and isinstance(other, Sym):
            self.statements[-1].arithmetic = (f"{target.name}[{{index}}] = {{0}} {symbol} {{1}}",
                                              (target, other))
        self._written(target, reads)
        return target

    def getitem(self, sym, index):
        self._check_index(index)
        reads = [sym]
        text = f"{sym.name}[{self.render(index, reads, subscript=True)}]"
        value = sym.value[self._concrete(index)]
        return self._result(value, text, reads, "t", (sym,))

    def setitem(self, sym, index, value):
        self._check_index(index)
        reads = [sym]
        text = f"{sym.name}[{self.render(index, reads, subscript=True)}] = {self.render(value, reads)}"
        sym.value[self._concrete(index)] = self._concrete(value)
        self.statements.append(Statement((), text, tuple(reads), sym, self._take_comment()))
        self._written(sym, reads)

    def _check_index(self, index):
        for part in index if isinstance(index, tuple) else (index,):
            if isinstance(part, Sym) and part.value.dtype == np.bool_:
                raise Untraceable("indexing with a boolean mask computed in the trace gives a "
                                  "result whose shape depends on the values")

    def permute(self, sym, axes):
        """``sym.transpose(axes)``, composed with the transpose ``sym`` may already be: a
        transpose of a transpose is its source again (the same view, no line)."""
        source, before = sym.permuted if sym.permuted is not None else (sym, tuple(range(len(axes))))
        composed = tuple(before[a] for a in axes)
        if composed == tuple(range(len(axes))):
            return source
        known = self._views.get((source, composed))
        if known is not None:  # the same view of the same array: reuse it
            return known
        if composed == tuple(reversed(range(len(axes)))):
            text = f"{source.name}.T"
        else:
            text = f"{source.name}.transpose({composed!r})"
        result = self._result(source.value.transpose(composed), text, [source], "t", (source,))
        result.permuted = (source, composed)
        result.view_of = (source, "transpose", (composed,))
        self._views[(source, composed)] = result
        return result

    def _as_0d(self, sym, other):
        """``sym`` as a 0-d view when it is one float that broadcasts against the larger array
        ``other`` of its dtype: NumPy broadcasts a 0-d operand ~2x faster, with the same loop on
        the same numbers (``x + b`` for a bias ``b`` of shape (1,))."""
        if not (isinstance(sym, Sym) and isinstance(other, Sym)):
            return sym
        v, o = sym.value, other.value
        if not (isinstance(v, np.ndarray) and isinstance(o, np.ndarray) and v.size == 1
                and v.ndim >= 1 and o.size > 1 and o.ndim >= v.ndim and v.dtype == o.dtype
                and v.dtype.kind == "f"):
            return sym
        view = self._views.get((sym, "0-d"))
        if view is None:
            comment, self.comment = self.comment, f"{sym.name} as a 0-d array (broadcast faster)"
            view = self.method(sym, "reshape", ((),), {})
            self.comment = comment
            view.view_of = (sym, "reshape", ((),))
            self._views[(sym, "0-d")] = view
        return view

    def method(self, sym, attribute, args, kwargs):
        if attribute in ("transpose", "swapaxes") and isinstance(sym.value, np.ndarray) and not kwargs:
            axes = _permutation(sym.value.ndim, attribute, args)
            if axes is not None:
                return self.permute(sym, axes)
        reads = [sym]
        arguments = [self.render(a, reads) for a in args]
        arguments += [f"{k}={self.render(v, reads)}" for k, v in kwargs.items()]
        value = getattr(sym.value, attribute)(*self._concrete(args), **self._concrete(kwargs))
        text = f"{sym.name}.{attribute}({', '.join(arguments)})"
        if value is None:  # an in-place method: x.fill(0), x.sort()
            self.statements.append(Statement((), text, tuple(reads), sym, self._take_comment()))
            self._written(sym, reads)
            return None
        if value is sym.value:  # x.astype(same dtype, copy=False) returns x itself
            return sym
        return self._result(value, text, reads, "t", [sym] + self._syms_in((args, kwargs)))

    def call(self, function, text_name, args, kwargs, hint="t", writes_first=False):
        """A call of any function on Syms: ``text_name(args...)``."""
        reads = []
        arguments = [self.render(a, reads) for a in args]
        arguments += [f"{k}={self.render(v, reads)}" for k, v in kwargs.items()]
        text = f"{text_name}({', '.join(arguments)})"
        value = function(*self._concrete(args), **self._concrete(kwargs))
        if value is None or writes_first:
            target = next((a for a in self._syms_in(args[:1])), None)
            self.statements.append(Statement((), text, tuple(reads), target, self._take_comment()))
            self._written(target, reads)
            return value
        if isinstance(value, tuple) and value and all(_is_array(v) for v in value):
            syms = tuple(Sym(self, self.new_name(hint), v) for v in value)  # a, b = np.modf(x)
            for sym in syms:
                sym.static = all(r.is_static() for r in reads)
            self.statements.append(Statement(syms, text, tuple(reads), None, self._take_comment()))
            return syms
        return self._result(value, text, reads, hint, self._syms_in((args, kwargs)))

    def ufunc(self, ufunc, method, inputs, kwargs):
        name = _numpy_name(ufunc)
        if name is None:
            name = self.constant(ufunc, ufunc.__name__)
        out = kwargs.get("out")
        if method == "__call__":
            symbol = OPERATORS.get(ufunc)
            if symbol is not None and not kwargs and len(inputs) == 2 and _operator_safe(inputs):
                return self.emit(f"{{0}} {symbol} {{1}}", inputs, lambda a, b: ufunc(a, b))
            if ufunc is np.negative and not kwargs and isinstance(inputs[0], Sym):
                return self.emit("-{0}", inputs, operator.neg)
            text_name = name
        else:
            if method in ("at",):
                return self.call(getattr(ufunc, method), f"{name}.{method}", inputs, kwargs, writes_first=True)
            text_name = f"{name}.{method}"
        if out is not None:
            out_syms = out if isinstance(out, tuple) else (out,)
            if len(out_syms) == 1 and isinstance(out_syms[0], Sym):
                kwargs = dict(kwargs, out=out_syms[0])
                self.call(getattr(ufunc, method) if method != "__call__" else ufunc, text_name,
                          inputs, kwargs, writes_first=True)
                self.statements[-1].writes = out_syms[0]
                return out_syms[0]
            raise Untraceable(f"{text_name} with several out= arrays")
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        return self.call(function, text_name, inputs, kwargs)

    def function(self, func, args, kwargs):
        name = func.__name__
        if name in DATA_DEPENDENT or (name == "where" and len(args) == 1 and not kwargs):
            raise Untraceable(f"np.{name} gives a result whose shape depends on the values")
        if name in STATIC_FUNCTIONS:
            return func(*self._concrete(args), **self._concrete(kwargs))
        text_name = _numpy_name(func) or self.constant(func, name)
        writes_first = name in _WRITES_FIRST
        return self.call(func, text_name, args, kwargs, writes_first=writes_first)


def _one_float_like(target, other):
    """Whether ``target`` is a one-element float array and ``other`` an array of its dtype that
    broadcasts to its shape: then ``target op= other`` equals ``target[...] = target op other``."""
    t = target.value
    o = other.value if isinstance(other, Sym) else None
    return (t.size == 1 and t.dtype.kind == "f" and isinstance(o, np.ndarray) and o.dtype == t.dtype
            and np.broadcast_shapes(t.shape, o.shape) == t.shape)


def _permutation(ndim, attribute, args):
    """The axes of ``x.transpose(*args)`` or ``x.swapaxes(*args)`` as one tuple (None if odd)."""
    try:
        if attribute == "swapaxes":
            a, b = (operator.index(v) % ndim for v in args)
            axes = list(range(ndim))
            axes[a], axes[b] = axes[b], axes[a]
            return tuple(axes)
        if not args or args == (None,):
            return tuple(reversed(range(ndim)))
        axes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        axes = tuple(operator.index(a) % ndim for a in axes)
        return axes if sorted(axes) == list(range(ndim)) else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None


# NumPy functions that write into their first argument and return None (or it).
_WRITES_FIRST = frozenset("copyto put put_along_axis place putmask fill_diagonal".split())
_ARITHMETIC = frozenset(f"{{0}} {symbol} {{1}}" for symbol in "+-*/")
_PLAIN = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv", "%": "mod",
          "**": "pow", "@": "matmul", "&": "and_", "|": "or_", "^": "xor"}
_RESERVED = frozenset({"np", "Tensor", "RETRACE"}) | set(dir(builtins))


def _operator_safe(inputs):
    # ``a + b`` dispatches to np.add(a, b) when either side is an array; for two numbers
    # Python's own arithmetic would run instead, so keep the explicit ufunc then.
    return any(isinstance(i, Sym) and isinstance(i.value, np.ndarray) for i in inputs) or \
        any(isinstance(i, np.ndarray) for i in inputs)


def _numpy_name(function):
    """``np.add`` for NumPy's own functions (so the source reads naturally), else None."""
    name = getattr(function, "__name__", None)
    if name is None:
        return None
    if getattr(np, name, None) is function:
        return f"np.{name}"
    for sub in ("linalg", "fft"):
        if getattr(getattr(np, sub), name, None) is function:
            return f"np.{sub}.{name}"
    return None


class _NumpyForSyms:
    """NumPy as op code sees it while a trace evaluates it on Syms (see ``numpy_for_syms``):
    the same module, except that conversions accept Syms and new arrays are Syms, so that
    ``out = np.empty(shape); out[...] = g`` is recorded like any other line."""

    builder = None

    def __getattr__(self, name):
        return getattr(np, name)

    def _new(self, function, name, args, kwargs):
        return self.builder.call(function, f"np.{name}", args, kwargs)

    def empty(self, *args, **kwargs):
        return self._new(np.empty, "empty", args, kwargs)

    def zeros(self, *args, **kwargs):
        return self._new(np.zeros, "zeros", args, kwargs)

    def ones(self, *args, **kwargs):
        return self._new(np.ones, "ones", args, kwargs)

    def full(self, *args, **kwargs):
        return self._new(np.full, "full", args, kwargs)

    def asarray(self, a, dtype=None, **kwargs):
        if not isinstance(a, Sym):
            return np.asarray(a, dtype=dtype, **kwargs)
        if isinstance(a.value, np.ndarray) and not kwargs and (dtype is None or np.dtype(dtype) == a.value.dtype):
            return a  # np.asarray of an array is that array
        return self._new(np.asarray, "asarray", (a,), dict(kwargs, **({"dtype": dtype} if dtype is not None else {})))

    def asanyarray(self, a, dtype=None, **kwargs):
        return self.asarray(a, dtype, **kwargs)

    def array(self, a, *args, **kwargs):
        if not isinstance(a, Sym):
            return np.array(a, *args, **kwargs)
        return self._new(np.array, "array", (a,) + args, kwargs)

    def ascontiguousarray(self, a, *args, **kwargs):
        if not isinstance(a, Sym):
            return np.ascontiguousarray(a, *args, **kwargs)
        return self._new(np.ascontiguousarray, "ascontiguousarray", (a,) + args, kwargs)


_NUMPY_FOR_SYMS = _NumpyForSyms()


@contextlib.contextmanager
def numpy_for_syms(builder, modules):
    """Within the block, ``np`` in each of ``modules`` is the Sym-aware NumPy above."""
    _NUMPY_FOR_SYMS.builder = builder
    patched = [m for m in modules if getattr(m, "np", None) is np]
    for m in patched:
        m.np = _NUMPY_FOR_SYMS
    try:
        yield
    finally:
        for m in patched:
            m.np = np
        _NUMPY_FOR_SYMS.builder = None  # a finished trace's Syms must not outlive it


def op_modules():
    """The modules whose code runs on Syms: glassgrad's op records and their helpers."""
    return [m for name, m in list(sys.modules.items())
            if m is not None and name.startswith("glassgrad.ops")]
