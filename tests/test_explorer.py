"""The interactive explainer page: its steps carry the engine's numbers to the right node or edge,
and, driven in headless Chromium, stepping shows them with no script error and no request
leaving the page."""

import shutil
from pathlib import Path

import pytest

import glassgrad as torch
from glassgrad.report.explorer import explorer_page, graph_from_explanation, graph_from_worked
from glassgrad.worked import load_spec, solve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def q1_graph():
    x = torch.tensor([3.0], requires_grad=True)
    y = torch.tensor([4.0], requires_grad=True)
    f = (x + torch.exp(y)) / (torch.log(x) + (x - y) ** 3)
    f.backward(retain_graph=True)
    explanation = torch.explain(f, names={"x": x, "y": y, "f": f})
    return graph_from_explanation(explanation, "Q1"), x, y


def effects(graph, target, field):
    return [e["text"] for s in graph["steps"] for e in s["effects"]
            if e["target"] == target and e["field"] == field]


def test_q1_steps_end_with_the_engine_gradients_on_the_input_nodes():
    graph, x, y = q1_graph()
    assert effects(graph, "x", "grad")[-1] == f"∂f/∂x = {x.grad.item():.4f}" == "∂f/∂x = -19733.3965"
    assert effects(graph, "y", "grad")[-1] == f"∂f/∂y = {y.grad.item():.4f}"
    assert effects(graph, "f", "value") == ["584.0868"]
    # every chain-rule product lights the edge it travels along, and every edge exists
    edges = {e["id"] for e in graph["edges"]}
    lit = {e["target"] for s in graph["steps"] for e in s["effects"] if e["edge"]}
    assert lit == edges == {"y->v1", "x->v2", "v1->v2", "x->v3", "x->v4", "y->v4", "v4->v5",
                            "v3->v6", "v5->v6", "v2->f", "v6->f"}
    phases = [s["phase"] for s in graph["steps"]]
    assert phases == sorted(phases, key=["forward", "backward"].index)  # forward first


def test_q4_steps_put_mazur_numbers_on_his_weights_and_neurons():
    solution = solve(load_spec(EXAMPLES / "mazur.toml"))
    graph = graph_from_worked(solution, "Q4")
    assert effects(graph, "w5", "label") == ["dnet_o1/dw5 = 0.59327", "dE/dw5 = 0.082167",
                                             "w5: 0.4 → 0.35891648"]
    assert effects(graph, "o1", "delta") == ["dE/dnet_o1 = 0.138499"]
    assert effects(graph, "E", "value") == ["E = 0.298371"]
    assert effects(graph, "h1", "value") == ["net 0.3775 → 0.59327"]


def test_the_page_is_self_contained():
    graph, _, _ = q1_graph()
    page = explorer_page([graph])
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<link" not in page and " src=" not in page
    assert "default-src 'none'" in page  # the browser itself refuses any fetch


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, tmp_path, graphs):
    path = tmp_path / "explorer.html"
    path.write_text(explorer_page(graphs), encoding="utf-8")
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    return page, problems, requests, path


def test_stepping_the_backward_pass_shows_the_gradient_on_node_x(browser, tmp_path):
    graph, _, _ = q1_graph()
    page, problems, requests, path = open_page(browser, tmp_path, [graph])
    grad_x = page.locator("#graph-0 [data-node=x] [data-field=grad]")
    assert grad_x.text_content() == ""
    steps = 0
    while grad_x.text_content() == "":
        page.click("#graph-0 button[data-act=step]")
        steps += 1
    assert grad_x.text_content() == "∂f/∂x = -19733.3965"
    assert steps == len(graph["steps"]) - 1  # x's sum is the last step but one (y's is last)
    assert page.inner_text("#graph-0 .current").endswith("= -19733.3965")
    page.click("#graph-0 button[data-act=back]")
    assert grad_x.text_content() == ""  # stepping back undoes it
    page.click("#graph-0 button[data-act=start]")
    assert page.locator("#graph-0 [data-node=v1] [data-field=value]").text_content() == ""
    assert problems == [] and requests == [path.as_uri()]


def test_the_q4_network_steps_to_the_updated_weights(browser, tmp_path):
    solution = solve(load_spec(EXAMPLES / "mazur.toml"))
    page, problems, requests, path = open_page(browser, tmp_path, [graph_from_worked(solution, "Q4")])
    page.click("#graph-0 button[data-act=end]")
    assert page.locator("#graph-0 [data-edge=w5] text").text_content() == "w5: 0.4 → 0.35891648"
    assert page.locator("#graph-0 [data-node=o1] [data-field=grad]").text_content() == "dE/dnet_o1 = 0.138499"
    assert problems == [] and requests == [path.as_uri()]
