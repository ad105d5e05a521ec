"""Pictures of a fit (matplotlib, imported only here): the loss curve on a log scale, and the
data with the fitted curve and, when there is one, the least-squares optimum's curve.

With one input column the fit is drawn as a curve over the data; with several, as predicted
against actual values (a perfect fit lies on the diagonal).
"""

import io

import numpy as np

from .model import Model

FORMATS = ("png", "svg", "pdf")


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def plot_fit(result, table, fmt="png"):
    """The picture of ``result`` (a FitResult on ``table``) as bytes in ``fmt``."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: never open a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable("plots need matplotlib: pip install matplotlib "
                              "(or pip install 'glassgrad[plot]')") from None
    model = Model(result.model, [c for c in table.columns if c != result.target], target=result.target)
    figure, (loss_axes, data_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    _loss_curve(loss_axes, result)
    if len(model.inputs) == 1:
        _curve(data_axes, model, result, table)
    else:
        _predicted_against_actual(data_axes, model, result, table)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=120)
    plt.close(figure)
    return buffer.getvalue()


def _loss_curve(axes, result):
    epochs = np.arange(1, len(result.losses) + 1)
    axes.plot(epochs, result.losses, color="tab:blue", label="gradient descent")
    if result.optimum is not None:
        axes.axhline(result.optimum.mse, color="tab:red", linestyle="--",
                     label=f"least-squares optimum ({result.optimum.mse:.6g})")
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (MSE)")
    axes.set_title(f"loss: {result.optimizer}, lr {result.lr:g}")
    axes.legend()


def _predict(model, params, inputs):
    import glassgrad as gg
    predict = model.predictor({n: gg.tensor(v, dtype=gg.float64) for n, v in inputs.items()}, gg.float64)
    with gg.no_grad():
        values = predict({n: gg.tensor(v, dtype=gg.float64) for n, v in params.items()})
    return np.broadcast_to(values.numpy(), (len(next(iter(inputs.values()))),))


def _curve(axes, model, result, table):
    (name,) = model.inputs
    x = table.column(name)
    grid = np.linspace(x.min(), x.max(), 400)
    axes.scatter(x, table.column(result.target), color="black", s=16, label="data", zorder=3)
    axes.plot(grid, _predict(model, result.params, {name: grid}), color="tab:blue",
              label="gradient descent")
    if result.optimum is not None:
        axes.plot(grid, _predict(model, result.optimum.params, {name: grid}), color="tab:red",
                  linestyle="--", label="least-squares optimum")
    axes.set_xlabel(name)
    axes.set_ylabel(result.target)
    axes.set_title(f"{result.target} ~ {result.model}")
    axes.legend()


def _predicted_against_actual(axes, model, result, table):
    inputs = {n: table.column(n) for n in model.inputs}
    actual = table.column(result.target)
    axes.scatter(actual, _predict(model, result.params, inputs), color="tab:blue", s=16,
                 label="gradient descent")
    low, high = actual.min(), actual.max()
    axes.plot([low, high], [low, high], color="gray", linestyle=":", label="perfect fit")
    axes.set_xlabel(f"actual {result.target}")
    axes.set_ylabel(f"predicted {result.target}")
    axes.set_title(f"{result.target} ~ {result.model}")
    axes.legend()
