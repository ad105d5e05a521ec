"""The benchmark harness: peers, workloads, targets, and the interleaved timing loop.

A workload is a list of peer implementations of the same job. Each peer's ``prepare(size)``
does the untimed setup (imports, loading code, building data) and returns ``run()``, which does
the job once and returns a check value (e.g. the final loss) or None. The harness times
``run()`` round-robin over the installed peers: rep 1 of every peer, then rep 2, and so on,
so drift in machine speed (thermal, other processes) hits every peer alike.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

RunFn = Callable[[], Optional[float]]


@dataclass(frozen=True)
class Peer:
    """One implementation of a workload, e.g. glassgrad, torch, or a hand-written NumPy floor."""

    name: str
    requires: tuple[str, ...]            # top-level modules that must be importable to run it
    prepare: Callable[[int], RunFn]      # size -> run(); the setup here is not timed
    note: str = ""                       # one line for the table's footnotes
    quick: bool = True                   # False: too slow for --quick, runs in full runs only

    def missing_modules(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


@dataclass(frozen=True)
class Target:
    """A goal printed next to a workload: PASS or MISS, never a failure of the process."""

    description: str
    peer: str
    # "speedup_at_least" (vs the baseline peer), "median_below_seconds", "ratio_at_most" (the
    # peer's median / ``other``'s median) or "memory_ratio_at_most" (peak memory, same ratio)
    kind: str
    threshold: float
    other: str = ""

    def evaluate(self, result: "WorkloadResult") -> tuple[str, str]:
        """Return (measured value as text, "PASS" / "MISS" / "n/a")."""
        stats = result.peers.get(self.peer)
        if stats is None or not stats.times:
            return "not measured", "n/a"
        if stats.agrees is False:  # a fast wrong answer earns nothing
            return "wrong result", "MISS"
        if self.kind == "speedup_at_least":
            speedup = result.speedup(self.peer)
            if speedup is None:
                return f"no {result.baseline} to compare", "n/a"
            return f"{speedup:.2f}x", "PASS" if speedup >= self.threshold else "MISS"
        if self.kind == "median_below_seconds":
            return f"{stats.median:.3f} s", "PASS" if stats.median < self.threshold else "MISS"
        other = result.peers.get(self.other)
        if self.kind == "ratio_at_most":
            if other is None or not other.times:
                return f"no {self.other} to compare", "n/a"
            ratio = stats.median / other.median
            return f"{ratio:.2f}x", "PASS" if ratio <= self.threshold else "MISS"
        if self.kind == "memory_ratio_at_most":
            if stats.peak_mib is None or other is None or not other.peak_mib:
                return "not measured", "n/a"
            ratio = stats.peak_mib / other.peak_mib
            return f"{ratio:.2f}x ({stats.peak_mib:.0f} / {other.peak_mib:.0f} MiB)", \
                "PASS" if ratio <= self.threshold else "MISS"
        raise ValueError(f"unknown target kind {self.kind!r}")


@dataclass(frozen=True)
class Workload:
    """A job every peer does the same way; sizes and repeat counts for full and --quick runs."""

    key: str                     # "W1", used by --only
    title: str                   # one line for the table heading
    measures: str                # what the timing covers, for README/results.md
    peers: tuple[Peer, ...]
    size_full: int
    size_quick: int
    size_unit: str               # "epochs", "imports", ...
    repeat_full: int
    repeat_quick: int
    warmup_size: int             # one untimed run of this size per peer fills caches first
    targets: tuple[Target, ...] = ()
    baseline: str = "torch"      # speedups are baseline_time / peer_time
    check_tolerance: Optional[float] = None   # relative; None means run() values are not compared
    value_label: str = "value"   # table heading for what run() returns, e.g. "final loss"
    # Peak memory of one run per peer, each in a fresh process (benchmarks/memory.py)
    measure_memory: bool = False
    # Peers compared with a value of their own (W4's two chain lengths): name -> reference peer
    check_groups: dict = field(default_factory=dict)
    # Where a step's time goes: steps -> {peer: {phase: median seconds}} (see clock_phases)
    phases: Optional[Callable[[int], dict]] = None
    phase_steps: int = 0

    def size(self, quick: bool) -> int:
        return self.size_quick if quick else self.size_full

    def repeats(self, quick: bool) -> int:
        return self.repeat_quick if quick else self.repeat_full


@dataclass
class PeerStats:
    """Timings and check value of one peer in one workload run."""

    name: str
    times: list[float] = field(default_factory=list)
    value: Optional[float] = None        # what run() returned last (e.g. final loss)
    error: Optional[str] = None          # set when prepare() or run() raised
    not_installed: list[str] = field(default_factory=list)
    skipped: str = ""                    # why it did not run, when it was left out on purpose
    agrees: Optional[bool] = None        # None when not checked
    peak_mib: Optional[float] = None     # peak RSS growth during one run, when measured

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def minimum(self) -> float:
        return min(self.times)


@dataclass
class WorkloadResult:
    """Everything measured for one workload, in peer order."""

    workload: Workload
    size: int
    repeats: int
    peers: dict[str, PeerStats]
    reference: Optional[str] = None      # the peer whose value the others were checked against
    phases: dict = field(default_factory=dict)  # peer -> {phase: median seconds per step}
    phase_steps: int = 0

    @property
    def baseline(self) -> str:
        return self.workload.baseline

    def speedup(self, name: str) -> Optional[float]:
        base, stats = self.peers.get(self.baseline), self.peers.get(name)
        if not (base and base.times and stats and stats.times):
            return None
        return base.median / stats.median

    @property
    def mismatches(self) -> list[str]:
        return [s.name for s in self.peers.values() if s.agrees is False]

    @property
    def errors(self) -> list[str]:
        return [s.name for s in self.peers.values() if s.error]


def _describe_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _progress(message: str, end: str = "\n") -> None:
    print(message, end=end, file=sys.stderr, flush=True)


def run_workload(workload: Workload, quick: bool, repeat: Optional[int] = None) -> WorkloadResult:
    """Time every installed peer of ``workload``, interleaved, and check their values agree."""
    size = workload.size(quick)
    repeats = repeat if repeat is not None else workload.repeats(quick)
    stats = {p.name: PeerStats(p.name) for p in workload.peers}
    runs: dict[str, RunFn] = {}

    for peer in workload.peers:
        missing = peer.missing_modules()
        if missing:
            stats[peer.name].not_installed = missing
            continue
        if quick and not peer.quick:
            stats[peer.name].skipped = "full runs only (too slow for --quick)"
            continue
        try:
            _progress(f"[{workload.key}] preparing {peer.name} ...")
            peer.prepare(workload.warmup_size)()   # untimed: imports, .pyc, JIT caches, allocator
            runs[peer.name] = peer.prepare(size)
        except Exception as exc:  # a broken peer is reported, the others still run
            stats[peer.name].error = _describe_error(exc)

    for rep in range(1, repeats + 1):
        # One line per rep, each peer's time added as it finishes (a W1 rep takes minutes).
        _progress(f"[{workload.key}] rep {rep}/{repeats}:", end="")
        for name, run in list(runs.items()):
            # Untimed: garbage the previous peer left (micrograd's graphs are reference cycles)
            # would otherwise be collected on this peer's clock.
            gc.collect()
            try:
                start = time.perf_counter()
                value = run()
                elapsed = time.perf_counter() - start
            except Exception as exc:
                stats[name].error = _describe_error(exc)
                del runs[name]
                _progress(f"  {name} ERROR", end="")
                continue
            stats[name].times.append(elapsed)
            stats[name].value = value
            _progress(f"  {name} {elapsed:.3f}s", end="")
        _progress("")

    result = WorkloadResult(workload, size, repeats, stats)
    if workload.check_tolerance is not None:
        _check_agreement(result, workload.check_tolerance)
    if workload.measure_memory:
        from .memory import measure_peak
        for name in runs:
            _progress(f"[{workload.key}] peak memory of {name} ...", end="")
            try:
                stats[name].peak_mib = measure_peak(workload.key, name, size, quick)
                _progress(f" {stats[name].peak_mib:.1f} MiB")
            except Exception as exc:
                _progress(f" failed: {exc}")
    if workload.phases is not None:
        _clock_phases_of(result, max(1, workload.phase_steps // (10 if quick else 1)))
    return result


def clock_phases(step, steps: int, clock=time.perf_counter) -> dict[str, float]:
    """The median seconds of each phase of a step, over ``steps`` steps. ``step()`` returns a
    generator that runs one step and yields each phase's name as that phase ends; the clock is
    read between phases (an empty phase measures 0.1 us: a clock read and a resume)."""
    times: dict[str, list[float]] = {}
    for _ in range(steps):
        start = clock()
        for name in step():
            now = clock()
            times.setdefault(name, []).append(now - start)
            start = now
    return {name: statistics.median(values) for name, values in times.items()}


def _clock_phases_of(result: WorkloadResult, steps: int) -> None:
    key = result.workload.key
    _progress(f"[{key}] timing phases ({steps:,} steps) ...")
    try:
        result.phases = result.workload.phases(steps)
        result.phase_steps = steps
    except Exception as exc:  # the timings stand without it
        _progress(f"[{key}] phases failed: {_describe_error(exc)}")


def _check_agreement(result: WorkloadResult, tolerance: float) -> None:
    """Mark each measured peer as agreeing (or not) with the baseline's value, else the first's.
    Peers named in ``check_groups`` are compared with the peer given there instead."""
    measured = [s for s in result.peers.values() if s.times and s.value is not None]
    if not measured:
        return
    by_name = {s.name: s for s in measured}
    groups = result.workload.check_groups
    main = [s for s in measured if s.name not in groups]
    reference = by_name.get(result.baseline, main[0] if main else measured[0])
    result.reference = reference.name
    for s in measured:
        ref_stats = by_name.get(groups.get(s.name), reference)
        ref = ref_stats.value
        close = math.isfinite(s.value) and abs(s.value - ref) <= tolerance * max(abs(ref), 1e-30)
        s.agrees = bool(close)
