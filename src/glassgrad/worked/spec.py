"""The network spec: a small fully connected network, its numbers and its loss, read from TOML.

`load_spec(path)` / `parse_spec(text)` turn a TOML file into a validated `NetworkSpec`; every
problem raises `SpecError` with a one-line message naming the field and, when it can be found,
the line of the file. The format (all numbers may be TOML integers or floats)::

    title = "Mazur's example"          # optional
    loss = "half_squared_error"        # half_squared_error: E = sum 1/2 (target - o)^2
                                       # mse: E = 1/n sum (target - o)^2
                                       # cross_entropy: E = -sum target * ln(o)
                                       #   (output activation softmax or sigmoid)
    learning_rate = 0.5
    steps = 1                          # optional, default 1: gradient steps worked in full
    update = "weights"                 # optional: "all" (default), "weights", "biases", "none",
                                       #   or a list of parameter names, e.g. ["w5", "b_o1"]

    [inputs]                           # the input neurons, in order, with their values
    i1 = 0.05
    i2 = 0.10

    [targets]                          # the output neurons, in order, with their targets
    o1 = 0.01
    o2 = 0.99

    [[layers]]                         # one table per layer after the inputs, in order
    neurons = ["h1", "h2"]             # or size = 2: names h1, h2 ... for a single hidden layer,
                                       #   h<k>_1 ... for hidden layer k of several; the last
                                       #   layer's neurons are the targets' names
    activation = "sigmoid"             # sigmoid | tanh | relu | linear | softmax (last layer only)
    bias = 0.35                        # optional: one bias shared by the layer, named b<k>
    # biases = [0.35, 0.35]            #   or one per neuron, named b_<neuron>
    weights = [[0.15, 0.20], [0.25, 0.30]]
                                       # optional matrix: a row per neuron of this layer, a column
                                       #   per neuron of the previous layer (PyTorch's Linear
                                       #   layout); named w<n> row by row, numbered after the
                                       #   weights of all earlier layers (Mazur's w1..w8 order)

    [[layers]]
    neurons = ["o1", "o2"]
    activation = "sigmoid"

    [weights]                          # weights by name, for layers without a matrix: every
    w5 = { from = "h1", to = "o1", value = 0.40 }   # connection of the layer exactly once
    # ...

    [biases]                           # biases by name, for layers without bias / biases
    b_o1 = 0.60                        # per neuron, the name says which: b_<neuron>
    # bo = { to = "o1", value = 0.60 } # per neuron, explicit
    # b2 = { layer = 2, value = 0.60 } # shared by every neuron of layer 2 (1 = first after inputs)

Layers without any bias have none. `overrides` (the command line's `--set name=value`) replace
values after the file is read: a parameter (`w1`), an input (`i1`), a target (`targets.o1`),
`learning_rate`, `steps` or `loss`; values may be numbers or strings that parse as numbers.
"""

import math
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softmax")
LOSSES = ("half_squared_error", "mse", "cross_entropy")
TOP_LEVEL_FIELDS = ("title", "loss", "learning_rate", "steps", "update", "inputs", "targets",
                    "layers", "weights", "biases")
LAYER_FIELDS = ("neurons", "size", "activation", "bias", "biases", "weights")
UPDATE_KEYWORDS = ("all", "weights", "biases", "none")


class SpecError(ValueError):
    """A network spec that cannot be used; the message is one line naming the field."""


@dataclass(frozen=True)
class Layer:
    """One layer after the inputs: its index (1 = first), neuron names and activation."""
    index: int
    neurons: tuple
    activation: str


@dataclass(frozen=True)
class Parameter:
    """A weight or bias: where it sits in the network, its value, and whether it is trained."""
    name: str
    kind: str        # "weight" or "bias"
    value: float
    layer: int       # index of the layer whose net inputs it enters
    source: str      # the neuron a weight comes from; "" for a bias
    targets: tuple   # the neurons whose net input it enters (several for a shared bias)
    updated: bool = True


