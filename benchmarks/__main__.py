"""Command line: ``python -m benchmarks [--quick] [--json] [--only W1] [--repeat N] [--no-write]``.

Exits 0 whatever the targets say (benchmarks are not tests); 1 only if a peer crashed.
"""

import argparse
import json
import os
import sys
import time

from .paths import REPO_ROOT, ensure_glassgrad_importable

RESULTS_PATH = os.path.join(REPO_ROOT, "benchmarks", "results.md")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer reps (W1: 10,000 epochs)")
    parser.add_argument("--json", action="store_true", help="print results as JSON instead of the table")
    parser.add_argument("--only", action="append", metavar="KEY",
                        help="run only this workload (W1, IMPORT); repeatable or comma-separated")
    parser.add_argument("--repeat", type=int, metavar="N", help="repetitions per peer (default: per workload)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results.md")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ensure_glassgrad_importable()
    from . import machine, report, workloads
    from .harness import run_workload

    chosen = workloads.ALL
    if args.only:
        chosen = workloads.by_key(k.strip() for arg in args.only for k in arg.split(",") if k.strip())

    started = time.perf_counter()
    results = [run_workload(w, quick=args.quick, repeat=args.repeat) for w in chosen]
    print(f"[benchmarks] done in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    facts = machine.describe()
    if args.json:
        print(json.dumps(report.json_report(results, facts, args.quick), indent=2))
    else:
        print(report.text_report(results))
    if not args.no_write:
        command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
        with open(RESULTS_PATH, "w", encoding="utf-8") as f:
            f.write(report.markdown_report(results, facts, command.strip()))
        print(f"[benchmarks] wrote {os.path.relpath(RESULTS_PATH)}", file=sys.stderr)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
