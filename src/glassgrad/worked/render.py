"""Renderers for a WorkedSolution: terminal text, Markdown with LaTeX math, a LaTeX fragment, and
a JSON-ready dict. (HTML is in `html.py`, Typst/PDF in `typeset.py`, the diagram in `diagram.py`.)

All of them read the same `Quantity` records in calculation order, so they can never disagree.
"""

from .notation import format_number, tex_name
from .solution import LOSS_FORMULAS


def _network_line(spec):
    layers = " -> ".join(f"{layer.activation} ({', '.join(layer.neurons)})" for layer in spec.layers)
    return f"inputs ({', '.join(spec.inputs)}) -> {layers}"


def _updated_names(spec):
    names = [name for name, p in spec.parameters.items() if p.updated]
    return ", ".join(names) if names else "none"


def _sections(solution):
    """(heading, quantities, update rows or None) in the order a student writes them."""
    sections = []
    several = len(solution.steps) > 1
    for step in solution.steps:
        label = f"Step {step.number}: " if several else ""
        sections.append((f"{label}Forward pass", step.forward.quantities, None))
        sections.append((f"{label}Backward pass (all gradients at the original values)",
                         step.backward.quantities, None))
        sections.append((f"{label}Updates", [], step.updates))
    sections.append(("Forward pass with the updated parameters", solution.final_forward.quantities,
                     None))
    return sections


def _checked_line(solution):
    if solution.checked_rel_tol is None:
        return "Not checked against autograd."
    return (f"Every forward value and gradient agrees with glassgrad's autograd "
            f"(relative tolerance {solution.checked_rel_tol:g}).")


def render_text(solution):
    spec = solution.spec
    lines = [spec.title or "Worked backpropagation", f"spec: {spec.source_name}",
             f"network: {_network_line(spec)}",
             f"loss: {spec.loss}: {LOSS_FORMULAS[spec.loss]}",
             f"learning rate (eta): {format_number(spec.learning_rate)}; updated: {_updated_names(spec)}",
             _checked_line(solution)]
    for heading, quantities, rows in _sections(solution):
        lines += ["", heading, "-" * len(heading)]
        for quantity in quantities:
            lines += _text_quantity(quantity)
        if rows is not None:
            lines += _text_table(rows)
    lines += ["", f"E: {format_number(solution.loss)} -> {format_number(solution.new_loss)}"]
    return "\n".join(lines) + "\n"


def _text_quantity(quantity):
    steps = equation_steps(quantity, "text")
    indent = " " * len(quantity.name)
    return [f"{quantity.name} = {steps[0]}"] + [f"{indent} = {step}" for step in steps[1:]]


def _table_cells(row):
    new = format_number(row.new) if row.updated else f"{format_number(row.new)} (not updated)"
    return [row.name, format_number(row.old), format_number(row.gradient),
            format_number(row.learning_rate), new]


UPDATE_HEADER = ["parameter", "old value", "gradient dE/dp", "learning rate", "new value"]


def _text_table(rows):
    table = [UPDATE_HEADER] + [_table_cells(row) for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(UPDATE_HEADER))]
    lines = ["new = old - learning rate * gradient"]
    for index, cells in enumerate(table):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def render_markdown(solution, diagram_file=None):
    """Markdown with LaTeX math; `diagram_file` (an SVG's path relative to the page) is shown
    under the summary."""
    spec = solution.spec
    lines = [f"# {spec.title or 'Worked backpropagation'}", "",
             f"- spec: `{spec.source_name}`", f"- network: {_network_line(spec)}",
             f"- loss: `{spec.loss}`: {LOSS_FORMULAS[spec.loss]}",
             f"- learning rate $\\eta = {format_number(spec.learning_rate)}$; updated: "
             f"{_updated_names(spec)}", f"- {_checked_line(solution)}"]
    if diagram_file:
        lines += ["", "## The network", "", f"![The network with its values]({diagram_file})"]
    for heading, quantities, rows in _sections(solution):
        lines += ["", f"## {heading}", ""]
        for quantity in quantities:
            lines += _markdown_quantity(quantity)
        if rows is not None:
            lines += _markdown_table(rows)
    lines += ["", f"The loss goes from $E = {format_number(solution.loss)}$ to "
                  f"$E = {format_number(solution.new_loss)}$."]
    return "\n".join(lines) + "\n"


def _markdown_quantity(quantity):
    steps = equation_steps(quantity)
    body = r" \\ ".join([f"{quantity.latex_name} &= {steps[0]}"] + [f"&= {s}" for s in steps[1:]])
    return ["$$", rf"\begin{{aligned}} {body} \end{{aligned}}", "$$", ""]


