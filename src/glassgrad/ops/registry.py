"""The op registry: every primitive is one record, and every feature reads it.

An :class:`Op` holds the NumPy forward, one vector-Jacobian product (vjp) per input, PyTorch's
grad_fn name, the op's formula and its local derivatives as text and LaTeX, and notes on its
domain. The engine, the graph drawer and the explainer all read these records; none of them
re-derives a derivative.

A vjp is a plain function whose parameter names say what it needs: ``g`` (the incoming gradient),
``out`` (the op's output), the op's input names, its parameter names, and ``xp`` (the array
namespace: NumPy when gradients are plain arrays, glassgrad itself under ``create_graph=True`` so
that the backward pass is differentiable). For ``div``::

    vjps=(lambda g, b: g / b, lambda g, a, b: -g * (a / b) / b)

From those names the registry learns what the op must save for backward.

An op's ``domain`` is a :class:`Domain`: the text people read, plus, for ops that overflow, the
bounds on their inputs in each dtype (``exp``: x <= 88.72 in float32), which the anomaly finder
quotes when a value becomes inf.
"""

from operator import itemgetter

REGISTRY = {}


def unchanged(g):
    """The vjp for an input that the output follows one for one (``a`` in ``a + b``): ``g``
    itself. The engine's backward functions pass ``g`` on without calling it."""
    return g


class Domain(str):
    """Where an op is defined and finite: a string (what people read) that can also compute, for
    a dtype, the bounds its inputs must keep for the result not to overflow.

    ``bounds`` is ``bounds(finfo, **params) -> [(what, relation, bound), ...]``; for exp,
    ``lambda finfo, **_: [("x", "<=", log(finfo.max))]``.

    >>> import numpy as np
    >>> from glassgrad.ops import REGISTRY
    >>> REGISTRY["exp"].domain.limits(np.float32)
    [('x', '<=', 88.72283905206835)]
    """

    def __new__(cls, text, bounds=None):
        self = super().__new__(cls, text)
        self.bounds = bounds
        return self

    def limits(self, dtype, params=None):
        """The overflow bounds for ``dtype`` (a NumPy float dtype), given the op's params."""
        if self.bounds is None:
            return []
        import numpy as np  # late: keeps this module free of NumPy at import
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            return []
        return [(what, relation, float(bound))
                for what, relation, bound in self.bounds(np.finfo(dtype), **(params or {}))]


class Op:
    """One primitive operation: how to compute it, differentiate it and explain it."""

    __slots__ = (
        "name", "inputs", "params", "forward", "vjps", "grad_fn_name", "formula", "latex",
        "derivatives", "derivatives_latex", "domain", "variadic", "is_view", "vjp_args", "saves",
        "torch_saved_names", "save_inputs", "saves_out", "vjp_plans", "node_class",
        "vjp_getters", "vjp_checks", "broadcasts", "backward",
    )

    def __init__(self, name, *, inputs, forward, vjps, grad_fn_name, formula, latex, derivatives,
                 derivatives_latex, params=(), domain="all real numbers", variadic=False,
                 is_view=False, broadcasts=False):
        self.name = name
        self.inputs = tuple(inputs)
        self.params = tuple(params)
        self.forward = forward
        self.vjps = tuple(vjps)
        self.grad_fn_name = grad_fn_name
        self.formula = formula
        self.latex = latex
        self.derivatives = tuple(derivatives)
        self.derivatives_latex = tuple(derivatives_latex)
        self.domain = domain if isinstance(domain, Domain) else Domain(domain)
        self.variadic = variadic
        self.is_view = is_view  # True: the output is always a view of the input; "maybe"
        # Inputs may be broadcast against each other, so gradients must be summed back to each
        # input's shape (and dtype); the engine checks only for these ops.
        self.broadcasts = broadcasts
        expected = 1 if variadic else len(self.inputs)
        for field in ("vjps", "derivatives", "derivatives_latex"):
            if len(getattr(self, field)) != expected:
                raise ValueError(f"op {name!r}: {field} needs {expected} entries")
        self.vjp_args = tuple(self._arg_names(v) for v in self.vjps)
        used = {n for args in self.vjp_args for n in args}
        # A vjp's g, xp and i are the engine's, even for an input so named (index_scatter's g).
        used -= {"g", "xp", "i"}
        self.saves = tuple(n for n in self.inputs + ("out",) if n in used)
        self.save_inputs = tuple((n, k) for k, n in enumerate(self.inputs) if n in used)
        self.saves_out = "out" in used
        # Where each vjp argument comes from in a value list (the explainer's, explanation/trace.py).
        self.vjp_plans = tuple(tuple(self._source(n) for n in args) for args in self.vjp_args)
        # Per vjp: a C-level getter of its arguments from that list (None: it needs only g),
        # and which saved values must be unchanged when it runs (indices; -1 is the output).
        self.vjp_getters = tuple(_getter(plan) for plan in self.vjp_plans)
        first_input = 4 + len(self.params)
        self.vjp_checks = tuple(
            tuple(s - first_input if s >= first_input else -1 for s in plan if s >= first_input or s == 2)
            for plan in self.vjp_plans)
        self.node_class = None  # what its nodes are made by: graph.Node, set on registration
        self.backward = None  # the engine's call of the vjps, written on first use (vjp_calls.py)
        # torchviz reads saved values as attributes named like PyTorch's (_saved_self, ...)
        self.torch_saved_names = {n: _TORCH_NAMES.get(n, n) for n in self.saves + self.params}

    def _arg_names(self, vjp):
        code = vjp.__code__  # not inspect.signature: importing inspect would slow `import glassgrad`
        names = code.co_varnames[:code.co_argcount]
        known = {"g", "out", "xp", "i"} | set(self.inputs) | set(self.params)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"op {self.name!r}: vjp asks for unknown values {unknown}")
        return names

    def _source(self, name):
        """An argument's slot in the engine's value list: g, xp, out, i, the params in order,
        then the inputs."""
        fixed = {"g": 0, "xp": 1, "out": 2, "i": 3}
        if name in fixed:
            return fixed[name]
        if name in self.params:
            return 4 + self.params.index(name)
        return 4 + len(self.params) + self.inputs.index(name)

    def __repr__(self):
        return f"<op {self.name}: {self.formula}>"


def _getter(plan):
    if plan == (0,):
        return None
    if len(plan) == 1:
        return lambda values, k=plan[0]: (values[k],)
    return itemgetter(*plan)


# How PyTorch names the saved values that glassgrad's records call a, b, x, out.
_TORCH_NAMES = {"a": "self", "b": "other", "x": "self", "out": "result"}


def register(name, **fields):
    """Declare a primitive; returns the record and adds it to REGISTRY."""
    if name in REGISTRY:
        raise ValueError(f"op {name!r} is already registered")
    op = Op(name, **fields)
    from ..autograd.graph import Node  # late: the graph module imports the ops
    op.node_class = Node
    REGISTRY[name] = op
    return op
