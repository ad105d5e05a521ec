"""A formula as SymPy, built so that no formula can hang SymPy: ``to_sympy(expression)``.

SymPy simplifies as it builds and keeps constants exact, so a few short formulas would cost it
minutes or all memory: ``9^9^9`` has 1.2e9 bits, ``2^2^2^2^pi`` is compared by evaluating it,
``-logaddexp(x, -logaddexp(x, ...))`` 25 deep takes minutes to simplify. This module builds the
expression node by node and refuses, with an ``ExpressionError``, before SymPy sees

* a constant whose magnitude is beyond 2**±MAX_CONSTANT_BITS (about 10**±3010, far past any
  float), or an exact rational that would need more bits than that;
* more than MAX_NESTING functions and powers nested along one path (of anything but plain
  numbers, which fold as they go).

Each constant's magnitude is tracked beside the SymPy value by mpmath at 53 bits (``_shadow``),
which costs microseconds where SymPy's exact evaluation would not end.
"""

from .errors import ExpressionError

# SymPy keeps constants exact; one beyond 2**this (or a rational with more bits) would cost it
# unbounded time and memory. 10,000 bits is about 10**3010: no float comes near it.
MAX_CONSTANT_BITS = 10_000

# Functions and powers nested deeper than this are refused: 16 levels of the worst pattern found
# (logaddexp(x, ---logaddexp(x, ...))) take SymPy about 0.4 s, 25 levels take minutes.
MAX_NESTING = 12


def to_sympy(expression):
    """The SymPy form of ``expression`` (see ``Expression.to_sympy``); ExpressionError when SymPy
    could not build it in bounded time."""
    import mpmath
    import sympy

    from .nodes import _fold

    def convert(node, args):
        values = [value for value, _, _ in args]
        nesting = max((depth for _, depth, _ in args), default=0)
        if _nests(node) and not all(isinstance(v, sympy.Number) for v in values):
            nesting += 1  # a function or power of plain numbers folds to a number: free
        if nesting > MAX_NESTING:
            raise ExpressionError(
                f"the formula nests more than {MAX_NESTING} functions and powers of its "
                f"variables, too deep for SymPy (its simplification can take time exponential in "
                f"that depth); evaluate it with glassgrad instead")
        children = [s for _, _, s in args]
        shadow = _shadow(node, children, context)
        _refuse_huge_constants(node, values, shadow, children, sympy)
        try:
            return node._sympy(values, sympy), nesting, shadow
        except (ValueError, TypeError, ArithmeticError) as error:  # Max(nan, 1): not comparable
            raise ExpressionError(f"SymPy cannot represent {node}: {error}") from None

    context = mpmath.MPContext()  # its own 53-bit context: the global mpmath.mp stays as it is
    try:
        return _fold(expression, convert)[0]
    except RecursionError:
        raise ExpressionError("the formula is too deeply nested for SymPy (it recursed past "
                              "Python's limit); evaluate it with glassgrad instead") from None


def _nests(node):
    from .nodes import Binary, Call
    return isinstance(node, Call) or (isinstance(node, Binary) and node.op == "**")


# Functions whose SymPy form holds exp(argument) (softplus is log(1 + exp(x))): SymPy may evaluate
# that exp of a constant argument even inside a formula of variables, so the argument must keep
# exp below 2**MAX_CONSTANT_BITS too.
_EXPONENTIATES = frozenset({"exp", "expm1", "sigmoid", "softplus", "log_sigmoid", "logaddexp"})
_LN2 = 0.6931471805599453


