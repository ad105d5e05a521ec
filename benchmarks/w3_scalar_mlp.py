"""W3: micrograd's MLP(3, [16, 16, 1]) on 50 samples, built from scalars, 20 steps of SGD.

The graph is micrograd's own: every weight is one scalar, a neuron is
``sum((w_i * x_i for ...), b)`` then ReLU (the last layer is linear), the loss is the sum over
the samples of ``(out - target) ** 2``, and each step sets the gradients to zero, runs backward
and does ``p -= lr * p.grad`` (lr 0.002) for all 353 parameters. That is about 34,000 scalar
ops forward per step. glassgrad and PyTorch build the same graph from 0-d float64 tensors (the
inputs stay Python floats, as in micrograd). Per-op bookkeeping is all that is measured here.
"""

import numpy as np

from .harness import Peer, Target, Workload

SIZES = (3, 16, 16, 1)
N_SAMPLES = 50
LEARNING_RATE = 0.002


def _data():
    """Inputs, targets (+-1) and the starting weights, layer by layer: [(W, b), ...] with W[o, i]."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(N_SAMPLES, SIZES[0]))
    y = np.where(rng.uniform(size=N_SAMPLES) > 0.5, 1.0, -1.0)
    layers = [(rng.uniform(-1, 1, size=(n_out, n_in)), np.zeros(n_out))
              for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    return [list(map(float, row)) for row in x], list(map(float, y)), layers


def _forward(layers, x, relu):
    """micrograd's MLP.__call__ for any scalar type: ``layers`` is [[(w list, b), ...], ...]."""
    for k, layer in enumerate(layers):
        last = k == len(layers) - 1
        x = [(lambda act: act if last else relu(act))(sum((wi * xi for wi, xi in zip(w, x)), b))
             for w, b in layer]
    return x[0]


def _loss(layers, xs, ys, relu):
    return sum((_forward(layers, x, relu) - y) ** 2 for x, y in zip(xs, ys))


# --- micrograd ------------------------------------------------------------------------------------

def _prepare_micrograd(steps):
    from micrograd.nn import MLP

    xs, ys, start = _data()
    model = MLP(SIZES[0], list(SIZES[1:]))
    params = model.parameters()  # [w..., b] per neuron, layer by layer: the order _flat uses

    def run():
        for p, value in zip(params, _flat(start)):
            p.data = value
        for _ in range(steps):
            loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= LEARNING_RATE * p.grad
        return sum((model(x) - y) ** 2 for x, y in zip(xs, ys)).data
    return run


def _flat(layers):
    for w, b in layers:
        for row, bias in zip(w, b):
            yield from map(float, row)
            yield float(bias)


# --- glassgrad and PyTorch: the same graph of 0-d tensors -----------------------------------------

_BUILT = {}  # (module, compiled) -> (params, values, layers, step): a compiled step is traced once


def _model(torch, compiled):
    key = (torch.__name__, compiled)
    if key in _BUILT:
        return _BUILT[key]
    xs, ys, start = _data()
    values = list(_flat(start))
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    layers, k = [], 0
    for w, b in start:
        layer = []
        for row in w:
            layer.append((params[k:k + len(row)], params[k + len(row)]))
            k += len(row) + 1
        layers.append(layer)

    def step():
        loss = _loss(layers, xs, ys, lambda a: a.relu())
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
        return loss

    if compiled:
        from glassgrad.compiler import compile
        step = compile(step)
        step()  # trace and compile once, before any timing (as jax.jit is)
        if step.eager_reason is not None:
            raise RuntimeError(f"the step was not compiled: {step.eager_reason}")
    _BUILT[key] = params, values, layers, step
    return _BUILT[key]


def _scalar_tensors(torch, steps, compiled=False):
    xs, ys, _ = _data()
    params, values, layers, step = _model(torch, compiled)

    def run():
        with torch.no_grad():
            for p, v in zip(params, values):
                p.fill_(v)
        for _ in range(steps):
            step()
        with torch.no_grad():
            return float(_loss(layers, xs, ys, lambda a: a.relu()).item())
    return run


