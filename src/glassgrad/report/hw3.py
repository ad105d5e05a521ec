"""``glassgrad hw3``: the seed homework answered, as the files its rules ask for.

Into one folder: ``hw3.ipynb`` (the executed notebook), ``hw3.pdf`` (the same, typeset),
``q4_backprop.pdf`` (Q4's worked solution on its own) and ``hw3.html`` (the interactive
explainer of Q1's graph and Q4's network). Everything is built in a staging folder beside the
target, which replaces it only when every part succeeded; a failure names the part.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import seed_path

QUESTIONS = ("q1", "q2", "q3", "q4")


class PartFailed(RuntimeError):
    """One part of the report could not be made; the message names it."""


def write_report(out_dir, only=None, progress=lambda message: None, q4_spec=None):
    """Write the report for the questions in ``only`` (default: all) into ``out_dir``; returns
    the paths written. ``q4_spec`` is Q4's network (default: the seed's, ``q4.toml``)."""
    from .notebook import build_notebook, run_notebook

    out_dir = Path(out_dir)
    selected = [q for q in QUESTIONS if q in (only or QUESTIONS)]
    q4_spec = Path(q4_spec).resolve() if q4_spec else None  # None: the seed's, found by the notebook
    parent = out_dir.parent if out_dir.parent.exists() else None
    staging = Path(tempfile.mkdtemp(prefix=".hw3-", dir=parent))
    try:
        notebook = build_notebook(selected, q4_spec)
        run_notebook(notebook, staging, lambda q: progress(f"{q.upper()}: running"))
        files = {"hw3.ipynb": _notebook_bytes(notebook)}
        files["hw3.pdf"] = _part("PDF", progress, lambda: _notebook_pdf(notebook))
        solution = None
        if "q4" in selected:
            solution = _part("Q4 worked solution", progress,
                             lambda: _worked(q4_spec or seed_path("q4.toml")))
            files["q4_backprop.pdf"] = _part("Q4 PDF", progress, lambda: _worked_pdf(solution))
        if "q1" in selected or solution is not None:
            files["hw3.html"] = _part("HTML explainer", progress,
                                      lambda: _explainer("q1" in selected, solution))
        for name, data in files.items():
            (staging / name).write_bytes(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; a report folder should not be
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in files]


def _swap_in(staging, out_dir):
    """Move the finished report into place; the old one is set aside first and put back if the
    move fails, so a failure never loses it."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=".hw3-old-", dir=out_dir.parent))
        os.replace(out_dir, old / "report")
    try:
        os.replace(staging, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old / "report", out_dir)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _part(name, progress, make):
    """Run one part, naming it in progress and in any failure."""
    progress(f"{name}: writing")
    try:
        return make()
    except Exception as error:
        raise PartFailed(f"{name} failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from error


def _notebook_bytes(notebook):
    import nbformat
    return (nbformat.writes(notebook) + "\n").encode("utf-8")


def _notebook_pdf(notebook):
    from .typeset import render_pdf
    return render_pdf(notebook)


def _worked(spec_path):
    from ..worked import load_spec, solve
    return solve(load_spec(spec_path))


def _worked_pdf(solution):
    from ..worked.typeset import render_pdf
    return render_pdf(solution)


def _explainer(with_q1, solution):
    """hw3.html: Q1's computation graph and Q4's network, to step through."""
    from .explorer import explorer_page, graph_from_explanation, graph_from_worked
    graphs = []
    if with_q1:
        import glassgrad as torch
        x = torch.tensor([3.0], requires_grad=True)
        y = torch.tensor([4.0], requires_grad=True)
        f = (x + torch.exp(y)) / (torch.log(x) + (x - y) ** 3)
        explanation = torch.explain(f, names={"x": x, "y": y, "f": f})
        graphs.append(graph_from_explanation(explanation, "Q1: f(x, y) = (x + exp(y)) / (log(x) + (x - y)^3) at x = 3, y = 4"))
    if solution is not None:
        graphs.append(graph_from_worked(solution, f"Q4: {solution.spec.title or 'the network'}"))
    return explorer_page(graphs, "HW3: step through the computations").encode("utf-8")


def main_progress(message):
    print(message, file=sys.stderr, flush=True)
