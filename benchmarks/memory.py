"""Peak memory of one run of one peer, each in a fresh process.

``python -m benchmarks.memory W2 glassgrad 200`` imports the peer's modules, notes the resident
memory, resets the kernel's high-water mark of the process's resident memory (VmHWM), then
prepares the peer (its data and model) and runs it once at the given size, and prints, as JSON,
the resident size before and its peak after. The growth (peak - before) is the working set of the
job: data, weights, activations, gradients, and whatever the allocator keeps. The interpreter and
the imported libraries are not counted, whatever they weigh (``import torch`` alone is a few
hundred MiB). Linux only (``/proc``); elsewhere the peak is ``ru_maxrss``, which includes imports.
"""

import json
import os
import resource
import subprocess
import sys

from .paths import REPO_ROOT, SRC_DIR, ensure_glassgrad_importable


def _status_kib(field):
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak():
    """Make VmHWM (peak RSS) start again from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure_peak(key, peer, size, quick=False):
    """Peak RSS growth in MiB of one run of ``peer`` in workload ``key``, in a fresh process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, REPO_ROOT, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-m", "benchmarks.memory", key, peer, str(size)],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["no output"]
        raise RuntimeError(lines[-1])
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    return (facts["peak_kib"] - facts["before_kib"]) / 1024


def main(argv):
    key, name, size = argv[0], argv[1], int(argv[2])
    ensure_glassgrad_importable()
    import importlib
    from .workloads import by_key
    workload = by_key([key])[0]
    peer = next(p for p in workload.peers if p.name == name)
    for module in peer.requires:
        importlib.import_module(module)
    before = _status_kib("VmRSS")
    resettable = _reset_peak()
    peer.prepare(size)()
    peak = _status_kib("VmHWM") if resettable else None
    if peak is None or before is None:
        before = before or 0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "peak_kib": peak, "resettable": resettable}))


if __name__ == "__main__":
    main(sys.argv[1:])
