"""The ``glassgrad`` command. Bad input prints one line on stderr and exits non-zero (2 for a
usage error, 1 for a failure), never a traceback; output files are written whole or not at all.

    glassgrad grad EXPR --at x=3 y=4 [--dtype float32|float64] [--json]
    glassgrad graph EXPR --at x=3 y=4 -o graph.svg
    glassgrad explain EXPR --at x=3 y=4 [--format text|md|tex|html] [-o FILE] [--json]
    glassgrad backprop SPEC.toml [--format text|md|tex|html|pdf|json] [-o FILE] [--set name=value ...] [--json]
                       [--check answers.toml]
    glassgrad fit DATA.csv --model FORMULA [--target y] [--lr LR] [--epochs N] [--optimizer sgd|adam]
                  [--log-every N] [--patience N] [--standardize] [--plot FILE] [--json] [--seed-models]
    glassgrad stability EXPR --range x=-100:100 [--range y=...] [--dtype float32|float64] [--plot FILE] [--json]
    glassgrad hw3 [--out DIR] [--only q1,q2,q3,q4] [--q4 SPEC.toml]

When the value or a gradient of ``grad`` or ``explain`` is nan or inf, a ``note:`` line on stderr
says which op made it and where that op is finite (anomaly mode's account; exit status 0).

Heavy modules are imported inside the command that needs them, so ``glassgrad grad`` starts fast.
"""

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints the usage block too; one line is the project's rule
        raise UsageError(message)


def _point(items):
    """``["x=3", "y=4"]`` (or ``["x=3,y=4"]``) as ``{"x": 3.0, "y": 4.0}``."""
    point = {}
    for item in items or ():
        for pair in filter(None, item.split(",")):  # a number never holds a comma
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or not name:
                raise UsageError(f"--at: expected name=value, got {pair!r}")
            if name in point:
                raise UsageError(f"--at: {name} is given twice")
            try:
                point[name] = float(value)
            except ValueError:
                raise UsageError(f"--at: {name}={value!r} is not a number") from None
    return point


def _dtype(name):
    import glassgrad
    return {"float32": glassgrad.float32, "float64": glassgrad.float64}[name]


def _formula(text):
    """The parsed formula; its ParseError becomes a usage error (first line: problem and column)."""
    from .expr import ParseError, parse
    try:
        return parse(text)
    except ParseError as error:
        raise UsageError(str(error).splitlines()[0]) from None


def _evaluated(args):
    """The formula's output tensor and its variables' leaves, gradients computed."""
    from .expr import ExpressionError
    from .expr.nodes import variable_tensors
    expression = _formula(args.expr)
    point = _point(args.at)
    unknown = [name for name in point if name not in expression.names]
    if unknown:
        raise UsageError(f"--at: {', '.join(unknown)} not in the formula (its variables: "
                         f"{', '.join(expression.names) or 'none'})")
    try:
        leaves = variable_tensors(expression.names, point, _dtype(args.dtype))
    except ExpressionError as error:
        raise UsageError(str(error)) from None
    output = expression.evaluate(leaves, dtype=_dtype(args.dtype))
    if output.numel() != 1:
        raise UsageError(f"the formula has {output.numel()} values; a gradient needs one")
    if leaves:
        output.backward(retain_graph=True)
    return expression, output, leaves


def _non_finite_note(args, output, leaves):
    """Where the first nan or inf came from, when the value or a gradient has one: anomaly
    mode's account of the op that made it, from the formula run again at the same point. None
    when all are finite, or when the nan or inf was typed in (passed on, not made)."""
    results = [output] + [leaf.grad for leaf in leaves.values()]
    if all(math.isfinite(t.item()) for t in results if t is not None):
        return None
    from .autograd import AnomalyError, detect_anomaly
    try:
        with detect_anomaly():
            _evaluated(args)
    except AnomalyError as error:
        return error.describe(site=False)
    return None


def _shown(tensor):
    """A value as PyTorch prints it: ``tensor(-19733.3965)`` -> ``-19733.3965``."""
    text = repr(tensor.detach().reshape(()))
    return text[len("tensor("):].split(",")[0].rstrip(")")


def _grad(args):
    expression, output, leaves = _evaluated(args)
    if args.json:
        print(json.dumps({"expression": str(expression), "dtype": args.dtype,
                          "at": {n: t.item() for n, t in leaves.items()}, "value": output.item(),
                          "gradient": {n: t.grad.item() for n, t in leaves.items()},
                          "note": _non_finite_note(args, output, leaves)}))
        return 0
    print(f"f = {_shown(output)}")
    for name, leaf in leaves.items():
        print(f"df/d{name} = {_shown(leaf.grad)}")
    _print_note(_non_finite_note(args, output, leaves))
    return 0


def _print_note(note):
    if note is not None:
        sys.stdout.flush()  # the note follows what it explains, on a terminal too
        print(f"note: {note}", file=sys.stderr)


