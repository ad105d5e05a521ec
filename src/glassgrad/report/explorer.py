"""The interactive explainer: one self-contained HTML page where a reader steps forward and
backward through a computation graph, and each node shows its value, local derivative and
gradient as the step reaches it.

A graph is plain data (nodes with positions, edges, and steps whose effects write a text into a
field of a node or an edge), built from an ``Explanation`` (any glassgrad computation, such as
Q1) or from a ``WorkedSolution`` (a small network, such as Q4). The page embeds that data as JSON
with a small script and style sheet: no network requests, no libraries.
"""

import html
import json
import re

from ..explanation.formatting import number_text, value_text

NODE_WIDTH, NODE_HEIGHT = 190, 92
COLUMN_GAP, ROW_GAP = 90, 34


def graph_from_explanation(explanation, title):
    """The explorer graph of a glassgrad computation: inputs and ops as nodes, and one step per
    input value, forward op, chain-rule product and gradient sum."""
    output = explanation.forward[-1].name
    nodes, layers, edges, steps = {}, {}, {}, []
    for leaf in explanation.inputs:
        nodes[leaf.name] = {"id": leaf.name, "label": leaf.name, "sub": "input"}
        layers[leaf.name] = 0
    inputs_of = {}
    for step in explanation.backward:
        inputs_of[step.name] = [p.target for p in step.products]
    for step in explanation.forward:
        nodes[step.name] = {"id": step.name, "label": step.name, "sub": step.formula}
        sources = [s for s in inputs_of.get(step.name, []) if s in nodes]
        layers[step.name] = 1 + max((layers[s] for s in sources), default=0)
        for source in sources:
            edges[f"{source}->{step.name}"] = {"id": f"{source}->{step.name}", "source": source,
                                               "target": step.name}
    for leaf in explanation.inputs:
        steps.append({"phase": "forward", "text": f"{leaf.name} = {value_text(leaf.value)}",
                      "effects": [_effect(leaf.name, "value", value_text(leaf.value))]})
    for step in explanation.forward:
        steps.append({"phase": "forward",
                      "text": f"{step.name} = {step.formula} = {step.substituted} = {value_text(step.value)}",
                      "effects": [_effect(step.name, "value", value_text(step.value))]})
    d = lambda name: f"∂{output}/∂{name}"
    steps.append({"phase": "backward", "text": f"{d(output)} = 1",
                  "effects": [_effect(output, "grad", f"{d(output)} = 1")]})
    for step in explanation.backward:
        total = value_text(step.gradient.total)
        if step.name != output:
            steps.append({"phase": "backward", "text": f"{d(step.name)} = {total}",
                          "effects": [_effect(step.name, "grad", f"{d(step.name)} = {total}")]})
        for product in step.products:
            local = (f"∂{product.consumer}/∂{product.target} = {product.derivative}"
                     + (f" = {value_text(product.derivative_value)}"
                        if product.derivative_value is not None else ""))
            contribution = (f"{value_text(product.upstream)} × {value_text(product.derivative_value)}"
                            f" = {value_text(product.contribution)}"
                            if product.derivative_value is not None else value_text(product.contribution))
            steps.append({"phase": "backward",
                          "text": f"{local}; contribution to {d(product.target)}: {contribution}",
                          "effects": [_effect(product.consumer, "local", local, edge=None),
                                      _effect(f"{product.target}->{product.consumer}", "label",
                                              f"× {value_text(product.derivative_value)}"
                                              if product.derivative_value is not None else "",
                                              edge=True)]})
    for leaf_sum in explanation.leaf_sums:
        terms = " + ".join(_signed(c.contribution) for c in leaf_sum.contributions)
        total = value_text(leaf_sum.total)
        text = f"{d(leaf_sum.name)} = {terms} = {total}" if len(leaf_sum.contributions) > 1 \
            else f"{d(leaf_sum.name)} = {total}"
        steps.append({"phase": "backward", "text": text,
                      "effects": [_effect(leaf_sum.name, "grad", f"{d(leaf_sum.name)} = {total}")]})
    return _laid_out(title, nodes, layers, edges, steps)


