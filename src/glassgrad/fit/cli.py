"""``glassgrad fit``: fit a formula to a CSV file by gradient descent and compare the result with
the exact least-squares optimum.

    glassgrad fit DATA.csv --model "b + w1*x + w2*x**2" [--target y] [--lr 0.0005] [--epochs N]
                  [--optimizer sgd|adam] [--log-every N] [--standardize] [--plot fit.png] [--json]
    glassgrad fit DATA.csv --seed-models
"""

import json
import math
from pathlib import Path


def register(commands):
    """Add the ``fit`` sub-command to the ``glassgrad`` parser's sub-commands."""
    command = commands.add_parser("fit", help="fit a formula to a CSV file by gradient descent")
    command.add_argument("data", help="a CSV file whose first line names the columns")
    command.add_argument("--model", help="the formula, e.g. 'b + w1*x + w2*x**2': names that are "
                         "columns are inputs, the others parameters")
    command.add_argument("--seed-models", action="store_true",
                         help="fit the seed's three Q2 models with its settings and compare them")
    command.add_argument("--target", help="the column to predict (default: y, else the last column)")
    command.add_argument("--params", help="comma-separated parameter names (then every other name "
                         "in the model must be a column)")
    command.add_argument("--lr", type=float, help="learning rate (default 0.01 for sgd, 0.001 for adam)")
    command.add_argument("--epochs", type=int, default=1000, help="epochs (default 1000)")
    command.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    command.add_argument("--momentum", type=float, default=0.0, help="sgd momentum (default 0)")
    command.add_argument("--init", nargs="+", metavar="NAME=VALUE", default=[],
                         help="starting values (default 0)")
    command.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    command.add_argument("--log-every", type=int, metavar="N",
                         help="print the seed's log line every N epochs (default: about 10 lines)")
    command.add_argument("--patience", type=int, metavar="N",
                         help="stop once the loss has not reached a new low for N epochs")
    command.add_argument("--standardize", action="store_true",
                         help="train on standardised columns, then map the parameters back")
    command.add_argument("--seed", type=int, default=0,
                         help="random seed of the --seed-models starting weights (default 0)")
    command.add_argument("--plot", metavar="FILE", help="draw the loss curve and the fit (.png, .svg, .pdf)")
    command.add_argument("--json", action="store_true", help="print the result as JSON (no log)")
    command.set_defaults(run=run)


def run(args):
    from ..cli import UsageError
    from ..expr import ParseError
    from . import DataError, ModelError, load_csv

    if args.seed_models == bool(args.model):
        raise UsageError("give --model FORMULA or --seed-models (one of them)")
    plot_format = _plot_format(args.plot) if args.plot else None
    try:
        table = load_csv(args.data)
    except DataError as error:
        raise UsageError(str(error)) from None
    try:
        if args.seed_models:
            return _seed_models(args, table, plot_format)
        return _one_model(args, table, plot_format)
    except ParseError as error:
        raise UsageError(f"--model: {str(error).splitlines()[0]}") from None
    except ModelError as error:
        raise UsageError(str(error)) from None
    # Diverged is a failure of the run, not of the input: it reaches main() (exit status 1)


def _one_model(args, table, plot_format):
    import glassgrad as gg
    from . import Model, fit
    from .report import heading, summary
    from .training import DEFAULT_LR, target_column

    parameters = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    target = target_column(table, args.target)
    model = Model(args.model, [c for c in table.columns if c != target], parameters, target=target)
    log_every = None if args.json else (args.log_every or max(1, math.ceil(args.epochs / 10)))
    if not args.json:
        print(heading(model.text, target, args.data, table.rows, args.optimizer,
                      args.lr or DEFAULT_LR[args.optimizer], args.dtype, args.standardize))
    result = fit(model, table, target, lr=args.lr, epochs=args.epochs, optimizer=args.optimizer,
                 momentum=args.momentum, init=_init(args.init),
                 dtype=gg.float64 if args.dtype == "float64" else gg.float32,
                 log_every=log_every, progress=None if not args.json else False,
                 patience=args.patience, standardize=args.standardize)
    if args.plot:
        _write_plot(args.plot, plot_format, result, table)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(summary(result))
        if args.plot:
            print(f"wrote {args.plot}")
    return 0


def _seed_models(args, table, plot_format):
    from ..cli import UsageError
    from .report import seed_table, summary
    from .seed import fit_seed_models

    missing = [c for c in ("x", "y") if c not in table.columns]
    if missing:
        raise UsageError(f"--seed-models needs columns x and y; {args.data} has "
                         f"{', '.join(table.columns)}")
    quiet = args.json
    before = None if quiet else (lambda spec: print(f"\n== {spec['name']}: y ~ {spec['formula']} "
                                                    f"(lr {spec['lr']:g}, {spec['epochs']} epochs)"))
    results = fit_seed_models(table, seed=args.seed, progress=None if not quiet else False,
                              logger=(lambda epoch, loss: None) if quiet else None, before=before)
    if args.plot:
        _write_plot(args.plot, plot_format, results[0][1], table)
    if quiet:
        print(json.dumps({name: result.to_dict() for name, result in results}))
        return 0
    for name, result in results:
        print(f"\n{name}: " + summary(result))
    print("\nThe three models against their least-squares optima:")
    print("\n".join(seed_table(results)))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _init(items):
    from ..cli import UsageError
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--init: expected name=number, got {item!r}") from None
        if not sep or not name.strip():
            raise UsageError(f"--init: expected name=number, got {item!r}")
    return values or 0.0


def _plot_format(path):
    from ..cli import UsageError, check_output
    from .plot import FORMATS
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UsageError(f"--plot: unknown picture format {Path(path).suffix or '(none)'}; "
                         f"use {', '.join('.' + f for f in FORMATS)}")
    check_output(path)  # before the fit, not after it
    return fmt


def _write_plot(path, fmt, result, table):
    from ..cli import UsageError, write_atomically
    from .plot import PlotUnavailable, plot_fit
    try:
        write_atomically(path, plot_fit(result, table, fmt))
    except PlotUnavailable as error:
        raise UsageError(str(error)) from None
