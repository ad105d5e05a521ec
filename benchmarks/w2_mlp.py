"""W2 and W6: an MLP trained by SGD with softmax cross-entropy, at two sizes.

W2 is 784-256-10 on batches of 256: big arrays, where the time goes to matrix products and the
softmax, not to per-op bookkeeping; this is where an engine shows whether it stays close to
NumPy and PyTorch on real array sizes (peak memory is measured per peer in a fresh process).
W6 is 4-16-3 on batches of 16, a teaching-sized classifier (iris's shape): per-op overhead again,
as in W1, but through relu, log-softmax and nll_loss.

Every peer trains the same network from the same weights on the same data: 4 batches of random
inputs with random labels (a fixed seed), visited in turn, plain SGD (lr 0.05; W6 0.01)::

    h = relu(x @ W1 + b1);  logits = h @ W2 + b2;  loss = mean cross-entropy(logits, labels)

``run()`` returns the final loss on the first batch.
"""

import functools
from typing import NamedTuple

import numpy as np

from .harness import Peer, Target, Workload

N_BATCHES = 4


class Net(NamedTuple):
    n_in: int
    n_hidden: int
    n_out: int
    batch: int
    lr: float


W2_NET = Net(784, 256, 10, 256, 0.05)
# lr 0.01: at 0.05, 20,000 float32 steps on random labels drive the loss to 0.016, where correct
# implementations drift 0.1% apart (PyTorch, NumPy and glassgrad did); at 0.01 they agree to 3e-4
W6_NET = Net(4, 16, 3, 16, 0.01)


def _data(net):
    """Float32 batches, int64 labels, one-hot labels, and the starting weights (He / Glorot-like)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_BATCHES, net.batch, net.n_in), dtype=np.float32)
    labels = rng.integers(0, net.n_out, size=(N_BATCHES, net.batch))
    one_hot = np.eye(net.n_out, dtype=np.float32)[labels]
    weights = (
        (rng.standard_normal((net.n_in, net.n_hidden), dtype=np.float32)
         * np.float32(np.sqrt(2 / net.n_in))),
        np.zeros(net.n_hidden, np.float32),
        (rng.standard_normal((net.n_hidden, net.n_out), dtype=np.float32)
         * np.float32(np.sqrt(1 / net.n_hidden))),
        np.zeros(net.n_out, np.float32),
    )
    return x, labels, one_hot, weights


# --- glassgrad and PyTorch: the same code, a student's training loop ----------------------------

def _training_loop(torch, F, net, steps, compiled=False):
    """``run()`` for glassgrad or torch: forward, loss, grads set to None, backward, SGD step."""
    x, labels, one_hot, start = _data(net)
    batches = [torch.tensor(b) for b in x]
    # PyTorch takes class indices; a compiled glassgrad step takes one-hot float targets (its
    # cross_entropy reads integer labels as values, which a compiled program cannot).
    targets = [torch.tensor(t) for t in (one_hot if compiled else labels)]
    params = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    lr = net.lr

    def step(xb, target):
        w1, b1, w2, b2 = params
        logits = F.relu(xb @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(logits, target)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss

    if compiled:
        from glassgrad.compiler import compile
        step = compile(step)

    def run():
        with torch.no_grad():
            for p, w in zip(params, start):
                p.copy_(torch.tensor(w))
        for k in range(steps):
            step(batches[k % N_BATCHES], targets[k % N_BATCHES])
        if compiled and step.eager_reason is not None:
            raise RuntimeError(f"the step was not compiled: {step.eager_reason}")
        with torch.no_grad():
            w1, b1, w2, b2 = params
            return float(F.cross_entropy(F.relu(batches[0] @ w1 + b1) @ w2 + b2, targets[0]).item())
    return run


def _prepare_glassgrad(net, compiled, steps):
    import glassgrad
    import glassgrad.nn.functional as F
    return _training_loop(glassgrad, F, net, steps, compiled)


def _prepare_torch(net, steps):
    import torch
    import torch.nn.functional as F
    return _training_loop(torch, F, net, steps)


# --- NumPy with hand-written gradients -------------------------------------------------------------

def _cross_entropy(logits, one_hot):
    """Mean cross-entropy and its gradient with respect to the logits (stable softmax)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total)[:, 0] - (shifted * one_hot).sum(axis=1)))
    return loss, (exp / total - one_hot) / np.float32(len(logits))


def _prepare_numpy(net, steps):
    x, _, one_hot, start = _data(net)

    def run():
        w1, b1, w2, b2 = (w.copy() for w in start)
        for k in range(steps):
            xb, yb = x[k % N_BATCHES], one_hot[k % N_BATCHES]
            pre = xb @ w1 + b1
            h = np.maximum(pre, 0)
            _, g_logits = _cross_entropy(h @ w2 + b2, yb)
            g_h = (g_logits @ w2.T) * (pre > 0)
            w2 -= net.lr * (h.T @ g_logits)
            b2 -= net.lr * g_logits.sum(axis=0)
            w1 -= net.lr * (xb.T @ g_h)
            b1 -= net.lr * g_h.sum(axis=0)
        return _cross_entropy(np.maximum(x[0] @ w1 + b1, 0) @ w2 + b2, one_hot[0])[0]
    return run


