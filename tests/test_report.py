"""`glassgrad hw3`, run once as a user would: the executed notebook, the PDF, Q4's PDF and the
interactive page, checked against numbers computed here independently (NumPy least squares, a
NumPy forward/backward of the Q4 network) and the seed's printed values."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import Q2_X, Q2_Y

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("typst")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "glassgrad", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hw3")
    result = run("hw3", "--out", "report", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:4] == ["Q1: running", "Q2: running", "Q3: running", "Q4: running"]
    return folder


def outputs_text(cell):
    parts = []
    for output in cell.get("outputs", []):
        value = (output.get("text", "") if output["output_type"] == "stream"
                 else output.get("data", {}).get("text/plain", ""))
        parts.append("".join(value) if isinstance(value, list) else value)  # .ipynb splits lines
    return "".join(parts)


def test_the_folder_holds_the_four_files_and_nothing_else(report):
    assert sorted(p.name for p in report.iterdir()) == ["report"]  # no staging folder left
    assert sorted(p.name for p in (report / "report").iterdir()) == [
        "hw3.html", "hw3.ipynb", "hw3.pdf", "q4_backprop.pdf"]


def test_every_code_cell_ran_without_error_and_shows_the_seed_numbers(report):
    notebook = json.loads((report / "report" / "hw3.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] is not None for cell in code)
    assert not any(o["output_type"] == "error" for cell in code for o in cell["outputs"])
    text = "\n".join(outputs_text(cell) for cell in code)
    for seed_value in ("tensor([584.0868], grad_fn=<DivBackward0>)", "tensor([-19733.3965])",
                       "tensor([18322.8477])", "= -19733.3965   (sum of 3 contributions)",
                       "x.grad =  tensor([-0.7311])", "x.grad =  tensor([nan])", "tensor([inf])",
                       "x.grad =  tensor([-1.])", "verdict: UNSTABLE",
                       "the seed's answer is unstable: error starts at exp(y - x)",
                       "best rewrite: softplus(y - x)",
                       "exp: exp(x) produced inf from finite input (float32): x = [100]"):
        assert seed_value in text
    kinds = [key for cell in code for o in cell["outputs"] for key in o.get("data", {})]
    assert "image/svg+xml" in kinds and "image/png" in kinds  # the graph and the plot


def test_q2_optimum_in_the_notebook_equals_numpy_least_squares(report):
    notebook = json.loads((report / "report" / "hw3.ipynb").read_text())
    text = "\n".join(outputs_text(c) for c in notebook["cells"] if c["cell_type"] == "code")
    # the notebook fits the seed's float32 tensors (x * x too), so those are rounded to float32
    x32, y32 = np.array(Q2_X, dtype=np.float32), np.array(Q2_Y, dtype=np.float32)
    design = np.column_stack([np.ones(20), x32, x32 * x32]).astype(np.float64)
    y = y32.astype(np.float64)
    b, w1, w2 = np.linalg.lstsq(design, y, rcond=None)[0]
    assert f"{b:12.6f}" in text and f"{w1:12.6f}" in text and f"{w2:12.6f}" in text


def q4_by_hand():
    """The seed's Q4 network (Mazur's values, linear outputs, learning rate 10) in NumPy."""
    x, target = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    w_hidden, b_hidden = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35, 0.35])
    w_out, b_out = np.array([[0.40, 0.45], [0.50, 0.55]]), np.array([0.60, 0.60])
    h = 1 / (1 + np.exp(-(w_hidden @ x + b_hidden)))
    o = w_out @ h + b_out
    loss = 0.5 * np.sum((o - target) ** 2)
    gradient_w5 = (o[0] - target[0]) * h[0]
    return loss, gradient_w5, 0.40 - 10 * gradient_w5


def pdf_text(path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_pdf_has_every_answer_on_a_sane_number_of_pages(report):
    text = pdf_text(report / "report" / "hw3.pdf")
    for value in ("584.0868", "-19733.3965", "18322.8477", "epoch: 1 --> loss", "tensor([nan])"):
        assert value in text
    loss, gradient, new_w5 = q4_by_hand()
    assert f"{loss:.10g}" in text.replace("\n", "")
    pages = subprocess.run(["pdfinfo", str(report / "report" / "hw3.pdf")], capture_output=True,
                           text=True).stdout
    count = int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")))
    assert 6 <= count <= 40


def test_the_q4_pdf_has_the_hand_calculation(report):
    text = pdf_text(report / "report" / "q4_backprop.pdf").replace("\n", " ")
    loss, gradient, new_w5 = q4_by_hand()
    for value in (loss, gradient, new_w5):
        assert f"{value:.10g}" in text


def test_the_explainer_steps_to_the_gradient_on_node_x(report):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt install chromium)")
    path = report / "report" / "hw3.html"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        problems, requests = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        assert page.locator("section h2").all_text_contents()[1].startswith("Q4")
        node_x = page.locator("#graph-0 [data-node=x] [data-field=grad]")
        for _ in range(200):
            if node_x.text_content():
                break
            page.click("#graph-0 button[data-act=step]")
        assert node_x.text_content() == "∂f/∂x = -19733.3965"
        browser.close()
    assert problems == [] and requests == [path.as_uri()]


def test_only_q4_with_another_network(tmp_path):
    result = run("hw3", "--only", "q4", "--q4", str(ROOT / "examples" / "mazur.toml"), "--out", "r",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "hw3.html", "hw3.ipynb", "hw3.pdf", "q4_backprop.pdf"]
    text = pdf_text(tmp_path / "r" / "q4_backprop.pdf")
    for published in ("0.2983711088", "0.08216704056", "0.3589164797"):  # Mazur's numbers
        assert published in text


def test_a_bad_q4_spec_is_a_usage_error_before_anything_runs(tmp_path):
    (tmp_path / "bad.toml").write_text("loss = 3\n")
    result = run("hw3", "--q4", "bad.toml", "--out", "r", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("glassgrad hw3: ")
    assert result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
