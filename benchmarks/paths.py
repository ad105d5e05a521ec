"""Where the repo lives, and making ``import glassgrad`` work from a plain checkout."""

import importlib.util
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC_DIR = os.path.join(REPO_ROOT, "src")


def glassgrad_installed() -> bool:
    """True when glassgrad imports without help (pip-installed, or src/ already on sys.path)."""
    return importlib.util.find_spec("glassgrad") is not None


def ensure_glassgrad_importable() -> None:
    """Put src/ first on sys.path when glassgrad is not installed, so a fresh checkout runs as-is."""
    if not glassgrad_installed():
        sys.path.insert(0, SRC_DIR)


def child_env(pycache_dir: str) -> dict:
    """Environment for a fresh ``python -c "import X"``, reading bytecode like an installed package.

    Ours, plus src/ when that is how we found glassgrad; bytecode goes to ``pycache_dir``
    (even where PYTHONDONTWRITEBYTECODE is set, as on this machine), so after one warm-up
    every peer imports from .pyc files, as it would after ``pip install``, and nothing is
    written into the source tree.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache_dir
    if SRC_DIR in sys.path:
        # src/ is how this process finds glassgrad (our insert or the user's PYTHONPATH).
        env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, env.get("PYTHONPATH")) if p)
    return env