def _markdown_table(rows):
    lines = [r"$p^{\mathrm{new}} = p - \eta \cdot \frac{\partial E}{\partial p}$", "",
             "| " + " | ".join(UPDATE_HEADER) + " |", "|" + " --- |" * len(UPDATE_HEADER)]
    for row in rows:
        cells = _table_cells(row)
        cells[0] = f"${tex_name(cells[0])}$"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}",
                   "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "~": r"\~{}"}


def latex_escape(text):
    """Plain text made safe for LaTeX's text mode."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def render_latex(solution):
    r"""A LaTeX fragment (needs amsmath): wrap it in a document with \usepackage{amsmath}."""
    spec = solution.spec
    network = latex_escape(_network_line(spec)).replace("->", r"$\to$")
    lines = [rf"\section*{{{latex_escape(spec.title or 'Worked backpropagation')}}}",
             r"\begin{itemize}",
             rf"  \item spec: \texttt{{{latex_escape(spec.source_name)}}}",
             rf"  \item network: {network}",
             rf"  \item loss: \texttt{{{latex_escape(spec.loss)}}}: {latex_escape(LOSS_FORMULAS[spec.loss])}",
             rf"  \item learning rate $\eta = {format_number(spec.learning_rate)}$; updated: "
             rf"{latex_escape(_updated_names(spec))}",
             rf"  \item {latex_escape(_checked_line(solution))}",
             r"\end{itemize}"]
    for heading, quantities, rows in _sections(solution):
        lines += ["", rf"\subsection*{{{latex_escape(heading)}}}"]
        for quantity in quantities:
            lines += _latex_quantity(quantity)
        if rows is not None:
            lines += _latex_table(rows)
    lines += ["", rf"The loss goes from $E = {format_number(solution.loss)}$ to "
                  rf"$E = {format_number(solution.new_loss)}$."]
    return "\n".join(lines) + "\n"


def equation_steps(quantity, form="latex"):
    """The distinct right-hand sides, as ``form`` ("latex" or "text"): formula, numbers
    substituted, value (a step equal to the one before it is shown once)."""
    steps = [getattr(quantity.formula, form)]
    for step in (getattr(quantity.substituted, form), format_number(quantity.value)):
        if step not in steps:
            steps.append(step)
    return steps


def _latex_quantity(quantity):
    # one align* per quantity, so a long pass can break across pages between quantities
    steps = equation_steps(quantity)
    rows = [f"  {quantity.latex_name} &= {steps[0]}"] + [f"  &= {step}" for step in steps[1:]]
    return [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]


def _latex_table(rows):
    lines = [r"\[ p^{\mathrm{new}} = p - \eta \cdot \frac{\partial E}{\partial p} \]",
             r"\begin{center}", r"\begin{tabular}{lrrrr}", r"\hline",
             " & ".join(latex_escape(cell) for cell in UPDATE_HEADER) + r" \\", r"\hline"]
    for row in rows:
        cells = [latex_escape(cell) for cell in _table_cells(row)]
        cells[0] = f"${tex_name(row.name)}$"
        lines.append(" & ".join(cells) + r" \\")
    return lines + [r"\hline", r"\end{tabular}", r"\end{center}"]


def _forward_dict(forward):
    return {"quantities": [q.to_dict() for q in forward.quantities], "loss": forward.loss}


def solution_dict(solution):
    """Every quantity of the solution, with the spec it came from; only JSON types inside."""
    spec = solution.spec
    return {
        "spec": {
            "source": spec.source_name, "title": spec.title, "inputs": dict(spec.inputs),
            "targets": dict(spec.targets), "loss": spec.loss, "learning_rate": spec.learning_rate,
            "steps": spec.steps,
            "layers": [{"index": layer.index, "neurons": list(layer.neurons),
                        "activation": layer.activation} for layer in spec.layers],
            "parameters": [{"name": p.name, "kind": p.kind, "value": p.value, "layer": p.layer,
                            "from": p.source or None, "to": list(p.targets), "updated": p.updated}
                           for p in spec.parameters.values()],
        },
        "checked_against_autograd": solution.checked_rel_tol is not None,
        "rel_tol": solution.checked_rel_tol,
        "steps": [{
            "step": step.number, "parameters": dict(step.parameters),
            "forward": _forward_dict(step.forward),
            "backward": {"quantities": [q.to_dict() for q in step.backward.quantities],
                         "gradients": dict(step.backward.gradients)},
            "updates": [{"name": r.name, "old": r.old, "gradient": r.gradient,
                         "learning_rate": r.learning_rate, "new": r.new, "updated": r.updated}
                        for r in step.updates],
        } for step in solution.steps],
        "final_forward": _forward_dict(solution.final_forward),
        "final_parameters": dict(solution.final_parameters),
        "values": solution.values(),
    }
