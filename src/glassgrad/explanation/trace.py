"""Turn the recorded graph behind one output into forward and backward steps.

Forward values come from :func:`glassgrad.viz.values.forward_values` (saved values where they
survive, the records' forwards otherwise). The backward pass is re-run here from the op
records' vjps with the engine's argument convention and summing order, so every number equals
what ``backward()`` computes, without reading or changing any ``.grad``. Tensor hooks are not
run: the explanation shows the chain rule itself.
"""

import numpy as np

from ..autograd.engine import _fit_to
from ..autograd.graph import Node
from ..ops.namespaces import numpy_ns
from ..viz.values import forward_values, reachable_functions
from . import formatting as fmt
from .steps import BackwardStep, ChainRuleProduct, ForwardStep, GradientSum, InputValue

FREED_HELP = (
    "explain() could not recover the value of {what}: backward() has freed the values the graph "
    "saved, and it cannot be recomputed from the leaves. Call glassgrad.explain(output) before "
    "output.backward(), or call output.backward(retain_graph=True).")


def entry_key(entry):
    """The forward_values key of a node's input (a Node or a leaf tensor)."""
    return ("fn", id(entry)) if isinstance(entry, Node) else ("leaf", id(entry))


class Trace:
    """The graph behind ``output``, its names and values, and the steps built from them."""

    def __init__(self, output, names=None):
        if getattr(output, "grad_fn", None) is None:
            raise ValueError("explain() needs a tensor computed from tensors with "
                             "requires_grad=True (it has no grad_fn)")
        self.output = output
        self.user_names = {id(t): name for name, t in (names or {}).items()}
        self.user_tensors = list((names or {}).items())
        self.nodes = sorted([fn for fn in reachable_functions([output.grad_fn])
                             if isinstance(fn, Node)], key=lambda node: node.seq)
        self.values = forward_values([output])
        self.names = {}  # forward_values key -> name
        self.leaves = []
        self._name_everything()

    # names ---------------------------------------------------------------------------------

    def _name_everything(self):
        taken = set(self.user_names.values())
        for node in self.nodes:
            for entry in node.next:
                if entry is not None and not isinstance(entry, Node) and entry_key(entry) not in self.names:
                    self.names[entry_key(entry)] = self._user_name(entry) or self._fresh("x", taken)
                    self.leaves.append(entry)
        # Named leaves come first, in the order the caller gave them.
        order = {id(t): k for k, (_, t) in enumerate(self.user_tensors)}
        self.leaves.sort(key=lambda leaf: order.get(id(leaf), len(order)))
        for node in self.nodes:
            named = self._named_tensor_for(node)
            self.names[("fn", id(node))] = named or self._fresh("v", taken)

    def _user_name(self, tensor):
        # names={...} first, then the tensor's own label (x.name = "x")
        return self.user_names.get(id(tensor)) or getattr(tensor, "name", None)

    def _named_tensor_for(self, node):
        # names={'h': h} may name an intermediate: h's grad_fn is the node.
        for name, t in self.user_tensors:
            if getattr(t, "grad_fn", None) is node:
                return name
        return None

    def _fresh(self, prefix, taken):
        k = 1
        while f"{prefix}{k}" in taken:
            k += 1
        taken.add(f"{prefix}{k}")
        return f"{prefix}{k}"

    def name_of(self, entry):
        return self.names[entry_key(entry)]

    # values --------------------------------------------------------------------------------

    def value_of(self, key, what):
        value = self.values.get(key)
        if value is None:
            raise RuntimeError(FREED_HELP.format(what=what))
        return value

    def input_values(self, node):
        """Each input's value (None for a constant the graph never saved)."""
        values = []
        for k, entry in enumerate(node.next):
            key = entry_key(entry) if entry is not None else ("const", id(node), k)
            values.append(self.values.get(key))
        return values

    def input_labels(self, node):
        """Each input's name, or the constant's number (``?`` if the graph never saved it)."""
        labels = []
        for k, (entry, value) in enumerate(zip(node.next, self.input_values(node))):
            if entry is not None:
                labels.append(self.name_of(entry))
            else:
                labels.append(self._constant_label(node, k, value))
        return labels


    def _constant_label(self, node, k, value):
        saved = node.saved_inputs[k] if node.saved_inputs else None
        named = self.user_names.get(id(saved)) if saved is not None else None
        if named:
            return named
        if value is None or fmt.is_scalar(value):
            return fmt.operand_text(value)
        return f"const<{fmt.shape_text(value)}>"


def _replacements(node, labels, latex=False):
    """The record's input and param names -> the explanation's names (or numbers)."""
    op = node.op
    if op.variadic:
        joined = ", ".join(labels)
        table = {op.inputs[0]: f"[{joined}]"}
    else:
        table = dict(zip(op.inputs, labels))
    if latex:
        table = {k: (fmt.latex_name(v) if not op.variadic else v) for k, v in table.items()}
    for param in op.params:
        if param in (node.params or {}):
            table[param] = fmt.param_text(node.params[param])
    return table