def _prepare_glassgrad(compiled):
    def prepare(steps):
        import glassgrad
        return _scalar_tensors(glassgrad, steps, compiled)
    return prepare


def _prepare_torch(steps):
    import torch
    return _scalar_tensors(torch, steps)


# --- HIPS autograd on Python floats, and the vectorised NumPy floor ------------------------------

def _prepare_autograd(steps):
    from autograd import grad

    xs, ys, start = _data()
    shapes = [[len(w[0])] * len(w) for w, _ in start]

    def loss_of(flat):
        layers, k = [], 0
        for sizes in shapes:
            layer = []
            for n in sizes:
                layer.append((flat[k:k + n], flat[k + n]))
                k += n + 1
            layers.append(layer)
        return _loss(layers, xs, ys, lambda a: a * (a > 0))

    gradient = grad(lambda flat: loss_of(list(flat)))

    def run():
        flat = list(_flat(start))
        for _ in range(steps):
            g = gradient(tuple(flat))
            flat = [p - LEARNING_RATE * gi for p, gi in zip(flat, g)]
        return float(loss_of(flat))
    return run


def _prepare_numpy(steps):
    """The same network on the 50 x 3 batch as matrices, gradients by hand: not a scalar graph,
    but the floor for what the arithmetic costs."""
    xs, ys, start = _data()
    x, y = np.asarray(xs), np.asarray(ys)

    def run():
        (w1, b1), (w2, b2), (w3, b3) = ((w.copy(), b.copy()) for w, b in start)
        for _ in range(steps):
            z1 = x @ w1.T + b1
            h1 = np.maximum(z1, 0)
            z2 = h1 @ w2.T + b2
            h2 = np.maximum(z2, 0)
            out = (h2 @ w3.T + b3)[:, 0]
            g_out = 2 * (out - y)[:, None]
            g_h2 = (g_out @ w3) * (z2 > 0)
            g_h1 = (g_h2 @ w2) * (z1 > 0)
            w3 -= LEARNING_RATE * (g_out.T @ h2)
            b3 -= LEARNING_RATE * g_out.sum(axis=0)
            w2 -= LEARNING_RATE * (g_h2.T @ h1)
            b2 -= LEARNING_RATE * g_h2.sum(axis=0)
            w1 -= LEARNING_RATE * (g_h1.T @ x)
            b1 -= LEARNING_RATE * g_h1.sum(axis=0)
        h = np.maximum(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2, 0)
        return float((((h @ w3.T + b3)[:, 0] - y) ** 2).sum())
    return run


WORKLOAD = Workload(
    key="W3",
    title="micrograd's MLP(3, [16, 16, 1]) from scalars, 50 samples, SGD lr 0.002",
    measures="STEPS steps of a 34,000-op scalar graph: forward, sum of squared errors, backward, "
             "update of 353 scalar parameters",
    peers=(
        Peer("glassgrad", ("glassgrad", "numpy"), _prepare_glassgrad(False),
             "0-d float64 tensors in micrograd's graph"),
        Peer("glassgrad.compile", ("glassgrad", "numpy"), _prepare_glassgrad(True),
             "the same step compiled before timing (straight-line NumPy on 0-d arrays)"),
        Peer("micrograd", ("micrograd",), _prepare_micrograd, "micrograd's own MLP and Value"),
        Peer("torch", ("torch",), _prepare_torch, "0-d float64 tensors in micrograd's graph"),
        Peer("autograd", ("autograd",), _prepare_autograd, "HIPS autograd on Python floats",
             quick=False),
        Peer("numpy", ("numpy",), _prepare_numpy,
             "floor: the same network as 50 x 16 matrices, hand-written gradients"),
    ),
    size_full=20,
    size_quick=4,
    size_unit="steps",
    repeat_full=3,
    repeat_quick=3,
    warmup_size=1,
    baseline="micrograd",
    targets=(Target("glassgrad >= 3x faster than micrograd", "glassgrad", "speedup_at_least", 3.0),
             Target("glassgrad compiled >= 3x faster than micrograd", "glassgrad.compile",
                    "speedup_at_least", 3.0)),
    check_tolerance=1e-6,
    value_label="final loss",
)
