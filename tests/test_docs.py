"""The guides in docs/ cannot drift from the code: every ```python block runs (a file's blocks in
order, sharing one namespace, from a scratch folder) and, where a ```text block follows it, must
print exactly that; every ```sh block that starts with `glassgrad` and is followed by a ```text
block is run as a command and must print exactly that."""

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDES = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in ("ops.md", "errors.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(path):
    """(language, code, expected output or None) for each runnable block of a guide."""
    found = [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]
    result = []
    for k, (language, code) in enumerate(found):
        if language in ("python", "sh"):
            following = found[k + 1] if k + 1 < len(found) else None
            expected = following[1] if following and following[0] == "text" else None
            result.append((language, code, expected))
    return result


def test_there_is_a_guide_for_each_capability():
    names = {p.stem for p in GUIDES}
    assert {"engine", "graphs", "backprop", "fitting", "stability", "compile", "command-line"} <= names


@pytest.mark.parametrize("guide", GUIDES, ids=[p.stem for p in GUIDES])
def test_guide_examples_print_what_the_guide_says(guide, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    namespace = {"__name__": "__main__"}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    ran = 0
    for language, code, expected in blocks(guide):
        if language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{guide.name}", "exec"), namespace)
            printed = out.getvalue()
        elif code.startswith("glassgrad ") and expected is not None:
            command = shlex.split(code.replace("\\\n", " "))
            result = subprocess.run([sys.executable, "-m", "glassgrad", *command[1:]],
                                    capture_output=True, text=True, env=env, cwd=tmp_path)
            printed = result.stdout + result.stderr
        else:
            continue
        ran += 1
        if expected is not None:
            assert printed.rstrip() == expected.rstrip(), f"{guide.name}: block\n{code}"
    assert ran > 0
