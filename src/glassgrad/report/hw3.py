"""Answers to the seed homework's Q1-Q3, computed with glassgrad and written as a Markdown report.

Each question is a function returning its section of the report; ``write_report`` builds the
whole report in a temporary folder and moves it into place only when every part succeeded.
"""

import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import glassgrad as torch
from glassgrad.fit import linear_least_squares

Q2_X = [1.5420291, 1.8935232, 2.1603365, 2.5381863, 2.893443, 3.838855, 3.925425, 4.2233696,
        4.235571, 4.273397, 4.9332876, 6.4704757, 6.517571, 6.87826, 7.0009003, 7.035741,
        7.278681, 7.7561755, 9.121138, 9.728281]
Q2_Y = [63.802246, 80.036026, 91.4903, 108.28776, 122.781975, 161.36314, 166.50816, 176.16772,
        180.29395, 179.09758, 206.21027, 272.71857, 272.24033, 289.54745, 293.8488, 295.2281,
        306.62274, 327.93243, 383.16296, 408.65967]


def q1(assets, progress):
    """Gradients of f(x, y) = (x + exp(y)) / (log(x) + (x - y)^3) at (3, 4), the computation
    graph (written into ``assets``) and every step of the calculation."""
    from ..viz import GraphvizNotFound, make_dot
    x = torch.tensor([3.0], requires_grad=True)
    y = torch.tensor([4.0], requires_grad=True)
    f = (x + torch.exp(y)) / (torch.log(x) + (x - y) ** 3)
    steps = torch.explain(f, names={"x": x, "y": y}).markdown()
    f.backward()
    drawing = make_dot(f, params={"x": x, "y": y, "f": f}, show_values=True)
    (assets / "q1_graph.dot").write_text(drawing.source)
    try:
        (assets / "q1_graph.svg").write_bytes(drawing.pipe("svg"))
        graph = "![Q1's computation graph](q1_graph.svg)"
    except GraphvizNotFound:  # the DOT text still describes it; any Graphviz viewer draws it
        graph = "The computation graph is in `q1_graph.dot` (install Graphviz to draw it)."
    return (
        "## Q1. Gradients with autograd\n\n"
        "f(x, y) = (x + exp(y)) / (log(x) + (x - y)^3) at x = 3, y = 4\n\n"
        f"```\nf      = {f}\ndf/dx  = {x.grad}\ndf/dy  = {y.grad}\n```\n\n{graph}\n\n"
        "### Every step of the calculation\n\n" + steps.replace("### ", "#### "))


def _train(x, y, bias, epochs, learning_rate, log_interval, log):
    """The seed's training loop: full-batch gradient descent on the mean squared error."""
    w = torch.normal(0, 0.01, size=(1, x.shape[-1]), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    params = (w, b) if bias else (w,)
    for epoch in range(epochs):
        y_hat = torch.mm(x, w.T) + b if bias else torch.mm(x, w.T)
        error = y_hat - y
        loss = error.T @ error / len(y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= learning_rate * p.grad
                p.grad.zero_()
        if epoch % log_interval == 0:
            log.append(f"epoch: {epoch + 1} --> loss {loss.item()}")
    return w, b


def _against_optimum(features, y, bias, w, b):
    """A Markdown table of the trained weights beside the exact least-squares optimum."""
    columns = {f"w{k + 1}": features[:, k].numpy().astype("float64") for k in range(features.shape[1])}
    trained = {f"w{k + 1}": w[0, k].item() for k in range(features.shape[1])}
    if bias:
        columns = {"b": np.ones(len(y)), **columns}
        trained = {"b": b.item(), **trained}
    target = y.numpy().reshape(-1).astype("float64")
    optimum = linear_least_squares(columns, target)
    design = np.column_stack(list(columns.values()))
    mse = float(np.mean((target - design @ np.array(list(trained.values()))) ** 2))
    rows = [f"| {name} | {trained[name]:.7g} | {optimum.params[name]:.7g} |" for name in columns]
    rows.append(f"| MSE | {mse:.7g} | {optimum.mse:.7g} |")
    return ("Against the exact least-squares optimum (float64):\n\n"
            "| | gradient descent | optimum |\n| --- | --- | --- |\n" + "\n".join(rows))


def q2(assets, progress):
    """The seed's three regression models, trained by gradient descent."""
    x = torch.tensor(Q2_X).view(-1, 1)
    y = torch.tensor(Q2_Y).view(-1, 1)
    models = [
        ("Model 1: y = b + w1 x + w2 x^2", torch.cat((x, x * x), dim=1), True, 100000, 0.0005, 10000),
        ("Model 2: y = b + w1 x", x, True, 1000, 0.01, 100),
        ("Model 3: y = w1 x", x, False, 10, 0.01, 1),
    ]
    parts = ["## Q2. Regression with autograd\n"]
    for title, features, bias, epochs, lr, interval in models:
        progress(f"Q2 {title.split(':')[0]} ({epochs} epochs)")
        log = []
        w, b = _train(features, y, bias, epochs, lr, interval, log)
        body = "\n".join(log + [f" Weights {w}, ", f"Bias: {b}"])
        parts.append(f"### {title}\n\nlearning rate {lr}, {epochs} epochs\n\n```\n{body}\n```\n\n"
                     + _against_optimum(features, y, bias, w, b) + "\n")
    return "\n".join(parts)


def q3(assets, progress):
    """-log(e^x / (e^x + e^y)): its gradients, the overflow at (50, 100), a stable rewrite."""
    def log_exp(x, y):
        return -torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))

    def stable_log_exp(x, y):
        return torch.log(1 + torch.exp(y - x))

    lines = []
    for name, function, point in (("log_exp", log_exp, (2.0, 3.0)), ("log_exp", log_exp, (50.0, 100.0)),
                                  ("stable_log_exp", stable_log_exp, (50.0, 100.0))):
        x = torch.tensor([point[0]], requires_grad=True)
        y = torch.tensor([point[1]], requires_grad=True)
        z = function(x, y)
        z.backward()
        lines.append(f"{name}{point}: z = {z.detach()}, x.grad = {x.grad}, y.grad = {y.grad}")
    lines.append(f"exp(100) in float32: {torch.exp(torch.tensor([100.0]))}")
    return "## Q3. Numerical precision\n\n```\n" + "\n".join(lines) + "\n```\n"


QUESTIONS = {"q1": q1, "q2": q2, "q3": q3}


def write_report(out_dir, only=None, progress=lambda message: None):
    """Write ``hw3.md`` (and its pictures) into ``out_dir``, all or nothing: everything is built
    in a staging folder beside it, which replaces ``out_dir`` only when every part succeeded."""
    out_dir = Path(out_dir)
    selected = only or list(QUESTIONS)
    staging = Path(tempfile.mkdtemp(prefix=".hw3-", dir=out_dir.parent if out_dir.parent.exists() else None))
    try:
        sections = ["# HW3, answered with glassgrad\n"]
        for name in selected:
            progress(f"{name.upper()}: running")
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    sections.append(QUESTIONS[name](staging, progress))
            except Exception as error:
                raise RuntimeError(f"{name.upper()} failed: {error}") from error
        (staging / "hw3.md").write_text("\n".join(sections))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / "hw3.md"


def main_progress(message):
    print(message, file=sys.stderr, flush=True)
