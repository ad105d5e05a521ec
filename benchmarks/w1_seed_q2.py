"""W1: the seed homework's Q2 Model 1, full-batch gradient descent on a 20-point quadratic fit.

glassgrad and PyTorch run the seed's own code (examples/q2_regression.py up to ``# Model 1``)
and time ``train(EPOCHS, x_combined, y, 1, True, mean_square_loss, LOG_INTERVAL, 0.0005)``.
The other peers do the same math their own way; plain NumPy with hand-written gradients is the
floor for any Python+NumPy engine. Every peer starts from the same weights (torch's
``manual_seed(0)`` draw, which glassgrad reproduces) and must reach the same final loss.
"""

import contextlib
import importlib.util
import io

import numpy as np

from .harness import Peer, Target, Workload, clock_phases
from .seed_source import load_seed_module

SEED_FILE = "examples/q2_regression.py"
STOP_LINE = "# Model 1"
LEARNING_RATE = 0.0005
SEED = 0


def _load(backend):
    return load_seed_module(SEED_FILE, STOP_LINE, backend)


def _seed_data():
    """(X, y, w0, b0) as float32 NumPy arrays: the seed's data and the shared starting weights."""
    seed = _load("glassgrad")
    seed.torch.manual_seed(SEED)
    # The seed's train() draws w exactly like this, so every peer starts where torch does.
    w0 = seed.torch.normal(0, 0.01, size=(1, 2)).numpy()
    b0 = np.zeros(1, dtype=np.float32)
    return seed.x_combined.numpy(), seed.y.numpy(), w0, b0


# --- the seed's code, on glassgrad or on PyTorch ---------------------------------------------

def _prepare_seed(backend):
    def prepare(epochs):
        seed = _load(backend)
        quiet = io.StringIO()

        def run():
            seed.torch.manual_seed(SEED)
            # train() prints at epoch 0 whatever LOG_INTERVAL is; keep that off the report.
            with contextlib.redirect_stdout(quiet):
                w, b = seed.train(epochs, seed.x_combined, seed.y, 1, True,
                                  seed.mean_square_loss, epochs + 1, LEARNING_RATE)
            quiet.seek(0)
            quiet.truncate()
            with seed.torch.no_grad():
                yhat = seed.linear_regression(seed.x_combined, w, b, True)
                return float(seed.mean_square_loss(yhat, seed.y).item())
        return run
    return prepare


# --- the seed's loop body, compiled by glassgrad.compiler ------------------------------------

def _prepare_seed_compiled(epochs):
    """One epoch of the seed's train() loop (its own functions, as written) compiled once; each
    run() puts the weights back where train() starts and calls it ``epochs`` times."""
    from glassgrad.compiler import compile

    seed = _load("glassgrad")
    torch = seed.torch
    torch.manual_seed(SEED)
    w = torch.normal(0, 0.01, size=(1, 2), requires_grad=True)  # train()'s draw
    b = torch.zeros(1, requires_grad=True)
    start = w.detach().clone()
    x, y, params = seed.x_combined, seed.y, (w, b)

    @compile
    def epoch():
        y_hat = seed.linear_regression(x, w, b, True)
        loss = seed.mean_square_loss(y_hat, y)
        loss.backward()
        param_grads = (w.grad, b.grad)
        with torch.no_grad():
            seed.sgd_step(params, param_grads, LEARNING_RATE)
        w.grad.zero_()
        b.grad.zero_()
        return loss

    def run():
        with torch.no_grad():
            w.copy_(start)
            b.zero_()
        w.grad = b.grad = None  # as before train()'s first epoch
        for _ in range(epochs):
            epoch()
        if epoch.eager_reason is not None:
            raise RuntimeError(f"the step was not compiled: {epoch.eager_reason}")
        with torch.no_grad():
            yhat = seed.linear_regression(x, w, b, True)
            return float(seed.mean_square_loss(yhat, y).item())
    return run


# --- plain NumPy with hand-written gradients: the Python+NumPy floor ---------------------------

def _prepare_numpy(epochs):
    X, y, w0, b0 = _seed_data()
    n = len(y)

    def run():
        w, b = w0.copy(), b0.copy()
        for _ in range(epochs):
            error = X @ w.T + b - y                # yhat - y, shape (n, 1)
            loss = (error.T @ error) / n           # computed every epoch, as the seed does
            grad_yhat = (2.0 / n) * error
            w -= LEARNING_RATE * (grad_yhat.T @ X)
            b -= LEARNING_RATE * grad_yhat.sum(axis=0)
        error = X @ w.T + b - y
        return float((error.T @ error)[0, 0] / n)
    return run


# --- the least an eager engine can do (benchmarks/tape.py) ------------------------------------

def _tape_setup():
    from . import tape

    X, y, w0, b0 = _seed_data()
    params = tape.Tensor(w0.copy(), True), tape.Tensor(b0.copy(), True)
    return tape, tape.Tensor(X), tape.Tensor(y), params