@dataclass(frozen=True)
class NetworkSpec:
    """A validated network: inputs, layers, parameters (in calculation order), loss, training."""
    inputs: dict
    targets: dict
    layers: tuple
    parameters: dict
    loss: str
    learning_rate: float
    steps: int = 1
    title: str = ""
    source_name: str = "<spec>"

    def previous_neurons(self, layer_index):
        """The neurons feeding layer `layer_index` (the inputs for layer 1)."""
        if layer_index == 1:
            return tuple(self.inputs)
        return self.layers[layer_index - 2].neurons

    def incoming_weights(self, neuron):
        """The weights into `neuron`, in the order of the neurons they come from."""
        return [p for p in self.parameters.values() if p.kind == "weight" and p.targets == (neuron,)]

    def bias_of(self, neuron):
        """The bias entering `neuron`'s net input, or None."""
        for p in self.parameters.values():
            if p.kind == "bias" and neuron in p.targets:
                return p
        return None

    @property
    def output_layer(self):
        return self.layers[-1]


def load_spec(path, overrides=None):
    """Read and validate the TOML network spec at `path` (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec: {error.strerror}") from None
    return parse_spec(text, str(path), overrides)


def parse_spec(text, source_name="<spec>", overrides=None):
    """Validate TOML `text` as a network spec; `overrides` maps names to replacement values."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{source_name}: not valid TOML: {error}") from None
    spec = _Reader(document, source_name, text).spec()
    return apply_overrides(spec, overrides) if overrides else spec


def apply_overrides(spec, overrides):
    """A copy of `spec` with values replaced by name (the `--set name=value` of the command line)."""
    parameters, inputs, targets = dict(spec.parameters), dict(spec.inputs), dict(spec.targets)
    changes = {}
    for name, raw in overrides.items():
        where = f"{spec.source_name}: override {name!r}"
        if name in parameters:
            parameters[name] = replace(parameters[name], value=_number(raw, where))
        elif name in inputs:
            inputs[name] = _number(raw, where)
        elif name.startswith("targets.") and name[len("targets."):] in targets:
            targets[name[len("targets."):]] = _number(raw, where)
        elif name == "learning_rate":
            changes["learning_rate"] = _number(raw, where)
        elif name == "steps":
            changes["steps"] = _positive_int(_number(raw, where), where)
        elif name == "loss":
            changes["loss"] = _choice(raw, LOSSES, where)
        else:
            raise SpecError(f"{where}: unknown name (expected a parameter, an input, "
                            f"targets.<output>, learning_rate, steps or loss)")
    spec = replace(spec, parameters=parameters, inputs=inputs, targets=targets, **changes)
    _check_loss_fits(spec.loss, spec.output_layer.activation, f"{spec.source_name}: loss")
    return spec


