"""``make_dot``: draw the backward graph behind a tensor, as torchviz draws PyTorch's.

One grey node per backward function (``DivBackward0``; ``AccumulateGrad`` for a leaf's
accumulator), a light blue box for each leaf that needs a gradient (named from ``params``, with
its shape), green boxes for the outputs, and with ``show_saved`` an orange box per tensor a node
keeps for backward. Edges run from inputs towards the output, as torchviz draws them.
``show_values`` (beyond torchviz) adds micrograd-style ``data | grad`` fields and each op's
formula from its record.
"""

from . import labels
from .digraph import DotGraph, Record
from .values import forward_values, function_key, inputs_of

LEAF_COLOR = "lightblue"
OUTPUT_COLOR = "darkolivegreen1"
VIEW_BASE_COLOR = "darkolivegreen3"
SAVED_COLOR = "orange"

# torchviz's node style, so drawings look the same.
NODE_STYLE = dict(style="filled", shape="box", align="left", fontsize="10", ranksep="0.1",
                  height="0.2", fontname="monospace")


def make_dot(var, params=None, show_attrs=False, show_saved=False, max_attr_chars=50,
             show_values=False):
    """The backward graph of ``var`` (a tensor, or a tuple of output tensors) as a DotGraph.

    ``params`` maps names to tensors (``dict(model.named_parameters())``) to name the leaves;
    ``show_attrs`` lists each node's saved non-tensor attributes (cut to ``max_attr_chars``),
    ``show_saved`` draws the tensors nodes keep for backward, ``show_values`` adds values,
    gradients and formulas.

    >>> import glassgrad as torch
    >>> x = torch.tensor([2.0], requires_grad=True)
    >>> print(make_dot(torch.exp(x), params={"x": x}).source, end="")  # doctest: +ELLIPSIS
    digraph {
    ...
        n0 [label="\\n (1)" fillcolor=darkolivegreen1]
        n1 [label=ExpBackward0]
        n2 -> n1
        n3 [label="x\\n (1)" fillcolor=lightblue]
        n3 -> n2
        n2 [label=AccumulateGrad]
        n1 -> n0
    }
    """
    drawing = _BackwardDrawing(_names_by_id(params), show_attrs, show_saved, max_attr_chars,
                               show_values)
    outputs = as_outputs(var)
    drawing.values = forward_values(outputs) if show_values else {}
    for output in outputs:
        drawing.add_output(output, OUTPUT_COLOR)
    return drawing.graph


def as_outputs(var):
    """``var`` as a list of tensors: one tensor, or a tuple or list of them."""
    outputs = list(var) if isinstance(var, (tuple, list)) else [var]
    for output in outputs:
        if not labels.is_tensor(output):
            raise TypeError(f"make_dot: expected a tensor or a tuple of tensors, "
                            f"got {type(output).__name__}")
    return outputs


def _names_by_id(params):
    if params is None:
        return {}
    for name, value in params.items():
        if not labels.is_tensor(value):
            raise TypeError(f"make_dot: params[{name!r}] is a {type(value).__name__}, "
                            "not a tensor")
    return {id(tensor): name for name, tensor in params.items()}


class _BackwardDrawing:
    """The state of one make_dot call: the graph so far and the ids of what it holds."""

    def __init__(self, names, show_attrs, show_saved, max_attr_chars, show_values):
        self.names = names
        self.show_attrs, self.show_saved = show_attrs, show_saved
        self.max_attr_chars, self.show_values = max_attr_chars, show_values
        self.graph = DotGraph(node_attr=NODE_STYLE)
        self.ids = {}  # our key -> DOT node id: short ids keep the source readable
        self.drawn = set()
        self.values = {}

    def node_id(self, key):
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids)}"
        return self.ids[key]

    def add_output(self, tensor, color):
        key = ("tensor", id(tensor))
        if key in self.drawn:
            return
        self.drawn.add(key)
        self.graph.node(self.node_id(key), self.tensor_label(tensor), fillcolor=color)
        if tensor.grad_fn is not None:
            self.add_functions(tensor.grad_fn)
            self.graph.edge(self.node_id(function_key(tensor.grad_fn)), self.node_id(key))
        base = getattr(tensor, "_base", None)
        if base is not None:  # a view: torchviz shows the tensor it looks into, dotted
            self.add_output(base, VIEW_BASE_COLOR)
            self.graph.edge(self.node_id(("tensor", id(base))), self.node_id(key),
                            style="dotted")

    def add_functions(self, root):
        """Draw ``root`` and everything it reaches; one edge per input reference, as torchviz."""
        stack = [root]
        while stack:  # iterative: deep graphs must not hit the recursion limit
            fn = stack.pop()
            key = function_key(fn)
            if key in self.drawn:
                continue
            self.drawn.add(key)
            self.add_function(fn, key)
            for u in reversed(inputs_of(fn)):
                if u is not None:
                    stack.append(u)
            for u in inputs_of(fn):
                if u is not None:
                    self.graph.edge(self.node_id(function_key(u)), self.node_id(key))

    def add_function(self, fn, key):
        if self.show_saved:
            self.add_saved_tensors(fn, key)
        variable = getattr(fn, "variable", None)
        if variable is not None:  # a leaf's accumulator: draw the leaf feeding it
            leaf_key = ("tensor", id(variable))
            self.drawn.add(leaf_key)
            self.graph.node(self.node_id(leaf_key), self.tensor_label(variable),
                            fillcolor=LEAF_COLOR)
            self.graph.edge(self.node_id(leaf_key), self.node_id(key))
        self.graph.node(self.node_id(key), self.function_label(fn, key))

    def add_saved_tensors(self, fn, key):
        for name in labels.saved_names(fn):
            value = labels.saved_value(fn, name)
            tensors = value if isinstance(value, tuple) else (value,)
            for i, tensor in enumerate(tensors):
                if not labels.is_tensor(tensor):
                    continue
                label_name = f"{name}[{i}]" if isinstance(value, tuple) else name
                # Saved tensors get their own nodes: glassgrad hands out a fresh view each time.
                saved_id = self.node_id(("saved", key, label_name))
                self.graph.edge(self.node_id(key), saved_id, dir="none")
                self.graph.node(saved_id, self.tensor_label(tensor, label_name),
                                fillcolor=SAVED_COLOR)

    def tensor_label(self, tensor, name=None):
        title = labels.tensor_label(
            tensor, name or self.names.get(id(tensor)) or getattr(tensor, "name", None) or "")
        if not self.show_values:
            return title
        fields = [title, "data " + labels.format_value(tensor._data, self.max_attr_chars)]
        grad = getattr(tensor, "_grad", None)  # not .grad: that warns for non-leaf outputs
        if grad is not None:
            fields.append("grad " + labels.format_value(grad._data, self.max_attr_chars))
        return Record(fields)

    def function_label(self, fn, key):
        title = labels.function_label(fn, self.show_attrs, self.max_attr_chars)
        if not self.show_values:
            return title
        fields = [title]
        formula = labels.formula_lines(fn, self.max_attr_chars)
        if formula:
            fields.append("\n".join(formula))
        if key in self.values and getattr(fn, "variable", None) is None:
            fields.append("data " + labels.format_value(self.values[key], self.max_attr_chars))
        return Record(fields) if len(fields) > 1 else title
