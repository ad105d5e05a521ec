"""The network drawn with its numbers: a Graphviz digraph for the md, html and pdf outputs.

`network_diagram(solution)` lays the inputs, each hidden layer and the outputs out left to right
(one rank per layer), labels each neuron with its value from the first forward pass and each
weight's edge with its value and its gradient; biases are listed under the neuron they feed.
`diagram_svg(solution)` renders it, or returns None when Graphviz is not installed.
"""

from glassgrad.viz.digraph import DotGraph, GraphvizNotFound

from .notation import format_number

_LAYER_COLOURS = {"input": "#dbeafe", "hidden": "#fef3c7", "output": "#dcfce7"}


def network_diagram(solution):
    """A DotGraph of the network at its original values, with every weight's gradient."""
    spec = solution.spec
    graph = DotGraph(graph_attr={"rankdir": "LR", "nodesep": "0.6", "ranksep": "2.2"},
                     node_attr={"shape": "circle", "style": "filled", "fontname": "Helvetica",
                                "fontsize": "11", "width": "1.2", "fixedsize": "true"},
                     edge_attr={"fontname": "Helvetica", "fontsize": "9", "labelfloat": "false"})
    activations = solution.forward.activations
    _add_layer(graph, list(spec.inputs), lambda n: f"{n}\n{format_number(spec.inputs[n])}", "input")
    for layer in spec.layers:
        role = "output" if layer is spec.output_layer else "hidden"
        _add_layer(graph, list(layer.neurons),
                   lambda n, layer=layer: _neuron_label(solution, layer, n, activations), role)
    gradients = solution.backward.gradients
    for parameter in spec.parameters.values():
        if parameter.kind == "weight":
            graph.edge(parameter.source, parameter.targets[0],
                       label=_weight_label(parameter, gradients), tooltip=parameter.name)
    return graph


def _add_layer(graph, neurons, label_of, role):
    for neuron in neurons:
        graph.node(neuron, label_of(neuron), fillcolor=_LAYER_COLOURS[role])
    # one rank per layer: the layer's neurons stand in one column
    graph.body.append("{ rank=same; " + "; ".join(neurons) + " }")


def _neuron_label(solution, layer, neuron, activations):
    lines = [f"{neuron} ({layer.activation})", format_number(activations[neuron])]
    bias = solution.spec.bias_of(neuron)
    if bias is not None:
        lines.append(f"{bias.name} = {format_number(bias.value)}")
    return "\n".join(lines)


def _weight_label(parameter, gradients):
    return (f"{parameter.name} = {format_number(parameter.value)}\n"
            f"dE/d{parameter.name} = {format_number(gradients[parameter.name])}")


def diagram_svg(solution):
    """The diagram as SVG text, or None when Graphviz (package or dot binary) is missing."""
    try:
        return network_diagram(solution).pipe("svg").decode("utf-8")
    except GraphvizNotFound:
        return None
