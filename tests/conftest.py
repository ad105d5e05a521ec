"""Shared test helpers: run example scripts cell by cell, as Jupyter would show them."""

import ast
import contextlib
import io
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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
