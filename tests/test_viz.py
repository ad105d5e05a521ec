"""make_dot and make_forward_dot: the DOT text they write, checked against PyTorch's own graph.

The expected structure comes from walking torch's ``grad_fn.next_functions`` the way torchviz
does (torchviz itself is not needed); rendering is tested only when Graphviz is installed.
"""

import collections
import re
import shutil
import sys

import pytest

import glassgrad as gg
from glassgrad.viz import GraphvizNotFound, make_dot, make_forward_dot

NODE_LINE = re.compile(r"^\s+(n\d+) \[(.*)\]$")
EDGE_LINE = re.compile(r"^\s+(n\d+) -> (n\d+)(?: \[(.*)\])?$")
ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ \]]+)')


def parse_attributes(text):
    attrs = {}
    for key, value in ATTRIBUTE.findall(text or ""):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1])
        attrs[key] = value
    return attrs


def parse_dot(source):
    """Nodes {id: attrs} and edges [(tail, head, attrs)] from our DOT text."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if edge := EDGE_LINE.match(line):
            edges.append((edge.group(1), edge.group(2), parse_attributes(edge.group(3))))
        elif node := NODE_LINE.match(line):
            nodes[node.group(1)] = parse_attributes(node.group(2))
    assert source.startswith("digraph {") and source.rstrip().endswith("}")
    return nodes, edges


def label_multiset(nodes):
    return collections.Counter(attrs["label"] for attrs in nodes.values())


def edge_multiset(nodes, edges):
    return collections.Counter((nodes[tail]["label"], nodes[head]["label"])
                               for tail, head, attrs in edges if "dir" not in attrs)


def torchviz_structure(outputs, params):
    """The labels and edges torchviz would draw for a torch graph, without torchviz."""
    names = {id(t): name for name, t in params.items()}

    def tensor_label(t):
        return f"{names.get(id(t), '')}\n ({', '.join(str(n) for n in t.shape)})"

    labels, edges, seen = collections.Counter(), collections.Counter(), set()
    for output in outputs:
        labels[tensor_label(output)] += 1
        stack = [output.grad_fn]
        edges[(type(output.grad_fn).__name__, tensor_label(output))] += 1
        while stack:
            fn = stack.pop()
            if fn in seen:
                continue
            seen.add(fn)
            labels[type(fn).__name__] += 1
            if hasattr(fn, "variable"):
                labels[tensor_label(fn.variable)] += 1
                edges[(tensor_label(fn.variable), type(fn).__name__)] += 1
            for u, _ in fn.next_functions:
                if u is not None:
                    edges[(type(u).__name__, type(fn).__name__)] += 1
                    stack.append(u)
    return labels, edges


def q1(torch):
    x = torch.tensor([2.0], requires_grad=True)
    y = torch.tensor([1.0], requires_grad=True)
    f = (x + torch.exp(y)) / (torch.log(x) + (x - y) ** 3)
    return x, y, f


@pytest.fixture
def q1_graph():
    x, y, f = q1(gg)
    return x, y, f, {"x": x, "y": y, "f": f}


def test_q1_node_labels_and_edges_are_exactly_these(q1_graph):
    *_, f, params = q1_graph
    nodes, edges = parse_dot(make_dot(f, params=params).source)
    assert label_multiset(nodes) == collections.Counter({
        "DivBackward0": 1, "AddBackward0": 2, "ExpBackward0": 1, "LogBackward0": 1,
        "PowBackward0": 1, "SubBackward0": 1, "AccumulateGrad": 2,
        "x\n (1)": 1, "y\n (1)": 1, "f\n (1)": 1})
    assert len(edges) == 14
    pairs = edge_multiset(nodes, edges)
    assert pairs[("DivBackward0", "f\n (1)")] == 1  # edges run towards the output
    assert pairs[("x\n (1)", "AccumulateGrad")] == 1
    assert pairs[("AccumulateGrad", "SubBackward0")] == 2
    assert pairs[("PowBackward0", "AddBackward0")] == 1
    assert pairs[("AddBackward0", "DivBackward0")] == 2
    assert ("f\n (1)", "DivBackward0") not in pairs


def test_q1_matches_what_torchviz_would_draw_from_torch():
    torch = pytest.importorskip("torch")
    x, y, f = q1(torch)
    want_labels, want_edges = torchviz_structure([f], {"x": x, "y": y, "f": f})
    gx, gy, gf = q1(gg)
    nodes, edges = parse_dot(make_dot(gf, params={"x": gx, "y": gy, "f": gf}).source)
    assert label_multiset(nodes) == want_labels
    assert edge_multiset(nodes, edges) == want_edges


@pytest.mark.parametrize("program", [
    "a * a",
    "(a @ b).sum()",
    "torch.tanh(a * b + a).sum() * 2",
    "torch.exp(-a) / (1 + torch.exp(-a))",
    "(a.reshape(-1) ** 2).mean()",
])
def test_other_graphs_match_torch_structure(program):
    torch = pytest.importorskip("torch")
    structures = []
    for module in (torch, gg):
        a = module.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = module.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        out = eval(program, {"torch": module, "a": a, "b": b})
        structures.append((out, {"a": a, "b": b, "out": out}))
    want_labels, want_edges = torchviz_structure([structures[0][0]], structures[0][1])
    nodes, edges = parse_dot(make_dot(structures[1][0], params=structures[1][1]).source)
    assert label_multiset(nodes) == want_labels
    assert edge_multiset(nodes, edges) == want_edges


def colours_by_label(nodes):
    return {attrs["label"]: attrs.get("fillcolor") for attrs in nodes.values()}


def test_colours_follow_torchviz_legend(q1_graph):
    *_, f, params = q1_graph
    nodes, _ = parse_dot(make_dot(f, params=params).source)
    colours = colours_by_label(nodes)
    assert colours["x\n (1)"] == colours["y\n (1)"] == "lightblue"
    assert colours["f\n (1)"] == "darkolivegreen1"
    assert colours["DivBackward0"] is None  # grey comes from the filled default style
    assert "orange" not in colours.values()


def test_show_saved_draws_orange_saved_tensors_without_arrows(q1_graph):
    *_, f, params = q1_graph
    nodes, edges = parse_dot(make_dot(f, params=params, show_saved=True).source)
    saved = {n: a["label"] for n, a in nodes.items() if a.get("fillcolor") == "orange"}
    # div saves self and other, exp its result, log and pow their input
    assert sorted(saved.values()) == sorted(["self\n (1)", "other\n (1)", "result\n (1)",
                                             "self\n (1)", "self\n (1)"])
    undirected = [(t, h) for t, h, a in edges if a.get("dir") == "none"]
    assert sorted(h for _, h in undirected) == sorted(saved)
    assert {nodes[t]["label"] for t, _ in undirected} == {
        "DivBackward0", "ExpBackward0", "LogBackward0", "PowBackward0"}


def test_show_attrs_lists_saved_attributes(q1_graph):
    *_, f, params = q1_graph
    nodes, _ = parse_dot(make_dot(f, params=params, show_attrs=True).source)
    (pow_label,) = [a["label"] for a in nodes.values() if a["label"].startswith("PowBackward0")]
    title, rule, *rows = pow_label.split("\n")
    assert set(rule) == {"-"} and len(rule) >= len(title)
    assert [r.split(":")[0].strip() for r in rows] == ["exponent", "self"]
    assert rows[0].split(":")[1].strip() == "3"
    assert rows[1].split(":")[1].strip() == "[saved tensor]"
    assert "show_attrs" not in make_dot(f).source and "exponent" not in make_dot(f).source


def test_show_attrs_cuts_long_values_to_max_attr_chars():
    x = gg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    out = x.reshape(3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
    nodes, _ = parse_dot(make_dot(out, show_attrs=True, max_attr_chars=10).source)
    (label,) = [a["label"] for a in nodes.values() if a["label"].startswith("ViewBackward0")]
    rows = label.split("\n")[2:]
    assert rows and all(len(r.split(": ", 1)[1]) <= 10 for r in rows)
    assert any(r.endswith("...") for r in rows)


def test_tuple_of_outputs_draws_both_and_shares_the_graph():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = gg.exp(x)
    a, b = h.sum(), (h * 2).sum()
    nodes, edges = parse_dot(make_dot((a, b), params={"x": x, "a": a, "b": b}).source)
    labels = label_multiset(nodes)
    assert labels["a\n ()"] == labels["b\n ()"] == 1
    assert labels["ExpBackward0"] == 1 and labels["AccumulateGrad"] == 1
    assert colours_by_label(nodes)["b\n ()"] == "darkolivegreen1"
    assert len(edges) == 7  # x->acc, acc->exp, exp->sum, sum->a, exp->mul, mul->sum, sum->b


def test_a_leaf_used_many_times_is_one_node():
    x = gg.tensor([3.0], requires_grad=True)
    out = x * x + gg.log(x) - x
    nodes, edges = parse_dot(make_dot(out, params={"x": x}).source)
    labels = label_multiset(nodes)
    assert labels["x\n (1)"] == 1 and labels["AccumulateGrad"] == 1
    pairs = edge_multiset(nodes, edges)
    assert pairs[("AccumulateGrad", "MulBackward0")] == 2  # one edge per use, as torchviz
    assert pairs[("AccumulateGrad", "LogBackward0")] == 1
    assert pairs[("AccumulateGrad", "SubBackward0")] == 1


def test_unnamed_leaves_show_only_their_shape():
    w = gg.ones(2, 3, requires_grad=True)
    nodes, _ = parse_dot(make_dot(w.sum()).source)
    assert label_multiset(nodes)["\n (2, 3)"] == 1
    assert label_multiset(nodes)["\n ()"] == 1


def test_bad_arguments_are_refused():
    x = gg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="params"):
        make_dot(x * 2, params={"x": 3.0})
    with pytest.raises(TypeError, match="tensor"):
        make_dot([x, "y"])


def test_show_values_adds_data_grad_and_formulas(q1_graph):
    x, y, f, params = q1_graph
    f.backward(retain_graph=True)
    source = make_dot(f, params=params, show_values=True).source
    nodes, _ = parse_dot(source)
    by_title = {a["label"].split("|")[0]: a for a in nodes.values()}
    x_fields = by_title["x\n (1)"]["label"].split("|")
    assert by_title["x\n (1)"]["shape"] == "record"
    assert x_fields[1] == "data 2"
    assert float(x_fields[2].split()[1]) == pytest.approx(float(x.grad.item()), rel=1e-3)
    assert by_title["DivBackward0"]["label"].split("|")[1] == "a / b"
    assert by_title["PowBackward0"]["label"].split("|")[1] == "x ** exponent\nexponent = 3"
    # the log node's value was not saved by anything: it is recomputed from its record
    assert by_title["LogBackward0"]["label"].split("|")[2] == "data 0.6931"
    assert float(by_title["f\n (1)"]["label"].split("|")[1].split()[1]) == pytest.approx(
        f.item(), rel=1e-3)
    assert "data" not in make_dot(f, params=params).source


def test_graph_after_backward_without_retain_still_draws(q1_graph):
    *_, f, params = q1_graph
    f.backward()
    source = make_dot(f, params=params, show_attrs=True, show_saved=True).source
    assert "[freed]" in source and "orange" not in source
    assert "exponent:" in source  # non-tensor params survive backward


def test_deep_chain_does_not_recurse():
    x = gg.tensor([0.5], requires_grad=True)
    out = x
    for _ in range(3000):
        out = out * 1.0001
    nodes, edges = parse_dot(make_dot(out).source)
    assert label_multiset(nodes)["MulBackward0"] == 3000


def test_forward_view_puts_values_on_edges(q1_graph):
    *_, f, params = q1_graph
    nodes, edges = parse_dot(make_forward_dot(f, params=params).source)
    by_label = {a["label"]: n for n, a in nodes.items()}
    assert {"div\na / b", "log\nlog(x)", "pow\nx ** exponent\nexponent = 3", "exp\nexp(x)",
            "sub\na - b", "x\n (1)", "y\n (1)", "f\n (1)"} <= set(by_label)
    edge_labels = {(nodes[t]["label"], nodes[h]["label"]): a.get("label") for t, h, a in edges}
    assert edge_labels[("x\n (1)", "log\nlog(x)")] == "x = 2"
    assert edge_labels[("log\nlog(x)", "add\na + b")] == "a = 0.6931"
    assert edge_labels[("exp\nexp(x)", "add\na + b")] == "b = 2.718"
    assert float(edge_labels[("div\na / b", "f\n (1)")]) == pytest.approx(f.item(), rel=1e-3)
    assert len(edges) == 12  # 11 inputs of ops, one to the output


def test_forward_view_shows_constants():
    x = gg.tensor([2.0], requires_grad=True)
    c = gg.tensor([5.0])
    nodes, edges = parse_dot(make_forward_dot(x * c, params={"x": x}).source)
    constant = [n for n, a in nodes.items() if a["label"] == "constant"]
    assert len(constant) == 1
    (label,) = [a["label"] for t, h, a in edges if t == constant[0]]
    assert label == "b = 5"


def test_forward_view_shows_constants_on_either_side_after_backward():
    x = gg.tensor([2.0], requires_grad=True)
    f = (gg.tensor([5.0]) - x) + gg.tensor([7.0])  # a constant as sub's a and as add's b
    f.backward()  # what the nodes saved is freed; the constants must still be shown
    nodes, edges = parse_dot(make_forward_dot(f, params={"x": x}).source)
    constants = {n for n, a in nodes.items() if a["label"] == "constant"}
    labels = sorted(a["label"] for t, h, a in edges if t in constants)
    assert labels == ["a = 5", "b = 7"]


def test_importing_glassgrad_does_not_import_viz_or_graphviz():
    import subprocess
    code = ("import sys, glassgrad; assert 'glassgrad.viz' not in sys.modules; "
            "import glassgrad.viz; assert 'graphviz' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def graphviz_available():
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


needs_graphviz = pytest.mark.skipif(not graphviz_available(),
                                    reason="needs `pip install graphviz` and the dot binary")


@needs_graphviz
@pytest.mark.parametrize("maker", [make_dot, make_forward_dot])
def test_render_writes_a_real_svg(q1_graph, tmp_path, maker):
    import xml.etree.ElementTree as ElementTree
    *_, f, params = q1_graph
    path = maker(f, params=params).render(str(tmp_path / "q1"), format="svg")
    assert path.endswith("q1.svg")
    svg = open(path, encoding="utf-8").read()
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = {el.text for el in root.iter() if el.tag.endswith("text")}
    assert ({"DivBackward0", "AccumulateGrad", "f"} if maker is make_dot else {"div", "a / b"}) <= texts


@needs_graphviz
def test_pipe_and_jupyter_display_give_svg(q1_graph):
    *_, f, params = q1_graph
    graph = make_dot(f, params=params, show_values=True)
    assert graph.pipe("png").startswith(b"\x89PNG")
    bundle = graph._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))
    assert "DivBackward0" in graph._repr_svg_()


def test_missing_graphviz_package_says_how_to_install(q1_graph, monkeypatch):
    *_, f, params = q1_graph
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    graph = make_dot(f, params=params)
    with pytest.raises(GraphvizNotFound) as error:
        graph.render("never")
    message = str(error.value)
    assert "\n" not in message
    assert "pip install graphviz" in message and "apt-get install graphviz" in message
    with pytest.raises(GraphvizNotFound):
        graph.pipe()
    assert graph._repr_mimebundle_() == {"text/plain": graph.source}


def test_missing_dot_binary_says_how_to_install(q1_graph, monkeypatch, tmp_path):
    pytest.importorskip("graphviz")
    *_, f, params = q1_graph
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot to find
    graph = make_dot(f, params=params)
    with pytest.raises(GraphvizNotFound, match="dot binary") as error:
        graph.pipe("svg")
    assert "\n" not in str(error.value) and "apt-get install graphviz" in str(error.value)
    assert graph._repr_svg_() is None
    assert graph._repr_mimebundle_() == {"text/plain": graph.source}


def test_save_writes_the_dot_text_without_graphviz(q1_graph, tmp_path, monkeypatch):
    *_, f, params = q1_graph
    monkeypatch.setitem(sys.modules, "graphviz", None)
    graph = make_dot(f, params=params)
    path = graph.save(tmp_path / "q1.dot")
    assert open(path, encoding="utf-8").read() == graph.source


def test_a_tensor_name_labels_its_node_without_params():
    x = gg.tensor([3.0], requires_grad=True)
    x.name = "weight"
    source = make_dot((x * 2).sum()).source
    assert 'label="weight\\n (1)"' in source
    assert gg.explain((x * 2).sum()).inputs[0].name == "weight"
    x.name = None
    assert 'label="\\n (1)"' in make_dot((x * 2).sum()).source


def test_a_tensor_name_is_forgotten_with_the_tensor():
    from glassgrad.tensor import _tensor_names
    x = gg.tensor([1.0])
    x.name = "temporary"
    key = id(x)
    assert _tensor_names[key] == "temporary"
    del x
    assert key not in _tensor_names  # a new tensor reusing the id must not inherit the label
