"""The formula language under attack: hostile, broken and extreme text must end in a value or a
refusal, quickly, and must never run code, read files or import.

* ``test_hostile_formulas_end_in_a_result_or_a_refusal`` (marked ``slow``; CI runs it) feeds
  ``glassgrad.expr`` at least ``FUZZ_INPUTS`` generated inputs: random text, random token runs,
  mutated valid formulas, Python-injection attempts, huge numbers and exponents, deep nesting.
  Every input must end, within ``TIME_BOUND`` seconds, in a 0-d Tensor (for a quarter of them,
  chosen by a hash of the text, also differentiated, and printed back as canonical text that
  parses to the same tree) or in ``ParseError``/``ExpressionError``; any other exception, or a
  hang, fails. An
  audit hook (``sys.addaudithook``) records ``open``, ``import``, ``exec``, ``compile``,
  process-spawning and socket events raised while parsing and evaluating; there must be none.
* ``test_sympy_conversion_of_hostile_formulas_ends`` (slow too) does the same for ``to_sympy``
  on fewer inputs (SymPy is slow): a SymPy expression or an ``ExpressionError``, never a hang.
* The fast tests check the limits (over 10,000 characters, over 200 levels) with generated
  input, that the audit recorder can fail, and keep the shrunk failures as regressions.

``pytest tests/test_expr_fuzz.py -m "not slow"`` runs only the fast ones.
"""

import itertools
import math
import signal
import random
import string
import sys
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import glassgrad as gg
from conftest import CASE_COUNTS
from glassgrad.expr import (CONSTANTS, FUNCTIONS, MAX_DEPTH, MAX_LENGTH, Expression,
                            ExpressionError, ParseError, parse)

FUZZ_INPUTS = 100_000
TIME_BOUND = 10.0   # seconds one input may take before it counts as a hang (generous: a shared CPU)
SYMPY_INPUTS = 2_000
SYMPY_TIME_BOUND = 60.0  # SymPy itself takes seconds on some allowed formulas, more on a busy CPU

# ------------------------------------------------------------------------------------------------
# The recorder: audit events that mean code ran, a file was read or a module imported
# ------------------------------------------------------------------------------------------------

FORBIDDEN_EVENTS = frozenset({
    "open", "import", "exec", "compile", "subprocess.Popen", "os.system", "os.exec",
    "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.startfile", "socket.connect",
    "socket.bind", "ctypes.dlopen", "builtins.input", "os.remove", "os.rename", "os.listdir",
    "os.scandir", "shutil.rmtree", "pickle.find_class", "marshal.loads", "urllib.Request",
    "code.__new__", "function.__new__", "sys.settrace", "sys.setprofile",
})


class _Recorder:
    """The forbidden audit events raised while ``active``. ``sys.addaudithook`` cannot be undone,
    so one hook is installed for the process and does nothing while inactive."""

    def __init__(self):
        self.active = False
        self.events = []
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if self.active and event in FORBIDDEN_EVENTS:
            self.events.append((event, repr(args)[:120]))

    def __enter__(self):
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False
        return False


RECORDER = _Recorder()


def _write_backward_functions():
    """The engine writes each op's backward function (our own text, from the op's record) with
    exec on the op's first backward; written now, the recorder sees only what a formula causes,
    whichever tests ran before."""
    from glassgrad.autograd import engine
    from glassgrad.ops.registry import REGISTRY

    for op in REGISTRY.values():
        engine.backward_function(op, engine._helpers())


_write_backward_functions()


class Hang(BaseException):
    """An input ran past TIME_BOUND. BaseException, so no ``except Exception`` can swallow it."""


def _on_alarm(signum, frame):
    raise Hang


class time_bound:
    """Raise Hang in the running code if the block takes longer than ``seconds``."""

    def __init__(self, seconds=TIME_BOUND):
        self.seconds = seconds

    def __enter__(self):
        self.previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


# ------------------------------------------------------------------------------------------------
# Running one input
# ------------------------------------------------------------------------------------------------

# Variable values by name, picked by a stable hash (Python's str hash changes between runs).
VALUES = [0.7, -1.3, 0.0, 3.0, 1e30, -1e-30, 2.5e-8, 88.0, -745.0, float("inf")]


def _pick(options, text):
    return options[zlib.crc32(text.encode("utf-8", "surrogatepass")) % len(options)]