def forward_steps(trace):
    steps = []
    for number, node in enumerate(trace.nodes, start=1):
        name = trace.names[("fn", id(node))]
        value = trace.value_of(("fn", id(node)), f"{name} ({node.name()})")
        labels = trace.input_labels(node)
        numbers = [fmt.operand_text(v) for v in trace.input_values(node)]
        steps.append(ForwardStep(
            number=number, name=name, op_name=node.op.name,
            formula=fmt.substitute(node.op.formula, _replacements(node, labels)),
            substituted=fmt.substitute(node.op.formula, _replacements(node, numbers)),
            value=np.array(value, copy=True),
            latex=fmt.substitute(node.op.latex, _replacements(node, labels, latex=True)),
            latex_substituted=fmt.substitute(node.op.latex, _replacements(node, numbers)),
            grad_fn=node))
    return steps


def input_values(trace):
    return [InputValue(trace.name_of(leaf), np.array(leaf._data, copy=True), leaf._requires_grad)
            for leaf in trace.leaves]


def _vjp_values(trace, node, g):
    """The engine's value list for the vjp getters: g, xp, out, i, the params, the inputs."""
    op = node.op
    values = [g, numpy_ns, None, 0]
    values.extend((node.params or {})[p] for p in op.params)
    if not op.saves:
        return values
    if op.saves_out:
        values[2] = trace.value_of(("fn", id(node)), f"the output of {node.name()}")
    for k, value in enumerate(trace.input_values(node)):
        if value is None and op.inputs[min(k, len(op.inputs) - 1)] in op.saves:
            raise RuntimeError(FREED_HELP.format(what=f"input {k} of {node.name()}"))
        values.append(value)
    return values


def _run_vjp(node, k, i, values, g_slot_value, target):
    """One vjp on ``values`` with ``g`` replaced, reduced to the target's shape like the engine."""
    op = node.op
    values[0] = g_slot_value
    values[3] = i
    getter = op.vjp_getters[k]
    gi = op.vjps[k](g_slot_value) if getter is None else op.vjps[k](*getter(values))
    return _fit_to(gi, target, numpy_ns, False) if op.broadcasts else gi


def _derivative_texts(trace, node, k):
    op = node.op
    labels = trace.input_labels(node)
    upstream = trace.names[("fn", id(node))]
    text_table = {**_replacements(node, labels), "g": f"grad({upstream})"}
    latex_table = {**_replacements(node, labels, latex=True),
                   "g": rf"\bar{{{fmt.latex_name(upstream)}}}", "G": rf"\bar{{{fmt.latex_name(upstream)}}}"}
    return (fmt.substitute(op.derivatives[k], text_table),
            fmt.substitute(op.derivatives_latex[k], latex_table))


def backward_steps(trace, grad_output=None):
    """Re-run backward in the engine's order; returns (steps, leaf sums, gradients by name)."""
    out_node = trace.output.grad_fn
    seed = grad_output if grad_output is not None else np.ones(out_node.out_shape, out_node.out_dtype)
    arriving = {id(out_node): []}  # id(target) -> products in arrival order
    totals = {id(out_node): np.asarray(seed)}
    steps = []
    for node in reversed(trace.nodes):
        if id(node) not in totals:
            continue  # nothing flows into it (not on a path from the output)
        name = trace.names[("fn", id(node))]
        g = totals.pop(id(node))
        gradient = GradientSum(name, arriving.pop(id(node)), np.array(g, copy=True))
        products = _node_products(trace, node, g, name, arriving, totals)
        formula = f"{name} = {fmt.substitute(node.op.formula, _replacements(node, trace.input_labels(node)))}"
        latex = fmt.latex_name(name) + " = " + fmt.substitute(
            node.op.latex, _replacements(node, trace.input_labels(node), latex=True))
        steps.append(BackwardStep(name, formula, latex, gradient, products, grad_fn=node))
    leaf_sums, gradients = [], {}
    for leaf in trace.leaves:
        name = trace.name_of(leaf)
        total = np.array(totals[id(leaf)], dtype=leaf._data.dtype, copy=True)
        leaf_sums.append(GradientSum(name, arriving[id(leaf)], total))
        gradients[name] = total
    return steps, leaf_sums, gradients


def _node_products(trace, node, g, name, arriving, totals):
    op = node.op
    values = _vjp_values(trace, node, g)
    products = []
    for i, target in enumerate(node.next):
        if target is None:
            continue
        k = 0 if op.variadic else i
        contribution = _run_vjp(node, k, i, values, g, target)
        local = None
        if np.size(g) == 1:
            # With a one-element output, the vjp of 1 is exactly the local derivative.
            local = np.array(_run_vjp(node, k, i, values, np.ones_like(g), target), copy=True)
        values[0] = g
        derivative, derivative_latex = _derivative_texts(trace, node, k)
        product = ChainRuleProduct(name, trace.name_of(target), op.inputs[k] if not op.variadic
                                   else f"{op.inputs[0]}[{i}]", derivative, derivative_latex, local,
                                   np.array(g, copy=True), np.array(contribution, copy=True))
        products.append(product)
        arriving.setdefault(id(target), []).append(product)
        previous = totals.get(id(target))
        # Sum in arrival order, as the engine does: float sums depend on the order.
        totals[id(target)] = contribution if previous is None else previous + contribution
    return products
