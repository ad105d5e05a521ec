"""The expression tree: immutable ``Number``, ``Name``, ``Unary``, ``Binary`` and ``Call`` nodes,
all of them ``Expression``, which turn into canonical text, a glassgrad graph or SymPy.

Every walk over a tree is iterative (``_fold``), so a formula as deep as the length limit allows
(``a-b-c-...`` builds a tree thousands of levels deep) never meets Python's recursion limit.
"""

import operator
from typing import NamedTuple

from .errors import ExpressionError
from .functions import CONSTANTS, FUNCTIONS

# Binding strength, loosest first; unary minus sits between '*' and '**' as in Python.
ADDITIVE, MULTIPLICATIVE, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
BINARY_PRECEDENCE = {"+": ADDITIVE, "-": ADDITIVE, "*": MULTIPLICATIVE, "/": MULTIPLICATIVE,
                     "**": POWER}
RIGHT_ASSOCIATIVE = frozenset({"**"})
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "**": operator.pow}


class _Context(NamedTuple):
    """What building a glassgrad graph needs at every node."""

    gg: object
    dtype: object
    variables: dict


class Expression:
    """A parsed formula (any node of the tree). ``str`` gives its canonical text, which parses
    back to an equal tree.

    >>> from glassgrad.expr import parse
    >>> expr = parse("(x + exp(y)) / (log(x) + (x - y)^3)")
    >>> str(expr), expr.names
    ('(x + exp(y)) / (log(x) + (x - y) ** 3)', ('x', 'y'))
    """

    __slots__ = ()
    children = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, **fields):
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def names(self):
        """The free variables (constants excluded), in order of first appearance in the text."""
        seen = {}
        for node in self._preorder():
            if isinstance(node, Name) and not node.is_constant:
                seen.setdefault(node.name, None)
        return tuple(seen)

    def evaluate(self, values, dtype=None):
        """The glassgrad tensor of this formula at ``values`` (name -> number or Tensor).

        A number becomes a leaf tensor of ``dtype`` (float32 by default) with requires_grad=True;
        a Tensor is used as given. Names not in the formula are ignored.

        >>> from glassgrad.expr import parse
        >>> parse("x * y + 1").evaluate({"x": 2.0, "y": 3.0})
        tensor(7., grad_fn=<AddBackward0>)
        """
        import glassgrad as gg

        dtype = gg.float32 if dtype is None else dtype
        context = _Context(gg, dtype, variable_tensors(self.names, values, dtype))
        result = _fold(self, lambda node, args: node._glassgrad(args, context))
        return _as_tensor(result, context)

    def to_sympy(self):
        """The SymPy expression, variables as real symbols (so ``Abs`` and ``Max`` differentiate).

        SymPy simplifies as it builds and keeps constants exact, so formulas that would make it
        work without end (``9^9^9``, functions nested 25 deep) are an ``ExpressionError`` instead;
        see ``glassgrad.expr.symbolic``.

        >>> from glassgrad.expr import parse
        >>> parse("softplus(x) + relu(y)").to_sympy()
        log(exp(x) + 1) + Max(0, y)
        """
        from .symbolic import to_sympy

        return to_sympy(self)

    def __str__(self):
        return _fold(self, lambda node, args: node._text(args))[0]

    def __repr__(self):
        return _fold(self, lambda node, args: node._repr(args))

    def __eq__(self, other):
        if not isinstance(other, Expression):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if type(a) is not type(b) or a._label() != b._label():
                return False
            pairs.extend(zip(a.children, b.children))
        return True

    def __hash__(self):
        return hash(str(self))

    def _preorder(self):
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


class Number(Expression):
    """A numeric literal (never negative when parsed: ``-2`` is ``Unary('-', Number(2))``)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self._set(value=value)

    def _label(self):
        return (type(self.value), self.value)

    def _text(self, args):
        return repr(self.value), ATOM

    def _repr(self, args):
        return f"Number({self.value!r})"

    def _glassgrad(self, args, context):
        return self.value

    def _sympy(self, args, sp):
        return sp.Integer(self.value) if isinstance(self.value, int) else sp.Float(self.value)


class Name(Expression):
    """A variable, or one of the constants ``pi`` and ``e``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self._set(name=name)

    @property
    def is_constant(self):
        return self.name in CONSTANTS

    def _label(self):
        return self.name

    def _text(self, args):
        return self.name, ATOM

    def _repr(self, args):
        return f"Name({self.name!r})"

    def _glassgrad(self, args, context):
        if self.is_constant:
            return CONSTANTS[self.name][0]
        return context.variables[self.name]

    def _sympy(self, args, sp):
        if self.is_constant:
            return getattr(sp, CONSTANTS[self.name][1])
        return sp.Symbol(self.name, real=True)


