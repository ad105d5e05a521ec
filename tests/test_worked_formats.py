"""Worked backpropagation output formats (issue 4): LaTeX, HTML, the network diagram, Typst/PDF,
and `glassgrad backprop --format ...` writing each of them (and nothing when it fails)."""

import re
import shutil
import subprocess
import sys

import pytest

from glassgrad.cli import main
from glassgrad.viz.digraph import GraphvizNotFound
from glassgrad.worked import load_spec, solve
from glassgrad.worked import diagram as diagram_module
from glassgrad.worked.diagram import diagram_svg, network_diagram
from glassgrad.worked.html import render_html
from glassgrad.worked.render import render_latex, render_markdown
from glassgrad.worked.typeset import TypstNotFound, latex_to_typst, render_pdf, typst_markup
from test_worked import DEEP_CASES, MAZUR, deep_spec

# Mazur's published numbers as the renderers print them (ten significant digits)
KEY_NUMBERS = ["0.2983711088",   # E_total (published 0.298371109)
               "0.08216704056",  # dE/dw5 (0.082167041)
               "0.3589164797",   # new w5 (0.35891648)
               "0.1497807161",   # new w1 (0.149780716)
               "0.2910277737"]   # E after the update


def _graphviz_available():
    try:
        network_diagram(solve(load_spec(MAZUR))).pipe("svg")
    except GraphvizNotFound:
        return False
    return True


GRAPHVIZ = _graphviz_available()


@pytest.fixture(scope="module")
def mazur():
    return solve(load_spec(MAZUR))


def _without_escaped_braces(latex):
    return latex.replace(r"\{", "").replace(r"\}", "")


# ---- LaTeX --------------------------------------------------------------------------------------

def test_latex_has_the_key_numbers_sections_and_table(mazur):
    latex = render_latex(mazur)
    for number in KEY_NUMBERS:
        assert number in latex
    assert latex.startswith(r"\section*{Mazur's step-by-step backpropagation example}")
    assert r"\subsection*{Backward pass (all gradients at the original values)}" in latex
    assert r"\begin{tabular}{lrrrr}" in latex
    # the w5 row of the updates table: old, gradient, learning rate, new
    assert r"$w_{5}$ & 0.4 & 0.08216704056 & 0.5 & 0.3589164797 \\" in latex


