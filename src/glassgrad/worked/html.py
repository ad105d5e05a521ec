"""A worked solution as one self-contained HTML page: inline CSS, inline SVG, no network at all.

The page must open from a USB stick in an exam room, so there is no MathJax: formulas are shown
in their plain-text spelling, each quantity as name = formula = numbers = value. The network
diagram is embedded as inline SVG when Graphviz is installed and left out otherwise.
"""

from html import escape

from .diagram import diagram_svg
from .notation import format_number
from .render import (UPDATE_HEADER, _checked_line, _network_line, _sections, _table_cells,
                     _updated_names, equation_steps)
from .solution import LOSS_FORMULAS

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.quantity { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: .9rem;
            margin: .6rem 0; display: grid; grid-template-columns: max-content auto; column-gap: .5rem; }
.quantity .name { font-weight: bold; }
.quantity .value { font-weight: bold; color: #0a3069; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; }
td { text-align: right; font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
td:first-child { text-align: left; }
th { background: #f6f8fa; }
.diagram svg { max-width: 100%; height: auto; }
.loss { font-size: 1.1rem; margin-top: 1.5rem; }
"""


def render_html(solution, diagram=True):
    """The whole page as a string; `diagram=False` leaves the network drawing out."""
    spec = solution.spec
    title = escape(spec.title or "Worked backpropagation")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{title}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{title}</h1>", _summary(solution)]
    svg = diagram_svg(solution) if diagram else None
    if svg is not None:
        parts += ['<h2>The network</h2>', f'<div class="diagram">{_strip_xml_prologue(svg)}</div>']
    for heading, quantities, rows in _sections(solution):
        parts.append(f"<h2>{escape(heading)}</h2>")
        parts += [_html_quantity(quantity) for quantity in quantities]
        if rows is not None:
            parts.append(_html_table(rows))
    parts += [f'<p class="loss">The loss goes from <b>E = {format_number(solution.loss)}</b> to '
              f'<b>E = {format_number(solution.new_loss)}</b>.</p>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _summary(solution):
    spec = solution.spec
    items = [f"spec: <code>{escape(spec.source_name)}</code>",
             f"network: {escape(_network_line(spec))}",
             f"loss: <code>{escape(spec.loss)}</code>: {escape(LOSS_FORMULAS[spec.loss])}",
             f"learning rate &eta; = {format_number(spec.learning_rate)}; updated: "
             f"{escape(_updated_names(spec))}",
             escape(_checked_line(solution))]
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"


def _html_quantity(quantity):
    value = format_number(quantity.value)
    steps = equation_steps(quantity, "text")
    cells = [f'<span class="name">{escape(quantity.name)}</span>', f"<span>= {escape(steps[0])}</span>"]
    for step in steps[1:]:
        css = ' class="value"' if step == value else ""
        cells += ["<span></span>", f"<span{css}>= {escape(step)}</span>"]
    return '<div class="quantity">' + "".join(cells) + "</div>"


def _html_table(rows):
    header = "".join(f"<th>{escape(cell)}</th>" for cell in UPDATE_HEADER)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _table_cells(row))
                     + "</tr>" for row in rows)
    return ("<p>new = old &minus; learning rate &times; gradient</p>\n"
            f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")


def _strip_xml_prologue(svg):
    """Graphviz's SVG starts with an XML declaration and a DOCTYPE pointing at w3.org; inline SVG
    needs neither, and the page must not name any network address."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    # the xmlns attributes are URIs, not fetched, but the page promises no "http" at all
    for namespace in (' xmlns="http://www.w3.org/2000/svg"',
                      ' xmlns:xlink="http://www.w3.org/1999/xlink"'):
        svg = svg.replace(namespace, "")
    return svg