def graph_from_worked(solution, title):
    """The explorer graph of a worked backpropagation: one node per neuron and one for the
    loss, one edge per weight, one step per quantity the hand calculation writes down."""
    spec = solution.spec
    nodes, layers, edges = {}, {}, {}
    for neuron in spec.inputs:
        nodes[neuron] = {"id": neuron, "label": neuron, "sub": "input"}
        layers[neuron] = 0
    for layer in spec.layers:
        for neuron in layer.neurons:
            bias = spec.bias_of(neuron)
            nodes[neuron] = {"id": neuron, "label": neuron,
                             "sub": layer.activation + (f", bias {bias.name}" if bias else "")}
            layers[neuron] = layer.index
    loss_layer = len(spec.layers) + 1
    nodes["E"] = {"id": "E", "label": "E", "sub": spec.loss.replace("_", " ")}
    layers["E"] = loss_layer
    for parameter in spec.parameters.values():
        if parameter.kind == "weight":
            for target in parameter.targets:
                edges[parameter.name] = {"id": parameter.name, "source": parameter.source,
                                         "target": target, "text": f"{parameter.name} = {parameter.value:g}"}
    for neuron in spec.output_layer.neurons:
        edges[f"{neuron}->E"] = {"id": f"{neuron}->E", "source": neuron, "target": "E"}
    steps = [{"phase": "forward", "text": f"{name} = {value:g}",
              "effects": [_effect(name, "value", f"{name} = {value:g}")]}
             for name, value in spec.inputs.items()]
    work, nets = solution.steps[0], {}
    for quantity in work.forward.quantities:
        steps.append(_quantity_step("forward", quantity, _forward_target(quantity.name, nodes), nets))
    for quantity in work.backward.quantities:
        steps.append(_quantity_step("backward", quantity, _backward_target(quantity.name, nodes, edges)))
    for row in work.updates:
        if row.updated and row.name in edges:
            text = (f"new {row.name} = {row.name} - η·∂E/∂{row.name} = {row.old:.10g} - "
                    f"{row.learning_rate:g}·{_signed(row.gradient)} = {row.new:.10g}")
            steps.append({"phase": "update", "text": text,
                          "effects": [_effect(row.name, "label", f"{row.name}: {row.old:g} → {row.new:.8g}",
                                              edge=True)]})
    return _laid_out(title, nodes, layers, edges, steps)


def _quantity_step(phase, quantity, target, nets=None):
    """The step for one line of the hand calculation; an activation keeps its net input in view."""
    text = (f"{quantity.name} = {quantity.formula.text} = {quantity.substituted.text} = "
            f"{quantity.value:.10g}")
    shown = f"{quantity.name} = {quantity.value:.6g}"
    if nets is not None and target is not None:
        if target[1] == "net":
            nets[target[0]] = quantity.value
        elif target[1] == "value" and target[0] in nets:
            shown = f"net {nets[target[0]]:.6g} → {quantity.value:.6g}"
    effects = [] if target is None else [_effect(target[0], target[1], shown, edge=target[2])]
    return {"phase": phase, "text": text, "effects": effects}


def _forward_target(name, nodes):
    if name.startswith("net_") and name[4:] in nodes:
        return name[4:], "net", False
    if name in nodes:
        return name, "value", False
    if name.startswith("E_"):
        return "E", "local", False
    return None


_DERIVATIVE = re.compile(r"^d(\w+)/d(\w+)$")


def _backward_target(name, nodes, edges):
    """Which node or edge a backward quantity belongs to, and in which field it is shown."""
    match = _DERIVATIVE.match(name)
    if match is None:
        return None
    top, bottom = match.groups()
    if bottom in edges:  # dE/dw5 is the weight's gradient; dnet_o1/dw5 its local derivative
        return bottom, "label", True
    if bottom.startswith("b") and top == "E":
        return None  # a bias gradient: shown in the step text only
    neuron = bottom[4:] if bottom.startswith("net_") else bottom
    if neuron not in nodes:
        return None
    if top == "E":
        return neuron, "grad" if not bottom.startswith("net_") else "delta", False
    return neuron, "local", False


def _effect(target, field, text, edge=False):
    return {"target": target, "field": field, "text": text, "edge": bool(edge)}