def test_latex_environments_and_braces_are_balanced(mazur):
    latex = render_latex(mazur)
    opened = re.findall(r"\\begin\{([^}]*)\}", latex)
    closed = re.findall(r"\\end\{([^}]*)\}", latex)
    assert opened == closed or sorted(opened) == sorted(closed)
    stack = []
    for match in re.finditer(r"\\(begin|end)\{([^}]*)\}", latex):
        if match.group(1) == "begin":
            stack.append(match.group(2))
        else:
            assert stack.pop() == match.group(2)
    assert stack == []
    depth = 0
    for char in _without_escaped_braces(latex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    # one align* per quantity; the "new w5" lines are the updates table instead
    shown = mazur.forward.quantities + mazur.backward.quantities + mazur.final_forward.quantities
    assert latex.count(r"\begin{align*}") == len(shown)


def test_latex_escapes_text_mode_specials(mazur):
    latex = render_latex(mazur)
    assert r"\texttt{half\_squared\_error}" in latex
    assert r"(target - o)\^{}2" in latex


# ---- HTML ---------------------------------------------------------------------------------------

def test_html_is_one_page_with_the_key_numbers_and_no_network_reference(mazur):
    page = render_html(mazur)
    for number in KEY_NUMBERS:
        assert number in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "http" not in page.lower()
    assert "<style>" in page and "<script" not in page and "<link" not in page
    for heading in ("Forward pass", "Backward pass", "Updates", "Forward pass with the updated"):
        assert f"<h2>{heading}" in page
    assert "<td>w5</td><td>0.4</td><td>0.08216704056</td><td>0.5</td><td>0.3589164797</td>" in page


@pytest.mark.skipif(not GRAPHVIZ, reason="Graphviz is not installed")
def test_html_embeds_the_diagram_as_inline_svg(mazur):
    page = render_html(mazur)
    assert page.count("<svg") == 1 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert render_html(mazur, diagram=False).count("<svg") == 0


def test_html_leaves_the_diagram_out_silently_without_graphviz(mazur, monkeypatch):
    def missing(self, fmt="svg"):
        raise GraphvizNotFound("no dot")
    monkeypatch.setattr(diagram_module.DotGraph, "pipe", missing)
    page = render_html(mazur)
    assert "<svg" not in page and "0.3589164797" in page


def test_html_escapes_the_title(tmp_path):
    spec = tmp_path / "m.toml"
    spec.write_text(MAZUR.read_text().replace('title = "Mazur', 'title = "a < b & Mazur'))
    assert "<h1>a &lt; b &amp; Mazur" in render_html(solve(load_spec(spec)), diagram=False)


# ---- the network diagram --------------------------------------------------------------------------

def test_diagram_has_one_rank_per_layer_and_values_on_nodes_and_edges(mazur):
    source = network_diagram(mazur).source
    assert "rankdir=LR" in source
    assert "{ rank=same; i1; i2 }" in source
    assert "{ rank=same; h1; h2 }" in source
    assert "{ rank=same; o1; o2 }" in source
    assert 'h1 [label="h1 (sigmoid)\\n0.5932699921\\nb1 = 0.35"' in source
    assert 'h1 -> o1 [label="w5 = 0.4\\ndE/dw5 = 0.08216704056"' in source
    assert source.count(" -> ") == 8
    # left to right: inputs before hidden before outputs
    assert source.index("rank=same; i1") < source.index("rank=same; h1") < source.index("rank=same; o1")


def test_diagram_svg_is_none_without_graphviz(mazur, monkeypatch):
    def missing(self, fmt="svg"):
        raise GraphvizNotFound("no dot")
    monkeypatch.setattr(diagram_module.DotGraph, "pipe", missing)
    assert diagram_svg(mazur) is None


def test_markdown_shows_the_diagram_only_when_given_a_file(mazur):
    assert "![" not in render_markdown(mazur)
    assert "![The network with its values](m.svg)" in render_markdown(mazur, "m.svg")


# ---- Typst and PDF -------------------------------------------------------------------------------

@pytest.mark.parametrize("latex, typst", [
    (r"\mathrm{net}_{h1}", '"net"_(italic("h1"))'),
    (r"\frac{\partial E}{\partial w_{5}}", "frac(partial E, partial w_(5))"),
    (r"\frac{1}{1 + e^{-0.3775}}", "frac(1, 1 + e^(-0.3775))"),
    (r"\text{new}\ w_{5}", '"new" w_(5)'),
    (r"0.2 \cdot (-0.5)", "0.2 dot (-0.5)"),
    (r"[\mathrm{net}_{g2} > 0]", '\\["net"_(italic("g2")) > 0\\]'),
])
def test_latex_to_typst(latex, typst):
    assert latex_to_typst(latex) == typst


def test_latex_to_typst_refuses_a_command_it_does_not_know():
    with pytest.raises(ValueError, match=r"\\sqrt"):
        latex_to_typst(r"\sqrt{2}")


def test_typst_markup_has_the_key_numbers_and_the_table(mazur):
    markup = typst_markup(mazur, diagram=False)
    for number in KEY_NUMBERS:
        assert number in markup
    assert "#align(center, table(columns: 5" in markup
    assert "[w5], [0.4], [0.08216704056], [0.5], [0.3589164797]," in markup
    assert "image(" not in markup


def test_pdf_says_how_to_install_typst_when_it_is_missing(mazur, monkeypatch):
    monkeypatch.setitem(sys.modules, "typst", None)  # makes `import typst` raise ImportError
    with pytest.raises(TypstNotFound, match="pip install typst"):
        render_pdf(mazur)


def _pdf_text(pdf, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_pdf_has_the_key_numbers(mazur, tmp_path):
    pytest.importorskip("typst")
    pdf = render_pdf(mazur)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    for number in KEY_NUMBERS:
        assert number in text


@pytest.mark.parametrize("output, loss", DEEP_CASES)
def test_every_formula_of_the_deep_networks_compiles_in_typst(output, loss):
    typst = pytest.importorskip("typst")
    markup = typst_markup(solve(deep_spec(output, loss)), diagram=False)
    assert typst.compile(markup.encode(), format="pdf").startswith(b"%PDF")


# ---- the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "md", "tex", "html", "pdf"])
def test_cli_writes_each_format(fmt, tmp_path, capsys):
    if fmt == "pdf":
        pytest.importorskip("typst")
    target = tmp_path / f"mazur.{fmt}"
    assert main(["backprop", str(MAZUR), "--format", fmt, "-o", str(target)]) == 0
    data = target.read_bytes()
    if fmt == "pdf":
        assert data.startswith(b"%PDF")
        text = _pdf_text(data, tmp_path)
    else:
        text = data.decode()
    for number in KEY_NUMBERS:
        assert number in text
    assert f"wrote {target}" in capsys.readouterr().out


def test_cli_format_is_not_taken_from_the_file_name(tmp_path):
    target = tmp_path / "out.html"
    assert main(["backprop", str(MAZUR), "-o", str(target)]) == 0
    assert target.read_text().startswith("Mazur's step-by-step")  # text, the default


@pytest.mark.skipif(not GRAPHVIZ, reason="Graphviz is not installed")
def test_cli_md_writes_the_diagram_next_to_the_page(tmp_path, capsys):
    assert main(["backprop", str(MAZUR), "--format", "md", "-o", str(tmp_path / "q.md")]) == 0
    assert (tmp_path / "q.svg").read_text().lstrip().startswith("<?xml")
    assert "![The network with its values](q.svg)" in (tmp_path / "q.md").read_text()
    assert main(["backprop", str(MAZUR), "--format", "md"]) == 0
    assert "![" not in capsys.readouterr().out


def test_cli_pdf_needs_an_output_file(capsys):
    assert main(["backprop", str(MAZUR), "--format", "pdf"]) == 2
    assert "give -o FILE.pdf" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["md", "tex", "html", "pdf"])
def test_cli_leaves_no_file_when_rendering_fails(fmt, tmp_path, monkeypatch, capsys):
    from glassgrad.worked import html, render, typeset

    def broken(*args, **kwargs):
        raise RuntimeError("renderer broke")
    monkeypatch.setattr(render, "render_markdown", broken)
    monkeypatch.setattr(render, "render_latex", broken)
    monkeypatch.setattr(html, "render_html", broken)
    monkeypatch.setattr(typeset, "render_pdf", broken)
    assert main(["backprop", str(MAZUR), "--format", fmt, "-o", str(tmp_path / f"m.{fmt}")]) == 1
    assert "renderer broke" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # not the page, not the diagram, no temporary file


def test_cli_leaves_no_file_on_a_bad_spec(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MAZUR.read_text().replace("learning_rate = 0.5", 'learning_rate = "fast"'))
    assert main(["backprop", str(bad), "--format", "html", "-o", str(tmp_path / "m.html")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_cli_without_typst_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "typst", None)
    assert main(["backprop", str(MAZUR), "--format", "pdf", "-o", str(tmp_path / "m.pdf")]) == 2
    assert "pip install typst" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
