"""glassgrad.expr: a small, safe language for formulas typed by people, such as
``(x + exp(y)) / (log(x) + (x - y)**3)``, turned into a glassgrad graph or a SymPy expression.

The text is read by our own tokenizer and operator-precedence parser, never by Python: only
numbers, variable names, ``+ - * / ** ^``, parentheses, the constants ``pi`` and ``e`` and the
functions of ``FUNCTIONS`` exist. Anything else is a ``ParseError`` with a caret under the column.

>>> from glassgrad.expr import gradient
>>> value, partials = gradient("(x + exp(y)) / (log(x) + (x - y)**3)", {"x": 3.0, "y": 4.0})
>>> round(value, 4), {name: round(d, 4) for name, d in partials.items()}
(584.0868, {'x': -19733.3965, 'y': 18322.8477})
"""

from typing import NamedTuple

from .errors import ExpressionError, ParseError
from .functions import CONSTANTS, FUNCTIONS
from .nodes import Binary, Call, Expression, Name, Number, Unary, variable_tensors
from .parser import MAX_DEPTH, parse
from .tokens import MAX_LENGTH

__all__ = ["parse", "gradient", "Gradient", "Expression", "Number", "Name", "Unary", "Binary",
           "Call", "ParseError", "ExpressionError", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH",
           "MAX_DEPTH"]


class Gradient(NamedTuple):
    """A formula's value and its partial derivatives (name -> float), as Python floats."""

    value: float
    partials: dict


def gradient(text, at, dtype=None):
    """The value of the formula ``text`` at the point ``at`` (name -> number) and its partial
    derivative in every variable, by glassgrad's reverse mode in ``dtype`` (float32 by default)."""
    import glassgrad as gg

    expression = parse(text)
    dtype = gg.float32 if dtype is None else dtype
    point = {name: float(at[name]) for name in expression.names if name in at}
    leaves = variable_tensors(expression.names, point, dtype)
    output = expression.evaluate(leaves, dtype=dtype)
    if output.numel() != 1:
        raise ExpressionError(f"the formula has {output.numel()} values; gradient needs one")
    if leaves:
        output.backward()
    return Gradient(output.item(), {name: leaf.grad.item() for name, leaf in leaves.items()})
