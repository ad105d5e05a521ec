"""Tests for glassgrad.expr: precedence and canonical text, the seed's Q1 bit for bit against
glassgrad written directly, values and derivatives against SymPy, every refusal with its message
and caret column, the length and depth limits, and a hostile-input fuzz test."""

import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassgrad as gg
from glassgrad.expr import (FUNCTIONS, Binary, Call, Expression, ExpressionError, Name, Number,
                            ParseError, Unary, gradient, parse)

POINT = {"x": 2.0, "y": 3.0, "a": 5.0, "b": 7.0, "c": 11.0}

# text, canonical form, value at POINT computed by hand in Python (an independent source)
PRECEDENCE = [
    ("-x**2", "-x ** 2", -(2.0 ** 2)),
    ("-x^2", "-x ** 2", -4.0),
    ("(-x)**2", "(-x) ** 2", 4.0),
    ("2^3^2", "2 ** 3 ** 2", 512.0),
    ("(2^3)^2", "(2 ** 3) ** 2", 64.0),
    ("a-b-c", "a - b - c", 5.0 - 7.0 - 11.0),
    ("a-(b-c)", "a - (b - c)", 5.0 - (7.0 - 11.0)),
    ("a/b/c", "a / b / c", 5.0 / 7.0 / 11.0),
    ("a/(b/c)", "a / (b / c)", 5.0 / (7.0 / 11.0)),
    ("a+b*c", "a + b * c", 5.0 + 7.0 * 11.0),
    ("(a+b)*c", "(a + b) * c", (5.0 + 7.0) * 11.0),
    ("a*-b", "a * -b", -35.0),
    ("-a*b", "-a * b", -35.0),
    ("-(a*b)", "-(a * b)", -35.0),
    ("2**-x", "2 ** -x", 0.25),
    ("2**-x**2", "2 ** -x ** 2", 2.0 ** -(2.0 ** 2)),
    ("2**-x*3", "2 ** -x * 3", 0.75),
    ("x - -y", "x - -y", 5.0),
    ("--x", "--x", 2.0),
    ("+x", "+x", 2.0),
    ("1e-3 * x", "0.001 * x", 0.002),
    ("2.5E+2 + .5 + 1.", "250.0 + 0.5 + 1.0", 251.5),
    ("007 * x", "7 * x", 14.0),
    ("pi * x", "pi * x", math.pi * 2.0),
    ("e ** y", "e ** y", math.e ** 3.0),
    ("  exp( x )+logaddexp(a ,b)", "exp(x) + logaddexp(a, b)",
     math.exp(2.0) + math.log(math.exp(5.0) + math.exp(7.0))),
    ("maximum(a, -b) - minimum(a, b)**2", "maximum(a, -b) - minimum(a, b) ** 2", 5.0 - 25.0),
    ("(x + exp(y)) / (log(x) + (x - y)**3)", "(x + exp(y)) / (log(x) + (x - y) ** 3)",
     (2.0 + math.exp(3.0)) / (math.log(2.0) + (2.0 - 3.0) ** 3)),
]


@pytest.mark.parametrize("text, canonical, value", PRECEDENCE)
def test_canonical_form_and_value(text, canonical, value):
    expression = parse(text)
    assert str(expression) == canonical
    assert parse(canonical) == expression
    result = expression.evaluate(POINT, dtype=gg.float64)
    assert result.dtype == gg.float64
    assert result.item() == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text, tree", [
    ("-x**2", Unary("-", Binary("**", Name("x"), Number(2)))),
    ("2^3^2", Binary("**", Number(2), Binary("**", Number(3), Number(2)))),
    ("a-b-c", Binary("-", Binary("-", Name("a"), Name("b")), Name("c"))),
    ("a/b/c", Binary("/", Binary("/", Name("a"), Name("b")), Name("c"))),
    ("2**-x*3", Binary("*", Binary("**", Number(2), Unary("-", Name("x"))), Number(3))),
    ("f1 + log1p(x)", Binary("+", Name("f1"), Call("log1p", [Name("x")]))),
])
def test_tree_shape(text, tree):
    assert parse(text) == tree
    assert repr(parse(text)) == repr(tree)


def test_trees_differ_when_they_should():
    assert parse("a-b-c") != parse("a-(b-c)")
    assert parse("2") != parse("2.0")
    assert parse("x") != parse("y")
    assert len({parse("x+1"), parse("x + 1"), parse("(x)+(1)")}) == 1


def test_names_in_order_of_first_appearance_without_constants():
    assert parse("y * exp(x) + pi * y - e + z").names == ("y", "x", "z")
    assert parse("2 + 3").names == ()