def run_formula(text, recorder=RECORDER):
    """Parse and evaluate ``text`` as a user's formula would be; return what it ended in.

    "refused" (a ParseError), "unbound" (ExpressionError: a variable left without a value on
    purpose) or "value" (a 0-d Tensor). Any other exception propagates.
    """
    with recorder, time_bound():
        try:
            expression = parse(text)
        except ParseError as error:
            _check_parse_error(error, text)
            return "refused"
        assert isinstance(expression, Expression)
        sample = _pick(range(4), text + "?")  # a quarter of the inputs get the costlier checks
        canonical = str(expression)
        if sample == 0 and len(canonical) <= MAX_LENGTH:  # spaces can push it past the limit
            assert parse(canonical) == expression, canonical
        names = expression.names
        dtype = _pick([gg.float64, gg.float32], text)
        values = {name: _pick(VALUES, name) for name in names}
        leave_one_out = names and _pick(range(10), text + "!") == 0
        if leave_one_out:
            del values[names[-1]]
        try:
            result = expression.evaluate(values, dtype=dtype)
        except ExpressionError as error:
            assert leave_one_out and f"'{names[-1]}'" in str(error), error
            return "unbound"
        assert not leave_one_out, "a variable without a value was not refused"
        assert isinstance(result, gg.Tensor) and result.shape == () and result.dtype == dtype
        if result.requires_grad and sample == 0:
            result.backward()
        return "value"


def _check_parse_error(error, text):
    """A refusal names its problem on one line and points at a column inside the text."""
    lines = str(error).split("\n")
    assert len(lines) == 2, str(error)
    assert lines[0].startswith(f"{error.problem} at column {error.column}: "), lines[0]
    assert 1 <= error.column <= len(text) + 1
    assert lines[1].strip() == "^"


def run_sympy(text, recorder=RECORDER):
    """``to_sympy`` of a formula: a SymPy expression or an ExpressionError, in bounded time."""
    import sympy

    with recorder, time_bound(SYMPY_TIME_BOUND):
        try:
            expression = parse(text)
        except ParseError:
            return "refused"
        try:
            result = expression.to_sympy()
        except ExpressionError:
            return "refused by to_sympy"
        assert isinstance(result, sympy.Basic)
        return "sympy"


# ------------------------------------------------------------------------------------------------
# The inputs
# ------------------------------------------------------------------------------------------------

FUNCTION_NAMES = sorted(FUNCTIONS)
UNARY_FUNCTIONS = [name for name in FUNCTION_NAMES if FUNCTIONS[name].arity == 1]
BINARY_FUNCTIONS = [name for name in FUNCTION_NAMES if FUNCTIONS[name].arity == 2]
assert len(UNARY_FUNCTIONS) + len(BINARY_FUNCTIONS) == len(FUNCTIONS)
NAMES = ["x", "y", "z", "w1", "b", "_t", "x_2", *CONSTANTS, "X"]
OPERATORS = ["+", "-", "*", "/", "**", "^"]
NUMBERS = ["0", "1", "2", "3.5", ".5", "1e3", "1e-3", "2.5E+10", "1e308", "1e-320", "00012",
           "123456789012345678", "9" * 40, "0.0"]

INJECTIONS = [
    "__import__('os')", "__import__('os').system('echo hacked')", "().__class__",
    "().__class__.__bases__[0].__subclasses__()", "open('x')", "open('/etc/passwd').read()",
    "lambda: 1", "(lambda x: x)(1)", "x.__class__", "exp.__globals__", "exec('1')", "eval('1')",
    "compile('1', 'f', 'eval')", "globals()", "locals()", "vars()", "getattr(x, 'y')",
    "__builtins__", "breakpoint()", "import os", "from os import system", "os.system('ls')",
    "[c for c in ()]", "{}", "f'{x}'", "x if x else y", "x and y", "not x", "x; y", "x\ny",
    "x = 1", "x := 1", "*x", "**x", "x @ y", "x % y", "x // y", "x << 2", "~x", "x | y",
    "exp(x).real", "x[0]", "x['a']", "x()", "exp()()", "exp(x)(y)", "print(x)", "input()",
    "sys.exit()", "type(x)", "__class__", "_", "__", "exp(__import__)", "pi.__class__",
    "ｅｘｐ(x)", "exp(１)", "ⅸ", "x\u200by", "x\x00", "exp(x\t)", "e\u0301", "\N{GREEK SMALL LETTER PI}",
    "1 .real", "1..real", "1j", "0x10", "0b1", "1_000", "nan", "inf", "None", "True", "assert x",
    "async", "await x", "yield x", "del x", "raise", "with x: y", "class A: pass", "def f(): 1",
    "exp(*x)", "exp(**x)", "exp(x=1)", "logaddexp(x, y=2)",
]

