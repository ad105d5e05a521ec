"""Python opcodes run in one epoch of W1, by phase and by function: a count that is the same in
every run, where wall time on a shared machine moves by 10-20%.

    python -m benchmarks.opcodes [--top N]

counts glassgrad's eager epoch (the seed's own functions, as in results.md's phase table) and the
tape's (``tape.py``, the floor for an eager engine in Python). An eager engine's cost per op
follows this count (benchmarks/README.md, "Where the time goes"); the work inside NumPy's C code
is not in it (callgrind counts that). Every instruction is counted but the RESUME that starts
each call, which Python reports as the call itself.
"""

import argparse
import collections
import sys

from .paths import ensure_glassgrad_importable

WARMUP = 50  # uncounted epochs first: backward functions written, caches filled


def count_opcodes(step, warmup=WARMUP):
    """Opcodes run by one call of ``step`` (a generator function that yields each phase's name
    as the phase ends), after ``warmup`` uncounted calls: {phase: Counter((file, function))}.
    What runs after the last yield (the generator returning) is not counted."""
    for _ in range(warmup):
        for _ in step():
            pass
    phases = {}
    current = [{}]  # plain dicts: a Counter's Python methods would be traced and counted

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        if event == "opcode":
            code = frame.f_code
            key = (code.co_filename.rsplit("/", 1)[-1], code.co_name)
            counts = current[0]
            counts[key] = counts.get(key, 0) + 1
        return trace

    epoch = step()
    sys.settrace(trace)
    try:
        for name in epoch:
            phases[name] = current[0]
            current[0] = {}
    finally:
        sys.settrace(None)
    phases = {name: collections.Counter(counts) for name, counts in phases.items()}
    return phases


def report(counts, top):
    """The table of phase totals per peer, then each peer's ``top`` functions."""
    peers = list(counts)
    phases = list(counts[peers[0]])
    width = max(len(p) for p in phases + ["total"])
    lines = ["W1, Python opcodes in one epoch (after %d uncounted epochs)" % WARMUP, "",
             " ".join([" " * width] + [f"{p:>10}" for p in peers])]
    rows = [(phase, [sum(counts[p].get(phase, {}).values()) for p in peers]) for phase in phases]
    rows.append(("total", [sum(column) for column in zip(*(row for _, row in rows))]))
    for phase, row in rows:
        lines.append(" ".join([f"{phase:<{width}}"] + [f"{n:>10,}" for n in row]))
    for peer in peers:
        by_function = collections.Counter()
        for name, c in counts[peer].items():
            for (file, function), n in c.items():
                by_function[f"{file} {function} ({name})"] += n
        lines += ["", f"{peer}: the {top} functions that run the most"]
        lines += [f"{n:>8,}  {where}" for where, n in by_function.most_common(top)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.opcodes",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=15, metavar="N",
                        help="functions to list per peer (default 15)")
    args = parser.parse_args(argv)
    ensure_glassgrad_importable()
    from .w1_seed_q2 import _seed_phases, _tape_phases

    counts = {"glassgrad": count_opcodes(_seed_phases("glassgrad")[0]),
              "tape": count_opcodes(_tape_phases())}
    print(report(counts, args.top))


if __name__ == "__main__":
    main()
