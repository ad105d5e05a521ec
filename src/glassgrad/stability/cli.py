"""The ``glassgrad stability`` command: how many bits of a formula's value and gradient are wrong
in float32 or float64, where the error starts, and the rewrites that fix it.

    glassgrad stability EXPR --range x=-100:100 --range y=-100:100 [--dtype float32|float64]
                        [--samples N] [--seed S] [--plot error.png] [--format text|md] [--json]

``register(commands)`` adds the sub-command to ``glassgrad.cli``'s sub-parsers.
"""

import json
import math
from pathlib import Path


def register(commands):
    """Add ``stability`` to the argparse sub-parsers object ``commands``."""
    from ..cli import formula_may_start_with_minus
    from .defaults import DEFAULT_RANGE, DEFAULT_SAMPLES

    low, high = (f"{bound:g}" for bound in DEFAULT_RANGE)
    command = commands.add_parser(
        "stability", help="bits of error of a formula's value and gradient, and stable rewrites")
    command.add_argument("expr", help="the formula, e.g. '-log(exp(x)/(exp(x)+exp(y)))'")
    command.add_argument("--range", action="append", default=[], metavar="NAME=LOW:HIGH",
                         help=f"a variable's range, e.g. --range x=-100:100 (default {low}:{high})")
    command.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    command.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                         help=f"random inputs besides the edge points (default {DEFAULT_SAMPLES})")
    command.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    command.add_argument("--plot", metavar="FILE", help="draw error against input (.png/.svg/.pdf)")
    command.add_argument("--format", choices=("text", "md"), default="text")
    command.add_argument("--json", action="store_true", help="print the analysis as JSON")
    command.set_defaults(run=run)
    formula_may_start_with_minus(command)


def parse_range(item):
    """``"x=-100:100"`` as ``("x", (-100.0, 100.0))``; ValueError naming what is wrong."""
    name, sep, bounds = item.partition("=")
    name = name.strip()
    low, colon, high = bounds.partition(":")
    if not sep or not name or not colon:
        raise ValueError(f"--range: expected NAME=LOW:HIGH, got {item!r}")
    try:
        values = float(low), float(high)
    except ValueError:
        raise ValueError(f"--range {name}: {low.strip()!r} and {high.strip()!r} must be numbers")\
            from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"--range {name}: bounds must be finite, got {low}:{high}")
    if values[0] > values[1]:
        raise ValueError(f"--range {name}: low {low} is above high {high}")
    return name, values


def run(args):
    from ..cli import UsageError, _formula, write_atomically
    from ..expr import ExpressionError
    from .analyze import StabilityError, analyze
    from .plot import plot_format

    expression = _formula(args.expr)
    ranges = {}
    try:
        for item in args.range:
            name, bounds = parse_range(item)
            if name in ranges:
                raise ValueError(f"--range: {name} is given twice")
            ranges[name] = bounds
        if args.plot:
            plot_format(args.plot)
            if not Path(args.plot).parent.is_dir():  # fail before the analysis, not after
                raise ValueError(f"--plot: folder {Path(args.plot).parent} does not exist")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.samples < 1:
        raise UsageError(f"--samples: must be at least 1, got {args.samples}")
    try:
        result = analyze(expression, ranges, dtype=args.dtype, samples=args.samples,
                         seed=args.seed)
    except (StabilityError, ExpressionError) as error:  # ExpressionError: too big for SymPy
        raise UsageError(str(error)) from None
    if args.plot:
        write_atomically(args.plot, result.plot())
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.markdown() if args.format == "md" else result.text())
        if args.plot:
            print(f"wrote {args.plot}")
    return 0
