"""The benchmark suite's correctness guards: every peer computes the same thing, a wrong answer is
flagged, targets are judged right. Tiny sizes only; no timing is asserted anywhere."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the benchmarks package lives at the repository root

from benchmarks import harness, w1_seed_q2, w2_mlp, w3_scalar_mlp, w4_chain  # noqa: E402
from benchmarks.harness import Peer, Target, Workload  # noqa: E402


def _others(values, reference):
    """Every peer's value but the reference's own (comparing it with itself proves nothing)."""
    others = {name: value for name, value in values.items() if name != reference}
    assert others, "no peer to compare with the reference"
    return others


def _values(workload, size, names=None):
    """Each installed peer's run() value at ``size`` (peers whose modules are missing are left out)."""
    out = {}
    for peer in workload.peers:
        if (names is None or peer.name in names) and not peer.missing_modules():
            out[peer.name] = peer.prepare(size)()
    return out


def _fake_workload(values, tolerance=1e-3, targets=(), **extra):
    peers = tuple(Peer(name, (), lambda size, v=v: (lambda: v)) for name, v in values.items())
    return Workload(key="T", title="fake", measures="", peers=peers, size_full=1, size_quick=1,
                    size_unit="x", repeat_full=1, repeat_quick=1, warmup_size=1, targets=targets,
                    check_tolerance=tolerance, **extra)


# ----- the harness's guards ------------------------------------------------------------------------

def test_a_fast_wrong_answer_is_flagged_and_misses_its_target():
    workload = _fake_workload({"torch": 5.0, "fast": 5.1, "right": 5.0001},
                              targets=(Target("fast", "fast", "speedup_at_least", 0.0),))
    result = harness.run_workload(workload, quick=True)
    assert result.reference == "torch"
    assert result.peers["fast"].agrees is False and result.peers["right"].agrees is True
    assert workload.targets[0].evaluate(result) == ("wrong result", "MISS")


def test_nan_never_agrees():
    result = harness.run_workload(_fake_workload({"torch": 1.0, "nan": math.nan}), quick=True)
    assert result.peers["nan"].agrees is False


def test_check_groups_compare_within_their_group():
    workload = _fake_workload({"torch": 1.0, "torch 10N": 0.5, "glassgrad 10N": 0.5, "glassgrad": 1.0},
                              check_groups={"glassgrad 10N": "torch 10N", "torch 10N": "torch 10N"})
    result = harness.run_workload(workload, quick=True)
    assert all(s.agrees for s in result.peers.values())


def test_ratio_and_memory_targets():
    workload = _fake_workload({"torch": 1.0, "a": 1.0, "numpy": 1.0})
    result = harness.run_workload(workload, quick=True)
    result.peers["a"].times[:] = [1.3]
    result.peers["numpy"].times[:] = [1.0]
    result.peers["a"].peak_mib, result.peers["torch"].peak_mib = 30.0, 20.0
    assert Target("", "a", "ratio_at_most", 1.3, other="numpy").evaluate(result) == ("1.30x", "PASS")
    assert Target("", "a", "ratio_at_most", 1.29, other="numpy").evaluate(result)[1] == "MISS"
    assert Target("", "a", "memory_ratio_at_most", 1.5, other="torch").evaluate(result)[1] == "PASS"
    assert Target("", "a", "memory_ratio_at_most", 1.4, other="torch").evaluate(result)[1] == "MISS"
    assert Target("", "a", "ratio_at_most", 2, other="missing").evaluate(result)[1] == "n/a"


def test_slow_peers_are_left_out_of_quick_runs_only():
    slow = Peer("slow", (), lambda size: (lambda: 1.0), quick=False)
    workload = Workload(key="T", title="", measures="", peers=(slow,), size_full=1, size_quick=1,
                        size_unit="x", repeat_full=1, repeat_quick=1, warmup_size=1)
    assert harness.run_workload(workload, quick=True).peers["slow"].skipped
    assert harness.run_workload(workload, quick=False).peers["slow"].times


# ----- the workloads compute the same thing in every peer ------------------------------------------

def test_phases_are_clocked_between_yields_and_reported_as_medians():
    """clock_phases reads the clock between a step's phases and keeps each phase's median;
    the report lists them per peer with a total. A fake clock makes the numbers exact."""
    from benchmarks import report

    ticks = iter([0, 1, 4,   10, 12, 20,   30, 31, 32])  # three steps: (1, 3), (2, 8), (1, 1) s
    step = lambda: iter(["forward", "backward"])
    phases = harness.clock_phases(step, 3, clock=lambda: next(ticks))
    assert phases == {"forward": 1, "backward": 3}
    result = harness.run_workload(_fake_workload(
        {"torch": 1.0}, phases=lambda steps: {"a": {"forward": 2e-6, "backward": 5e-6},
                                              "b": {"forward": 1e-6}}, phase_steps=7), quick=False)
    assert result.phase_steps == 7
    headers, rows = report.phase_table(result)
    assert headers == ["phase", "a", "b"]
    assert rows == [["forward", "2.0 us", "1.0 us"], ["backward", "5.0 us", "-"],
                    ["total", "7.0 us", "1.0 us"]]
    assert "| backward | 5.0 us | - |" in report.markdown_report([result], {}, "cmd")