def _prepare_tape(epochs):
    """The seed's loop, op for op, on a minimal tape with none of PyTorch's checks."""
    def run():
        tape, x, target, (w, b) = _tape_setup()
        for _ in range(epochs):
            y_hat = tape.mm(x, w.T) + b
            error = target - y_hat                 # the seed's mean_square_loss(y_hat, y)
            loss = error.T @ error / len(target.data)
            loss.backward()
            with tape.no_grad():
                for param, grad in zip((w, b), (w.grad, b.grad)):
                    param -= LEARNING_RATE * grad
            w.grad.zero_()
            b.grad.zero_()
        error = target.data - (x.data @ w.data.T + b.data)
        return float((error.T @ error)[0, 0] / len(error))
    return run


def _tape_phases():
    """The tape's epoch (the peer above) as phases."""
    tape, x, target, (w, b) = _tape_setup()

    def epoch():
        y_hat = tape.mm(x, w.T) + b
        error = target - y_hat
        loss = error.T @ error / len(target.data)
        yield "forward and loss"
        loss.backward()
        yield "backward"
        with tape.no_grad():
            for param, grad in zip((w, b), (w.grad, b.grad)):
                param -= LEARNING_RATE * grad
        yield "update"
        w.grad.zero_()
        b.grad.zero_()
        yield "zero .grad"
    return epoch


# --- HIPS autograd -----------------------------------------------------------------------------

def _prepare_autograd(epochs):
    import autograd.numpy as anp
    from autograd import value_and_grad

    X, y, w0, b0 = _seed_data()
    n = len(y)

    def loss_fn(w, b):
        error = anp.dot(X, w.T) + b - y
        return anp.dot(error.T, error)[0, 0] / n

    loss_and_grads = value_and_grad(loss_fn, argnum=(0, 1))

    def run():
        w, b = w0.copy(), b0.copy()
        for _ in range(epochs):
            _, (grad_w, grad_b) = loss_and_grads(w, b)
            w = w - LEARNING_RATE * grad_w
            b = b - LEARNING_RATE * grad_b
        return float(loss_fn(w, b))
    return run


# --- JAX: the whole step jitted, as JAX is meant to be used -----------------------------------
# (Unjitted JAX costs ~8 ms an epoch here, over 10 minutes a full rep, so it is not a peer.)

def _jax_loss_and_grads():
    import jax
    import jax.numpy as jnp

    def loss_fn(w, b, X, y):
        error = X @ w.T + b - y
        return (error.T @ error)[0, 0] / y.shape[0]

    return jnp, jax.value_and_grad(loss_fn, argnums=(0, 1)), loss_fn


def _prepare_jax_jit(epochs):
    import jax

    jnp, loss_and_grads, loss_fn = _jax_loss_and_grads()

    @jax.jit
    def step(w, b, X, y):
        _, (grad_w, grad_b) = loss_and_grads(w, b, X, y)
        return w - LEARNING_RATE * grad_w, b - LEARNING_RATE * grad_b

    X, y, w0, b0 = (jnp.asarray(a) for a in _seed_data())
    step(w0, b0, X, y)[0].block_until_ready()   # compile outside the timed run

    def run():
        w, b = w0, b0
        for _ in range(epochs):
            w, b = step(w, b, X, y)
        return float(loss_fn(w, b, X, y))   # float() waits for JAX's async dispatch
    return run


# --- micrograd: one scalar Value per weight, the loss summed point by point --------------------

def _prepare_micrograd(epochs):
    from micrograd.engine import Value

    X, y, w0, b0 = _seed_data()
    points = [(float(a), float(c), float(t)) for (a, c), t in zip(X, y[:, 0])]
    n = len(points)

    def run():
        w_x, w_x2, b = Value(float(w0[0, 0])), Value(float(w0[0, 1])), Value(float(b0[0]))
        params = (w_x, w_x2, b)
        for _ in range(epochs):
            loss = sum((w_x * a + w_x2 * c + b - t) ** 2 for a, c, t in points) * (1.0 / n)
            for p in params:
                p.grad = 0.0                  # micrograd accumulates grads, like torch
            loss.backward()
            for p in params:
                p.data -= LEARNING_RATE * p.grad
        return sum((w_x.data * a + w_x2.data * c + b.data - t) ** 2 for a, c, t in points) / n
    return run


# --- glassgrad.fit: the same model as a formula, fitted by the library (issue 5) -------------

def _prepare_fit(epochs):
    from glassgrad.fit import fit

    X, y, w0, b0 = _seed_data()
    data = {"x": X[:, 0].astype(np.float64), "y": y[:, 0].astype(np.float64)}
    init = {"b": float(b0[0]), "w1": float(w0[0, 0]), "w2": float(w0[0, 1])}

    def run():
        # x**2 is computed by the formula (in float32, as the seed's x * x), then cached
        return fit("b + w1*x + w2*x**2", data, lr=LEARNING_RATE, epochs=epochs, init=init).loss
    return run