def _graph(args):
    from .viz import make_dot
    _, output, leaves = _evaluated(args)
    drawing = make_dot(output, params=dict(leaves), show_values=True)
    target = Path(args.output)
    fmt = target.suffix.lstrip(".").lower() or "svg"
    if fmt not in ("svg", "png", "pdf", "dot", "gv"):
        raise UsageError(f"-o: unknown format .{fmt}; use .svg, .png, .pdf or .dot")
    data = drawing.source.encode() if fmt in ("dot", "gv") else drawing.pipe(fmt)
    write_atomically(target, data)
    print(f"wrote {target}")
    return 0


_RENDERERS = {"text": "text", "md": "markdown", "tex": "latex", "html": "html"}


def _explain(args):
    from .explanation import explain
    _, output, leaves = _evaluated(args)
    explanation = explain(output, names=dict(leaves))
    if args.json:
        text = json.dumps(explanation.to_dict())
    else:
        text = getattr(explanation, _RENDERERS[args.format])()
        if args.format == "html":  # a whole page: the renderer's fragment is made for notebooks
            text = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>glassgrad explain'
                    f"</title></head>\n<body>\n{text}</body></html>")
    if args.output:
        write_atomically(args.output, (text + "\n").encode())
        print(f"wrote {args.output}")
    else:
        print(text)
    _print_note(_non_finite_note(args, output, leaves))
    return 0


def _backprop(args):
    from .worked import SpecError, check_answers, load_spec, solve
    overrides = {}
    for item in args.set or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set: expected name=value, got {item!r}")
        overrides[name.strip()] = value.strip()
    try:
        solution = solve(load_spec(args.spec, overrides=overrides))
    except SpecError as error:
        raise UsageError(str(error)) from None
    if args.check:
        report = check_answers(solution, _answers(args.check))
        text = json.dumps(report.to_dict()) if args.json else report.text().rstrip("\n")
    elif args.json or args.format == "json":
        text = json.dumps(solution.to_dict())
    else:
        return _write_worked(solution, args.format, args.output)
    if args.output:
        write_atomically(args.output, (text + "\n").encode())
        print(f"wrote {args.output}")
    else:
        print(text)
    return 1 if args.check and not report.all_correct else 0


def _write_worked(solution, fmt, output):
    """Render `solution` as `fmt`; to the screen, or atomically to `output` (pdf needs one).
    Every file is rendered before any is written, so a failure leaves none."""
    from .worked.render import render_latex, render_markdown
    if fmt == "pdf" and not output:
        raise UsageError("--format pdf writes a binary file: give -o FILE.pdf")
    files = {}  # path -> bytes
    if fmt == "pdf":
        from .worked.typeset import TypstNotFound, render_pdf
        try:
            data = render_pdf(solution)
        except TypstNotFound as error:
            raise UsageError(str(error)) from None
    elif fmt == "html":
        from .worked.html import render_html
        data = render_html(solution).encode()
    elif fmt == "tex":
        data = render_latex(solution).encode()
    elif fmt == "md":
        diagram_name = None
        if output:  # the drawing goes next to the page; on the screen there is nowhere to put it
            from .worked.diagram import diagram_svg
            svg = diagram_svg(solution)
            if svg is not None:
                diagram_path = Path(output).with_suffix(".svg")
                if diagram_path != Path(output):
                    files[diagram_path] = svg.encode()
                    diagram_name = diagram_path.name
        data = render_markdown(solution, diagram_name).encode()
    else:
        data = solution.text().encode()
    if not output:
        print(data.decode().rstrip("\n"))
        return 0
    files[Path(output)] = data if data.endswith(b"\n") or fmt == "pdf" else data + b"\n"
    for path, content in files.items():
        write_atomically(path, content)
        print(f"wrote {path}")
    return 0