# --- HIPS autograd and JAX ---------------------------------------------------------------------------

def _loss_function(np_module, logsumexp):
    def loss(params, xb, yb):
        w1, b1, w2, b2 = params
        logits = np_module.dot(np_module.maximum(np_module.dot(xb, w1) + b1, 0), w2) + b2
        return np_module.mean(logsumexp(logits) - np_module.sum(logits * yb, axis=1))
    return loss


def _prepare_autograd(net, steps):
    import autograd.numpy as anp
    from autograd import grad
    from autograd.scipy.special import logsumexp

    x, _, one_hot, start = _data(net)
    loss = _loss_function(anp, lambda z: logsumexp(z, axis=1))
    gradient = grad(loss)

    def run():
        params = [w.copy() for w in start]
        for k in range(steps):
            grads = gradient(params, x[k % N_BATCHES], one_hot[k % N_BATCHES])
            params = [p - net.lr * g for p, g in zip(params, grads)]
        return float(loss(params, x[0], one_hot[0]))
    return run


def _prepare_jax_jit(net, steps):
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    x, _, one_hot, start = _data(net)
    loss = _loss_function(jnp, lambda z: logsumexp(z, axis=1))

    @jax.jit
    def step(params, xb, yb):
        grads = jax.grad(loss)(params, xb, yb)
        return [p - net.lr * g for p, g in zip(params, grads)]

    x_j, y_j = jnp.asarray(x), jnp.asarray(one_hot)
    params0 = [jnp.asarray(w) for w in start]
    step(params0, x_j[0], y_j[0])[0].block_until_ready()  # compile outside the timed run

    def run():
        params = params0
        for k in range(steps):
            params = step(params, x_j[k % N_BATCHES], y_j[k % N_BATCHES])
        return float(loss(params, x_j[0], y_j[0]))
    return run


def _peers(net):
    def peer(name, requires, prepare, note, *arguments):
        return Peer(name, requires, functools.partial(prepare, net, *arguments), note)
    return (
        peer("glassgrad", ("glassgrad", "numpy"), _prepare_glassgrad, "a student's loop: "
             "F.cross_entropy on labels, p.grad = None, backward, p -= lr * p.grad", False),
        peer("glassgrad.compile", ("glassgrad", "numpy"), _prepare_glassgrad, "the same step "
             "compiled (one-hot float targets: cross_entropy on labels reads values)", True),
        peer("torch", ("torch",), _prepare_torch, "the same loop in PyTorch (default threads)"),
        peer("numpy", ("numpy",), _prepare_numpy, "hand-written forward and gradients, in place"),
        peer("autograd", ("autograd",), _prepare_autograd, "HIPS autograd, grad of the loss"),
        peer("jax.jit", ("jax",), _prepare_jax_jit, "JAX, grad + SGD step jitted"),
    )


WORKLOAD = Workload(
    key="W2",
    title="MLP 784-256-10, batch 256, softmax cross-entropy, SGD lr 0.05",
    measures="STEPS steps of forward, cross-entropy, backward and SGD update, cycling over 4 "
             "batches of 256; peak memory of one run in a fresh process",
    peers=_peers(W2_NET),
    size_full=200,
    size_quick=50,
    size_unit="steps",
    repeat_full=5,
    repeat_quick=3,
    warmup_size=3,
    targets=(Target("glassgrad within 1.25x of PyTorch's time", "glassgrad", "ratio_at_most", 1.25,
                    other="torch"),
             Target("glassgrad peak memory within 1.5x of PyTorch's", "glassgrad",
                    "memory_ratio_at_most", 1.5, other="torch"),
             Target("glassgrad compiled within 1.25x of PyTorch's time", "glassgrad.compile",
                    "ratio_at_most", 1.25, other="torch"),
             Target("glassgrad compiled peak memory within 1.5x of PyTorch's", "glassgrad.compile",
                    "memory_ratio_at_most", 1.5, other="torch")),
    check_tolerance=1e-3,
    value_label="final loss",
    measure_memory=True,
)


SMALL_WORKLOAD = Workload(
    key="W6",
    title="MLP 4-16-3, batch 16, softmax cross-entropy, SGD lr 0.01: a teaching-sized classifier",
    measures="STEPS steps of forward, cross-entropy, backward and SGD update, cycling over 4 "
             "batches of 16",
    peers=_peers(W6_NET),
    size_full=20_000,
    size_quick=2_000,
    size_unit="steps",
    repeat_full=5,
    repeat_quick=3,
    warmup_size=100,
    # The promise for teaching-sized graphs: beat PyTorch; compiled, reach NumPy's floor.
    targets=(Target("glassgrad faster than PyTorch", "glassgrad", "speedup_at_least", 1.0),
             Target("glassgrad compiled within 1.3x of hand-written NumPy", "glassgrad.compile",
                    "ratio_at_most", 1.3, other="numpy")),
    check_tolerance=1e-3,
    value_label="final loss",
)
