"""The worked solution: one forward and backward pass by hand, in float64, from the formulas.

`solve(spec)` computes every quantity a student would write down (net inputs, activations, error
terms, each chain-rule factor, every gradient, the updates, and the loss after them) with plain
Python arithmetic, records each as a `Quantity` with its formula and the numbers substituted, then
checks every number against glassgrad's autograd before returning (see `verify.py`).

Names (used by `to_dict`, the checker and `WorkedSolution.value`): `net_h1`, `h1`, `E_o1`, `E`,
`dE/do1`, `do1/dnet_o1`, `dE/dnet_o1`, `dE/dh1`, `dnet_o1/dw5`, `dE/dw5`, `new w5`; the forward pass
after the last update prefixes `new ` (`new E`, `new o1`); for `steps > 1`, step s >= 2 prefixes
`step<s> ` (`step2 dE/dw5`).
"""

import math
from dataclasses import dataclass, field

from .notation import (Term, derivative, net_name, number, product, raw, symbol, tex_name,
                       total)

LOSS_FORMULAS = {
    "half_squared_error": "E = sum over outputs of 1/2 (target - o)^2",
    "mse": "E = 1/n sum over outputs of (target - o)^2",
    "cross_entropy": "E = -sum over outputs of target ln(o) (softmax); binary cross-entropy "
                     "-(target ln(o) + (1 - target) ln(1 - o)) per sigmoid output",
}


@dataclass(frozen=True)
class Quantity:
    """One line of the hand calculation: name = formula = numbers substituted = value."""
    name: str
    value: float
    formula: Term
    substituted: Term
    kind: str       # net, activation, error, loss, local_derivative, error_signal, gradient, update
    latex_name: str = ""

    def to_dict(self):
        return {"name": self.name, "value": self.value, "kind": self.kind,
                "formula": self.formula.text, "substituted": self.substituted.text,
                "latex": {"name": self.latex_name, "formula": self.formula.latex,
                          "substituted": self.substituted.latex}}


@dataclass
class ForwardPass:
    """Net inputs, activations, error terms and the loss, in the order they are computed."""
    quantities: list
    nets: dict
    activations: dict
    loss: float


@dataclass
class BackwardPass:
    """Chain-rule factors from the output layer back, and each parameter's gradient."""
    quantities: list
    gradients: dict
    error_signals: dict   # neuron -> dE/dnet_neuron


@dataclass(frozen=True)
class UpdateRow:
    """One row of the updates table: new = old - learning_rate * gradient (when updated)."""
    name: str
    old: float
    gradient: float
    learning_rate: float
    new: float
    updated: bool


@dataclass
class StepWork:
    """One gradient step worked in full, at the parameter values it started from."""
    number: int
    parameters: dict
    forward: ForwardPass
    backward: BackwardPass
    updates: list
    update_quantities: list


