"""A model to fit, written as a formula: ``b + w1*x + w2*x**2``.

Names in the formula that are data columns are inputs; the other names are parameters. A model
turns into a predictor (parameters -> predictions, a glassgrad graph, with the parts that depend
only on data computed once), and, when it is linear in its parameters, into the columns of a
least-squares problem, found exactly by walking the formula (no SymPy needed).

>>> import numpy as np
>>> model = Model("b + w*x**2", columns=("x", "y"))
>>> model.inputs, model.parameters
(('x',), ('b', 'w'))
>>> linear = model.linear_form({"x": np.array([1.0, 2.0, 3.0])})
>>> linear.columns["b"].tolist(), linear.columns["w"].tolist()
([1.0, 1.0, 1.0], [1.0, 4.0, 9.0])
"""

from dataclasses import dataclass

import numpy as np

from ..expr import parse
from ..expr.functions import FUNCTIONS
from ..expr.nodes import _ARITHMETIC, Binary, Name, Unary, _as_tensor, _Context, _fold


class ModelError(ValueError):
    """A model that cannot be fitted to the data as given; the message says why in one line."""


@dataclass(frozen=True)
class LinearForm:
    """prediction = offset + sum_p params[p] * columns[p], every array of one value per row."""

    offset: np.ndarray
    columns: dict


class Model:
    """A formula, split into data ``inputs`` and ``parameters`` (both in order of appearance).

    ``columns`` are the data's column names; ``parameters``, when given, lists the parameter
    names explicitly, and then every other name must be a column (catching typos).
    """

    def __init__(self, text, columns, parameters=None, target=None):
        self.text = text
        self.expression = parse(text)
        names = self.expression.names
        columns = tuple(columns)
        listed = ", ".join(columns)
        if target is not None and target in names:
            raise ModelError(f"the model uses {target!r}, the column it is fitted to")
        if parameters is not None:
            parameters = tuple(parameters)
            clashes = [p for p in parameters if p in columns]
            if clashes:
                raise ModelError(f"parameter {clashes[0]!r} is also a data column; rename one")
            unknown = [n for n in names if n not in columns and n not in parameters]
            if unknown:
                raise ModelError(f"the model names {unknown[0]!r}, which is neither a data column "
                                 f"({listed}) nor a parameter ({', '.join(parameters)})")
            unused = [p for p in parameters if p not in names]
            if unused:
                raise ModelError(f"parameter {unused[0]!r} does not appear in the model {text!r}")
        self.inputs = tuple(n for n in names if n in columns)
        self.parameters = tuple(n for n in names if n not in self.inputs)
        if not self.parameters:
            raise ModelError(f"the model {text!r} has no parameters: every name in it is a data "
                             "column, so there is nothing to fit")
        if not self.inputs:
            raise ModelError(f"the model {text!r} uses no data column (the columns are {listed}); "
                             f"a misspelt column would be taken as a parameter: "
                             f"{', '.join(self.parameters)}")

    def __repr__(self):
        return f"Model({self.text!r})"

    def predictor(self, inputs, dtype):
        """A function ``params -> predictions`` (glassgrad tensors by name in, a tensor out).

        ``inputs`` maps each input name to its tensor. Subexpressions that involve no parameter
        (``x**2``) are computed here once, not at every call.
        """
        import glassgrad as gg

        context = _Context(gg, dtype, dict(inputs))
        parameters = set(self.parameters)

        def combine(node, parts):
            # A part is (True, value) when it depends on no parameter, else (False, function).
            if isinstance(node, Name) and node.name in parameters:
                return False, _lookup(node.name)
            if all(constant for constant, _ in parts):
                return True, node._glassgrad([value for _, value in parts], context)
            return False, _applied(node, parts, context)

        constant, value = _fold(self.expression, combine)
        if constant:  # cannot happen: a model has parameters
            raise ModelError(f"the model {self.text!r} does not depend on its parameters")
        return value

    def linear_form(self, inputs):
        """The model as offset + sum of parameter * column, in float64, or ``None`` with the
        reason in ``self.nonlinear_reason`` when some parameter enters non-linearly."""
        import glassgrad as gg

        rows = len(next(iter(inputs.values())))
        tensors = {name: gg.tensor(np.asarray(values, dtype=np.float64)) for name, values in inputs.items()}
        context = _Context(gg, gg.float64, tensors)
        parameters = set(self.parameters)
        self.nonlinear_reason = None

        def combine(node, parts):
            # A part maps None (the offset) and parameter names to float64 tensors or numbers.
            if any(part is None for part in parts):
                return None
            if isinstance(node, Name) and node.name in parameters:
                return {node.name: 1.0}
            if all(set(part) == {None} for part in parts):
                return {None: node._glassgrad([part[None] for part in parts], context)}
            form = _affine(node, parts, context)
            if form is None and self.nonlinear_reason is None:
                self.nonlinear_reason = f"a parameter enters {str(node)!r} non-linearly"
            return form

        with gg.no_grad():
            form = _fold(self.expression, combine)
        if form is None:
            return None
        as_column = lambda value: np.broadcast_to(
            np.asarray(getattr(value, "_data", value), dtype=np.float64), (rows,)).copy()
        return LinearForm(as_column(form.get(None, 0.0)),
                          {p: as_column(form.get(p, 0.0)) for p in self.parameters})


def _lookup(name):
    return lambda params: params[name]


def _applied(node, parts, context):
    """The function computing ``node`` from parameters, given its children's parts: plain
    closures over the operator, since a fit calls it at every epoch."""
    if isinstance(node, Binary):
        operation = _ARITHMETIC[node.op]
        (left_constant, left), (right_constant, right) = parts
        if left_constant:
            return lambda params: operation(left, right(params))
        if right_constant:
            return lambda params: operation(left(params), right)
        return lambda params: operation(left(params), right(params))
    if isinstance(node, Unary):
        (_, operand), = parts
        return (lambda params: -operand(params)) if node.op == "-" else operand
    builder = FUNCTIONS[node.function].glassgrad
    tensors = [value if not constant else _as_tensor(value, context) for constant, value in parts]
    functions = [(lambda params, v=value: v) if constant else value
                 for (constant, _), value in zip(parts, tensors)]
    return lambda params: builder(context.gg, *[f(params) for f in functions])


def _affine(node, parts, context):
    """Combine affine parts (dicts name -> coefficient) at ``node``; None when not affine."""
    if isinstance(node, Unary):
        (part,) = parts
        return part if node.op == "+" else {k: -v for k, v in part.items()}
    if isinstance(node, Binary):
        left, right = parts
        if node.op in "+-":
            sign = 1.0 if node.op == "+" else -1.0
            merged = dict(left)
            for key, value in right.items():
                merged[key] = merged[key] + sign * value if key in merged else sign * value
            return merged
        if node.op == "*":
            if set(left) == {None}:
                return {k: left[None] * v for k, v in right.items()}
            if set(right) == {None}:
                return {k: v * right[None] for k, v in left.items()}
        if node.op == "/" and set(right) == {None}:
            return {k: v / right[None] for k, v in left.items()}
    return None  # a product of parameters, a parameter in a power or inside a function
