"""The `glassgrad grad` and `glassgrad graph` commands, run as a user would (a subprocess):
numbers against float64 finite differences and the engine, one-line errors with exit status 2,
and output files written whole or not at all."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import glassgrad as gg

SRC = str(Path(__file__).resolve().parent.parent / "src")
Q1 = "(x + exp(y)) / (log(x) + (x - y)**3)"


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-m", "glassgrad", *args], capture_output=True,
                          text=True, env=env, cwd=cwd)


def q1(x, y):
    return (x + math.exp(y)) / (math.log(x) + (x - y) ** 3)


def test_grad_prints_the_seed_q1_values():
    result = run("grad", Q1, "--at", "x=3", "y=4")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == ["f = 584.0868", "df/dx = -19733.3965", "df/dy = 18322.8477"]


def test_grad_json_matches_finite_differences_in_float64():
    result = run("grad", Q1, "--at", "x=3", "y=4", "--dtype", "float64", "--json")
    answer = json.loads(result.stdout)
    h = 1e-6
    assert answer["value"] == pytest.approx(q1(3, 4), rel=1e-14)
    assert answer["gradient"]["x"] == pytest.approx((q1(3 + h, 4) - q1(3 - h, 4)) / (2 * h), rel=1e-6)
    assert answer["gradient"]["y"] == pytest.approx((q1(3, 4 + h) - q1(3, 4 - h)) / (2 * h), rel=1e-6)
    assert answer["at"] == {"x": 3.0, "y": 4.0} and answer["dtype"] == "float64"


def test_grad_float32_equals_the_engine_bit_for_bit():
    result = run("grad", Q1, "--at", "x=3", "y=4", "--json")
    answer = json.loads(result.stdout)
    x = gg.tensor([3.0], requires_grad=True)
    y = gg.tensor([4.0], requires_grad=True)
    f = (x + gg.exp(y)) / (gg.log(x) + (x - y) ** 3)
    f.backward()
    assert (answer["value"], answer["gradient"]["x"], answer["gradient"]["y"]) == (
        f.item(), x.grad.item(), y.grad.item())


def test_an_overflow_gets_a_note_naming_the_op_and_its_bound():
    result = run("grad", "exp(x)", "--at", "x=1000", "--dtype", "float64")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["f = inf", "df/dx = inf"]
    note = result.stderr.strip()
    assert note.startswith("note: exp: exp(x) produced inf from finite input (float64): x = 1000")
    # exp is finite while x <= ln(largest float64)
    assert f"x <= {math.log(sys.float_info.max):.6g}" in note and "\n" not in note


def test_a_gradient_that_is_inf_is_traced_to_its_derivative():
    result = run("grad", "sqrt(x)", "--at", "x=0", "--json")
    answer = json.loads(result.stdout)
    assert answer["value"] == 0.0 and answer["gradient"]["x"] == math.inf  # 1 / (2 sqrt(0))
    assert answer["note"].startswith("Function 'SqrtBackward0' returned inf values")
    assert "1 / (2 * sqrt(x))" in answer["note"] and result.stderr == ""


def test_finite_results_and_typed_in_infinities_get_no_note():
    assert json.loads(run("grad", Q1, "--at", "x=3", "y=4", "--json").stdout)["note"] is None
    passed_on = run("grad", "x + 1", "--at", "x=inf")
    assert passed_on.stdout.splitlines() == ["f = inf", "df/dx = 1."] and passed_on.stderr == ""


def test_the_point_may_be_written_with_commas():
    spaced = json.loads(run("grad", Q1, "--at", "x=3", "y=4", "--json").stdout)
    assert json.loads(run("grad", Q1, "--at", "x=3,y=4", "--json").stdout) == spaced
    # the seed's Q1 at (3, 4): f and its partial derivatives, computed independently in float64
    assert spaced["value"] == pytest.approx(q1(3, 4), rel=1e-6)
    h = 1e-6
    assert spaced["gradient"]["x"] == pytest.approx((q1(3 + h, 4) - q1(3 - h, 4)) / (2 * h), rel=1e-5)


@pytest.mark.parametrize("args, message", [
    (["grad", "x +* y", "--at", "x=1", "y=2"], "found '*' at column 4"),
    (["grad", "x*y", "--at", "x=1"], "no value given for variable(s) 'y'"),
    (["grad", "x", "--at", "x=a"], "x='a' is not a number"),
    (["grad", "x", "--at", "x3"], "expected name=value, got 'x3'"),
    (["grad", "x", "--at", "x=1", "z=2"], "z not in the formula"),
    (["grad", "x*y", "--at", "x=1,y=2", "x=3"], "x is given twice"),
    (["grad", "__import__('os')", "--at", "x=1"], "column 1"),
    (["grad", "x", "--dtype", "float16", "--at", "x=1"], "invalid choice: 'float16'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_bad_input_is_one_line_and_exit_status_2(args, message):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_graph_writes_dot_text_without_graphviz(tmp_path):
    result = run("graph", "x * exp(y)", "--at", "x=1", "y=2", "-o", str(tmp_path / "g.dot"))
    assert result.returncode == 0
    text = (tmp_path / "g.dot").read_text()
    assert text.startswith("digraph") and "MulBackward0" in text and "ExpBackward0" in text
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]  # no temporary file left


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_graph_renders_svg(tmp_path):
    pytest.importorskip("graphviz")
    result = run("graph", Q1, "--at", "x=3", "y=4", "-o", str(tmp_path / "q1.svg"))
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "q1.svg").read_text()
    assert "<svg" in svg and "DivBackward0" in svg and "PowBackward0" in svg


def test_graph_failure_leaves_no_file(tmp_path):
    result = run("graph", "x * y", "--at", "x=1", "y=2", "-o", str(tmp_path / "g.bmp"))
    assert result.returncode == 2 and "unknown format .bmp" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_explain_derives_the_seed_gradients_from_named_intermediates():
    result = run("explain", Q1, "--at", "x=3", "y=4")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "v3 = log(x) = log(3.0)" in text
    assert "= -19733.3965   (sum of 3 contributions)" in text
    assert "= 18322.8477   (sum of 2 contributions)" in text


def test_explain_json_gradients_equal_the_engine():
    answer = json.loads(run("explain", Q1, "--at", "x=3", "y=4", "--json").stdout)
    x = gg.tensor([3.0], requires_grad=True)
    y = gg.tensor([4.0], requires_grad=True)
    f = (x + gg.exp(y)) / (gg.log(x) + (x - y) ** 3)
    f.backward()
    assert answer["gradients"] == {"x": x.grad.item(), "y": y.grad.item()}
    assert [step["formula"] for step in answer["forward"]][:3] == ["exp(y)", "x + v1", "log(x)"]


def test_explain_writes_a_self_contained_html_file(tmp_path):
    target = tmp_path / "q1.html"
    result = run("explain", Q1, "--at", "x=3", "y=4", "--format", "html", "-o", str(target))
    assert result.returncode == 0, result.stderr
    html = target.read_text()
    assert "<html" in html.lower() and "-19733.3965" in html and "http" not in html
    failed = run("explain", Q1, "--at", "x=3", "y=4", "-o", str(tmp_path / "missing" / "q1.txt"))
    assert failed.returncode == 2 and not (tmp_path / "missing").exists()


def test_glassgrad_explain_is_loaded_on_first_use():
    code = ("import sys, glassgrad as gg; assert 'glassgrad.explanation' not in sys.modules; "
            "x = gg.tensor([2.0], requires_grad=True); e = gg.explain(x * x, names={'x': x}); "
            "print(e.gradients['x'].item())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=SRC))
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 4.0


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_backprop_prints_mazurs_published_numbers():
    result = run("backprop", str(EXAMPLES / "mazur.toml"))
    assert result.returncode == 0, result.stderr
    for published in ("0.2983711088", "0.08216704056", "0.3589164797", "0.1497807161"):
        assert published in result.stdout


def test_backprop_set_overrides_a_value():
    result = run("backprop", str(EXAMPLES / "mazur.toml"), "--set", "learning_rate=1", "--json")
    answer = json.dumps(json.loads(result.stdout))
    assert result.returncode == 0 and "0.3178329594" in answer  # w5 - 1 * 0.08216704056


def test_backprop_check_finds_the_first_wrong_step(tmp_path):
    answers = tmp_path / "answers.toml"
    answers.write_text('h1 = 0.5932699921\nE = 0.2983711088\n"dE/dw5" = 0.0822\n"new w5" = 0.36\n')
    result = run("backprop", str(EXAMPLES / "mazur.toml"), "--check", str(answers))
    assert result.returncode == 1
    assert "3 of 4 answers right" in result.stdout
    assert "First wrong step: new w5 = 0.36; it should be" in result.stdout
    answers.write_text('h1 = 0.5932699921\n"new w5" = 0.35891648\n')
    assert run("backprop", str(EXAMPLES / "mazur.toml"), "--check", str(answers)).returncode == 0


def test_backprop_check_reads_answers_grouped_in_tables(tmp_path):
    # Mazur's published values: h1 = 0.593269992, E_total = 0.298371109
    answers = tmp_path / "answers.toml"
    answers.write_text('[forward]\nh1 = 0.5933\n[loss]\nE = 0.2984\n')
    result = run("backprop", str(EXAMPLES / "mazur.toml"), "--check", str(answers))
    assert result.returncode == 0 and "2 of 2 answers right" in result.stdout
    answers.write_text('[forward]\nh1 = 0.5933\n[again]\nh1 = 0.6\n')
    twice = run("backprop", str(EXAMPLES / "mazur.toml"), "--check", str(answers))
    assert twice.returncode == 2 and twice.stdout == ""
    assert twice.stderr.strip() == f"glassgrad backprop: --check: {answers}: h1 is answered twice"


def test_backprop_bad_spec_is_one_line_and_writes_nothing(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text((EXAMPLES / "mazur.toml").read_text().replace('activation = "sigmoid"',
                                                                   'activation = "softsign"', 1))
    result = run("backprop", str(spec), "-o", str(tmp_path / "out.md"))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "softsign" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.md").exists()


def test_a_formula_may_start_with_a_minus_sign():
    result = run("grad", "-log(x)", "--at", "x=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["f = -0.6931", "df/dx = -0.5000"]  # -log(2), -1/2
    assert run("grad", "-h").stdout.startswith("usage: glassgrad grad")  # options still work
