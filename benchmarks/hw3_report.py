"""HW3: `glassgrad hw3` end to end, the README's main job (issue 9's target: under 30 s).

One subprocess per rep writes the whole report into a fresh temporary folder: the notebook run
in a kernel (including the seed's 100,000-epoch Model 1, as written), its PDF, Q4's PDF and
the interactive page. No peer does the same job; the target is an absolute time.
"""

import subprocess
import sys
import tempfile

from .harness import Peer, Target, Workload


def _prepare(_size):
    def run():
        with tempfile.TemporaryDirectory(prefix="glassgrad-hw3-bench-") as folder:
            subprocess.run([sys.executable, "-m", "glassgrad", "hw3", "--out", "report"], cwd=folder,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return None
    return run


WORKLOAD = Workload(
    key="HW3",
    title="`glassgrad hw3` end to end (notebook, PDF, Q4's PDF, interactive page)",
    measures="one subprocess per rep, writing the whole report into a fresh folder",
    peers=(Peer("glassgrad", ("glassgrad", "nbclient", "ipykernel", "typst"), _prepare,
                "the README's main job"),),
    size_full=1,
    size_quick=1,
    size_unit="report",
    repeat_full=3,
    repeat_quick=1,
    warmup_size=0,
    targets=(Target("`glassgrad hw3` under 30 s", "glassgrad", "median_below_seconds", 30.0),),
)
