"""`glassgrad fit` run as a user would: results equal the library's and the exact optimum, bad
files and formulas give one line and exit status 2, a divergent run exits 1, and no picture is
written when a command fails."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import Q2_X, Q2_Y
from glassgrad.fit import fit, least_squares

ROOT = Path(__file__).resolve().parent.parent
Q2_CSV = str(ROOT / "examples" / "q2.csv")


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "glassgrad", "fit", *args], capture_output=True,
                          text=True, env=env, cwd=cwd)


def test_json_result_equals_the_library_and_the_exact_optimum():
    result = run(Q2_CSV, "--model", "b + w1*x", "--lr", "0.01", "--epochs", "1000", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    library = fit("b + w1*x", {"x": Q2_X, "y": Q2_Y}, lr=0.01, epochs=1000)
    assert answer["params"] == library.params and answer["epochs"] == 1000
    exact = least_squares({"x": np.array(Q2_X)}, np.array(Q2_Y))
    assert answer["optimum"]["params"] == {"b": pytest.approx(exact.params["b"], rel=1e-12),
                                           "w1": pytest.approx(exact.params["w_x"], rel=1e-12)}
    assert answer["optimum"]["mse"] == pytest.approx(1.17263, abs=5e-6)


def test_text_output_has_the_log_the_parameters_and_the_comparison():
    result = run(Q2_CSV, "--model", "w1*x", "--lr", "0.01", "--epochs", "10", "--log-every", "1")
    lines = result.stdout.splitlines()
    assert lines[0] == (f"fitting y ~ w1*x to {Q2_CSV} (20 rows): sgd, lr 0.01, float32")
    assert [line.split(" --> ")[0] for line in lines[1:11]] == [f"epoch: {k}" for k in range(1, 11)]
    w1 = fit("w1*x", {"x": Q2_X, "y": Q2_Y}, lr=0.01, epochs=10).params["w1"]
    assert f"parameters: w1 = {str(np.float32(w1))}" in lines
    table = lines[lines.index("closed-form optimum (least squares in float64):") + 1:]
    assert table[0].split() == ["parameter", "gradient", "descent", "optimum", "difference"]
    assert table[1].split()[:3] == ["w1", f"{w1:.7g}", "42.05671"]  # the 42.0567


def test_standardize_needs_few_epochs_to_reach_the_optimum():
    result = run(Q2_CSV, "--model", "b + w1*x + w2*x**2", "--lr", "0.1", "--epochs", "100000",
                 "--standardize", "--patience", "200", "--json")
    answer = json.loads(result.stdout)
    assert answer["standardized"] and answer["epochs"] < 5000
    assert answer["optimum"]["loss_gap"] < 1e-5
    assert answer["params"]["w1"] == pytest.approx(41.9708, abs=0.01)


@pytest.mark.parametrize("csv, args, message", [
    ("x,y\n1,2\n3,\n", ["--model", "b + w*x"], "bad.csv:3: column 'y' has no value"),
    ("x,y\n1,2\n3,four\n", ["--model", "b + w*x"], "bad.csv:3: column 'y': 'four' is not a number"),
    ("x,y\n1,2\n3,4\n", ["--model", "b + w*z", "--params", "b,w"],
     "the model names 'z', which is neither a data column (x) nor a parameter (b, w)"),
    ("x,y\n1,2\n3,4\n", ["--model", "b + w*z"], "uses no data column (the columns are x)"),
    ("x,y\n1,2\n3,4\n", ["--model", "x**2"], "has no parameters"),
    ("x,y\n1,2\n3,4\n", ["--model", "b + foo(x)"], "--model: unknown function 'foo' at column 5"),
    ("x,y\n1,2\n3,4\n", ["--model", "b + w*x", "--target", "q"], "no column 'q' to fit to"),
    ("x,y\n1,2\n3,4\n", [], "give --model FORMULA or --seed-models (one of them)"),
    ("u,v\n1,2\n3,4\n", ["--seed-models"], "--seed-models needs columns x and y; bad.csv has u, v"),
    ("x,y\n1,2\n3,4\n", ["--model", "b + w*x", "--plot", "fit.bmp"], "--plot: unknown picture format .bmp"),
])
def test_bad_input_is_one_line_with_exit_status_2_and_writes_nothing(tmp_path, csv, args, message):
    (tmp_path / "bad.csv").write_text(csv)
    result = run("bad.csv", *args, "--plot" if "--plot" not in args else "--json",
                 *(["fit.png"] if "--plot" not in args else []), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith("glassgrad fit: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_a_divergent_run_stops_with_exit_status_1_and_no_picture(tmp_path):
    result = run(Q2_CSV, "--model", "b + w1*x + w2*x**2", "--lr", "0.01", "--epochs", "100000",
                 "--plot", "fit.png", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("glassgrad fit: error: the loss became inf at epoch ")
    assert "try lr 0.0002" in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_plot_writes_a_picture_of_the_loss_and_the_fit(tmp_path):
    pytest.importorskip("matplotlib")
    result = run(Q2_CSV, "--model", "b + w1*x", "--epochs", "200", "--plot", "fit.png", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.endswith("wrote fit.png\n")
    data = (tmp_path / "fit.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1320, 504)  # two panels side by side