def test_nodes_are_immutable():
    expression = parse("x + 1")
    with pytest.raises(AttributeError):
        expression.op = "-"
    assert isinstance(expression, Expression)


def test_integer_arithmetic_never_runs_in_python():
    # 1/0 and 10**400 would raise ZeroDivisionError/OverflowError as Python numbers.
    assert parse("1/0").evaluate({}).item() == math.inf
    assert parse("10.0**400").evaluate({}, dtype=gg.float64).item() == math.inf
    assert parse("2^3^2").evaluate({}).dtype == gg.float32


def test_long_integer_literals_become_floats():
    assert parse("9" * 20) == Number(1e20)
    assert parse("123456789012345") == Number(123456789012345)


# ------------------------------------------------------------------------------------------------
# The seed's Q1, bit for bit against glassgrad written directly
# ------------------------------------------------------------------------------------------------

Q1 = "(x + exp(y)) / (log(x) + (x - y)**3)"


def _q1_direct():
    x = gg.tensor([3.0], requires_grad=True)
    y = gg.tensor([4.0], requires_grad=True)
    f = (x + (gg.exp(y))) / ((gg.log(x)) + ((x - y) ** 3))
    f.backward()
    return f, x.grad, y.grad


def test_q1_matches_glassgrad_written_directly_bit_for_bit():
    x = gg.tensor([3.0], requires_grad=True)
    y = gg.tensor([4.0], requires_grad=True)
    f = parse(Q1).evaluate({"x": x, "y": y})
    f.backward()
    for ours, direct in zip((f, x.grad, y.grad), _q1_direct()):
        assert ours.dtype == gg.float32
        assert ours.detach().numpy().tobytes() == direct.detach().numpy().tobytes()
    assert repr(f) == "tensor([584.0868], grad_fn=<DivBackward0>)"
    assert (repr(x.grad), repr(y.grad)) == ("tensor([-19733.3965])", "tensor([18322.8477])")


def test_q1_gradient_helper():
    value, partials = gradient(Q1, {"x": 3, "y": 4})
    f, dx, dy = _q1_direct()
    assert value == f.item() and partials == {"x": dx.item(), "y": dy.item()}
    assert round(value, 4) == 584.0868
    assert (round(partials["x"], 4), round(partials["y"], 4)) == (-19733.3965, 18322.8477)


def test_evaluate_makes_float32_leaves_that_need_gradients():
    y = gg.tensor(4.0, dtype=gg.float64)
    out = parse("x * x * y").evaluate({"x": 3, "y": y})
    assert out.requires_grad and out.dtype == gg.float64
    out.backward()
    assert y.grad is None  # a given tensor is used as it is, requires_grad untouched


def test_missing_variables_are_named():
    with pytest.raises(ExpressionError, match=r"^no value given for variable\(s\) 'x', 'z'$"):
        parse("x + y * z").evaluate({"y": 1.0})
    assert issubclass(ExpressionError, ValueError)


def test_gradient_of_a_constant_formula():
    assert gradient("2 ^ 10", {}) == (1024.0, {})


# ------------------------------------------------------------------------------------------------
# Against SymPy in float64
# ------------------------------------------------------------------------------------------------

SYMPY_FORMULAS = [
    Q1,
    "sigmoid(x * y) - tanh(x / y)",
    "softplus(3 * x - y) + relu(y - x) + abs(x - y)",
    "logaddexp(x, 2 * y) * maximum(x, y) / minimum(x, -y)",
    "sqrt(x ** 2 + y ** 2) + log1p(x * y) - expm1(-x)",
    "sin(x) * cos(y) + tan(x / 5) + square(y) + reciprocal(x + y)",
    "x ^ y ^ 0.5 - e ** (-x) * pi",
    "log_sigmoid(x - 2 * y) * x + softplus(y)",
]


@pytest.mark.parametrize("formula", SYMPY_FORMULAS)
@pytest.mark.parametrize("point", [{"x": 1.3, "y": 0.7}, {"x": 2.5, "y": 1.9}])
def test_value_and_derivatives_match_sympy(formula, point):
    sympy = pytest.importorskip("sympy")
    expression = parse(formula)
    symbolic = expression.to_sympy()
    symbols = {name: sympy.Symbol(name, real=True) for name in expression.names}
    substitution = {symbols[name]: point[name] for name in expression.names}
    value, partials = gradient(formula, point, dtype=gg.float64)
    assert value == pytest.approx(float(symbolic.subs(substitution).evalf(30)), rel=1e-10)
    for name, partial in partials.items():
        exact = sympy.diff(symbolic, symbols[name]).subs(substitution).evalf(30)
        assert partial == pytest.approx(float(exact), rel=1e-10, abs=1e-12), name