def _answers(path):
    """A student's answers: a TOML file of name = number (names as the solution prints them,
    quoted where they contain '/' or spaces: "dE/dw5" = 0.0822). Tables ([forward], [backward])
    only group them: their entries are answers too."""
    import tomllib
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise UsageError(f"--check: no such file {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"--check: {path} is not valid TOML ({error})") from None
    answers = {}

    def collect(table):
        for name, value in table.items():
            if isinstance(value, dict):
                collect(value)
            elif name in answers:
                raise UsageError(f"--check: {path}: {name} is answered twice")
            else:
                answers[name] = value
    collect(document)
    return answers


# The files the running command reads (its spec, data, answers): set by main() from the arguments
# named here, so that write_atomically never replaces one of them with an output.
_INPUT_ARGUMENTS = ("spec", "check", "data", "q4")
_inputs = []


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return Path(a).resolve() == Path(b).resolve()


def check_output(path):
    """``path`` as a Path, once it is known to be writable without harm: its folder exists and
    it is not an input of the running command. Commands call it before long work, too."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    for source in _inputs:
        if _same_file(path, source):
            raise UsageError(f"cannot write {path}: it is an input of this command; "
                             "choose another output file")
    return path


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file in the same folder, so a
    reader never sees half a file and a failure leaves none. An input of the running command
    (``glassgrad backprop q4.toml -o q4.toml``) is never replaced."""
    path = check_output(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a written file should not be
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


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
    if args.q4 and not Path(args.q4).is_file():
        raise UsageError(f"--q4: no such file {args.q4}")
    if args.q4:
        from .worked import SpecError, load_spec
        try:
            load_spec(args.q4)  # a bad spec is a usage error, found before the long run starts
        except SpecError as error:
            raise UsageError(str(error)) from None
    _refuse_replacing_a_folder_of_other_files(args.out)
    for path in write_report(args.out, only=only, progress=main_progress, q4_spec=args.q4):
        print(f"wrote {path}")
    return 0


# What a report folder holds; write_report replaces the whole --out folder, so one holding
# anything else (sources, data, a spec) is refused rather than deleted.
_REPORT_SUFFIXES = (".ipynb", ".pdf", ".html", ".md", ".svg", ".png", ".dot", ".json", ".txt")


def _refuse_replacing_a_folder_of_other_files(out):
    folder = Path(out)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageError(f"--out: {out} is a file, not a folder")
    others = sorted(entry.name for entry in folder.iterdir()
                    if not (entry.is_file() and entry.suffix.lower() in _REPORT_SUFFIXES))
    if others:
        raise UsageError(f"--out: {out} holds {others[0]!r}, which a report does not write; the "
                         "report replaces the whole folder, so give a new or empty folder")


def formula_may_start_with_minus(parser):
    """Let ``-log(exp(x)/(exp(x)+exp(y)))`` be the formula: argparse would take any word starting
    with '-' for an unknown option. A single-dash word that is not one of the command's own
    options (-h, -o) is the formula."""
    classify = parser._parse_optional

    def parse_optional(word):
        if word.startswith("-") and not word.startswith("--") \
                and word.split("=")[0] not in parser._option_string_actions:
            return None
        return classify(word)

    parser._parse_optional = parse_optional


def _formula_arguments(command):
    formula_may_start_with_minus(command)
    command.add_argument("expr", help="the formula, e.g. '(x + exp(y)) / (log(x) + (x - y)**3)'")
    command.add_argument("--at", nargs="+", metavar="NAME=VALUE", default=[],
                         help="the point, e.g. --at x=3 y=4 (or x=3,y=4)")
    command.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def build_parser():
    parser = _Parser(prog="glassgrad", description="Glass-box automatic differentiation.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    grad = commands.add_parser("grad", help="a formula's value and partial derivatives at a point")
    _formula_arguments(grad)
    grad.add_argument("--json", action="store_true", help="print JSON")
    grad.set_defaults(run=_grad)
    graph = commands.add_parser("graph", help="draw a formula's computation graph")
    _formula_arguments(graph)
    graph.add_argument("-o", "--output", default="graph.svg", help="file: .svg, .png, .pdf or .dot")
    graph.set_defaults(run=_graph)
    explain = commands.add_parser("explain", help="every forward and backward step of a formula")
    _formula_arguments(explain)
    explain.add_argument("--format", choices=tuple(_RENDERERS), default="text")
    explain.add_argument("-o", "--output", help="write to this file instead of the screen")
    explain.add_argument("--json", action="store_true", help="print the steps as JSON")
    explain.set_defaults(run=_explain)
    backprop = commands.add_parser("backprop", help="the worked backpropagation of a small network")
    backprop.add_argument("spec", help="the network: a TOML file, e.g. examples/q4.toml")
    backprop.add_argument("--format", choices=("text", "md", "tex", "html", "pdf", "json"),
                          default="text")
    backprop.add_argument("-o", "--output", help="write to this file instead of the screen")
    backprop.add_argument("--set", nargs="+", metavar="NAME=VALUE",
                          help="override spec values, e.g. --set w1=0.2 learning_rate=0.5")
    backprop.add_argument("--json", action="store_true", help="print every quantity as JSON")
    backprop.add_argument("--check", metavar="ANSWERS.toml",
                          help="grade a hand calculation: exit status 1 if any answer is wrong")
    backprop.set_defaults(run=_backprop)
    from .fit.cli import register as register_fit
    from .stability.cli import register as register_stability
    register_fit(commands)
    register_stability(commands)
    hw3 = commands.add_parser("hw3", help="answer the HW3 homework and write the report")
    hw3.add_argument("--out", default="hw3-report", help="output folder (default: hw3-report)")
    hw3.add_argument("--only", help="comma-separated questions to run, e.g. q1,q3")
    hw3.add_argument("--q4", metavar="SPEC.toml", help="Q4's network (default: the seed's)")
    hw3.set_defaults(run=_hw3)
    return parser


def run(args):
    """Run the parsed command ``args`` with its input files protected from being overwritten;
    errors propagate (main() turns them into one line and an exit status)."""
    _inputs[:] = [getattr(args, name) for name in _INPUT_ARGUMENTS if getattr(args, name, None)]
    try:
        return args.run(args)
    finally:
        _inputs.clear()


def main(argv=None):
    command = "glassgrad"
    try:
        args = build_parser().parse_args(argv)
        command = f"glassgrad {args.command}"
        return run(args)
    except UsageError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        sys.stdout = None
        return 0
    except Exception as error:  # one line for the user, not a traceback
        print(f"{command}: error: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