def _refuse_huge_constants(node, values, shadow, children, sp):
    """ExpressionError if ``node`` is a constant beyond 2**±MAX_CONSTANT_BITS, or would make SymPy
    compute an exact rational of more bits than that, or exp of a constant that large."""
    from .nodes import Binary, Call
    if isinstance(node, Call) and node.function in _EXPONENTIATES:
        for child, argument in zip(children, node.arguments):
            if child is not None and abs(child) > MAX_CONSTANT_BITS * _LN2:
                raise ExpressionError(f"the constant {argument} is too large for exact arithmetic "
                                      f"(in {node}, whose SymPy form takes exp of it: beyond "
                                      f"2**{MAX_CONSTANT_BITS:,})")
    if shadow is not None:
        bits = _magnitude_bits(shadow)
        if bits > MAX_CONSTANT_BITS:
            raise ExpressionError(f"the constant {node} is too large for exact arithmetic (about "
                                  f"2**{'-' if _is_tiny(shadow) else ''}{_approximately(bits)}; "
                                  f"the limit is 2**{MAX_CONSTANT_BITS:,})")
    if isinstance(node, Binary) and node.op == "**":
        base, exponent = values
        if isinstance(base, sp.Rational) and isinstance(exponent, sp.Integer):
            base_bits = max(abs(base.p).bit_length(), abs(base.q).bit_length())
            bits = abs(int(exponent)) * base_bits
            if base_bits > 1 and bits > MAX_CONSTANT_BITS:
                raise ExpressionError(f"the constant {node} is too large for exact arithmetic "
                                      f"(about {_approximately(bits)} bits; the limit is "
                                      f"{MAX_CONSTANT_BITS:,})")


def _magnitude_bits(value):
    """|log2 |value||, rounded: the size of the binary exponent of an mpmath number."""
    parts = (value.real, value.imag) if hasattr(value, "imag") else (value,)
    bits = 0
    for part in parts:
        mantissa, exponent = part.man_exp if part else (0, 0)
        if mantissa and exponent is not None and not isinstance(exponent, str):
            bits = max(bits, abs(exponent + abs(mantissa).bit_length()))
    return bits


def _approximately(count):
    """A huge int in three digits, ``1.23e+09``; as a power of two past float range."""
    if count.bit_length() < 1000:
        return f"{count:.3g}"
    return f"(2**{count.bit_length() - 1})"


def _is_tiny(value):
    return abs(value) < 1


# The value of each constant node, for the magnitude check: mpmath at 53 bits, None for a node
# that involves a variable (or that mpmath cannot evaluate: then SymPy's own value is symbolic).
def _shadow(node, children, mp):
    from .functions import CONSTANTS
    from .nodes import Binary, Call, Name, Number, Unary
    try:
        if isinstance(node, Number):
            return mp.mpf(node.value)
        if isinstance(node, Name):  # a variable (or a constant mpmath does not know): symbolic
            constant = {"pi": mp.pi, "e": mp.e}.get(node.name) if node.name in CONSTANTS else None
            return None if constant is None else +constant
        if any(child is None for child in children):
            return None
        if isinstance(node, Unary):
            return -children[0] if node.op == "-" else children[0]
        if isinstance(node, Binary):
            a, b = children
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                    "/": lambda: a / b, "**": lambda: mp.power(a, b)}[node.op]()
        if isinstance(node, Call) and node.function in _MPMATH:
            return _MPMATH[node.function](mp, *children)
    except (ArithmeticError, ValueError, TypeError):
        pass
    return None


_MPMATH = {
    "exp": lambda mp, x: mp.exp(x),
    "log": lambda mp, x: mp.log(x),
    "log1p": lambda mp, x: mp.log1p(x),
    "expm1": lambda mp, x: mp.expm1(x),
    "sqrt": lambda mp, x: mp.sqrt(x),
    "sin": lambda mp, x: mp.sin(x),
    "cos": lambda mp, x: mp.cos(x),
    "tan": lambda mp, x: mp.tan(x),
    "tanh": lambda mp, x: mp.tanh(x),
    "sigmoid": lambda mp, x: 1 / (1 + mp.exp(-x)),
    "relu": lambda mp, x: max(x, 0),
    "abs": lambda mp, x: abs(x),
    "square": lambda mp, x: x * x,
    "reciprocal": lambda mp, x: 1 / x,
    "softplus": lambda mp, x: mp.log1p(mp.exp(x)),
    "log_sigmoid": lambda mp, x: -mp.log1p(mp.exp(-x)),
    "logaddexp": lambda mp, a, b: mp.log(mp.exp(a) + mp.exp(b)),
    "maximum": lambda mp, a, b: max(a, b),
    "minimum": lambda mp, a, b: min(a, b),
}