def _number(value, where):
    """A finite float from a TOML number or a numeric string; booleans are not numbers."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpecError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise SpecError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _positive_int(value, where):
    if value != int(value) or value < 1:
        raise SpecError(f"{where}: expected a whole number of at least 1, got {value:g}")
    return int(value)


def _choice(value, choices, where):
    if value not in choices:
        raise SpecError(f"{where}: unknown value {value!r} (expected one of {', '.join(choices)})")
    return value


def _check_loss_fits(loss, output_activation, where):
    # -target * ln(o) needs outputs in (0, 1): only softmax and sigmoid guarantee that
    if loss == "cross_entropy" and output_activation not in ("softmax", "sigmoid"):
        raise SpecError(f"{where}: cross_entropy needs a softmax or sigmoid output layer, "
                        f"not {output_activation}")


def _line_index(text):
    """Map (table, key) to the line where `key = ...` is first written under that table header.

    Tables are "" (top level), "inputs", "layers#2" (the second [[layers]]) and so on; TOML
    parsing keeps no positions, so a line scan finds them for error messages.
    """
    lines, table, layer_count = {}, "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?", stripped)
        if header:
            table = header.group(1)
            if stripped.startswith("[[") and table == "layers":
                layer_count += 1
                table = f"layers#{layer_count}"
                lines.setdefault((table, ""), number)
            lines.setdefault((table, ""), number)
            continue
        key = re.match(r"^([A-Za-z0-9_-]+|\"[^\"]*\")\s*=", stripped)
        if key:
            lines.setdefault((table, key.group(1).strip('"')), number)
    return lines


class _Reader:
    """Turns a parsed TOML document into a NetworkSpec, one checked field at a time."""

    def __init__(self, document, source_name, text):
        self.document = document
        self.source_name = source_name
        self.lines = _line_index(text)

    def where(self, field_name, table="", key=None):
        """'file:line: field' for messages; the line is left out when it cannot be found."""
        line = self.lines.get((table, field_name if key is None else key))
        if line is None:
            line = self.lines.get((table, ""))
        return f"{self.source_name}:{line}: {field_name}" if line else f"{self.source_name}: {field_name}"

    def fail(self, message, field_name, table="", key=None):
        raise SpecError(f"{self.where(field_name, table, key)}: {message}")

    def require(self, name):
        if name not in self.document:
            raise SpecError(f"{self.source_name}: {name}: missing field")
        return self.document[name]

    def spec(self):
        for name in self.document:
            if name not in TOP_LEVEL_FIELDS:
                self.fail(f"unknown field (expected one of {', '.join(TOP_LEVEL_FIELDS)})", name)
        inputs = self.named_numbers("inputs")
        targets = self.named_numbers("targets")
        layers = self.read_layers(inputs, targets)
        loss = self.require("loss")
        if loss not in LOSSES:
            self.fail(f"unknown loss {loss!r} (expected one of {', '.join(LOSSES)})", "loss")
        _check_loss_fits(loss, layers[-1].activation, self.where("loss"))
        learning_rate = _number(self.require("learning_rate"), self.where("learning_rate"))
        steps = _positive_int(_number(self.document.get("steps", 1), self.where("steps")),
                              self.where("steps"))
        title = self.document.get("title", "")
        if not isinstance(title, str):
            self.fail("expected a string", "title")
        parameters = self.read_parameters(inputs, layers)
        parameters = self.mark_updated(parameters)
        self.check_unique_names(inputs, layers, parameters)
        return NetworkSpec(inputs=inputs, targets=targets, layers=tuple(layers),
                           parameters=parameters, loss=loss, learning_rate=learning_rate,
                           steps=steps, title=title, source_name=self.source_name)

    def named_numbers(self, table):
        values = self.require(table)
        if not isinstance(values, dict) or not values:
            self.fail("expected a table of names and numbers, e.g. x1 = 0.05", table)
        return {name: _number(value, self.where(f"{table}.{name}", table, name))
                for name, value in values.items()}

    def read_layers(self, inputs, targets):
        raw_layers = self.require("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            self.fail("expected one or more [[layers]] tables", "layers")
        hidden_count = len(raw_layers) - 1
        layers = []
        for index, raw in enumerate(raw_layers, start=1):
            is_output = index == len(raw_layers)
            table = f"layers#{index}"
            label = f"layers[{index}]"
            for key in raw:
                if key not in LAYER_FIELDS:
                    self.fail(f"unknown field (expected one of {', '.join(LAYER_FIELDS)})",
                              f"{label}.{key}", table, key)
            neurons = self.layer_neurons(raw, index, is_output, hidden_count, targets, table, label)
            if "activation" not in raw:
                self.fail("missing field", f"{label}.activation", table, "")
            activation = raw["activation"]
            if activation not in ACTIVATIONS:
                self.fail(f"unknown activation {activation!r} (expected one of "
                          f"{', '.join(ACTIVATIONS)})", f"{label}.activation", table, "activation")
            if activation == "softmax" and not is_output:
                self.fail("softmax is only allowed on the output layer",
                          f"{label}.activation", table, "activation")
            layers.append(Layer(index, neurons, activation))
        return layers

    def layer_neurons(self, raw, index, is_output, hidden_count, targets, table, label):
        if "neurons" in raw:
            neurons = raw["neurons"]
            if not isinstance(neurons, list) or not neurons or not all(
                    isinstance(n, str) and n for n in neurons):
                self.fail("expected a list of neuron names", f"{label}.neurons", table, "neurons")
            neurons = tuple(neurons)
        elif "size" in raw:
            size = _positive_int(_number(raw["size"], self.where(f"{label}.size", table, "size")),
                                 self.where(f"{label}.size", table, "size"))
            if is_output:
                neurons = tuple(targets)[:size] if size == len(targets) else (None,) * size
            elif hidden_count == 1:
                neurons = tuple(f"h{j}" for j in range(1, size + 1))
            else:
                neurons = tuple(f"h{index}_{j}" for j in range(1, size + 1))
        else:
            self.fail("missing field (give neurons = [...] or size = n)", f"{label}.neurons",
                      table, "")
        if is_output and neurons != tuple(targets):
            self.fail(f"the output layer's neurons must be the targets {list(targets)}, "
                      f"got {list(n for n in neurons if n) or len(neurons)}",
                      f"{label}.neurons", table, "neurons" if "neurons" in raw else "size")
        if len(set(neurons)) != len(neurons):
            self.fail("neuron names repeat", f"{label}.neurons", table, "neurons")
        return neurons

    def read_parameters(self, inputs, layers):
        named_weights = self.table_of("weights")
        named_biases = self.table_of("biases")
        neuron_layer = {n: layer.index for layer in layers for n in layer.neurons}
        weights_by_layer = self.place_named_weights(named_weights, inputs, layers, neuron_layer)
        biases = self.place_named_biases(named_biases, layers, neuron_layer)
        parameters, weight_count = {}, 0
        for layer in layers:
            raw = self.document["layers"][layer.index - 1]
            previous = tuple(inputs) if layer.index == 1 else layers[layer.index - 2].neurons
            if "weights" in raw:
                if weights_by_layer.get(layer.index):
                    name = weights_by_layer[layer.index][0].name
                    self.fail(f"layer {layer.index} already has a weight matrix", f"weights.{name}",
                              "weights", name)
                layer_weights = self.matrix_weights(raw["weights"], layer, previous, weight_count)
            else:
                layer_weights = self.complete_named_weights(
                    weights_by_layer.get(layer.index, []), layer, previous)
            weight_count += len(layer_weights)
            layer_biases = self.layer_biases(raw, layer, biases.get(layer.index, []))
            for parameter in layer_weights + layer_biases:
                if parameter.name in parameters:
                    self.fail("this name is used twice", parameter.name)
                parameters[parameter.name] = parameter
        return parameters

    def table_of(self, name):
        table = self.document.get(name, {})
        if not isinstance(table, dict):
            self.fail("expected a table", name)
        return table

    def place_named_weights(self, named, inputs, layers, neuron_layer):
        by_layer = {}
        for name, entry in named.items():
            label = f"weights.{name}"
            if not isinstance(entry, dict):
                self.fail('expected { from = "...", to = "...", value = ... }', label, "weights", name)
            for key in entry:
                if key not in ("from", "to", "value"):
                    self.fail(f"unknown field {key!r} (expected from, to, value)", label, "weights", name)
            for key in ("from", "to", "value"):
                if key not in entry:
                    self.fail(f"missing field {key!r}", label, "weights", name)
            target, source = entry["to"], entry["from"]
            if target not in neuron_layer:
                self.fail(f"'to' names no neuron of a layer: {target!r}", label, "weights", name)
            layer_index = neuron_layer[target]
            previous = tuple(inputs) if layer_index == 1 else layers[layer_index - 2].neurons
            if source not in previous:
                self.fail(f"'from' must be a neuron of the layer before {target} "
                          f"({', '.join(previous)}), got {source!r}", label, "weights", name)
            value = _number(entry["value"], self.where(label, "weights", name))
            by_layer.setdefault(layer_index, []).append(
                Parameter(name, "weight", value, layer_index, source, (target,)))
        return by_layer

    def complete_named_weights(self, weights, layer, previous):
        """Every connection into the layer exactly once, ordered (neuron, previous neuron)."""
        by_connection = {}
        for weight in weights:
            connection = (weight.source, weight.targets[0])
            if connection in by_connection:
                self.fail(f"connection {connection[0]}->{connection[1]} already has weight "
                          f"{by_connection[connection].name}", f"weights.{weight.name}", "weights",
                          weight.name)
            by_connection[connection] = weight
        missing = [f"{s}->{t}" for t in layer.neurons for s in previous if (s, t) not in by_connection]
        if missing:
            self.fail(f"layer {layer.index} ({', '.join(layer.neurons)}) needs "
                      f"{len(layer.neurons) * len(previous)} weights from ({', '.join(previous)}), "
                      f"got {len(weights)}; missing {', '.join(missing)}", "weights", "weights", "")
        return [by_connection[(s, t)] for t in layer.neurons for s in previous]

    def matrix_weights(self, matrix, layer, previous, weights_before):
        label, table = f"layers[{layer.index}].weights", f"layers#{layer.index}"
        shape_ok = (isinstance(matrix, list) and len(matrix) == len(layer.neurons)
                    and all(isinstance(row, list) and len(row) == len(previous) for row in matrix))
        if not shape_ok:
            got = ([len(row) if isinstance(row, list) else "?" for row in matrix]
                   if isinstance(matrix, list) else repr(matrix))
            self.fail(f"expected {len(layer.neurons)} rows of {len(previous)} weights "
                      f"({len(layer.neurons)} neurons x {len(previous)} inputs), got row lengths {got}",
                      label, table, "weights")
        weights, number = [], weights_before
        for row, target in zip(matrix, layer.neurons):
            for value, source in zip(row, previous):
                number += 1
                value = _number(value, self.where(f"{label}[{target}][{source}]", table, "weights"))
                weights.append(Parameter(f"w{number}", "weight", value, layer.index, source, (target,)))
        return weights

    def place_named_biases(self, named, layers, neuron_layer):
        by_layer = {}
        for name, entry in named.items():
            label = f"biases.{name}"
            if isinstance(entry, dict):
                for key in entry:
                    if key not in ("to", "layer", "value"):
                        self.fail(f"unknown field {key!r} (expected to or layer, and value)",
                                  label, "biases", name)
                if "value" not in entry or ("to" in entry) == ("layer" in entry):
                    self.fail("expected { to = \"<neuron>\", value = ... } or "
                              "{ layer = <k>, value = ... }", label, "biases", name)
                value = _number(entry["value"], self.where(label, "biases", name))
                if "layer" in entry:
                    index = entry["layer"]
                    if isinstance(index, bool) or index not in range(1, len(layers) + 1):
                        self.fail(f"layer must be 1..{len(layers)}, got {index!r}", label, "biases", name)
                    targets = layers[index - 1].neurons
                else:
                    targets = (entry["to"],)
            else:
                targets = (name[2:],) if name.startswith("b_") else ()
                value = _number(entry, self.where(label, "biases", name))
            if not targets or targets[0] not in neuron_layer:
                self.fail("names no neuron (write b_<neuron> = value, or give to = or layer =)",
                          label, "biases", name)
            index = neuron_layer[targets[0]]
            by_layer.setdefault(index, []).append(Parameter(name, "bias", value, index, "", targets))
        return by_layer

    def layer_biases(self, raw, layer, named):
        label, table = f"layers[{layer.index}]", f"layers#{layer.index}"
        if "bias" in raw and "biases" in raw:
            self.fail("give bias (shared) or biases (one per neuron), not both", f"{label}.bias",
                      table, "bias")
        if named and ("bias" in raw or "biases" in raw):
            self.fail(f"layer {layer.index} also has biases in [biases]", f"biases.{named[0].name}",
                      "biases", named[0].name)
        if "bias" in raw:
            value = _number(raw["bias"], self.where(f"{label}.bias", table, "bias"))
            return [Parameter(f"b{layer.index}", "bias", value, layer.index, "", layer.neurons)]
        if "biases" in raw:
            values = raw["biases"]
            if not isinstance(values, list) or len(values) != len(layer.neurons):
                self.fail(f"expected {len(layer.neurons)} biases, one per neuron", f"{label}.biases",
                          table, "biases")
            return [Parameter(f"b_{n}", "bias", _number(v, self.where(f"{label}.biases", table, "biases")),
                              layer.index, "", (n,)) for n, v in zip(layer.neurons, values)]
        covered = [n for bias in named for n in bias.targets]
        repeated = sorted({n for n in covered if covered.count(n) > 1})
        if repeated:
            self.fail(f"neuron {repeated[0]} has more than one bias", "biases", "biases", "")
        order = {n: i for i, n in enumerate(layer.neurons)}
        return sorted(named, key=lambda bias: order[bias.targets[0]])

    def mark_updated(self, parameters):
        update = self.document.get("update", "all")
        if isinstance(update, str):
            if update not in UPDATE_KEYWORDS:
                self.fail(f"unknown value {update!r} (expected {', '.join(UPDATE_KEYWORDS)} "
                          f"or a list of parameter names)", "update")
            chosen = {name for name, p in parameters.items()
                      if update == "all" or p.kind + "s" == update}
        elif isinstance(update, list):
            unknown = [name for name in update if name not in parameters]
            if unknown:
                self.fail(f"no parameter named {unknown[0]!r}", "update")
            chosen = set(update)
        else:
            self.fail("expected a string or a list of parameter names", "update")
        return {name: replace(p, updated=name in chosen) for name, p in parameters.items()}

    def check_unique_names(self, inputs, layers, parameters):
        seen = set()
        for name in [*inputs, *(n for layer in layers for n in layer.neurons), *parameters]:
            if name in seen:
                self.fail("the same name is used for two things (inputs, neurons and parameters "
                          "need distinct names)", name)
            seen.add(name)
