"""The executed HW3 notebook typeset as a PDF with Typst: every markdown cell as text and
formulas, every code cell with its output (printed text, pictures, values), in order.

The PDF is made from the notebook's own cells and outputs, so it cannot say anything the
notebook does not. Markdown is the small subset the report writes (headings, paragraphs,
inline code, ``$...$`` and ``$$...$$`` LaTeX), translated by ``latex_to_typst``.
"""

import base64
import re
import tempfile
from pathlib import Path

from ..worked.typeset import INSTALL_HINT, TYPST_MIME, TypstNotFound, _string, _text, latex_to_typst

_PREAMBLE = """#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm), numbering: "1")
#set text(size: 10.5pt)
#set heading(numbering: none)
#show heading.where(level: 1): set text(size: 18pt)
#show raw.where(block: true): set text(size: 8pt)
#let code(body) = block(fill: luma(244), inset: 7pt, radius: 3pt, width: 100%, body)
#let output(body) = block(stroke: (left: 2pt + luma(190)), inset: (left: 8pt, y: 3pt), width: 100%, body)
"""
_INLINE = re.compile(r"(`[^`]+`|\$[^$]+\$)")


def notebook_markup(notebook, pictures):
    """The Typst source for ``notebook``; pictures are added to ``pictures`` (file name -> bytes)."""
    parts = [_PREAMBLE]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(_markdown(cell.source))
        elif cell.cell_type == "code":
            parts.append(f"#code({_raw(cell.source, 'python')})")
            parts += [_output(output, pictures) for output in cell.get("outputs", [])]
    return "\n\n".join(part for part in parts if part) + "\n"


def render_pdf(notebook):
    """The notebook as PDF bytes."""
    try:
        import typst  # lazy: optional, and only the report needs it
    except ImportError:
        raise TypstNotFound(INSTALL_HINT) from None
    pictures = {}
    markup = notebook_markup(notebook, pictures)
    with tempfile.TemporaryDirectory(prefix="glassgrad-typst-") as folder:
        for name, data in pictures.items():
            (Path(folder) / name).write_bytes(data)
        main = Path(folder) / "main.typ"
        main.write_text(markup, encoding="utf-8")
        return typst.compile(str(main), root=folder, format="pdf")


def _markdown(source):
    blocks = []
    for block in re.split(r"\n\s*\n", source.strip()):
        heading = re.match(r"^(#{1,6})\s+(.*)$", block)
        if heading:
            blocks.append("=" * len(heading.group(1)) + " " + _inline(heading.group(2)))
        elif block.startswith("$$") and block.endswith("$$"):
            blocks.append(f"$ {latex_to_typst(block[2:-2].strip())} $")
        else:
            blocks.append(_inline(" ".join(block.split("\n"))))
    return "\n\n".join(blocks)


def _inline(text):
    """Text with `code` and $math$ spans kept apart from the escaped prose around them."""
    pieces = []
    for piece in _INLINE.split(text):
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            pieces.append(f"#raw({_string(piece[1:-1])})")
        elif piece.startswith("$") and piece.endswith("$") and len(piece) > 1:
            pieces.append(f"${latex_to_typst(piece[1:-1])}$")
        else:
            pieces.append(_text(piece))
    return "".join(pieces)


def _raw(text, lang=None):
    language = f", lang: {_string(lang)}" if lang else ""
    return f"raw({_string(text.rstrip())}, block: true{language})"


def _output(output, pictures):
    kind = output.get("output_type")
    if kind == "stream":
        return f"#output({_raw(output.get('text', ''))})" if output.get("text", "").strip() else ""
    if kind == "error":
        return f"#output({_raw(output.get('ename', '') + ': ' + output.get('evalue', ''))})"
    data = output.get("data", {})
    if TYPST_MIME in data:  # an object that typesets itself (a worked solution)
        body = data[TYPST_MIME]
        return body if isinstance(body, str) else "".join(body)
    if "image/svg+xml" in data:
        name = f"picture{len(pictures) + 1}.svg"
        svg = data["image/svg+xml"]
        pictures[name] = (svg if isinstance(svg, str) else "".join(svg)).encode("utf-8")
        return f'#output(align(center, image("{name}", height: 11cm, fit: "contain")))'
    if "image/png" in data:
        name = f"picture{len(pictures) + 1}.png"
        pictures[name] = base64.b64decode(data["image/png"])
        return f'#output(align(center, image("{name}", width: 85%)))'
    if "text/plain" in data:
        return f"#output({_raw(data['text/plain'])})"
    return ""
