"""The ``glassgrad`` command. Each subcommand prints one line on stderr and exits non-zero on
bad input, never a traceback.

    glassgrad hw3 [--out DIR] [--only q1,q2,q3]
"""

import argparse
import sys


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


def _hw3(args):
    from .report.hw3 import QUESTIONS, main_progress, write_report
    only = None
    if args.only:
        only = [q.strip().lower() for q in args.only.split(",") if q.strip()]
        if not only:  # "--only ," would otherwise run every question
            raise UsageError(f"--only: no question given; choose from {', '.join(QUESTIONS)}")
        unknown = [q for q in only if q not in QUESTIONS]
        if unknown:
            raise UsageError(f"--only: unknown question(s) {', '.join(unknown)}; choose from {', '.join(QUESTIONS)}")
    path = write_report(args.out, only=only, progress=main_progress)
    print(f"wrote {path}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="glassgrad", description="Glass-box automatic differentiation.")
    commands = parser.add_subparsers(dest="command", required=True)
    hw3 = commands.add_parser("hw3", help="answer the HW3 homework and write the report")
    hw3.add_argument("--out", default="hw3-report", help="output folder (default: hw3-report)")
    hw3.add_argument("--only", help="comma-separated questions to run, e.g. q1,q3")
    hw3.set_defaults(run=_hw3)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"glassgrad {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("glassgrad: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line for the user, not a traceback
        print(f"glassgrad {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
