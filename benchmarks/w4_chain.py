"""W4: a chain of N scalar ops and its backward, at N and at 10 N: does the cost scale linearly?

``y = x; repeat N / 2 times: y = y * 0.999999 + 1e-6``, then ``y.backward()`` (float64, 0-d).
Each op depends on the one before, so backward walks a path N nodes deep: an engine that recurses
(micrograd's topological sort does: RecursionError past ~1,000 nodes, so it is not a peer here)
fails long before N = 10^5; one that keeps the graph badly grows worse than linearly. The peers are each engine at the two lengths (N = 10^5
and 10^6; --quick: 10^4 and 10^5); the target is on glassgrad's own ratio. ``run()`` returns
dy/dx, 0.999999^(N/2).
"""

from .harness import Peer, Target, Workload

FACTOR, SHIFT = 0.999999, 1e-6


def _chain(torch, n):
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(n // 2):
        y = y * FACTOR + SHIFT
    y.backward()
    return float(x.grad.item())


def _prepare(module, scale):
    def prepare(n):
        torch = __import__(module)

        def run():
            return _chain(torch, n * scale)
        return run
    return prepare


WORKLOAD = Workload(
    key="W4",
    title="a chain of N scalar ops (y = y * a + b) and backward, at N and 10 N",
    measures="building the chain and one backward() through it, at N and at 10 N ops",
    peers=(
        Peer("glassgrad", ("glassgrad", "numpy"), _prepare("glassgrad", 1), "N ops"),
        Peer("glassgrad 10N", ("glassgrad", "numpy"), _prepare("glassgrad", 10), "10 N ops"),
        Peer("torch", ("torch",), _prepare("torch", 1), "N ops"),
        Peer("torch 10N", ("torch",), _prepare("torch", 10), "10 N ops"),
    ),
    size_full=100_000,
    size_quick=10_000,
    size_unit="ops (N)",
    repeat_full=3,
    repeat_quick=3,
    warmup_size=1_000,
    targets=(Target("glassgrad: 10x the ops costs at most 12x the time", "glassgrad 10N",
                    "ratio_at_most", 12.0, other="glassgrad"),
             Target("glassgrad (N ops) faster than PyTorch", "glassgrad", "speedup_at_least", 1.0)),
    check_tolerance=1e-9,
    check_groups={"glassgrad 10N": "torch 10N", "torch 10N": "torch 10N"},
    value_label="dy/dx",
)