HUGE = [
    "10**10**10", "9^9^9", "9^9^9^9", "2**-1e308", "1e308*1e308", "exp(exp(exp(1000)))",
    "(-8)^(1/3)", "0^-1", "0/0", "1/0", "-1/0", "log(0)", "sqrt(-1)", "1e308^2^2^2",
    "999999999999999^999999999999999", "2^2^2^2^2^2", "exp(1e308)", "x^1e308", "1e-320^-1e308",
    "tan(1e308)", "sin(1e300^2)", "logaddexp(1e308, 1e308)", "softplus(1e308)", "expm1(710)",
    "reciprocal(1e-320)", "maximum(0/0, 1)", "relu(0/0)", "sigmoid(-1e308)", "1" * 400,
    "1." + "0" * 5_000, "0." + "0" * 400 + "1",
]


def _formulas():
    """Valid formulas of the language, built from its grammar."""
    atoms = st.one_of(st.sampled_from(NAMES), st.sampled_from(NUMBERS))
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            inner.map(lambda s: f"({s})"),
            st.tuples(st.sampled_from("+-"), inner).map("".join),
            st.tuples(st.sampled_from(UNARY_FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(BINARY_FUNCTIONS), inner, inner)
              .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        ),
        max_leaves=12,
    )


TOKENS = (NAMES + OPERATORS + NUMBERS + FUNCTION_NAMES
          + ["(", ")", ",", " ", ".", "[", "]", "'", '"', "__", "lambda", "import", "os", "=", "\t"])


def _mutated(formula_strategy):
    """A valid formula with a few characters or tokens deleted, inserted, swapped or repeated."""
    edit = st.tuples(st.sampled_from(["delete", "insert", "swap", "repeat", "token"]),
                     st.floats(0, 1), st.sampled_from(TOKENS + list(string.printable)))

    def apply(args):
        text, edits = args
        for kind, where, piece in edits:
            i = int(where * len(text))
            if kind == "delete":
                text = text[:i] + text[i + 1:]
            elif kind == "insert":
                text = text[:i] + piece[:1] + text[i:]
            elif kind == "swap" and i + 1 < len(text):
                text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
            elif kind == "repeat":
                text = text[:i] + text[i:i + 8] * 3 + text[i:]
            else:
                text = text[:i] + piece + text[i:]
        return text
    return st.tuples(formula_strategy, st.lists(edit, min_size=1, max_size=4)).map(apply)


def _injected(formula_strategy):
    """An injection attempt on its own or spliced into a valid formula."""
    return st.one_of(
        st.sampled_from(INJECTIONS),
        st.tuples(formula_strategy, st.sampled_from(["+", "*", "(", ",", " ", ""]),
                  st.sampled_from(INJECTIONS)).map("".join),
        st.tuples(st.sampled_from(FUNCTION_NAMES), st.sampled_from(INJECTIONS))
          .map(lambda t: f"{t[0]}({t[1]})"),
    )


def _nested(depth_strategy, inner):
    """``inner`` wrapped ``depth`` times in parentheses, unary calls, signs or 2-argument calls."""
    wrappers = st.sampled_from([("(", ")"), ("exp(", ")"), ("-(", ")"), ("logaddexp(x, ", ")"),
                                ("maximum(", ", 1)"), ("+", ""), ("-", ""), ("2^", "")])
    return st.tuples(depth_strategy, st.lists(wrappers, min_size=1, max_size=4), inner).map(
        lambda t: "".join(t[1][k % len(t[1])][0] for k in range(t[0])) + t[2]
        + "".join(t[1][k % len(t[1])][1] for k in reversed(range(t[0]))))


def _long_chains():
    """Trees thousands of levels deep without parentheses: a-b-c..., ----x, x^x^x..."""
    return st.tuples(st.sampled_from(["-", "^", "*", "/", "+"]), st.integers(100, 800),
                     st.sampled_from(["x", "1", "2", "0.5", "y"])).map(
        lambda t: t[0].join([t[2]] * t[1]) if t[0] != "-" or t[1] % 2 else "-" * t[1] + t[2])


