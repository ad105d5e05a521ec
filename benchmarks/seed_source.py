"""Load the seed homework's code as written, for glassgrad or for real PyTorch.

The examples in examples/ are the seed notebooks with ``import glassgrad as torch``; a benchmark
takes a file's source up to a marker line, swaps only that import line, and executes the rest
untouched as a fresh module. This is trusted code from this repo, so exec is fine here.
"""

import os
import types

from .paths import REPO_ROOT

GLASSGRAD_IMPORT = "import glassgrad as torch"
BACKEND_IMPORTS = {"glassgrad": GLASSGRAD_IMPORT, "torch": "import torch"}


def seed_prefix(relative_path: str, stop_line: str) -> str:
    """The source of ``relative_path`` up to (not including) the line equal to ``stop_line``."""
    path = os.path.join(REPO_ROOT, relative_path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == stop_line:
            return "".join(lines[:i])
    raise ValueError(f"{relative_path}: no line {stop_line!r}; did the seed example change?")


def load_seed_module(relative_path: str, stop_line: str, backend: str) -> types.ModuleType:
    """Execute the seed prefix with ``torch`` bound to ``backend`` ("glassgrad" or "torch")."""
    source = seed_prefix(relative_path, stop_line)
    if source.count(GLASSGRAD_IMPORT + "\n") != 1:
        raise ValueError(f"{relative_path}: expected exactly one line {GLASSGRAD_IMPORT!r}")
    source = source.replace(GLASSGRAD_IMPORT + "\n", BACKEND_IMPORTS[backend] + "\n")
    stem = os.path.splitext(os.path.basename(relative_path))[0]
    module = types.ModuleType(f"seed_{stem}_{backend}")
    module.__file__ = os.path.join(REPO_ROOT, relative_path)
    # Compiled under the real path so a traceback points at the seed's own lines.
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
