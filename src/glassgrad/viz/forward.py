"""``make_forward_dot``: the computation as it was written, read left to right.

Leaves and constants feed op nodes (each labelled with its record's formula), and every edge
carries the value that flowed along it when the value is known; the outputs end the graph.
It is the same recorded graph make_dot draws, turned to face forward.
"""

from . import labels
from .digraph import DotGraph
from .dot import LEAF_COLOR, OUTPUT_COLOR, as_outputs, _names_by_id
from .values import forward_values, function_key, inputs_of, reachable_functions

OP_COLOR = "lightgrey"
CONSTANT_COLOR = "white"
FORWARD_NODE_STYLE = dict(style="filled", shape="box", fontsize="10", height="0.2",
                          fontname="monospace")


def make_forward_dot(var, params=None, max_value_chars=30):
    """The forward computation of ``var`` (a tensor or a tuple of them) as a DotGraph.

    >>> import glassgrad as torch
    >>> x = torch.tensor([2.0], requires_grad=True)
    >>> print(make_forward_dot(x ** 3, params={"x": x}).source, end="")  # doctest: +ELLIPSIS
    digraph {
    ...
        n0 [label="pow\\nx ** exponent\\nexponent = 3" fillcolor=lightgrey]
        n1 -> n0 [label="x = 2"]
        n1 [label="x\\n (1)" fillcolor=lightblue]
        n2 [label="\\n (1)" fillcolor=darkolivegreen1]
        n0 -> n2 [label=8]
    }
    """
    outputs = as_outputs(var)
    names = _names_by_id(params)
    values = forward_values(outputs)
    graph = DotGraph(graph_attr={"rankdir": "LR"}, node_attr=FORWARD_NODE_STYLE,
                     edge_attr={"fontsize": "10", "fontname": "monospace"})
    ids = {}

    def node_id(key):
        return ids.setdefault(key, f"n{len(ids)}")

    def edge_label(key, prefix=""):
        # The value when known, else the shape: every edge says what flowed along it.
        if key in values:
            return prefix + labels.format_value(values[key], max_value_chars)
        return prefix.rstrip(" =")

    for fn in reachable_functions([t.grad_fn for t in outputs]):
        variable = getattr(fn, "variable", None)
        if variable is not None:
            graph.node(node_id(function_key(fn)),
                       labels.tensor_label(variable, names.get(id(variable), "")),
                       fillcolor=LEAF_COLOR)
            continue
        graph.node(node_id(function_key(fn)), _op_label(fn, max_value_chars), fillcolor=OP_COLOR)
        for k, u in enumerate(inputs_of(fn)):
            key = function_key(u) if u is not None else ("const", id(fn), k)
            if u is None:
                graph.node(node_id(key), "constant", fillcolor=CONSTANT_COLOR)
            graph.edge(node_id(key), node_id(function_key(fn)),
                       label=edge_label(key, f"{_input_name(fn, k)} = "))
    for output in outputs:
        key = ("tensor", id(output))
        graph.node(node_id(key), labels.tensor_label(output, names.get(id(output), "")),
                   fillcolor=OUTPUT_COLOR)
        if output.grad_fn is not None:
            graph.edge(node_id(function_key(output.grad_fn)), node_id(key),
                       label=labels.format_value(output._data, max_value_chars))
    return graph


def _op_label(node, max_value_chars):
    op = getattr(node, "op", None)
    if op is None:  # not from a record: all we know is its name
        return labels.function_name(node)
    return "\n".join([op.name, *labels.formula_lines(node, max_value_chars)])


def _input_name(node, k):
    op = getattr(node, "op", None)
    if op is None:
        return f"input{k}"
    return f"{op.inputs[0]}[{k}]" if op.variadic else op.inputs[k]
