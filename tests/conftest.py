"""Shared test helpers: run example scripts cell by cell, as Jupyter would show them."""

import ast
import contextlib
import io
import os
from pathlib import Path

import pytest

try:
    from hypothesis import settings
except ImportError:  # the tests that need hypothesis skip without it
    settings = None
if settings is not None:
    # CI draws the same examples on every run, so that a red run can be reproduced; other runs
    # explore new ones, and what they find is kept as a plain test.
    settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The seed's Q2 data (hw3.md), shared by the tests that train on it.
Q2_X = [1.5420291, 1.8935232, 2.1603365, 2.5381863, 2.893443, 3.838855, 3.925425, 4.2233696,
        4.235571, 4.273397, 4.9332876, 6.4704757, 6.517571, 6.87826, 7.0009003, 7.035741,
        7.278681, 7.7561755, 9.121138, 9.728281]
Q2_Y = [63.802246, 80.036026, 91.4903, 108.28776, 122.781975, 161.36314, 166.50816, 176.16772,
        180.29395, 179.09758, 206.21027, 272.71857, 272.24033, 289.54745, 293.8488, 295.2281,
        306.62274, 327.93243, 383.16296, 408.65967]


def run_like_notebook(path):
    """Run a script statement by statement in REPL mode and return what it printed.

    A bare expression statement prints its repr, as the last line of a notebook cell does, so
    the seed's `z` and `torch.exp(...)` cells show their values.
    """
    source = Path(path).read_text()
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for statement in ast.parse(source).body:
            code = compile(ast.Interactive([statement]), str(path), "single")
            exec(code, namespace)  # trusted repository files, not user input
    return out.getvalue()


@pytest.fixture
def examples_dir():
    return EXAMPLES


# ----- reliability tests (issue 8): the slow marker and the case counts -------------------------
import collections  # noqa: E402  (appended section: keeps its imports next to its use)

# How many generated cases each property and fuzz test tried, by test name; the tests add to it
# and the terminal summary prints it, so a run shows how hard each property was exercised.
CASE_COUNTS = collections.Counter()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long-running (the 10^5-input formula fuzz, the 10^5-step training "
                   "run); CI runs it, deselect locally with -m 'not slow'")


def pytest_terminal_summary(terminalreporter):
    if not CASE_COUNTS:
        return
    terminalreporter.section("generated cases tried")
    width = max(map(len, CASE_COUNTS))
    for name, count in sorted(CASE_COUNTS.items()):
        terminalreporter.write_line(f"{name:<{width}}  {count:>9,}")
