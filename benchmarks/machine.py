"""A description of the machine and software a benchmark ran on, for the report's footer."""

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys

from .paths import REPO_ROOT

PEER_DISTRIBUTIONS = ("numpy", "torch", "autograd", "jax", "jaxlib", "micrograd")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _numpy_blas() -> str:
    try:
        import numpy
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # the config layout differs between NumPy versions; this is only a note
        return "unknown"


def _glassgrad_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe() -> dict:
    """Facts that change benchmark numbers: CPU, cores, versions, threads, BLAS, date."""
    import glassgrad

    torch_threads = "n/a"
    if "torch" in sys.modules:  # only if a benchmark already paid for importing it
        torch_threads = str(sys.modules["torch"].get_num_threads())
    facts = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        # Other work on the machine skews timings; this says how much there was.
        "load average (1/5/15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "glassgrad": f"{glassgrad.__version__} (commit {_glassgrad_commit()})",
    }
    facts.update({name: _version(name) for name in PEER_DISTRIBUTIONS})
    facts["numpy BLAS"] = _numpy_blas()
    facts["torch threads"] = torch_threads
    facts["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    return facts