FORMULAS = _formulas()
HOSTILE = st.one_of(
    st.text(max_size=40),                                                   # any Unicode
    st.text(alphabet=string.printable, max_size=60),                        # ASCII noise
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),           # token soup
    FORMULAS,                                                               # valid formulas
    _mutated(FORMULAS),
    _injected(FORMULAS),
    st.sampled_from(HUGE),
    st.tuples(FORMULAS, st.sampled_from(OPERATORS), st.sampled_from(HUGE)).map(" ".join),
    _nested(st.integers(150, 260), FORMULAS),                               # around the depth limit
)
# Long inputs are expensive (an 800-op chain is 800 tensor ops and their backward), so one batch
# in four holds one of them.
RARE = st.one_of(_long_chains(), _nested(st.integers(180, 2_000), st.just("x")))
MAYBE_RARE = st.one_of(st.just(None), st.just(None), st.just(None), RARE)

# Hypothesis draws BASES inputs a batch (drawing costs ~2 ms an input); each is then mutated
# MUTANTS times by a hypothesis-seeded Random, the classic corpus-and-mutation fuzzing loop.
BASES, MUTANTS = 20, 14
BATCH = BASES * (1 + MUTANTS)
SPLICES = INJECTIONS + HUGE + TOKENS + ["(" * 201, ")" * 50, "x" * 200, "\x00", "\u202e"]


def _mutant(text, rng):
    """``text`` after one to three random edits: delete, insert, swap, duplicate, splice, wrap."""
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(text))
        kind = rng.randrange(6)
        if kind == 0:
            text = text[:i] + text[i + rng.randint(1, 4):]
        elif kind == 1:
            text = text[:i] + rng.choice(string.printable) + text[i:]
        elif kind == 2 and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif kind == 3:
            text = text[:i] + text[i:i + rng.randint(1, 12)] * rng.randint(2, 5) + text[i:]
        elif kind == 4:
            text = text[:i] + rng.choice(SPLICES) + text[i:]
        else:
            opening, closing = rng.choice([("(", ")"), ("exp(", ")"), ("-", ""), ("x^", ""),
                                           ("logaddexp(", ", y)"), ("", ".real"), ("", "[0]")])
            text = opening + text + closing
    return text


_BATCH_NUMBERS = itertools.count()


def _with_mutants(drawn, mutants=MUTANTS):
    bases, rare, seed = drawn
    # Hypothesis repeats itself (about 1 base in 6 and 1 seed in 4 are new), so the mutation RNG
    # also takes the batch's number: every batch mutates differently. A failing input is printed
    # whole by the assertion, so it can be kept as a regression without replaying the batch.
    rng = random.Random(f"{seed}:{next(_BATCH_NUMBERS)}")
    rare = [] if rare is None else [rare]
    return bases + [_mutant(text, rng) for text in bases for _ in range(mutants)] + rare


BATCHES = st.tuples(st.lists(HOSTILE, min_size=BASES, max_size=BASES), MAYBE_RARE,
                    st.integers(0, 2**64 - 1)).map(_with_mutants)

