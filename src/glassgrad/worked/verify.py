"""Check a hand calculation against glassgrad's autograd on the same network, in float64.

The network is rebuilt from tensors the way a PyTorch user would write it (a weight matrix per
layer, `W @ a + b`, the activation, the loss), independently of the per-neuron arithmetic of
`solution.py`; every net input, activation, loss and gradient must agree to `rel_tol`.
"""

import math


class AutogradMismatch(RuntimeError):
    """The hand calculation and autograd disagree: a bug in one of them, never to be ignored."""


def engine_pass(spec, parameters):
    """Forward and backward with glassgrad tensors: (nets, activations, loss, gradients)."""
    import glassgrad as gg  # imported on use: `import glassgrad` never loads this package
    leaves = {name: gg.tensor(value, dtype=gg.float64, requires_grad=True)
              for name, value in parameters.items()}
    zero = gg.tensor(0.0, dtype=gg.float64)
    values = gg.tensor(list(spec.inputs.values()), dtype=gg.float64)
    nets, activations = {}, dict(spec.inputs)
    for layer in spec.layers:
        weights = gg.stack([gg.stack([leaves[w.name] for w in spec.incoming_weights(n)])
                            for n in layer.neurons])
        biases = gg.stack([leaves[spec.bias_of(n).name] if spec.bias_of(n) else zero
                           for n in layer.neurons])
        net = gg.matmul(weights, values) + biases
        values = _activation(gg, layer.activation, net)
        nets.update(zip(layer.neurons, net.tolist()))
        activations.update(zip(layer.neurons, values.tolist()))
    loss = _loss(gg, spec, values)
    loss.backward()
    gradients = {name: (leaf.grad.item() if leaf.grad is not None else 0.0)
                 for name, leaf in leaves.items()}
    return nets, activations, loss.item(), gradients


def _activation(gg, activation, net):
    if activation == "sigmoid":
        return gg.sigmoid(net)
    if activation == "tanh":
        return gg.tanh(net)
    if activation == "relu":
        return gg.relu(net)
    if activation == "softmax":
        exps = gg.exp(net - net.max().detach())  # the shift changes no value or gradient
        return exps / exps.sum()
    return net


def _loss(gg, spec, outputs):
    targets = gg.tensor(list(spec.targets.values()), dtype=gg.float64)
    if spec.loss == "half_squared_error":
        return 0.5 * ((targets - outputs) ** 2).sum()
    if spec.loss == "mse":
        return ((targets - outputs) ** 2).mean()
    if spec.output_layer.activation == "sigmoid":
        return -(targets * gg.log(outputs) + (1 - targets) * gg.log(1 - outputs)).sum()
    return -(targets * gg.log(outputs)).sum()


def _compare(label, hand, engine, rel_tol):
    # an absolute floor so that exact zeros (relu's dead units) compare sensibly
    if not math.isclose(hand, engine, rel_tol=rel_tol, abs_tol=1e-15):
        raise AutogradMismatch(f"{label}: the hand calculation gives {hand!r} but glassgrad "
                               f"autograd gives {engine!r} (relative tolerance {rel_tol:g})")


def _compare_forward(forward, nets, activations, loss, prefix, rel_tol):
    for neuron, value in nets.items():
        _compare(f"{prefix}net_{neuron}", forward.nets[neuron], value, rel_tol)
    for neuron, value in activations.items():
        _compare(f"{prefix}{neuron}", forward.activations[neuron], value, rel_tol)
    _compare(f"{prefix}E", forward.loss, loss, rel_tol)


def check_against_autograd(solution, rel_tol=1e-9):
    """Raise AutogradMismatch unless every forward value and gradient matches autograd."""
    spec = solution.spec
    for step in solution.steps:
        prefix = "" if step.number == 1 else f"step{step.number} "
        nets, activations, loss, gradients = engine_pass(spec, step.parameters)
        _compare_forward(step.forward, nets, activations, loss, prefix, rel_tol)
        for name, value in gradients.items():
            _compare(f"{prefix}dE/d{name}", step.backward.gradients[name], value, rel_tol)
    nets, activations, loss, _ = engine_pass(spec, solution.final_parameters)
    _compare_forward(solution.final_forward, nets, activations, loss, "new ", rel_tol)