def test_to_sympy_forms():
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y", real=True)
    assert parse("sigmoid(x)").to_sympy() == 1 / (1 + sympy.exp(-x))
    assert parse("softplus(x)").to_sympy() == sympy.log(1 + sympy.exp(x))
    assert parse("relu(x)").to_sympy() == sympy.Max(x, 0)
    assert parse("logaddexp(x, y)").to_sympy() == sympy.log(sympy.exp(x) + sympy.exp(y))
    assert parse("2^3^2").to_sympy() == 512
    assert parse("pi + e").to_sympy() == sympy.pi + sympy.E


def test_every_function_has_a_sympy_form_checked_above():
    used = {name for formula in SYMPY_FORMULAS for name in parse(formula)._preorder()
            if isinstance(name, Call) for name in [name.function]}
    assert used == set(FUNCTIONS)


def test_softplus_and_logaddexp_are_stable_in_float32():
    assert parse("softplus(x)").evaluate({"x": 100.0}).item() == 100.0
    assert parse("softplus(x)").evaluate({"x": -100.0}).item() == pytest.approx(math.exp(-100))
    value = parse("logaddexp(a, b)").evaluate({"a": 1000.0, "b": 1000.0}).item()
    assert value == pytest.approx(1000 + math.log(2))


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_softplus_and_logaddexp_gradients_at_a_tie_are_one_half(dtype):
    # d/dx log(1 + e^x) = 1 / (1 + e^-x) = 1/2 at 0; a relu-based form would give 0 there
    assert gradient("softplus(x)", {"x": 0.0}, dtype=dtype).partials == {"x": 0.5}
    assert gradient("logaddexp(a, b)", {"a": 3.0, "b": 3.0}, dtype=dtype).partials == \
        {"a": 0.5, "b": 0.5}


@pytest.mark.parametrize("x", [-100.0, -20.0, -1.0, 0.0, 1.5, 30.0, 100.0])
def test_log_sigmoid_matches_mpmath_in_float32(x):
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(40):
        exact = -mpmath.log1p(mpmath.exp(-x))
        exact_slope = 1 / (1 + mpmath.exp(x))
    value, partials = gradient("log_sigmoid(x)", {"x": x})
    # abs: one float32 subnormal step, the spacing near -e^-100
    assert value == pytest.approx(float(exact), rel=1e-6, abs=1.5e-45)
    assert partials["x"] == pytest.approx(float(exact_slope), rel=1e-6, abs=1.5e-45)


# ------------------------------------------------------------------------------------------------
# Refusals: message and caret column
# ------------------------------------------------------------------------------------------------

REFUSALS = [
    ("eval(x)", "unknown function 'eval'", 1),
    ("x + __import__('os')", "reserved name '__import__' is not allowed", 5),
    ("os.system", "attribute access '.' is not allowed", 3),
    ("x.real", "attribute access '.' is not allowed", 2),
    ("x[0]", "subscripts '[' are not allowed", 2),
    ("x]", "subscripts ']' are not allowed", 2),
    ("'x'", "strings are not allowed", 1),
    ('1 + "2"', "strings are not allowed", 5),
    ("lambda: 1", "keyword 'lambda' is not allowed", 1),
    ("x if y else z", "keyword 'if' is not allowed", 3),
    ("exp", "function 'exp' is used without '(...)'", 1),
    ("exp(x, y)", "function 'exp' takes 1 argument, got 2", 1),
    ("2 * logaddexp(x)", "function 'logaddexp' takes 2 arguments, got 1", 5),
    ("maximum()", "function 'maximum' takes 2 arguments, got 0", 1),
    ("exp(x,)", "expected a number, name or '(' but found ')'", 7),
    ("x y", "expected an operator or the end but found name 'y'", 3),
    ("(x + 1) 2", "expected an operator or the end but found number '2'", 9),
    ("x)", "unmatched ')'", 2),
    ("x, y", "',' outside a function call", 2),
    ("(x, y)", "',' outside a function call", 3),
    ("(x + 1", "'(' is never closed", 1),
    ("sin(cos(x)", "'(' is never closed", 1),
    ("", "empty expression", 1),
    ("   ", "empty expression", 4),
    ("x +", "unexpected end of input: an operand is missing", 4),
    ("* x", "expected a number, name or '(' but found '*'", 1),
    ("x // 2", "expected a number, name or '(' but found '/'", 4),
    ("()", "expected a number, name or '(' but found ')'", 2),
    ("1e", "malformed number '1e'", 1),
    ("2x", "malformed number '2x'", 1),
    ("1.5.2", "malformed number '1.5.'", 1),
    ("1e400", "number '1e400' is too large", 1),
    ("x @ y", "unexpected character '@'", 3),
    ("x = 1", "unexpected character '='", 3),
    ("x ٣", "unexpected character '٣'", 3),
]