def test_w1_phases_are_the_seeds_epochs():
    """The clocked epoch is the one the seed's train() runs: 30 of them give train(30)'s
    weights bit for bit; each peer reports its phases in order."""
    import contextlib
    import io

    epoch, (w, b) = w1_seed_q2._seed_phases("glassgrad")
    for _ in range(30):
        for _ in epoch():
            pass
    seed = w1_seed_q2._load("glassgrad")
    seed.torch.manual_seed(w1_seed_q2.SEED)
    with contextlib.redirect_stdout(io.StringIO()):
        w_seed, b_seed = seed.train(30, seed.x_combined, seed.y, 1, True, seed.mean_square_loss,
                                    31, w1_seed_q2.LEARNING_RATE)
    assert w.detach().numpy().tobytes() == w_seed.detach().numpy().tobytes()
    assert b.detach().numpy().tobytes() == b_seed.detach().numpy().tobytes()
    phases = w1_seed_q2._phases(3)
    assert list(phases["glassgrad"]) == ["forward and loss", "backward", "update", "zero .grad"]
    assert list(phases["tape"]) == list(phases["glassgrad"])
    assert list(phases["numpy"]) == ["forward and loss", "backward", "update"]


def test_w1_peers_agree_and_compiled_equals_eager():
    values = _values(w1_seed_q2.WORKLOAD, 30, {"glassgrad", "glassgrad.compile", "torch", "numpy",
                                               "tape", "micrograd", "autograd"})
    assert values["glassgrad.compile"] == values["glassgrad"]  # bit for bit: same float
    reference = "torch" if "torch" in values else "numpy"
    for name, value in _others(values, reference).items():
        assert value == pytest.approx(values[reference], rel=1e-5), name


def test_w1_numpy_floor_matches_the_seed_in_pytorch():
    torch = pytest.importorskip("torch")  # noqa: F841  (the seed's own code runs on it)
    peer = {p.name: p for p in w1_seed_q2.WORKLOAD.peers}
    assert peer["numpy"].prepare(200)() == pytest.approx(peer["torch"].prepare(200)(), rel=1e-5)


@pytest.mark.parametrize("workload, steps", [(w2_mlp.WORKLOAD, 3), (w2_mlp.SMALL_WORKLOAD, 50)],
                         ids=["W2", "W6"])
def test_mlp_hand_written_gradients_match_pytorch_and_glassgrad(workload, steps):
    values = _values(workload, steps, {"glassgrad", "glassgrad.compile", "torch", "numpy", "autograd"})
    reference = "torch" if "torch" in values else "glassgrad"
    for name, value in _others(values, reference).items():
        assert value == pytest.approx(values[reference], rel=1e-5), name
    # the steps moved the loss: a peer that skipped the update would sit at the starting loss
    numpy_peer = next(p for p in workload.peers if p.name == "numpy")
    assert values["numpy"] != pytest.approx(numpy_peer.prepare(0)(), rel=1e-4)


@pytest.fixture
def small_w3(monkeypatch):
    monkeypatch.setattr(w3_scalar_mlp, "N_SAMPLES", 4)  # the same graph, on 4 samples
    monkeypatch.setattr(w3_scalar_mlp, "_BUILT", {})


def test_w3_scalar_graph_is_micrographs_and_the_floor_agrees(small_w3):
    values = _values(w3_scalar_mlp.WORKLOAD, 1, {"glassgrad", "micrograd", "numpy"})
    reference = "micrograd" if "micrograd" in values else "glassgrad"
    for name, value in _others(values, reference).items():
        assert value == pytest.approx(values[reference], rel=1e-9), name


def test_w3_compiled_step_equals_eager(small_w3):
    values = _values(w3_scalar_mlp.WORKLOAD, 1, {"glassgrad", "glassgrad.compile"})
    assert values["glassgrad.compile"] == values["glassgrad"]


def test_w4_chain_gradient_is_the_closed_form():
    n = 200
    expected = w4_chain.FACTOR ** (n // 2)
    for name, value in _values(w4_chain.WORKLOAD, n, {"glassgrad", "torch"}).items():
        assert value == pytest.approx(expected, rel=1e-12), name
    assert _values(w4_chain.WORKLOAD, n, {"glassgrad 10N"})["glassgrad 10N"] == \
        pytest.approx(w4_chain.FACTOR ** (10 * n // 2), rel=1e-12)


def test_peak_memory_is_measured_in_a_fresh_process():
    from benchmarks.memory import measure_peak
    grown = measure_peak("W4", "glassgrad", 20_000, quick=True)
    # 20,000 ops each keep a node, a tensor and a 0-d array alive until backward: several MiB
    assert 1.0 < grown < 500.0


# --- benchmarks/opcodes.py: the opcode count, checked against dis ------------------------------

def _straight_line(a):
    b = a + 1
    return b * 2


def _loop(n):
    total = 0
    for k in range(n):
        total += k
    return total


def _two_phases(n):
    def step():
        _straight_line(1)
        yield "first"
        _loop(n)
        yield "second"
    return step


def test_opcode_count_is_each_instruction_run_but_a_calls_resume():
    import dis

    from benchmarks.opcodes import count_opcodes

    short, long = count_opcodes(_two_phases(3), warmup=2), count_opcodes(_two_phases(10), warmup=0)
    straight = [i.opname for i in dis.get_instructions(_straight_line)]
    assert straight[0] == "RESUME" and "JUMP_BACKWARD" not in straight
    assert short["first"][("test_benchmarks.py", "_straight_line")] == len(straight) - 1
    assert ("test_benchmarks.py", "_straight_line") not in short["second"]
    # each extra turn of the loop runs its body: FOR_ITER up to the JUMP_BACKWARD
    names = [i.opname for i in dis.get_instructions(_loop)]
    body = names.index("JUMP_BACKWARD") - names.index("FOR_ITER") + 1
    key = ("test_benchmarks.py", "_loop")
    assert long["second"][key] - short["second"][key] == 7 * body