# About 4 in 5 generated inputs are new, so a round draws 1.4 inputs for each one wanted.
FUZZ_SETTINGS = settings(max_examples=-(-FUZZ_INPUTS * 7 // (5 * BATCH)), deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))


# The inputs each fuzz tried, so a test can check the generator did not run dry (repeating itself).
DISTINCT = {"parse + evaluate": set(), "to_sympy": set()}


# Shrunk failures found by this fuzz, kept as regressions (each was a hang or a stray exception).
REGRESSIONS = [
    "9^9^9",                  # to_sympy computed 9**387420489 exactly: a hang
    "^".join(["x"] * 3_000),  # to_sympy: RecursionError inside SymPy
    "-logaddexp(x, " * 40 + "y" + ")" * 40,  # to_sympy: SymPy's time exponential in the depth
    "maximum(0/0, 1)",        # to_sympy: SymPy's ValueError "The argument 'nan' is not comparable"
    "maximum(2^" * 100 + "pi" + ", 1)" * 100,  # to_sympy: SymPy compared 2^2^2^2^pi with 1: a hang
    "(logaddexp(x, (exp(" * 10 + "123456789012345678" + "))))" * 10,  # to_sympy: MemoryError in mpmath
    "0" * 4_999,              # parse: ValueError, Python reads at most 4,300 digits in int()
    "0" * 4_400 + "7 * x",
]


@FUZZ_SETTINGS
@given(BATCHES)
def _fuzz_parse_and_evaluate(batch):
    seen = DISTINCT["parse + evaluate"]
    for text in batch:
        if text in seen:
            continue  # hypothesis repeats itself; an input already tried proves nothing new
        seen.add(text)
        RECORDER.events.clear()
        run_formula(text)
        assert RECORDER.events == [], f"{text!r} raised audit events {RECORDER.events}"
        CASE_COUNTS["test_expr_fuzz: parse + evaluate"] += 1


ROUNDS = 3  # hypothesis runs, at most, to collect enough distinct inputs


def _until_distinct(fuzz, kind, wanted):
    """Run ``fuzz`` until it has tried ``wanted`` distinct inputs (at most ROUNDS runs)."""
    for _ in range(ROUNDS):
        fuzz()
        if len(DISTINCT[kind]) >= wanted:
            break
    assert len(DISTINCT[kind]) >= wanted, (
        f"the generator ran dry: {len(DISTINCT[kind]):,} distinct inputs in {ROUNDS} rounds")


@pytest.mark.slow
def test_hostile_formulas_end_in_a_result_or_a_refusal():
    _warm_up()
    _until_distinct(_fuzz_parse_and_evaluate, "parse + evaluate", FUZZ_INPUTS)


@settings(max_examples=SYMPY_INPUTS // 10, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.tuples(st.lists(st.one_of(HOSTILE, RARE), min_size=5, max_size=5), st.none(),
                 st.integers(0, 2**64 - 1)).map(lambda drawn: _with_mutants(drawn, mutants=1)))
def _fuzz_to_sympy(batch):
    seen = DISTINCT["to_sympy"]
    for text in batch:
        if text in seen:
            continue
        seen.add(text)
        RECORDER.events.clear()
        run_sympy(text)
        assert RECORDER.events == [], f"{text!r} raised audit events {RECORDER.events}"
        CASE_COUNTS["test_expr_fuzz: to_sympy"] += 1


@pytest.mark.slow
def test_sympy_conversion_of_hostile_formulas_ends():
    pytest.importorskip("sympy")
    _warm_up(sympy=True)
    _until_distinct(_fuzz_to_sympy, "to_sympy", SYMPY_INPUTS)


def _warm_up(sympy=False):
    """Run each function once outside the recorder, so modules loaded on first use (NumPy's,
    glassgrad's lazy submodules, SymPy's) are not mistaken for imports caused by an input."""
    text = " + ".join(f"{name}({', '.join(['x'] * FUNCTIONS[name].arity)})" for name in FUNCTION_NAMES)
    for dtype in (gg.float32, gg.float64):
        parse(text + " + pi + e ** 2 / 3 - 1").evaluate({"x": 0.5}, dtype=dtype).backward()
    if sympy:
        for formula in [text, "x ** 2 ** 3 + 1 / 3 - 2.5 * pi", "exp(100.5) + sin(1e300) + 9 ** 99"]:
            parse(formula).to_sympy()


# ------------------------------------------------------------------------------------------------
# Fast checks: the recorder and the time bound can fail; the limits; the regressions
# ------------------------------------------------------------------------------------------------

def test_the_recorder_sees_code_files_and_imports():
    recorder = RECORDER
    recorder.events.clear()
    with recorder:
        with open(__file__, "rb"):
            pass
        sys.modules.pop("colorsys", None)
        __import__("colorsys")
        exec("1")  # noqa: S102  (the recorder must notice this)
    seen = {event for event, _ in recorder.events}
    recorder.events.clear()
    assert {"open", "import", "exec", "compile"} <= seen


def test_the_time_bound_stops_a_hang():
    with pytest.raises(Hang):
        with time_bound(0.05):
            while True:
                pass


@pytest.mark.parametrize("text", REGRESSIONS + INJECTIONS + HUGE)
def test_listed_inputs_end_in_a_result_or_a_refusal(text):
    _warm_up()
    RECORDER.events.clear()
    run_formula(text)
    assert RECORDER.events == []
    CASE_COUNTS["test_expr_fuzz: listed inputs"] += 1


@pytest.mark.parametrize("text", REGRESSIONS + HUGE)
def test_listed_inputs_convert_to_sympy_or_are_refused(text):
    pytest.importorskip("sympy")
    _warm_up(sympy=True)
    RECORDER.events.clear()
    run_sympy(text)
    assert RECORDER.events == []


def test_a_tower_of_exact_powers_is_refused_by_to_sympy():
    pytest.importorskip("sympy")
    for text in ["x + 9^9^9", "2^2^2^2^pi * x", "x + (1 + 2^-50)^(2^20)",
                 "maximum(2^maximum(2^maximum(2^maximum(2^maximum(pi, 1), 1), 1), 1), 1)"]:
        with time_bound(), pytest.raises(ExpressionError, match=r"^the constant .* is too large "
                                                                r"for exact arithmetic"):
            parse(text).to_sympy()
    assert str(parse("2^100 + x").to_sympy()) == "x + 1267650600228229401496703205376"


@pytest.mark.parametrize("text", [
    "^".join(["x"] * 3_000),                            # once a RecursionError inside SymPy
    "-logaddexp(x, " * 30 + "y" + ")" * 30,              # once minutes of SymPy simplification
    "-log(exp(x) + exp(" * 12 + "y" + "))" * 12,
    "2^(-(" * 100 + "x" + "))" * 100,
])
def test_nesting_too_deep_for_sympy_is_an_expression_error(text):
    pytest.importorskip("sympy")
    with time_bound(), pytest.raises(ExpressionError, match="^the formula nests more than 12 "
                                                            "functions and powers of its variables"):
        parse(text).to_sympy()


def test_sympy_nesting_counts_only_functions_and_powers_of_variables():
    pytest.importorskip("sympy")
    with time_bound():
        assert parse("-logaddexp(x, " * 8 + "y" + ")" * 8).to_sympy().has(parse("y").to_sympy())
        assert parse("^".join(["1"] * 4_000)).to_sympy() == 1  # constants fold as they go
        assert parse("exp(" * 12 + "x" + ")" * 12).to_sympy().count(parse("exp(x)").to_sympy().func) == 12


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(MAX_LENGTH + 1, 3 * MAX_LENGTH), FORMULAS, st.sampled_from([" ", "+x", "-1", "("]))
@example(MAX_LENGTH + 1, "x", " ")
def test_over_long_input_is_refused_with_its_length(length, formula, padding):
    text = (formula + padding * length)[:length]
    with time_bound(), pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.problem == f"input is {length:,} characters long; the limit is 10,000"
    summary, caret = str(caught.value).split("\n")
    assert len(summary) < 160 and caret.strip() == "^"  # a window of the text, not all of it
    CASE_COUNTS["test_expr_fuzz: over-long input"] += 1


