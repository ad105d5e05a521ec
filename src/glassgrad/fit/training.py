"""The training loop as a function: ``fit(model, data)`` fits a formula's parameters to a data
column by full-batch gradient descent on the mean squared error, as the seed's Q2 does by hand.

Around the loop: the seed's log lines, a progress bar on long runs, an early stop once the loss
stops improving, a clear stop (``Diverged``) when the loss becomes inf or nan, and, for models
linear in their parameters, the exact least-squares optimum to measure the result against.

>>> import numpy as np
>>> x = np.array([0.0, 1.0, 2.0, 3.0])
>>> result = fit("b + w*x", {"x": x, "y": 1 + 2 * x}, lr=0.1, epochs=500)
>>> round(result.params["b"], 4), round(result.params["w"], 4), result.optimum.params["w"]
(1.0, 2.0, 2.0)
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .closed_form import LeastSquares, linear_least_squares
from .data import Table
from .model import Model, ModelError
from .progress import ProgressBar, SeedLog, wants_progress

OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.01, "adam": 0.001}


class Diverged(RuntimeError):
    """The loss became inf or nan; ``epoch`` is where, ``result`` the run up to the last finite
    loss, and the message suggests a learning rate."""

    def __init__(self, message, epoch, result):
        super().__init__(message)
        self.epoch, self.result = epoch, result


@dataclass
class FitResult:
    """What a fit found, and how it compares with the exact optimum when there is one.

    ``losses[k]`` is the loss at epoch k+1 before that epoch's update (what the seed logs);
    ``loss`` is the loss at the final parameters, in the working dtype; ``mse`` the same in
    float64, comparable with ``optimum.mse``.
    """

    model: str
    target: str
    params: dict
    loss: float
    mse: float
    losses: np.ndarray
    epochs: int
    stopped: str
    optimizer: str
    lr: float
    dtype: str
    standardized: bool
    optimum: LeastSquares = None
    nonlinear_reason: str = None
    seconds: float = 0.0
    rows: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def param_gaps(self):
        """Fitted minus optimal value of each parameter (empty without an optimum)."""
        if self.optimum is None:
            return {}
        return {name: value - self.optimum.params[name] for name, value in self.params.items()}

    @property
    def loss_gap(self):
        """How far the fit's MSE (float64) is above the optimum's; None without an optimum."""
        return None if self.optimum is None else self.mse - self.optimum.mse

    def to_dict(self):
        optimum = None
        if self.optimum is not None:
            optimum = {"params": self.optimum.params, "mse": self.optimum.mse,
                       "rank": self.optimum.rank, "param_gaps": self.param_gaps,
                       "loss_gap": self.loss_gap}
        return {"model": self.model, "target": self.target, "rows": self.rows,
                "optimizer": self.optimizer, "lr": self.lr, "dtype": self.dtype,
                "standardized": self.standardized, "epochs": self.epochs, "stopped": self.stopped,
                "params": self.params, "loss": self.loss, "mse": self.mse,
                "optimum": optimum, "nonlinear_reason": self.nonlinear_reason,
                "seconds": self.seconds}


def fit(model, data, target=None, *, lr=None, epochs=1000, optimizer="sgd", momentum=0.0,
        init=0.0, dtype=None, log_every=None, logger=None, progress=False, patience=None,
        standardize=False, parameters=None, compile=True):
    """Fit ``model`` (a formula or a :class:`Model`) to ``data`` (a Table or name -> values).

    ``target`` is the column to predict (default ``y``, else the last column). ``lr`` defaults
    to 0.01 for SGD and 0.001 for Adam. ``init`` is a number or name -> number. Every
    ``log_every`` epochs ``logger(epoch, loss)`` is called (default: the seed's log line).
    ``patience``: stop when the loss has not reached a new low for that many epochs.
    ``standardize``: train on standardised columns (models linear in their parameters), then
    map the parameters back. ``compile``: run each epoch as generated NumPy (glassgrad.compiler;
    the same numbers as eager, several times faster). Raises ModelError for a model or data that
    cannot be fitted and Diverged when the loss stops being finite.
    """
    import glassgrad as gg

    dtype = gg.float32 if dtype is None else dtype
    table = data if isinstance(data, Table) else _table(data)
    target = target_column(table, target)
    if not isinstance(model, Model):
        model = Model(model, [c for c in table.columns if c != target], parameters, target=target)
    optimizer = _check_settings(optimizer, lr, epochs, log_every, patience, momentum)
    lr = DEFAULT_LR[optimizer] if lr is None else float(lr)
    inputs64 = {name: table.column(name) for name in model.inputs}
    y64 = table.column(target)
    linear = model.linear_form(inputs64)
    optimum = None
    if linear is not None:
        optimum = linear_least_squares(linear.columns, y64 - linear.offset)
    start = _initial_values(model, init)

    if standardize:
        if linear is None:
            raise ModelError(f"standardize needs a model linear in its parameters; in "
                             f"{model.text!r} {model.nonlinear_reason}")
        scaling = _Standardization(linear)
        start = scaling.to_standardized(start)
        predict = _linear_predictor(scaling.columns, linear.offset, dtype)
        map_back, design = scaling.to_original, scaling.columns
    else:
        predict = model.predictor({name: gg.tensor(values, dtype=dtype)
                                   for name, values in inputs64.items()}, dtype)
        map_back, design = dict, (linear.columns if linear is not None else None)

    y = gg.tensor(y64, dtype=dtype)
    params = {name: gg.tensor(value, dtype=dtype, requires_grad=True) for name, value in start.items()}
    step = _training_step(predict, y, params, optimizer, lr, momentum, compile)
    logger = logger or (SeedLog() if log_every else None)
    bar = ProgressBar(epochs) if wants_progress(progress) else None

    settings = {"optimizer": optimizer, "lr": lr, "dtype": dtype, "standardized": standardize,
                "optimum": optimum, "nonlinear_reason": model.nonlinear_reason if linear is None else None,
                "began": time.perf_counter(), "table": table}
    finish = lambda losses, epoch, stopped: _result(model, target, map_back, params, losses,
                                                    epoch, stopped, settings)
    try:
        # NumPy's overflow warnings would repeat what the divergence check says in one line
        with np.errstate(over="ignore", invalid="ignore"):
            losses, stopped = _descend(step, epochs, logger, log_every, bar, patience)
    except _LossNotFinite as stop:
        if stop.climbing:
            message = (f"the loss grew from {stop.losses[0]:.6g} to {stop.value:.6g} by epoch "
                       f"{stop.epoch} ({optimizer}, lr {lr:g}): the steps are too big; try a "
                       f"smaller learning rate, e.g. lr {_round_down(lr / 10)}")
        else:
            message = _divergence_message(stop.value, stop.epoch, optimizer, lr, momentum, design,
                                          standardize)
        raise Diverged(message, stop.epoch, finish(stop.losses, len(stop.losses), "diverged")) from None
    finally:
        if bar is not None:
            bar.close()
    return finish(losses, len(losses), stopped)


class _LossNotFinite(Exception):
    """Raised inside the loop: the loss became inf or nan (or, with patience, kept climbing)."""

    def __init__(self, value, epoch, losses, climbing=False):
        super().__init__(value)
        self.value, self.epoch, self.losses, self.climbing = value, epoch, losses, climbing


def _descend(step, epochs, logger, log_every, bar, patience):
    """The training loop: (the loss at each epoch, why it stopped). ``step()`` makes one
    update and returns the loss it was computed from."""
    losses = np.empty(epochs)
    best, best_epoch = math.inf, 0
    for epoch in range(epochs):
        value = step().item()
        if not math.isfinite(value):
            raise _LossNotFinite(value, epoch + 1, losses[:epoch])
        losses[epoch] = value
        if logger is not None and log_every and epoch % log_every == 0:
            logger(epoch + 1, value)
        if bar is not None:
            bar.update(epoch + 1, value)
        if value < best:
            best, best_epoch = value, epoch
        elif patience is not None and epoch - best_epoch >= patience:
            if value > losses[0]:  # not a plateau: the loss is climbing away
                raise _LossNotFinite(value, epoch + 1, losses[:epoch + 1], climbing=True)
            return losses[:epoch + 1], f"stopped early: no new low of the loss in {patience} epochs"
    return losses, "finished"


def _result(model, target, map_back, params, losses, epochs, stopped, settings):
    import glassgrad as gg

    table, dtype = settings["table"], settings["dtype"]
    fitted = map_back({name: p.item() for name, p in params.items()})
    with gg.no_grad():
        loss = _mse(model, table, target, fitted, dtype)
        mse = _mse(model, table, target, fitted, gg.float64)
    return FitResult(model.text, target, fitted, loss, mse, losses, epochs, stopped,
                     settings["optimizer"], settings["lr"], str(dtype).replace("torch.", ""),
                     settings["standardized"], settings["optimum"], settings["nonlinear_reason"],
                     time.perf_counter() - settings["began"], table.rows)


def _mse(model, table, target, params, dtype):
    """The model's mean squared error at ``params`` (name -> float), computed in ``dtype``."""
    import glassgrad as gg

    predict = model.predictor({n: gg.tensor(table.column(n), dtype=dtype) for n in model.inputs}, dtype)
    error = predict({n: gg.tensor(v, dtype=dtype) for n, v in params.items()}) \
        - gg.tensor(table.column(target), dtype=dtype)
    return (error * error).mean().item()


class _Standardization:
    """Columns rescaled to mean 0 and standard deviation 1 for training, and the map back.

    The model offset + sum_p t_p c_p becomes offset + sum_p s_p (c_p - m_p) / d_p. Constant
    columns (a bias) are left as they are and absorb the means, so the map back is exact; without
    one, columns are only scaled (by their root mean square), not centred.
    """

    def __init__(self, linear):
        columns = linear.columns
        spreads = {p: float(np.std(c)) for p, c in columns.items()}
        constant = [p for p, s in spreads.items() if s == 0.0 and np.any(columns[p] != 0)]
        self.anchor = constant[0] if constant else None
        self.means = {p: (float(np.mean(c)) if self.anchor and spreads[p] > 0 else 0.0)
                      for p, c in columns.items()}
        # Uncentred columns are scaled by their root mean square, so each still averages 1 squared.
        scales = {p: float(np.sqrt(np.mean((c - self.means[p]) ** 2))) for p, c in columns.items()}
        self.scales = {p: (scales[p] if spreads[p] > 0 else 1.0) for p in columns}
        self.anchor_value = float(columns[self.anchor][0]) if self.anchor else None
        self.columns = {p: (c - self.means[p]) / self.scales[p] for p, c in columns.items()}

    def to_original(self, standardized):
        original = {p: s / self.scales[p] for p, s in standardized.items()}
        if self.anchor is not None:
            shift = sum(s * self.means[p] / self.scales[p] for p, s in standardized.items())
            original[self.anchor] -= shift / self.anchor_value
        return original

    def to_standardized(self, original):
        standardized = {p: t * self.scales[p] for p, t in original.items()}
        if self.anchor is not None:
            shift = sum(t * self.means[p] for p, t in original.items())
            standardized[self.anchor] += shift / self.anchor_value
        return standardized


def _linear_predictor(columns, offset, dtype):
    """params -> offset + sum_p params[p] * columns[p], on precomputed columns."""
    import glassgrad as gg

    tensors = {p: gg.tensor(c, dtype=dtype) for p, c in columns.items()}
    base = gg.tensor(offset, dtype=dtype)

    def predict(params):
        total = base
        for name, column in tensors.items():
            total = total + params[name] * column
        return total
    return predict


def _training_step(predict, y, params, optimizer, lr, momentum, compiled):
    """One epoch as a function: forward, backward and the update; returns the loss.

    Plain gradient descent updates with tensor ops, ``p -= lr * gradient`` as the seed does, so
    the compiler takes in the whole step; momentum and Adam use glassgrad.optim, whose update
    runs eagerly after the compiled forward and backward.
    """
    from .. import autograd, no_grad, optim
    tensors = list(params.values())

    def mean_squared_error():
        error = predict(params) - y
        return (error * error).mean()

    if optimizer == "sgd" and momentum == 0:
        def sgd_step():
            loss = mean_squared_error()
            # autograd.grad rather than backward(): no .grad tensors to make and store each epoch
            gradients = autograd.grad(loss, tensors)
            with no_grad():
                for p, gradient in zip(tensors, gradients):
                    p -= lr * gradient
            return loss
        return _compile(sgd_step) if compiled else sgd_step

    def forward_backward():
        for p in tensors:
            p.grad = None
        loss = mean_squared_error()
        loss.backward()
        return loss
    update = optim.Adam(tensors, lr=lr) if optimizer == "adam" else optim.SGD(tensors, lr=lr, momentum=momentum)
    run = _compile(forward_backward) if compiled else forward_backward

    def step():
        loss = run()
        update.step()
        return loss
    return step


def _compile(function):
    from ..compiler import compile
    return compile(function)


def _divergence_message(value, epoch, optimizer, lr, momentum, design, standardize):
    kind = "nan" if math.isnan(value) else "inf"
    message = f"the loss became {kind} at epoch {epoch} ({optimizer}, lr {lr:g}): the steps are too big"
    limit = None
    if design is not None and optimizer == "sgd" and momentum == 0:
        limit = largest_stable_lr(design)
    if limit is not None and limit < lr:
        scaled = "" if standardize else "; or standardize the features"
        return (f"{message}; plain gradient descent on this model and data is stable only for "
                f"lr < {limit:.3g}: try lr {_round_down(limit / 2)}{scaled}")
    return f"{message}; try a smaller learning rate, e.g. lr {_round_down(lr / 10)}"


def largest_stable_lr(columns):
    """2 / (largest eigenvalue of the MSE's Hessian) for a model linear in its parameters: plain
    gradient descent converges below it and blows up above it."""
    design = np.column_stack(list(columns.values()))
    hessian = 2.0 * design.T @ design / len(design)
    top = float(np.linalg.eigvalsh(hessian)[-1])
    return 2.0 / top if top > 0 else None


def _round_down(value):
    """A value rounded down to one significant digit: 0.000634 -> 0.0006."""
    exponent = math.floor(math.log10(value))
    return float(f"{math.floor(value / 10 ** exponent)}e{exponent}")


def _table(data):
    """A Table from name -> 1-D values (lists, arrays or tensors)."""
    columns = {}
    for name, values in data.items():
        array = np.asarray(getattr(values, "_data", values), dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(array)):
            raise ModelError(f"column {name!r} has a value that is not a finite number")
        columns[name] = array
    lengths = {len(a) for a in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ModelError("the data columns must be non-empty and of equal length, got "
                         + ", ".join(f"{n}: {len(a)}" for n, a in columns.items()))
    return Table("<data>", columns)


def target_column(table, target):
    """The column a fit predicts: ``target`` if given, else ``y``, else the last column."""
    if target is None:
        target = "y" if "y" in table.columns else table.columns[-1]
    if target not in table.columns:
        raise ModelError(f"no column {target!r} to fit to (the columns are {', '.join(table.columns)})")
    return target


def _check_settings(optimizer, lr, epochs, log_every, patience, momentum):
    name = str(optimizer).lower()
    if name not in OPTIMIZERS:
        raise ModelError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ModelError(f"the learning rate must be a positive number, got {lr}")
    for label, value in (("epochs", epochs), ("log_every", log_every), ("patience", patience)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ModelError(f"{label} must be a positive whole number, got {value}")
    if not (0 <= momentum < 1):
        raise ModelError(f"momentum must be in [0, 1), got {momentum}")
    if momentum and name != "sgd":
        raise ModelError("momentum applies to sgd only")
    return name


def _initial_values(model, init):
    if isinstance(init, dict):
        unknown = [name for name in init if name not in model.parameters]
        if unknown:
            raise ModelError(f"init: {unknown[0]!r} is not a parameter of the model "
                             f"({', '.join(model.parameters)})")
        return {name: float(init.get(name, 0.0)) for name in model.parameters}
    return {name: float(init) for name in model.parameters}