@dataclass
class WorkedSolution:
    """The whole hand calculation, checked against autograd; render with .text(), .markdown(),
    .latex(), .html() or .to_dict() (PDF: glassgrad.worked.typeset)."""
    spec: object
    steps: list
    final_forward: ForwardPass
    final_parameters: dict
    checked_rel_tol: float = field(default=None)

    @property
    def forward(self):
        return self.steps[0].forward

    @property
    def backward(self):
        return self.steps[0].backward

    @property
    def updates(self):
        return self.steps[0].updates

    @property
    def loss(self):
        return self.steps[0].forward.loss

    @property
    def new_loss(self):
        return self.final_forward.loss

    def quantities(self):
        """Every quantity in calculation order: the order a student writes them down."""
        ordered = []
        for step in self.steps:
            ordered += step.forward.quantities + step.backward.quantities + step.update_quantities
        return ordered + self.final_forward.quantities

    def values(self):
        return {q.name: q.value for q in self.quantities()}

    def value(self, name):
        return self.values()[name]

    def text(self):
        from .render import render_text
        return render_text(self)

    def markdown(self):
        from .render import render_markdown
        return render_markdown(self)

    def latex(self):
        from .render import render_latex
        return render_latex(self)

    def html(self):
        from .html import render_html
        return render_html(self)

    def to_dict(self):
        from .render import solution_dict
        return solution_dict(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """A notebook shows the Markdown (LaTeX math); the HW3 PDF typesets the Typst form."""
        from .typeset import TYPST_MIME, typst_body
        return {"text/plain": self.text(), "text/markdown": self.markdown(),
                TYPST_MIME: typst_body(self, heading_level=3)}


def solve(spec, check=True, rel_tol=1e-9):
    """Work `spec` by hand; unless `check=False`, verify every number with glassgrad's autograd."""
    parameters = {name: p.value for name, p in spec.parameters.items()}
    steps = []
    for step_number in range(1, spec.steps + 1):
        prefix = "" if step_number == 1 else f"step{step_number} "
        forward = forward_pass(spec, parameters, prefix)
        backward = backward_pass(spec, parameters, forward, prefix)
        rows, update_quantities = update_parameters(spec, parameters, backward.gradients, prefix)
        steps.append(StepWork(step_number, dict(parameters), forward, backward, rows,
                              update_quantities))
        parameters = {row.name: row.new for row in rows}
    solution = WorkedSolution(spec, steps, forward_pass(spec, parameters, "new "), parameters)
    if check:
        from .verify import check_against_autograd
        check_against_autograd(solution, rel_tol=rel_tol)
        solution.checked_rel_tol = rel_tol
    return solution


def _quantity(prefix, name, value, formula, substituted, kind, latex_name=None):
    """A Quantity named with the pass prefix ("new ", "step2 "), LaTeX name from `tex_name`."""
    latex = latex_name if latex_name is not None else tex_name(name)
    latex = (rf"\text{{{prefix.strip()}}}\ " + latex) if prefix else latex
    return Quantity(prefix + name, value, formula, substituted, kind, latex)


# ---- forward pass -------------------------------------------------------------------------

def forward_pass(spec, parameters, prefix=""):
    """Net input then activation for each neuron, layer by layer; then the error terms and E."""
    activations = dict(spec.inputs)
    nets, quantities = {}, []
    for layer in spec.layers:
        net_quantities = {}
        for neuron in layer.neurons:
            net_quantities[neuron] = _net_input(spec, parameters, activations, neuron, prefix)
            nets[neuron] = net_quantities[neuron].value
        if layer.activation == "softmax":
            # softmax needs every net input of the layer before any output
            quantities += net_quantities.values()
            for neuron in layer.neurons:
                quantities.append(_softmax_output(layer, nets, neuron, prefix))
                activations[neuron] = quantities[-1].value
        else:
            for neuron in layer.neurons:
                quantities.append(net_quantities[neuron])
                quantities.append(_elementwise_output(layer.activation, nets[neuron], neuron, prefix))
                activations[neuron] = quantities[-1].value
    error_terms = [_error_term(spec, activations[o], target, o, prefix)
                   for o, target in spec.targets.items()]
    loss = sum(q.value for q in error_terms)
    quantities += error_terms
    quantities.append(_quantity(prefix, "E", loss, total(*(symbol(f"E_{o}") for o in spec.targets)),
                                total(*(number(q.value) for q in error_terms)), "loss"))
    return ForwardPass(quantities, nets, activations, loss)


def _net_input(spec, parameters, activations, neuron, prefix):
    """net = sum of weight * incoming value (+ bias), as written, substituted and summed."""
    formula_terms, number_terms, value = [], [], 0.0
    for weight in spec.incoming_weights(neuron):
        formula_terms.append(product(symbol(weight.name), symbol(weight.source)))
        number_terms.append(product(number(parameters[weight.name]), number(activations[weight.source])))
        value += parameters[weight.name] * activations[weight.source]
    bias = spec.bias_of(neuron)
    if bias is not None:
        formula_terms.append(symbol(bias.name))
        number_terms.append(number(parameters[bias.name]))
        value += parameters[bias.name]
    return _quantity(prefix, net_name(neuron), value, total(*formula_terms), total(*number_terms), "net")


def activate(activation, net):
    """An elementwise activation's value (sigmoid written so that large |net| cannot overflow)."""
    if activation == "sigmoid":
        return 1.0 / (1.0 + math.exp(-net)) if net >= 0 else math.exp(net) / (1.0 + math.exp(net))
    if activation == "tanh":
        return math.tanh(net)
    if activation == "relu":
        return net if net > 0 else 0.0
    return net  # linear


def _activation_formula(activation, inner):
    """The activation applied to `inner` (a Term) as text and LaTeX."""
    if activation == "sigmoid":
        return Term(f"1/(1 + exp(-{inner.text}))", rf"\frac{{1}}{{1 + e^{{-{inner.latex}}}}}")
    if activation == "tanh":
        return Term(f"tanh({inner.text})", rf"\tanh({inner.latex})")
    if activation == "relu":
        return Term(f"max(0, {inner.text})", rf"\max(0, {inner.latex})")
    return inner


def _elementwise_output(activation, net, neuron, prefix):
    formula = _activation_formula(activation, symbol(net_name(neuron)))
    substituted = _activation_formula(activation, number(net))
    return _quantity(prefix, neuron, activate(activation, net), formula, substituted, "activation")


def _softmax_output(layer, nets, neuron, prefix):
    """o_j = exp(net_j) / sum_k exp(net_k); computed shifted by the largest net (same value)."""
    def ratio(term_of):
        top = term_of(neuron)
        bottom = [term_of(n) for n in layer.neurons]
        return Term(f"exp({top.text})/({' + '.join(f'exp({b.text})' for b in bottom)})",
                    rf"\frac{{e^{{{top.latex}}}}}{{{' + '.join(f'e^{{{b.latex}}}' for b in bottom)}}}")
    largest = max(nets[n] for n in layer.neurons)
    denominator = sum(math.exp(nets[n] - largest) for n in layer.neurons)
    value = math.exp(nets[neuron] - largest) / denominator
    return _quantity(prefix, neuron, value, ratio(lambda n: symbol(net_name(n))),
                     ratio(lambda n: number(nets[n])), "activation")


def _binary_cross_entropy(spec):
    return spec.loss == "cross_entropy" and spec.output_layer.activation == "sigmoid"


def _error_term(spec, output, target, neuron, prefix):
    """E_o for one output: the loss's contribution from that neuron."""
    o, t = symbol(neuron), symbol(f"target_{neuron}")
    n = len(spec.targets)
    if spec.loss == "half_squared_error":
        value = 0.5 * (target - output) ** 2
        formula = Term(f"1/2*({t.text} - {o.text})^2", rf"\frac{{1}}{{2}}({t.latex} - {o.latex})^{{2}}")
        substituted = Term(f"1/2*({number(target).text} - {number(output).text})^2",
                           rf"\frac{{1}}{{2}}({number(target).latex} - {number(output).latex})^{{2}}")
    elif spec.loss == "mse":
        value = (target - output) ** 2 / n
        formula = Term(f"({t.text} - {o.text})^2/{n}", rf"\frac{{({t.latex} - {o.latex})^{{2}}}}{{{n}}}")
        substituted = Term(f"({number(target).text} - {number(output).text})^2/{n}",
                           rf"\frac{{({number(target).latex} - {number(output).latex})^{{2}}}}{{{n}}}")
    elif _binary_cross_entropy(spec):
        value = -(target * math.log(output) + (1 - target) * math.log(1 - output))
        formula = Term(f"-({t.text}*ln({o.text}) + (1 - {t.text})*ln(1 - {o.text}))",
                       rf"-({t.latex} \ln {o.latex} + (1 - {t.latex}) \ln(1 - {o.latex}))")
        a, b = number(target), number(output)
        substituted = Term(f"-({a.text}*ln({b.text}) + (1 - {a.text})*ln(1 - {b.text}))",
                           rf"-({a.latex} \ln {b.latex} + (1 - {a.latex}) \ln(1 - {b.latex}))")
    else:
        value = -target * math.log(output)
        formula = Term(f"-{t.text}*ln({o.text})", rf"-{t.latex} \ln {o.latex}")
        substituted = Term(f"-{number(target).text}*ln({number(output).text})",
                           rf"-{number(target).latex} \ln {number(output).latex}")
    return _quantity(prefix, f"E_{neuron}", value, formula, substituted, "error")


# ---- backward pass ------------------------------------------------------------------------

def backward_pass(spec, parameters, forward, prefix=""):
    """From the loss back to every parameter, output layer first, all at the original values."""
    quantities, gradients, signals = [], {}, {}
    for layer in reversed(spec.layers):
        is_output = layer is spec.output_layer
        if is_output:
            upstream = {o: _loss_derivative(spec, forward.activations[o], spec.targets[o], o, prefix)
                        for o in layer.neurons}
        else:
            following = spec.layers[layer.index]
            upstream = {n: _hidden_upstream(spec, parameters, signals, following, n, prefix)
                        for n in layer.neurons}
        if layer.activation == "softmax":
            quantities += upstream.values()
            for neuron in layer.neurons:
                local, signal = _softmax_signal(layer, forward.activations, upstream, neuron, prefix)
                quantities += local + [signal]
                signals[neuron] = signal.value
        else:
            factors = {}
            for neuron in layer.neurons:
                local = _activation_derivative(layer.activation, forward, neuron, prefix)
                signal = _quantity(prefix, f"dE/d{net_name(neuron)}", upstream[neuron].value * local.value,
                                   product(derivative("E", neuron), derivative(neuron, net_name(neuron))),
                                   product(number(upstream[neuron].value), number(local.value)),
                                   "error_signal", derivative("E", net_name(neuron)).latex)
                quantities += [upstream[neuron], local, signal]
                signals[neuron] = signal.value
                factors[neuron] = (upstream[neuron].value, local.value)
        for parameter in (p for p in spec.parameters.values() if p.layer == layer.index):
            new = _parameter_gradient(parameter, layer, forward, signals,
                                      None if layer.activation == "softmax" else factors, prefix)
            quantities += new
            gradients[parameter.name] = new[-1].value
    return BackwardPass(quantities, gradients, signals)


def _loss_derivative(spec, output, target, neuron, prefix):
    """dE/do for one output neuron, from the loss formula."""
    o, t = symbol(neuron), symbol(f"target_{neuron}")
    a, b = number(target), number(output)
    n = len(spec.targets)
    if spec.loss == "half_squared_error":
        value = -(target - output)
        formula = Term(f"-({t.text} - {o.text})", rf"-({t.latex} - {o.latex})")
        substituted = Term(f"-({a.text} - {b.text})", rf"-({a.latex} - {b.latex})")
    elif spec.loss == "mse":
        value = -2 * (target - output) / n
        formula = Term(f"-2*({t.text} - {o.text})/{n}", rf"-\frac{{2({t.latex} - {o.latex})}}{{{n}}}")
        substituted = Term(f"-2*({a.text} - {b.text})/{n}", rf"-\frac{{2({a.latex} - {b.latex})}}{{{n}}}")
    elif _binary_cross_entropy(spec):
        value = -target / output + (1 - target) / (1 - output)
        formula = Term(f"-{t.text}/{o.text} + (1 - {t.text})/(1 - {o.text})",
                       rf"-\frac{{{t.latex}}}{{{o.latex}}} + \frac{{1 - {t.latex}}}{{1 - {o.latex}}}")
        substituted = Term(f"-{a.text}/{b.text} + (1 - {a.text})/(1 - {b.text})",
                           rf"-\frac{{{a.latex}}}{{{b.latex}}} + \frac{{1 - {a.latex}}}{{1 - {b.latex}}}")
    else:
        value = -target / output
        formula = Term(f"-{t.text}/{o.text}", rf"-\frac{{{t.latex}}}{{{o.latex}}}")
        substituted = Term(f"-{a.text}/{b.text}", rf"-\frac{{{a.latex}}}{{{b.latex}}}")
    return _quantity(prefix, f"dE/d{neuron}", value, formula, substituted, "local_derivative",
                     derivative("E", neuron).latex)


def _hidden_upstream(spec, parameters, signals, following, neuron, prefix):
    """dE/dh = sum over the neurons h feeds of dE/dnet_m * dnet_m/dh, and dnet_m/dh = w(h->m)."""
    feeds = [w for m in following.neurons for w in spec.incoming_weights(m) if w.source == neuron]
    formula = total(*(product(derivative("E", net_name(w.targets[0])), symbol(w.name)) for w in feeds))
    substituted = total(*(product(number(signals[w.targets[0]]), number(parameters[w.name]))
                          for w in feeds))
    value = sum(signals[w.targets[0]] * parameters[w.name] for w in feeds)
    return _quantity(prefix, f"dE/d{neuron}", value, formula, substituted, "error_signal",
                     derivative("E", neuron).latex)


def _activation_derivative(activation, forward, neuron, prefix):
    """d(neuron)/d(net): the elementwise activation's derivative, written with its output."""
    out, net = forward.activations[neuron], forward.nets[neuron]
    o = symbol(neuron)
    if activation == "sigmoid":
        value = out * (1 - out)
        formula = Term(f"{o.text}*(1 - {o.text})", rf"{o.latex}(1 - {o.latex})")
        substituted = Term(f"{number(out).text}*(1 - {number(out).text})",
                           rf"{number(out).latex} \cdot (1 - {number(out).latex})")
    elif activation == "tanh":
        value = 1 - out ** 2
        formula = Term(f"1 - {o.text}^2", rf"1 - {o.latex}^{{2}}")
        substituted = Term(f"1 - {number(out).text}^2", rf"1 - {number(out).latex}^{{2}}")
    elif activation == "relu":
        # PyTorch's convention: relu'(0) = 0
        value = 1.0 if net > 0 else 0.0
        n = symbol(net_name(neuron))
        formula = Term(f"(1 if {n.text} > 0 else 0)", rf"[{n.latex} > 0]")
        substituted = Term(f"(1 if {number(net).text} > 0 else 0)", rf"[{number(net).latex} > 0]")
    else:
        value, formula, substituted = 1.0, raw("1"), raw("1")
    return _quantity(prefix, f"d{neuron}/d{net_name(neuron)}", value, formula, substituted,
                     "local_derivative", derivative(neuron, net_name(neuron)).latex)


def _softmax_signal(layer, activations, upstream, neuron, prefix):
    """dE/dnet_j = sum_k dE/do_k * do_k/dnet_j, with do_k/dnet_j = o_k (1[k=j] - o_j)."""
    local = []
    for k in layer.neurons:
        ok, oj = activations[k], activations[neuron]
        if k == neuron:
            value = ok * (1 - ok)
            formula = Term(f"{k}*(1 - {k})", rf"{symbol(k).latex}(1 - {symbol(k).latex})")
            substituted = Term(f"{number(ok).text}*(1 - {number(ok).text})",
                               rf"{number(ok).latex} \cdot (1 - {number(ok).latex})")
        else:
            value = -ok * oj
            formula = Term(f"-{k}*{neuron}", rf"-{symbol(k).latex} {symbol(neuron).latex}")
            substituted = Term(f"-{number(ok).text}*{number(oj).text}",
                               rf"-{number(ok).latex} \cdot {number(oj).latex}")
        local.append(_quantity(prefix, f"d{k}/d{net_name(neuron)}", value, formula, substituted,
                               "local_derivative", derivative(k, net_name(neuron)).latex))
    formula = total(*(product(derivative("E", k), derivative(k, net_name(neuron))) for k in layer.neurons))
    substituted = total(*(product(number(upstream[k].value), number(q.value))
                          for k, q in zip(layer.neurons, local)))
    value = sum(upstream[k].value * q.value for k, q in zip(layer.neurons, local))
    signal = _quantity(prefix, f"dE/d{net_name(neuron)}", value, formula, substituted, "error_signal",
                       derivative("E", net_name(neuron)).latex)
    return local, signal


def _parameter_gradient(parameter, layer, forward, signals, factors, prefix):
    """dnet/dparameter, then dE/dparameter by the chain rule (summed over a shared bias's neurons)."""
    quantities, formula_terms, number_terms, value = [], [], [], 0.0
    for neuron in parameter.targets:
        net = net_name(neuron)
        if parameter.kind == "weight":
            local_value = forward.activations[parameter.source]
            local = _quantity(prefix, f"d{net}/d{parameter.name}", local_value, symbol(parameter.source),
                              number(local_value), "local_derivative",
                              derivative(net, parameter.name).latex)
        else:
            local = _quantity(prefix, f"d{net}/d{parameter.name}", 1.0, raw("1"), raw("1"),
                              "local_derivative", derivative(net, parameter.name).latex)
        quantities.append(local)
        if factors is not None and len(parameter.targets) == 1:
            # the textbook's three factors: dE/do * do/dnet * dnet/dw
            upstream, slope = factors[neuron]
            formula_terms.append(product(derivative("E", neuron), derivative(neuron, net),
                                         derivative(net, parameter.name)))
            number_terms.append(product(number(upstream), number(slope), number(local.value)))
            value += upstream * slope * local.value
        else:
            formula_terms.append(product(derivative("E", net), derivative(net, parameter.name)))
            number_terms.append(product(number(signals[neuron]), number(local.value)))
            value += signals[neuron] * local.value
    quantities.append(_quantity(prefix, f"dE/d{parameter.name}", value, total(*formula_terms),
                                total(*number_terms), "gradient",
                                derivative("E", parameter.name).latex))
    return quantities


# ---- updates ------------------------------------------------------------------------------

def update_parameters(spec, parameters, gradients, prefix=""):
    """Gradient descent on the updated parameters, all from gradients at the original values."""
    rows, quantities = [], []
    eta = spec.learning_rate
    for name, parameter in spec.parameters.items():
        old, gradient = parameters[name], gradients[name]
        new = old - eta * gradient if parameter.updated else old
        rows.append(UpdateRow(name, old, gradient, eta, new, parameter.updated))
        p = symbol(name)
        if parameter.updated:
            formula = Term(f"{name} - eta*dE/d{name}",
                           rf"{p.latex} - \eta \cdot {derivative('E', name).latex}")
            substituted = Term(f"{number(old).text} - {number(eta).text}*{number(gradient).text}",
                               rf"{number(old).latex} - {number(eta).latex} \cdot {number(gradient).latex}")
        else:
            formula = Term(f"{name} (not updated)", rf"{p.latex}\ \text{{(not updated)}}")
            substituted = number(old)
        quantities.append(_quantity(prefix, f"new {name}", new, formula, substituted, "update",
                                    rf"{p.latex}^{{\mathrm{{new}}}}"))
    return rows, quantities