@pytest.mark.parametrize("text, problem, column", REFUSALS)
def test_refusal_names_the_problem_and_points_at_it(text, problem, column):
    with pytest.raises(ParseError) as caught:
        parse(text)
    error = caught.value
    assert (error.problem, error.column, error.text) == (problem, column, text)
    summary, caret = str(error).split("\n")
    assert summary == f"{problem} at column {column}: {text}"
    assert caret == " " * (len(summary) - len(text) + column - 1) + "^"
    assert isinstance(error, ValueError)


def test_caret_display_stays_one_line_for_multiline_and_long_text():
    with pytest.raises(ParseError) as caught:
        parse("x +\n\t@")
    summary, caret = str(caught.value).split("\n")
    assert summary == "unexpected character '@' at column 6: x +  @"
    assert summary[caret.index("^")] == "@"
    with pytest.raises(ParseError) as caught:
        parse("x + " * 100 + "eval(x)")
    summary, caret = str(caught.value).split("\n")
    assert summary.startswith("unknown function 'eval' at column 401: ...") and len(summary) < 130
    assert summary[caret.index("^"):].startswith("eval(x)")


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError, match="must be a str, not int"):
        parse(3)


# ------------------------------------------------------------------------------------------------
# Limits against hostile input
# ------------------------------------------------------------------------------------------------

def test_length_limit():
    assert parse("x" * 10_000).names == ("x" * 10_000,)
    with pytest.raises(ParseError, match=r"^input is 10,001 characters long; the limit is 10,000 "
                                         r"at column 10001: "):
        parse("x" * 10_001)


def test_depth_limit():
    assert parse("(" * 200 + "x" + ")" * 200) == Name("x")
    assert str(parse("exp(" * 200 + "x" + ")" * 200)).count("exp(") == 200
    too_deep = [("(" * 201 + "x" + ")" * 201, 201), ("sin(" * 201 + "x" + ")" * 201, 801),
                ("(" * 9_999 + "x", 201), ("(-" * 201 + "x" + ")" * 201, 401)]
    for text, column in too_deep:
        with pytest.raises(ParseError) as caught:
            parse(text)
        assert (caught.value.problem, caught.value.column) == ("nesting deeper than 200 levels", column)
    with pytest.raises(ParseError):  # 10,000 levels: over the length limit before any depth
        parse("(" * 10_000 + "x" + ")" * 10_000)


def test_deep_trees_without_parentheses_never_recurse():
    # Left-deep chains and sign runs are thousands of levels deep as trees, inside the length limit.
    chain = parse("-".join(["a"] * 2_500))
    assert chain.evaluate({"a": 1.0}).item() == -2_498.0
    assert parse(str(chain)) == chain and hash(chain) == hash(parse(str(chain)))
    signs = parse("-" * 9_000 + "x")
    assert signs.evaluate({"x": 2.0}).item() == 2.0
    power = parse("^".join(["1"] * 4_000))
    assert str(power).count("**") == 3_999
    pytest.importorskip("sympy")
    assert power.to_sympy() == 1


# ------------------------------------------------------------------------------------------------
# Fuzz: every hostile string ends in an Expression or a ParseError
# ------------------------------------------------------------------------------------------------

HOSTILE_PIECES = list("abxyzE0123456789+-*/^().,[]'\"_ e\t") + [
    "**", "__import__", "os.system", "exp", "log", "logaddexp", "maximum", "pi", "1e-3", "2.5",
    "lambda", "eval", "(", ")", ",", "  ", ".__class__", "[0]", "'rm -rf'", "sigmoid(", "\n"]


@settings(max_examples=3_000, deadline=2_000)
@given(st.lists(st.sampled_from(HOSTILE_PIECES), max_size=30).map("".join))
def test_hostile_input_ends_in_an_expression_or_a_parse_error(text):
    try:
        expression = parse(text)
    except ParseError as error:
        assert "\n" not in str(error).split("\n")[0] and 1 <= error.column <= len(text) + 1
        return
    assert isinstance(expression, Expression)
    assert parse(str(expression)) == expression
    values = {name: 0.7 for name in expression.names}
    assert isinstance(expression.evaluate(values, dtype=gg.float64), gg.Tensor)


def test_the_package_never_runs_text_as_python():
    package = Path(gg.__file__).parent / "expr"
    source = "\n".join(path.read_text() for path in sorted(package.glob("*.py")))
    assert not re.search(r"(^|[^._a-zA-Z])(eval|exec|compile)\(|import ast|from ast", source)
    assert len(list(package.glob("*.py"))) >= 2
