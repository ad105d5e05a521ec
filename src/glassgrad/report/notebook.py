"""The HW3 notebook: one section per question, the seed's own code cells (with
``import glassgrad as torch``) followed by what glassgrad adds, executed so every cell carries
its output.

The seed's code is read from the scripts in ``report/seed/`` (``examples/`` links to them) and
split into cells where the script has a blank line between top-level statements, as it was
written in the seed's notebook. Execution uses nbclient on an ipykernel kernel; nbformat,
nbclient and ipykernel are imported only here.
"""

import ast
import os
import subprocess
from pathlib import Path

SEED = Path(__file__).resolve().parent / "seed"

STATEMENTS = {
    "q1": ("## Q1. Compute gradients using autograd\n\n"
           "$$f(x, y) = \\frac{x + \\exp(y)}{\\log(x) + (x - y)^3}$$\n\n"
           "Compute $\\frac{\\partial f}{\\partial x}$ and $\\frac{\\partial f}{\\partial y}$ at "
           "$x = 3$, $y = 4$."),
    "q2": ("## Q2. Linear regression with autograd\n\n"
           "Fit three models to the data by full-batch gradient descent on the mean squared error, "
           "with the gradients from `backward()` instead of calculated by hand: "
           "$y = b + w_1 x + w_2 x^2$, $y = b + w_1 x$ and $y = w_1 x$."),
    "q3": ("## Q3. Numerical precision\n\n"
           "$-\\log\\left(\\frac{e^x}{e^x + e^y}\\right)$ and its gradients: correct at "
           "$(2, 3)$, `nan` at $(50, 100)$. Why, and a stable version that is the same in math."),
    "q4": ("## Q4. Manual backpropagation\n\n"
           "One forward and one backward pass by hand on a 2-2-2 network (sigmoid hidden "
           "neurons, linear outputs, $E = \\sum \\frac{1}{2}(\\hat{o} - o)^2$, learning rate 10), "
           "every step written out and checked against autograd."),
}

EXTRAS = {
    "q1": [
        ("markdown", "### Every step of the calculation\n\n`glassgrad.explain` writes out the "
                     "forward pass and the chain rule, each number from the engine."),
        ("code", 'print(torch.explain(f, names={"x": x, "y": y, "f": f}).text())'),
    ],
    "q2": [
        ("markdown", "### Against the exact optimum\n\nEach model is linear in its parameters, "
                     "so least squares gives the best possible fit exactly (float64)."),
        ("code", "from glassgrad.fit import least_squares\n\n"
                 "xs, ys = x.view(-1), y.view(-1)\n"
                 "models = {\"Model 1\": ({\"x\": xs, \"x2\": xs * xs}, True, w1, b1),\n"
                 "          \"Model 2\": ({\"x\": xs}, True, w2, b2),\n"
                 "          \"Model 3\": ({\"x\": xs}, False, w3, b3)}\n"
                 "print(f\"{'':8} {'parameter':>9} {'gradient descent':>17} {'optimum':>12}\")\n"
                 "for name, (features, bias, w, b) in models.items():\n"
                 "    optimum = least_squares(features, ys, bias=bias)\n"
                 "    trained = ([b.item()] if bias else []) + w.view(-1).tolist()\n"
                 "    for (parameter, best), value in zip(optimum.params.items(), trained):\n"
                 "        print(f\"{name:8} {parameter:>9} {value:17.6f} {best:12.6f}\")\n"
                 "    print(f\"{name:8} {'MSE':>9} {'':17} {optimum.mse:12.6f}\")"),
        ("code", "import matplotlib.pyplot as plt\n\n"
                 "grid = torch.linspace(x.min().item(), x.max().item(), 100).view(-1, 1)\n"
                 "with torch.no_grad():\n"
                 "    curves = {\"Model 1\": linear_regression(torch.cat((grid, grid * grid), dim=1), w1, b1, True),\n"
                 "              \"Model 2\": linear_regression(grid, w2, b2, True),\n"
                 "              \"Model 3\": linear_regression(grid, w3, b3, False)}\n"
                 "plt.figure(figsize=(7, 4))\n"
                 "plt.scatter(x.view(-1).tolist(), y.view(-1).tolist(), color=\"black\", s=14, label=\"data\")\n"
                 "for name, curve in curves.items():\n"
                 "    plt.plot(grid.view(-1).tolist(), curve.view(-1).tolist(), label=name)\n"
                 "plt.xlabel(\"x\"); plt.ylabel(\"y\"); plt.legend(); plt.title(\"The three fitted models\")\n"
                 "plt.show()"),
    ],
    "q3": [
        ("markdown", "### Why: exp(100) overflows float32\n\nThe largest float32 is about "
                     "$3.4 \\cdot 10^{38}$, so $e^x$ overflows for $x > 88.72$; inf / inf is nan. "
                     "The seed's rewrite $\\log(1 + e^{y - x})$ overflows too once $y - x > 88.7$; "
                     "`softplus` (or `logaddexp(x, y) - x`) is accurate everywhere."),
        ("code", "x, y = torch.tensor([50.0], requires_grad=True), torch.tensor([100.0], requires_grad=True)\n"
                 "with torch.autograd.detect_anomaly():  # stop at the op where inf or nan starts\n"
                 "    try:\n"
                 "        log_exp(x, y).backward()\n"
                 "    except RuntimeError as error:\n"
                 "        print(error)"),
        ("code", "import glassgrad.nn.functional as F\n\n"
                 "def softplus_log_exp(x, y):\n"
                 "    return F.softplus(y - x)\n\n"
                 "for a, b in ((2.0, 3.0), (50.0, 100.0), (0.0, 1000.0)):\n"
                 "    x, y = torch.tensor([a]), torch.tensor([b])\n"
                 "    print(f\"x = {a}, y = {b}:\")\n"
                 "    grad(softplus_log_exp, x, y)"),
        ("markdown", "### Measured: bits of error against exact arithmetic\n\n"
                     "`glassgrad.stability.analyze` samples the inputs, computes the value and "
                     "gradient in float32, compares them with mpmath's exact answers (Herbie's bits "
                     "of error), finds the op where error starts, and measures rewrites."),
        ("code", "from glassgrad.stability import analyze\n\n"
                 "box = {\"x\": (-100, 100), \"y\": (-100, 100)}\n"
                 "print(analyze(\"-log(exp(x)/(exp(x) + exp(y)))\", box).text())"),
        ("code", "seed_answer = analyze(\"log(1 + exp(y - x))\", box)\n"
                 "first = seed_answer.first_error\n"
                 "print(f\"the seed's answer is {seed_answer.verdict}: error starts at {first.text}, \"\n"
                 "      f\"which overflows at {first.overflows} of {first.measured} inputs\")\n"
                 "best = seed_answer.rewrites[0]\n"
                 "print(f\"best rewrite: {best.text}, average {best.average_bits:.2f} bits, \"\n"
                 "      f\"worst {best.worst_bits:.1f}, no inf or nan\" if best.non_finite == 0 else best.text)"),
    ],
    "q4": [
        ("code", "from glassgrad.report import seed_path\n"
                 "from glassgrad.worked import load_spec, solve\n\n"
                 "solution = solve(load_spec(seed_path(\"q4.toml\")))\n"
                 "solution"),
    ],
}

