"""A worked solution typeset as PDF with Typst (the `typst` package from PyPI; no TeX needed).

`typst_markup(solution)` writes the Typst source: title, the summary, the network diagram (as an
SVG image when Graphviz is installed), each pass with every quantity as aligned math, the updates
table and the new loss. `render_pdf(solution)` compiles it to PDF bytes. The formulas come from
the same LaTeX the other renderers use, translated by `latex_to_typst`, which knows exactly the
small LaTeX vocabulary `notation.py` and `solution.py` produce.
"""

import re

from .diagram import diagram_svg
from .notation import format_number
from .render import UPDATE_HEADER, _checked_line, _network_line, _sections, _table_cells, _updated_names
from .solution import LOSS_FORMULAS

INSTALL_HINT = "PDF output needs the typst package: pip install typst"
TYPST_MIME = "text/vnd.glassgrad.typst"  # a notebook output carrying Typst markup for the PDF


class TypstNotFound(RuntimeError):
    """`--format pdf` needs the `typst` Python package."""


# ---- LaTeX (our subset) -> Typst math -------------------------------------------------------

_COMMANDS = {r"\cdot": " dot ", r"\partial": "partial ", r"\ln": "ln ", r"\tanh": "tanh",
             r"\max": "max", r"\eta": "eta ", r"\ ": " ", r"\exp": "exp", r"\log": "log",
             r"\sum": "sum ", r"\left": "", r"\right": ""}  # Typst sizes delimiters itself
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]+[0-9]*|[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?|\s+|.")


def latex_to_typst(latex):
    """Typst math for one LaTeX formula built by `notation.py` or written in the HW3 report
    (fractions, sub/superscripts, hats, \\mathrm, \\text, \\partial, \\cdot, \\sum and the
    elementary functions)."""
    tokens = _TOKEN.findall(latex)
    output, _ = _translate(tokens, 0)
    return re.sub(r" {2,}", " ", output).strip()


def _translate(tokens, index, stop=None):
    """Translate tokens from `index` until the closing brace `stop`; return (typst, next index)."""
    out = []
    while index < len(tokens):
        token = tokens[index]
        if token == stop:
            return "".join(out), index + 1
        if token == r"\frac":
            top, index = _group(tokens, index + 1)
            bottom, index = _group(tokens, index)
            out.append(f"frac({top}, {bottom})")
            continue
        if token == r"\hat":
            inner, index = _group(tokens, index + 1)
            out.append(f"hat({inner})")
            continue
        if token in (r"\mathrm", r"\text"):
            word, index = _raw_group(tokens, index + 1)
            out.append(f'"{word}"')
            continue
        if token in ("_", "^"):
            inner, index = _group(tokens, index + 1)
            out.append(f"{token}({inner})")
            continue
        out.append(_atom(token))
        index += 1
    return "".join(out), index


def _group(tokens, index):
    """A braced group (or a single token) starting at `index`, translated."""
    if tokens[index] == "{":
        return _translate(tokens, index + 1, stop="}")
    return _atom(tokens[index]), index + 1


def _raw_group(tokens, index):
    """The literal text of a braced group, for \\mathrm{net} and \\text{new}."""
    end = tokens.index("}", index)
    return "".join(tokens[index + 1:end]).replace('"', '\\"'), end + 1


def _atom(token):
    if token in _COMMANDS:
        return _COMMANDS[token]
    if token.startswith("\\"):
        raise ValueError(f"latex_to_typst: no Typst spelling for {token}")
    if re.fullmatch(r"[A-Za-z]{2,}", token):
        return f'"{token}"'  # Typst reads a run of letters as one variable name, so quote it
    if re.fullmatch(r"[A-Za-z][0-9]+", token):
        return f'italic("{token}")'  # "h1" likewise; italic, as LaTeX would set it
    if token in "[]":
        return "\\" + token  # brackets would open a content block
    return token


# ---- the document ---------------------------------------------------------------------------

def _text(value):
    """Plain text made safe for Typst markup (its markup characters escaped)."""
    return re.sub(r"([\\#*_`$<>@=\-\[\]~/])", r"\\\1", value)


def _string(value):
    """A Typst string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def typst_markup(solution, diagram=True):
    """The Typst source of the document; `diagram=False` leaves the network drawing out."""
    preamble = ['#set page(paper: "a4", margin: 2cm, numbering: "1")',
                '#set text(size: 10.5pt)', "#set heading(numbering: none)",
                "#show math.equation: set block(breakable: true)"]
    return "\n".join(preamble) + "\n" + typst_body(solution, diagram)


def typst_body(solution, diagram=True, heading_level=1):
    """The document without page settings, so it can sit inside another one (the HW3 report),
    its section headings at ``heading_level``."""
    spec = solution.spec
    title = spec.title or "Worked backpropagation"
    heading = "=" * heading_level
    lines = [f"#align(center, text(size: 16pt, weight: \"bold\", {_string(title)}))", "",
             f"- spec: `{spec.source_name}`", f"- network: {_text(_network_line(spec))}",
             f"- loss: {_text(spec.loss)}: {_text(LOSS_FORMULAS[spec.loss])}",
             f"- learning rate $eta = {format_number(spec.learning_rate)}$; updated: "
             f"{_text(_updated_names(spec))}", f"- {_text(_checked_line(solution))}"]
    svg = diagram_svg(solution) if diagram else None
    if svg is not None:
        lines += ["", f"{heading} The network", "",
                  f"#align(center, image(bytes({_string(svg)}), format: \"svg\", width: 100%))"]
    for section, quantities, rows in _sections(solution):
        lines += ["", f"{heading} {_text(section)}", ""]
        lines += [_typst_quantity(quantity) for quantity in quantities]
        if rows is not None:
            lines += _typst_table(rows)
    lines += ["", f"The loss goes from $E = {format_number(solution.loss)}$ to "
                  f"$E = {format_number(solution.new_loss)}$."]
    return "\n".join(lines) + "\n"


def _typst_quantity(quantity):
    from .render import equation_steps
    steps = [latex_to_typst(step) for step in equation_steps(quantity)]
    rows = [f"{latex_to_typst(quantity.latex_name)} &= {steps[0]}"] + [f"&= {s}" for s in steps[1:]]
    return "$ " + " \\\n  ".join(rows) + " $"


def _typst_table(rows):
    header = ", ".join(f"[*{_text(cell)}*]" for cell in UPDATE_HEADER)
    body = []
    for row in rows:
        cells = [_text(cell) for cell in _table_cells(row)]
        body.append(", ".join([f"[{cells[0]}]"] + [f"[{cell}]" for cell in cells[1:]]))
    return (["", "$ p^\"new\" = p - eta dot frac(partial E, partial p) $", "",
             "#align(center, table(columns: 5, align: (left, right, right, right, right),",
             "  stroke: 0.5pt, inset: 5pt,", f"  {header},"]
            + [f"  {line}," for line in body] + ["))"])


def render_pdf(solution, diagram=True):
    """The document compiled to PDF bytes by Typst."""
    try:
        import typst  # lazy: an optional dependency, and only `--format pdf` needs it
    except ImportError:
        raise TypstNotFound(INSTALL_HINT) from None
    return typst.compile(typst_markup(solution, diagram).encode("utf-8"), format="pdf")