# --- where an epoch's time goes: the same epoch, clocked between its phases -------------------

def _seed_phases(backend):
    """An epoch of the seed's train() loop, from the seed's own functions, as phases; and the
    parameters (w, b) it trains."""
    seed = _load(backend)
    torch = seed.torch
    torch.manual_seed(SEED)
    w = torch.normal(0, 0.01, size=(1, 2), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def epoch():
        loss = seed.mean_square_loss(seed.linear_regression(seed.x_combined, w, b, True), seed.y)
        yield "forward and loss"
        loss.backward()
        yield "backward"
        with torch.no_grad():
            seed.sgd_step((w, b), (w.grad, b.grad), LEARNING_RATE)
        yield "update"
        w.grad.zero_()
        b.grad.zero_()
        yield "zero .grad"
    return epoch, (w, b)


def _numpy_phases():
    """The hand-written NumPy epoch (the floor above) as the same phases; it has no .grad."""
    X, y, w0, b0 = _seed_data()
    n = len(y)
    w, b = w0.copy(), b0.copy()

    def epoch():
        error = X @ w.T + b - y
        (error.T @ error) / n  # the loss, computed every epoch as the seed does, then unused
        yield "forward and loss"
        grad_yhat = (2.0 / n) * error
        grad_w, grad_b = grad_yhat.T @ X, grad_yhat.sum(axis=0)
        yield "backward"
        w.__isub__(LEARNING_RATE * grad_w)  # w -= ..., without making w local to epoch()
        b.__isub__(LEARNING_RATE * grad_b)
        yield "update"
    return epoch


def _phases(epochs):
    steps = {"glassgrad": _seed_phases("glassgrad")[0]}
    if importlib.util.find_spec("torch") is not None:
        steps["torch"] = _seed_phases("torch")[0]
    steps["tape"] = _tape_phases()
    steps["numpy"] = _numpy_phases()
    return {peer: clock_phases(epoch, epochs) for peer, epoch in steps.items()}


WORKLOAD = Workload(
    key="W1",
    title="seed Q2 Model 1: full-batch GD, quadratic model on 20 points, lr 0.0005",
    measures=("train(EPOCHS, x_combined, y, 1, True, mean_square_loss, LOG_INTERVAL, 0.0005) "
              "from examples/q2_regression.py as written (glassgrad, torch); the same math "
              "in each other peer; one epoch = forward, loss, backward, SGD step, zero grads"),
    peers=(
        Peer("glassgrad", ("glassgrad", "numpy"), _prepare_seed("glassgrad"),
             "the seed's code, `import glassgrad as torch`"),
        Peer("glassgrad.compile", ("glassgrad", "numpy"), _prepare_seed_compiled,
             "the body of the seed's train() loop (forward, backward, SGD step under no_grad, "
             "grad.zero_()) as one function, compiled by glassgrad.compiler before timing"),
        Peer("glassgrad fit", ("glassgrad", "numpy"), _prepare_fit,
             "glassgrad.fit.fit('b + w1*x + w2*x**2', ...): the model as a formula, each epoch "
             "compiled (the library behind `glassgrad fit`)"),
        Peer("torch", ("torch",), _prepare_seed("torch"),
             "the seed's code, `import torch` (eager, default threads)"),
        Peer("numpy", ("numpy",), _prepare_numpy,
             "hand-written float32 forward and gradients: the Python+NumPy floor"),
        Peer("tape", ("numpy",), _prepare_tape,
             "benchmarks/tape.py: the seed's loop on a minimal reverse-mode tape with none of "
             "PyTorch's checks (version counters, hooks, dtype promotion, broadcasting): the "
             "floor for an eager Python engine"),
        Peer("autograd", ("autograd",), _prepare_autograd, "HIPS autograd, value_and_grad",
             quick=False),
        Peer("jax.jit", ("jax",), _prepare_jax_jit, "JAX, value_and_grad + SGD step jitted"),
        Peer("micrograd", ("micrograd",), _prepare_micrograd,
             "Karpathy's micrograd, scalar Values, float64", quick=False),
    ),
    size_full=100_000,
    size_quick=10_000,
    size_unit="epochs",
    repeat_full=5,
    repeat_quick=3,
    warmup_size=200,
    targets=(Target("glassgrad eager >= 2.5x faster than PyTorch eager",
                    "glassgrad", "speedup_at_least", 2.5),
             Target("glassgrad compiled >= 10x faster than PyTorch eager",
                    "glassgrad.compile", "speedup_at_least", 10.0),
             Target("glassgrad compiled within 1.3x of hand-written NumPy",
                    "glassgrad.compile", "ratio_at_most", 1.3, other="numpy"),
             Target("glassgrad fit >= 10x faster than the seed's PyTorch code (issue 5)",
                    "glassgrad fit", "speedup_at_least", 10.0)),
    check_tolerance=1e-3,
    value_label="final loss",
    phases=_phases,
    phase_steps=20_000,
)