SCRIPTS = {"q1": "q1_gradients.py", "q2": "q2_regression.py", "q3": "q3_stability.py"}


class NotebookUnavailable(RuntimeError):
    """nbformat, nbclient or ipykernel is missing."""


def script_cells(source):
    """The code cells of a script: the chunks between blank lines that fall outside every
    top-level statement (a blank line inside a function does not split it). The opening
    comment block, the file's header, is left out."""
    lines = source.splitlines()
    inside = set()
    for statement in ast.parse(source).body:
        inside.update(range(statement.lineno - 1, statement.end_lineno))
    cells, current = [], []
    for number, line in enumerate(lines):
        if not line.strip() and number not in inside:
            if current:
                cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        cells.append("\n".join(current))
    if cells:  # the file's header comment is about the file, not part of the homework
        first = cells[0].splitlines()
        while first and first[0].lstrip().startswith("#"):
            first.pop(0)
        cells[0] = "\n".join(first)
    return [cell for cell in cells if cell.strip()]


def build_notebook(questions=("q1", "q2", "q3", "q4"), q4_spec=None):
    """The notebook (not yet executed) for the chosen questions; each cell's metadata names its
    question. ``q4_spec`` is the path of Q4's network (default: the seed's)."""
    nbformat = _require("nbformat")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_markdown_cell(
        "# HW3, answered with glassgrad\n\nglassgrad is a glass-box automatic differentiation "
        "engine with PyTorch's tensor API: the seed's code runs unchanged after "
        "`import glassgrad as torch`. Written by `glassgrad hw3`.")]
    for question in questions:
        sources = [("markdown", STATEMENTS[question])]
        if question in SCRIPTS:
            sources += [("code", code) for code in script_cells((SEED / SCRIPTS[question]).read_text())]
        sources += EXTRAS[question]
        for kind, text in sources:
            if question == "q4" and q4_spec is not None:
                text = text.replace('seed_path("q4.toml")', repr(str(q4_spec)))
            make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
            cell = make(text)
            cell.metadata["glassgrad"] = {"question": question}
            cells.append(cell)
    notebook.cells = cells
    return notebook


def run_notebook(notebook, workdir, starting=lambda question: None, timeout=600):
    """Run every cell in a fresh kernel (in ``workdir``), calling ``starting(question)`` as each
    question begins; raises CellFailed, naming the question, on the first cell that raises."""
    nbclient = _require("nbclient")
    _require("ipykernel")
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    current = None
    # the kernel's own start-up chatter (transport warnings) is not part of the report
    with client.setup_kernel(stderr=subprocess.DEVNULL, env=_kernel_environment()):
        for index, cell in enumerate(notebook.cells):
            question = cell.metadata.get("glassgrad", {}).get("question")
            if question != current and question is not None:
                current = question
                starting(question)
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except nbclient.exceptions.CellExecutionError as error:
                raise CellFailed(f"{(current or 'notebook').upper()} failed: "
                                 f"{_first_line_of_error(error)}") from None
    return notebook


def _kernel_environment():
    """Our environment, with this glassgrad first on the kernel's path: the kernel runs in the
    staging folder, where a relative PYTHONPATH would no longer find the package."""
    import glassgrad
    package_parent = str(Path(glassgrad.__file__).resolve().parent.parent)
    paths = [package_parent] + [str(Path(p).resolve()) for p in
                                os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


class CellFailed(RuntimeError):
    """A notebook cell raised; the message names the question and the exception."""


def _first_line_of_error(error):
    name = getattr(error, "ename", "error")
    value = getattr(error, "evalue", str(error)).splitlines()
    return f"a notebook cell raised {name}: {value[0] if value else ''}"


def _require(module):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NotebookUnavailable(f"the notebook needs {module}: pip install 'glassgrad[all]'") from None