def _signed(value):
    text = value_text(value) if not isinstance(value, float) else f"{value:.10g}"
    return f"({text})" if text.startswith("-") else text


def _laid_out(title, nodes, layers, edges, steps):
    """Nodes placed in columns by depth (inputs on the left), rows in order of appearance."""
    columns = {}
    for node_id in nodes:
        columns.setdefault(layers[node_id], []).append(node_id)
    height = max(len(column) for column in columns.values()) * (NODE_HEIGHT + ROW_GAP)
    for depth, column in columns.items():
        offset = (height - len(column) * (NODE_HEIGHT + ROW_GAP)) / 2
        for row, node_id in enumerate(column):
            nodes[node_id]["x"] = 20 + depth * (NODE_WIDTH + COLUMN_GAP)
            nodes[node_id]["y"] = 20 + offset + row * (NODE_HEIGHT + ROW_GAP)
    width = 40 + (max(columns) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    return {"title": title, "width": width, "height": height + 20, "nodeWidth": NODE_WIDTH,
            "nodeHeight": NODE_HEIGHT, "nodes": list(nodes.values()), "edges": list(edges.values()),
            "steps": steps}


def explorer_page(graphs, title="glassgrad: step through the computation"):
    """The whole page: a section per graph, with its controls, drawing and step list."""
    data = json.dumps(graphs, ensure_ascii=False).replace("</", "<\\/")
    return _PAGE.replace("{{TITLE}}", html.escape(title)).replace("{{DATA}}", data) \
        .replace("{{STYLE}}", _STYLE).replace("{{SCRIPT}}", _SCRIPT)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{{TITLE}}</title><style>{{STYLE}}</style></head>
<body><h1>{{TITLE}}</h1>
<p class="help">Step with the buttons or the arrow keys (← →). Forward steps fill in each node's
value; backward steps fill in local derivatives (on the edges) and gradients.</p>
<div id="graphs"></div>
<script id="graph-data" type="application/json">{{DATA}}</script>
<script>{{SCRIPT}}</script>
</body></html>
"""

_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
section { margin-bottom: 40px; }
.controls button { font-size: 15px; margin-right: 6px; padding: 4px 12px; }
.status { margin-left: 12px; color: #555; }
.current { font-family: ui-monospace, monospace; background: #f4f4f8; padding: 8px 12px;
  margin: 10px 0; border-left: 4px solid #888; min-height: 1.4em; }
.current.forward { border-color: #2a7ab9; } .current.backward { border-color: #c0392b; }
.current.update { border-color: #27ae60; }
svg { border: 1px solid #ddd; background: #fff; max-width: 100%; height: auto; }
.node rect { fill: #fafafa; stroke: #999; stroke-width: 1.5; rx: 8; }
.node.active rect { stroke: #e67e22; stroke-width: 3; }
.node .label { font-weight: bold; font-size: 14px; }
.node .sub { font-size: 11px; fill: #666; }
.node .value { fill: #2a7ab9; font-size: 12px; } .node .local { fill: #8e44ad; font-size: 12px; }
.node .grad { fill: #c0392b; font-size: 12px; font-weight: bold; }
.edge line { stroke: #aaa; stroke-width: 1.5; } .edge.active line { stroke: #e67e22; stroke-width: 3; }
.edge text { font-size: 11px; fill: #8e44ad; }
ol.steps { font-family: ui-monospace, monospace; font-size: 12px; max-height: 260px; overflow: auto; }
ol.steps li.done { color: #222; } ol.steps li { color: #aaa; } ol.steps li.now { background: #fff3e0; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const graphs = JSON.parse(document.getElementById("graph-data").textContent);
  function el(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function short(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  graphs.forEach(function (graph, g) {
    const section = document.createElement("section");
    section.id = "graph-" + g;
    section.innerHTML = "<h2></h2><div class='controls'>" +
      "<button data-act='start'>|◀ start</button><button data-act='back'>◀ back</button>" +
      "<button data-act='step'>step ▶</button><button data-act='end'>end ▶|</button>" +
      "<span class='status'></span></div><div class='current'></div>";
    section.querySelector("h2").textContent = graph.title;
    const svg = el("svg", {viewBox: "0 0 " + graph.width + " " + graph.height,
                           width: graph.width, height: graph.height});
    section.appendChild(svg);
    const list = document.createElement("ol");
    list.className = "steps";
    graph.steps.forEach(function (s) {
      const li = document.createElement("li"); li.textContent = s.text; list.appendChild(li);
    });
    section.appendChild(list);
    document.getElementById("graphs").appendChild(section);
    const byId = {}, fields = {}, edgeParts = {};
    graph.nodes.forEach(function (n) { byId[n.id] = n; });
    const W = graph.nodeWidth, H = graph.nodeHeight;
    graph.edges.forEach(function (e) {
      const a = byId[e.source], b = byId[e.target];
      const group = el("g", {"class": "edge", "data-edge": e.id});
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      group.appendChild(el("line", {x1: x1, y1: y1, x2: x2, y2: y2}));
      // labels sit 60% of the way along, so edges leaving one node don't stack them
      const label = el("text", {x: x1 + 0.6 * (x2 - x1), y: y1 + 0.6 * (y2 - y1) - 4, "text-anchor": "middle"},
                       e.text || "");
      group.appendChild(label);
      svg.appendChild(group);
      edgeParts[e.id] = {group: group, label: label, initial: e.text || ""};
    });
    graph.nodes.forEach(function (n) {
      const group = el("g", {"class": "node", "data-node": n.id,
                             transform: "translate(" + n.x + "," + n.y + ")"});
      group.appendChild(el("rect", {width: W, height: H}));
      group.appendChild(el("text", {x: 8, y: 17, "class": "label"}, n.label));
      group.appendChild(el("text", {x: 8, y: 31, "class": "sub"}, short(n.sub, 30)));
      const slots = {};
      ["value", "local", "grad"].forEach(function (f, k) {
        slots[f] = el("text", {x: 8, y: 48 + 15 * k, "class": f, "data-field": f});
        group.appendChild(slots[f]);
      });
      slots.net = slots.value; slots.delta = slots.grad;
      svg.appendChild(group);
      fields[n.id] = {group: group, slots: slots};
    });
    let position = 0;  // steps shown so far
    function show() {
      for (const id in fields) {
        fields[id].group.classList.remove("active");
        for (const f of ["value", "local", "grad"]) fields[id].slots[f].textContent = "";
      }
      for (const id in edgeParts) {
        edgeParts[id].group.classList.remove("active");
        edgeParts[id].label.textContent = edgeParts[id].initial;
      }
      for (let k = 0; k < position; k++) {
        graph.steps[k].effects.forEach(function (e) {
          if (e.edge) {
            const part = edgeParts[e.target];
            if (!part) return;
            part.label.textContent = short(e.text, 34);
            if (k === position - 1) part.group.classList.add("active");
          } else {
            const node = fields[e.target];
            if (!node) return;
            node.slots[e.field].textContent = short(e.text, 30);
            node.slots[e.field].setAttribute("data-full", e.text);
            if (k === position - 1) node.group.classList.add("active");
          }
        });
      }
      const current = section.querySelector(".current");
      const step = graph.steps[position - 1];
      current.textContent = step ? step.text : "(start: press step)";
      current.className = "current " + (step ? step.phase : "");
      section.querySelector(".status").textContent =
        "step " + position + " of " + graph.steps.length + (step ? " (" + step.phase + ")" : "");
      list.querySelectorAll("li").forEach(function (li, k) {
        li.className = k < position ? (k === position - 1 ? "done now" : "done") : "";
      });
    }
    function act(what) {
      if (what === "start") position = 0;
      if (what === "back") position = Math.max(0, position - 1);
      if (what === "step") position = Math.min(graph.steps.length, position + 1);
      if (what === "end") position = graph.steps.length;
      show();
    }
    section.querySelectorAll("button").forEach(function (b) {
      b.addEventListener("click", function () { act(b.getAttribute("data-act")); });
    });
    section.tabIndex = 0;
    section.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowRight") act("step");
      if (ev.key === "ArrowLeft") act("back");
    });
    show();
  });
})();
"""