WRAPPERS = [("(", ")"), ("exp(", ")"), ("-(", ")"), ("logaddexp(x, ", ")"), ("maximum(", ", 1)"),
            ("sigmoid(+", ")")]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 2 * MAX_DEPTH), st.lists(st.sampled_from(WRAPPERS), min_size=1, max_size=3),
       FORMULAS)
@example(MAX_DEPTH, [("(", ")")], "x")
@example(MAX_DEPTH + 1, [("(", ")")], "x")
def test_nesting_over_200_levels_is_refused_and_up_to_200_is_read(depth, wrappers, inner):
    pieces = [wrappers[k % len(wrappers)] for k in range(depth)]
    text = "".join(p[0] for p in pieces) + f"({inner})" + "".join(p[1] for p in reversed(pieces))
    inner_depth = _paren_depth(f"({inner})")
    with time_bound():
        if depth + inner_depth <= MAX_DEPTH:
            assert isinstance(parse(text), Expression)
        else:
            with pytest.raises(ParseError) as caught:
                parse(text)
            assert caught.value.problem == "nesting deeper than 200 levels"
    CASE_COUNTS["test_expr_fuzz: nesting depth"] += 1


def _paren_depth(text):
    depth = deepest = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        deepest = max(deepest, depth)
    return deepest


def test_values_stay_ieee_when_python_would_raise():
    # Python raises OverflowError / ZeroDivisionError for these; formulas give IEEE results.
    results = {text: parse(text).evaluate({}, dtype=gg.float64).item()
               for text in ["10^10^10", "1/0", "0^-1", "1e308*1e308", "(-8)^(1/3)"]}
    assert results["10^10^10"] == math.inf and results["1/0"] == math.inf
    assert results["0^-1"] == math.inf and results["1e308*1e308"] == math.inf
    assert math.isnan(results["(-8)^(1/3)"])
