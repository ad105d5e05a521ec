"""W5: `glassgrad grad EXPR --at ...` end to end: start-up, parsing, one forward and backward.

What a user waits for at the command line. The PyTorch peer runs the same computation in a
fresh `python -c` (its import alone dominates); `python -c pass` is the floor.
"""

from .harness import Target, Workload
from .import_time import subprocess_peer

FORMULA = "(x + exp(y)) / (log(x) + (x - y)**3)"
TORCH_SCRIPT = (
    "import torch; x = torch.tensor([3.0], requires_grad=True); "
    "y = torch.tensor([4.0], requires_grad=True); "
    "f = (x + torch.exp(y)) / (torch.log(x) + (x - y) ** 3); f.backward(); "
    "print(f.item(), x.grad.item(), y.grad.item())")

WORKLOAD = Workload(
    key="W5",
    title="`glassgrad grad` end to end (the seed's Q1 at x=3, y=4)",
    measures="one subprocess per rep: start-up, parse, forward and backward, printing",
    peers=(
        subprocess_peer("glassgrad", ("-m", "glassgrad", "grad", FORMULA, "--at", "x=3", "y=4"),
                        ("glassgrad",), "the command line"),
        subprocess_peer("torch", ("-c", TORCH_SCRIPT), ("torch",), "the same in a PyTorch script"),
        subprocess_peer("python", ("-c", "pass"), (), "floor: the interpreter alone"),
    ),
    size_full=1,
    size_quick=1,
    size_unit="process",
    repeat_full=15,
    repeat_quick=7,
    warmup_size=1,
    targets=(Target("`glassgrad grad` under 0.3 s", "glassgrad", "median_below_seconds", 0.3),),
)
