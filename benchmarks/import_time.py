"""IMPORT: wall time of ``python -c "import X"`` in a fresh subprocess, interpreter start-up included.

This is what a user waits for before the first line of their script runs. ``python -c pass``
(the interpreter alone) and ``import numpy`` (glassgrad's one dependency) are the floors.
Every child reads bytecode from one private cache filled by the untimed warm-up, as after
``pip install`` (see ``paths.child_env``), so no peer pays for compiling its source.
"""

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile

from .harness import Peer, Target, Workload
from .paths import child_env


@functools.cache
def _pycache_dir() -> str:
    """One private bytecode cache per benchmark run, shared by every peer, removed at exit."""
    path = tempfile.mkdtemp(prefix="glassgrad-bench-pycache-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def subprocess_peer(name, arguments, requires, note):
    """A peer that runs ``python ARGUMENTS`` in a fresh process, reading cached bytecode."""
    def prepare(_size):
        command = [sys.executable, *arguments]
        env = child_env(_pycache_dir())

        def run():
            subprocess.run(command, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return None
        return run
    return Peer(name, requires, prepare, note)


def _import_peer(name, statement, requires, note):
    return subprocess_peer(name, ("-c", statement), requires, note)


WORKLOAD = Workload(
    key="IMPORT",
    title='start-up: wall time of a fresh `python -c "import X"`',
    measures="one subprocess per rep: interpreter start-up plus the import, nothing else",
    peers=(
        _import_peer("glassgrad", "import glassgrad", ("glassgrad",), "the engine's whole import"),
        _import_peer("torch", "import torch", ("torch",), "PyTorch CPU"),
        _import_peer("python", "pass", (), "floor: the interpreter alone (`python -c pass`)"),
        _import_peer("numpy", "import numpy", ("numpy",), "floor: glassgrad's only dependency"),
        _import_peer("autograd", "import autograd", ("autograd",), "HIPS autograd"),
        _import_peer("jax", "import jax", ("jax",), "JAX"),
        _import_peer("micrograd", "import micrograd.engine", ("micrograd",), "micrograd"),
    ),
    size_full=1,
    size_quick=1,
    size_unit="process",
    repeat_full=15,
    repeat_quick=7,
    warmup_size=1,   # the untimed first run writes .pyc files and warms the page cache
    targets=(Target("`import glassgrad` under 0.15 s", "glassgrad", "median_below_seconds", 0.15),),
)