class Unary(Expression):
    """``-operand`` or ``+operand``."""

    __slots__ = ("op", "operand")

    def __init__(self, op, operand):
        if op not in ("-", "+"):
            raise ValueError(f"unknown unary operator {op!r}")
        self._set(op=op, operand=operand)

    @property
    def children(self):
        return (self.operand,)

    def _label(self):
        return self.op

    def _text(self, args):
        return self.op + _wrap(args[0], UNARY), UNARY

    def _repr(self, args):
        return f"Unary({self.op!r}, {args[0]})"

    def _glassgrad(self, args, context):
        return -args[0] if self.op == "-" else args[0]

    def _sympy(self, args, sp):
        return -args[0] if self.op == "-" else args[0]


class Binary(Expression):
    """``left op right`` for ``+ - * / **`` (``^`` is read as ``**``)."""

    __slots__ = ("op", "left", "right")

    def __init__(self, op, left, right):
        if op not in BINARY_PRECEDENCE:
            raise ValueError(f"unknown binary operator {op!r}")
        self._set(op=op, left=left, right=right)

    @property
    def children(self):
        return (self.left, self.right)

    def _label(self):
        return self.op

    def _text(self, args):
        precedence = BINARY_PRECEDENCE[self.op]
        if self.op in RIGHT_ASSOCIATIVE:
            # '2 ** -x' needs no parentheses: an exponent may itself start with a sign.
            left, right = _wrap(args[0], precedence + 1), _wrap(args[1], UNARY)
        else:
            left, right = _wrap(args[0], precedence), _wrap(args[1], precedence + 1)
        return f"{left} {self.op} {right}", precedence

    def _repr(self, args):
        return f"Binary({self.op!r}, {args[0]}, {args[1]})"

    def _glassgrad(self, args, context):
        left, right = args
        if not (_is_tensor(left, context) or _is_tensor(right, context)):
            # Never Python arithmetic: 1/0 and 10.0**400 must give inf like a tensor op, not raise.
            left = _as_tensor(left, context)
        return _ARITHMETIC[self.op](left, right)

    def _sympy(self, args, sp):
        return _ARITHMETIC[self.op](*args)


class Call(Expression):
    """``function(arguments...)`` for a function of ``FUNCTIONS``."""

    __slots__ = ("function", "arguments")

    def __init__(self, function, arguments):
        arguments = tuple(arguments)
        if function not in FUNCTIONS or FUNCTIONS[function].arity != len(arguments):
            raise ValueError(f"no function {function!r} of {len(arguments)} argument(s)")
        self._set(function=function, arguments=arguments)

    @property
    def children(self):
        return self.arguments

    def _label(self):
        return (self.function, len(self.arguments))

    def _text(self, args):
        return f"{self.function}({', '.join(text for text, _ in args)})", ATOM

    def _repr(self, args):
        trailing_comma = "," if len(args) == 1 else ""
        return f"Call({self.function!r}, ({', '.join(args)}{trailing_comma}))"

    def _glassgrad(self, args, context):
        tensors = [_as_tensor(arg, context) for arg in args]
        return FUNCTIONS[self.function].glassgrad(context.gg, *tensors)

    def _sympy(self, args, sp):
        return FUNCTIONS[self.function].sympy(sp, *args)


def variable_tensors(names, values, dtype):
    """One tensor per name: given Tensors as they are, numbers as new leaves needing gradients."""
    import glassgrad as gg

    missing = [name for name in names if name not in values]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        raise ExpressionError(f"no value given for variable(s) {listed}")
    return {name: values[name] if isinstance(values[name], gg.Tensor)
            else gg.tensor(values[name], dtype=dtype, requires_grad=True)
            for name in names}


def _fold(root, combine):
    """``combine(node, child_results)`` applied bottom-up, with an explicit stack (no recursion)."""
    results = []
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            count = len(node.children)
            args = results[len(results) - count:]
            del results[len(results) - count:]
            results.append(combine(node, args))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
    return results[0]


def _wrap(child, minimum_precedence):
    """A child's text, parenthesised when it binds looser than its place requires."""
    text, precedence = child
    return text if precedence >= minimum_precedence else f"({text})"


def _is_tensor(value, context):
    return isinstance(value, context.gg.Tensor)


def _as_tensor(value, context):
    return value if _is_tensor(value, context) else context.gg.tensor(value, dtype=context.dtype)
