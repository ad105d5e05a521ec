"""Turning workload results into the printed table, benchmarks/results.md, and JSON."""

from __future__ import annotations

from .harness import WorkloadResult


def format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _peer_status(result: WorkloadResult, name: str) -> str:
    stats = result.peers[name]
    if stats.not_installed:
        return "not installed"
    if stats.skipped:
        return stats.skipped
    if stats.error:
        return "ERROR: " + stats.error
    if stats.agrees is False:
        return f"WRONG: differs from {result.reference} by more than " \
               f"{result.workload.check_tolerance:g} relative"
    if stats.agrees and name == result.reference:
        return "reference"
    return "ok" if stats.agrees else ""


def peer_table(result: WorkloadResult) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: median, min, speedup vs the baseline, check value, status."""
    checks = result.workload.check_tolerance is not None
    headers = ["peer", "median", "min", f"vs {result.baseline}"]
    headers += [result.workload.value_label, "check"] if checks else ["status"]
    rows = []
    for name, stats in result.peers.items():
        if stats.times:
            speedup = result.speedup(name)
            row = [name, format_seconds(stats.median), format_seconds(stats.minimum),
                   f"{speedup:.2f}x" if speedup is not None else "-"]
        else:
            row = [name, "-", "-", "-"]
        if checks:
            row += [f"{stats.value:.7g}" if stats.value is not None else "-",
                    _peer_status(result, name)]
        else:
            row += [_peer_status(result, name)]
        rows.append(row)
    return headers, rows


def target_table(result: WorkloadResult) -> tuple[list[str], list[list[str]]]:
    rows = [[t.description, *t.evaluate(result)] for t in result.workload.targets]
    return ["target", "measured", "PASS/MISS"], rows


def phase_table(result: WorkloadResult) -> tuple[list[str], list[list[str]]]:
    """Each phase's median time per step, one column per peer, and their total."""
    peers = list(result.phases)
    phases = list(dict.fromkeys(name for timings in result.phases.values() for name in timings))

    def micros(seconds):
        return "-" if seconds is None else f"{seconds * 1e6:.1f} us"
    rows = [[phase, *(micros(result.phases[p].get(phase)) for p in peers)] for phase in phases]
    rows.append(["total", *(micros(sum(result.phases[p].values())) for p in peers)])
    return ["phase", *peers], rows


def _phase_heading(result: WorkloadResult) -> str:
    return (f"Where a step's time goes: median of {result.phase_steps:,} steps, clocked between "
            "phases (see benchmarks/README.md, \"Where the time goes\", for the analysis):")


def heading(result: WorkloadResult) -> str:
    w = result.workload
    return (f"{w.key}: {w.title} ({result.size:,} {w.size_unit}, "
            f"{result.repeats} reps interleaved; speedup = {w.baseline} time / peer time)")


def _aligned(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    # Left-align words, right-align numbers, so columns of times line up on their units.
    numeric = [i in (1, 2, 3) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric)).rstrip()
    return [line(headers), line(["-" * w for w in widths]), *map(line, rows)]


def _markdown(headers: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return [line(headers), line(["---"] * len(headers)), *map(line, rows)]


def text_report(results: list[WorkloadResult]) -> str:
    lines = []
    for result in results:
        lines += [heading(result), *_aligned(*peer_table(result))]
        if result.workload.targets:
            lines += ["", *_aligned(*target_table(result))]
        if result.phases:
            lines += ["", _phase_heading(result), *_aligned(*phase_table(result))]
        lines.append("")
    return "\n".join(lines)


def markdown_report(results: list[WorkloadResult], machine: dict, command: str) -> str:
    lines = ["# glassgrad benchmark results", "",
             f"Written by `{command}`; see benchmarks/README.md for what each workload measures.",
             "Times are medians (and minimum) over interleaved repetitions; "
             "speedup = PyTorch time / peer time, so 2.50x is 2.5 times faster than PyTorch.", ""]
    for result in results:
        lines += [f"## {heading(result)}", "", *_markdown(*peer_table(result)), ""]
        if result.workload.targets:
            lines += [*_markdown(*target_table(result)), ""]
        if result.phases:
            lines += [_phase_heading(result), "", *_markdown(*phase_table(result)), ""]
        notes = [f"- {p.name}: {p.note}" for p in result.workload.peers if p.note]
        lines += ["Peers:", "", *notes, ""]
    lines += ["## Machine", "", *_markdown(["", ""], [[k, v] for k, v in machine.items()]), ""]
    return "\n".join(lines)


def json_report(results: list[WorkloadResult], machine: dict, quick: bool) -> dict:
    workloads = []
    for result in results:
        peers = []
        for name, stats in result.peers.items():
            peers.append({
                "name": name,
                "status": _peer_status(result, name),
                "times_s": stats.times,
                "median_s": stats.median if stats.times else None,
                "min_s": stats.minimum if stats.times else None,
                "speedup_vs_baseline": result.speedup(name),
                "value": stats.value,
                "agrees": stats.agrees,
            })
        targets = [dict(zip(("description", "measured", "status"), (t.description, *t.evaluate(result))))
                   for t in result.workload.targets]
        workloads.append({"key": result.workload.key, "title": result.workload.title,
                          "size": result.size, "size_unit": result.workload.size_unit,
                          "repeats": result.repeats, "baseline": result.baseline,
                          "reference": result.reference, "peers": peers, "targets": targets,
                          "phases_s": result.phases, "phase_steps": result.phase_steps})
    return {"quick": quick, "machine": machine, "workloads": workloads}
