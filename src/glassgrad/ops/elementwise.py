"""Elementwise primitives: arithmetic, powers, exponentials, trigonometry, activations.

Binary ops broadcast like NumPy; the engine reduces their gradients back to each input's shape,
so the vjps here are written as if shapes matched. Where PyTorch's derivative formula evaluates
in a particular order, the vjp follows that order, so float32 gradients agree to the last bit.

A gradient of 0 stays 0 through the ops whose derivative is infinite somewhere (exp, log, sqrt,
div, pow ...): the unused branch of a ``where`` gets 0, and 0 * inf would otherwise make it nan
(PyTorch #68425: ``where(a <= 0, exp(a), 1 + a)`` at a = 100). Each ``domain`` says where the op
is finite and, for ops that overflow, the largest safe input in each dtype.
"""

import math

import numpy as np

from . import numerics
from .namespaces import numpy_ns
from .registry import Domain, register, unchanged


def _log_max(finfo):
    return math.log(float(finfo.max))


def _keep_zero(xp, g, gradient):
    """``gradient``, but 0 where it is not finite and the incoming ``g`` is 0 (0 * inf).

    Only there: elsewhere a zero ``g`` may be a variable (jvp's double-vjp trick differentiates
    the vjp with respect to a g of zeros), and masking it would cut that derivative."""
    bad = ~np.isfinite(xp.data(gradient))
    if not bad.any():
        return gradient
    return xp.where(bad & (xp.data(g) == 0), 0.0, gradient)


def _has_no_zero(array):
    return bool(array) if array.size == 1 else np.count_nonzero(array) == array.size


def _divide(xp, g, b):
    # The check is cheap for the usual scalar divisor (loss / n): this is a training hot path.
    gradient = g / b
    return gradient if _has_no_zero(xp.data(b)) else _keep_zero(xp, g, gradient)


def _divide_by_square(xp, g, a, b):
    gradient = -g * ((a / b) / b)
    return gradient if _has_no_zero(xp.data(b)) else _keep_zero(xp, g, gradient)


def _power_gradient(xp, g, x, exponent):
    if exponent == 0:
        return xp.zeros_like(x)
    gradient = g * (exponent * x ** (exponent - 1))
    # Below exponent 1 the derivative is infinite at x = 0.
    return gradient if exponent >= 1 else _keep_zero(xp, g, gradient)


def _pow_gradient_a(xp, g, a, b):
    """g * b * a ** (b - 1), +0 where b = 0 (PyTorch's masked_fill: a ** -1 may be inf there).
    Under create_graph only the points where that power is not finite are cut, so that the
    derivative with respect to b at b = 0, g / a, is there for second derivatives."""
    power = a ** (b - 1)
    if xp is numpy_ns:
        return _keep_zero(xp, g, xp.where(b == 0, 0.0, g * (b * power)))
    undefined = (xp.data(b) == 0) & ~np.isfinite(xp.data(power))
    return _keep_zero(xp, g, xp.where(undefined, 0.0, g * (b * power)))


def _magnitude_bound(name, finfo, power):
    """Bounds on |x| for |x| ** power to stay finite."""
    if power > 0:
        return [(f"|{name}|", "<=", float(finfo.max) ** (1 / power))]
    if power < 0:
        return [(f"|{name}|", ">=", float(finfo.max) ** (1 / power))]
    return []


def _rpow_bounds(finfo, base, **_):
    if base <= 0 or base == 1:
        return []
    bound = _log_max(finfo) / math.log(base)
    return [("x", "<=" if base > 1 else ">=", bound)]


_EXP_DOMAIN = Domain("finite for x <= log(max): about 88.72 in float32, 709.78 in float64",
                     lambda finfo, **_: [("x", "<=", _log_max(finfo))])
_SUM_DOMAIN = Domain("all real numbers; overflows past the dtype's max (3.4e38 in float32)",
                     lambda finfo, **_: [("|result|", "<=", float(finfo.max))])


def _pow_scalar(x, exponent):
    # PyTorch evaluates these exponents by multiplication; matching it keeps float32 bits equal.
    if exponent == 2:
        return x * x
    if exponent == 3:
        return x * x * x
    if exponent == 0.5:
        return np.sqrt(x)
    if exponent == -1:
        return np.reciprocal(x) if x.dtype.kind == "f" else np.power(x, exponent)
    return np.power(x, exponent)


add = register(
    "add", broadcasts=True, inputs=("a", "b"), forward=np.add,
    vjps=(unchanged, unchanged),
    grad_fn_name="AddBackward0", formula="a + b", latex="a + b",
    derivatives=("1", "1"), derivatives_latex=("1", "1"), domain=_SUM_DOMAIN,
)
sub = register(
    "sub", broadcasts=True, inputs=("a", "b"), forward=np.subtract,
    vjps=(unchanged, lambda g: -g),
    grad_fn_name="SubBackward0", formula="a - b", latex="a - b",
    derivatives=("1", "-1"), derivatives_latex=("1", "-1"), domain=_SUM_DOMAIN,
)
rsub = register(
    "rsub", inputs=("x",), params=("other",), forward=lambda x, other: other - x,
    vjps=(lambda g: -g,),
    grad_fn_name="RsubBackward1", formula="other - x", latex=r"\mathrm{other} - x",
    derivatives=("-1",), derivatives_latex=("-1",),
)
mul = register(
    "mul", broadcasts=True, inputs=("a", "b"), forward=np.multiply,
    vjps=(lambda g, b: g * b, lambda g, a: g * a),
    grad_fn_name="MulBackward0", formula="a * b", latex=r"a \cdot b",
    derivatives=("b", "a"), derivatives_latex=("b", "a"),
    domain=Domain("all real numbers; overflows past the dtype's max (3.4e38 in float32)",
                  lambda finfo, **_: [("|a * b|", "<=", float(finfo.max))]),
)
div = register(
    "div", broadcasts=True, inputs=("a", "b"), forward=np.divide,
    vjps=(_divide, _divide_by_square),
    grad_fn_name="DivBackward0", formula="a / b", latex=r"\frac{a}{b}",
    derivatives=("1/b", "-a/b^2"), derivatives_latex=(r"\frac{1}{b}", r"-\frac{a}{b^{2}}"),
    domain=Domain("b != 0, and |a / b| <= the dtype's max (3.4e38 in float32)",
                  lambda finfo, **_: [("|a / b|", "<=", float(finfo.max))]),
)
neg = register(
    "neg", inputs=("x",), forward=np.negative,
    vjps=(lambda g: -g,),
    grad_fn_name="NegBackward0", formula="-x", latex="-x",
    derivatives=("-1",), derivatives_latex=("-1",),
)
reciprocal = register(
    "reciprocal", inputs=("x",), forward=np.reciprocal,
    vjps=(lambda xp, g, out: _keep_zero(xp, g, -g * (out * out)),),
    grad_fn_name="ReciprocalBackward0", formula="1 / x", latex=r"\frac{1}{x}",
    derivatives=("-1/x^2",), derivatives_latex=(r"-\frac{1}{x^{2}}",),
    domain=Domain("x != 0, and |x| >= 1 / the dtype's max",
                  lambda finfo, **_: [("|x|", ">=", 1 / float(finfo.max))]),
)
pow_scalar = register(
    "pow", inputs=("x",), params=("exponent",), forward=_pow_scalar,
    vjps=(_power_gradient,),
    grad_fn_name="PowBackward0", formula="x ** exponent", latex=r"x^{\mathrm{exponent}}",
    derivatives=("exponent * x ** (exponent - 1)",),
    derivatives_latex=(r"\mathrm{exponent} \cdot x^{\mathrm{exponent} - 1}",),
    domain=Domain("x > 0 for non-integer exponents; x != 0 for negative ones; |x| ** exponent "
                  "<= the dtype's max",
                  lambda finfo, exponent, **_: _magnitude_bound("x", finfo, exponent)),
)
rpow_scalar = register(
    "rpow", inputs=("x",), params=("base",), forward=lambda x, base: np.power(base, x, dtype=x.dtype),
    vjps=(lambda xp, g, x, out, base: _keep_zero(xp, g, g * (out * float(np.log(base)))) if base != 0
          else xp.where(x >= 0, 0.0, g * (out * float("-inf"))),),
    grad_fn_name="PowBackward2", formula="base ** x", latex=r"\mathrm{base}^{x}",
    derivatives=("base ** x * log(base)",), derivatives_latex=(r"\mathrm{base}^{x} \ln \mathrm{base}",),
    domain=Domain("base > 0; base ** x <= the dtype's max", _rpow_bounds),
)
pow = register(
    "pow_tensor", broadcasts=True, inputs=("a", "b"), forward=np.power,
    vjps=(_pow_gradient_a,
          lambda xp, g, a, b, out: _keep_zero(
              xp, g, g * xp.where((a == 0) & (b >= 0), 0.0, out * xp.log(a)))),
    grad_fn_name="PowBackward1", formula="a ** b", latex="a^{b}",
    derivatives=("b * a ** (b - 1)", "a ** b * log(a)"),
    derivatives_latex=(r"b \cdot a^{b - 1}", r"a^{b} \ln a"),
    domain=Domain("a > 0 (or integer b); b * log|a| <= log(max) (88.72 in float32)",
                  lambda finfo, **_: [("b * log|a|", "<=", _log_max(finfo))]),
)
exp = register(
    "exp", inputs=("x",), forward=np.exp,
    vjps=(lambda xp, g, out: _keep_zero(xp, g, g * out),),
    grad_fn_name="ExpBackward0", formula="exp(x)", latex="e^{x}",
    derivatives=("exp(x)",), derivatives_latex=("e^{x}",), domain=_EXP_DOMAIN,
)
log = register(
    "log", inputs=("x",), forward=np.log,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g / x),),
    grad_fn_name="LogBackward0", formula="log(x)", latex=r"\ln x",
    derivatives=("1/x",), derivatives_latex=(r"\frac{1}{x}",), domain="x > 0",
)
log1p = register(
    "log1p", inputs=("x",), forward=np.log1p,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g / (x + 1)),),
    grad_fn_name="Log1PBackward0", formula="log(1 + x)", latex=r"\ln(1 + x)",
    derivatives=("1/(1 + x)",), derivatives_latex=(r"\frac{1}{1 + x}",), domain="x > -1",
)
expm1 = register(
    "expm1", inputs=("x",), forward=np.expm1,
    # exp(x), not out + 1: for x < -37, out + 1 rounds to 0 where exp(x) is still 1e-17
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g * xp.exp(x)),),
    grad_fn_name="Expm1Backward0", formula="exp(x) - 1", latex="e^{x} - 1",
    derivatives=("exp(x)",), derivatives_latex=("e^{x}",), domain=_EXP_DOMAIN,
)
sin = register(
    "sin", inputs=("x",), forward=np.sin,
    vjps=(lambda xp, g, x: g * xp.cos(x),),
    grad_fn_name="SinBackward0", formula="sin(x)", latex=r"\sin x",
    derivatives=("cos(x)",), derivatives_latex=(r"\cos x",),
)
cos = register(
    "cos", inputs=("x",), forward=np.cos,
    vjps=(lambda xp, g, x: g * -xp.sin(x),),
    grad_fn_name="CosBackward0", formula="cos(x)", latex=r"\cos x",
    derivatives=("-sin(x)",), derivatives_latex=(r"-\sin x",),
)
tan = register(
    "tan", inputs=("x",), forward=np.tan,
    vjps=(lambda g, out: g * (1 + out * out),),
    grad_fn_name="TanBackward0", formula="tan(x)", latex=r"\tan x",
    derivatives=("1 + tan(x)^2",), derivatives_latex=(r"1 + \tan^{2} x",),
    domain="x != pi/2 + k*pi",
)
tanh = register(
    "tanh", inputs=("x",), forward=np.tanh,
    vjps=(lambda g, out: g * (1 - out * out),),
    grad_fn_name="TanhBackward0", formula="tanh(x)", latex=r"\tanh x",
    derivatives=("1 - tanh(x)^2",), derivatives_latex=(r"1 - \tanh^{2} x",),
)


def _sigmoid(x):
    # exp of a non-positive argument only: no overflow for large |x|.
    return numerics.narrow(numerics.sigmoid(numerics.wide(x)), x.dtype)


def _sigmoid_gradient(xp, g, x):
    """g * sigmoid(x) * sigmoid(-x), from x: 1 - sigmoid(x) would round to 0 for x > 37."""
    if xp is numpy_ns:
        return g * numerics.narrow(numerics.sigmoid_derivative(numerics.wide(x)), g.dtype)
    from ..autograd.graph import apply  # under create_graph: recorded, so differentiable again
    return g * (apply(sigmoid, (x,)) * apply(sigmoid, (-x,)))


sigmoid = register(
    "sigmoid", inputs=("x",), forward=_sigmoid,
    vjps=(_sigmoid_gradient,),
    grad_fn_name="SigmoidBackward0", formula="1 / (1 + exp(-x))", latex=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    derivatives=("sigmoid(x) * (1 - sigmoid(x))",),
    derivatives_latex=(r"\sigma(x)\,(1 - \sigma(x))",),
)
def _relu(x):
    """max(x, 0), keeping -0.0 and nan as PyTorch does; about 10x faster than np.where on a
    256x256 layer (one maximum, then the signed zeros copied back), and one call where this
    NumPy's maximum(0, x) is seen to give those bits itself."""
    if x.dtype.kind == "f" and _maximum_keeps_x(x.dtype):
        return np.asarray(np.maximum(0, x))  # asarray: a 0-d input gives a NumPy scalar
    return _two_step_relu(x)


_KEEPS_X = {}  # dtype -> whether np.maximum(0, x) gives _relu's bits


def _maximum_keeps_x(dtype):
    """Whether ``np.maximum(0, x)`` returns x's own bits at its zeros (-0.0 included) and NaNs
    (sign and payload), as the two-step form does, for arrays of every length and stride NumPy
    may loop over differently: which operand a SIMD max returns at a tie is the hardware's
    choice, so it is checked once per dtype, not assumed."""
    known = _KEEPS_X.get(dtype)
    if known is None:
        info = np.finfo(dtype)
        kinds = np.array([-0.0, 0.0, np.nan, -np.nan, np.nan, 1.0, -1.0, np.inf, -np.inf,
                          info.smallest_subnormal, -info.smallest_subnormal, info.max], dtype)
        kinds.view(f"u{kinds.itemsize}")[4] |= 5  # a NaN with another payload
        cases = [np.resize(np.roll(kinds, k), n) for k in range(len(kinds)) for n in (1, 3, 17, 64)]
        cases += [np.resize(kinds, 1000), np.resize(kinds, 2000)[::3], kinds[0].reshape(())]
        with np.errstate(all="ignore"):
            known = all(_two_step_relu(a).tobytes() == np.asarray(np.maximum(0, a)).tobytes()
                        for a in cases)
        _KEEPS_X[dtype] = known
    return known


def _two_step_relu(x):
    """max(x, 0), then x's own zeros copied back (-0.0 stays -0.0)."""
    out = np.asarray(np.maximum(x, 0))
    np.copyto(out, x, where=x == 0)
    return out


relu = register(
    "relu", inputs=("x",), forward=_relu,
    vjps=(lambda xp, g, out: xp.keep_where(out > 0, g),),
    grad_fn_name="ReluBackward0", formula="max(x, 0)", latex=r"\max(x, 0)",
    derivatives=("1 if x > 0 else 0",), derivatives_latex=(r"\mathbb{1}[x > 0]",),
)
sqrt = register(
    "sqrt", inputs=("x",), forward=np.sqrt,
    vjps=(lambda xp, g, out: _keep_zero(xp, g, g / (2 * out)),),
    grad_fn_name="SqrtBackward0", formula="sqrt(x)", latex=r"\sqrt{x}",
    derivatives=("1 / (2 * sqrt(x))",), derivatives_latex=(r"\frac{1}{2\sqrt{x}}",), domain="x >= 0",
)
sign = register(
    "sign", inputs=("x",), forward=np.sign,
    vjps=(lambda xp, g: xp.zeros_like(g),),
    grad_fn_name="SignBackward0", formula="sign(x)", latex=r"\operatorname{sign} x",
    derivatives=("0",), derivatives_latex=("0",),
)
abs = register(
    "abs", inputs=("x",), forward=np.abs,
    vjps=(lambda xp, g, x: g * xp.sign(x),),
    grad_fn_name="AbsBackward0", formula="|x|", latex=r"\lvert x \rvert",
    derivatives=("sign(x)",), derivatives_latex=(r"\operatorname{sign} x",),
)
maximum = register(
    "maximum", broadcasts=True, inputs=("a", "b"), forward=np.maximum,
    vjps=(lambda xp, g, a, b: xp.where(a == b, g / 2, xp.where(a > b, g, 0.0)),
          lambda xp, g, a, b: xp.where(a == b, g / 2, xp.where(a < b, g, 0.0))),
    grad_fn_name="MaximumBackward0", formula="max(a, b)", latex=r"\max(a, b)",
    derivatives=("1 if a > b, 1/2 if a == b, else 0", "1 if b > a, 1/2 if a == b, else 0"),
    derivatives_latex=(r"\mathbb{1}[a > b] + \tfrac12 \mathbb{1}[a = b]",
                       r"\mathbb{1}[b > a] + \tfrac12 \mathbb{1}[a = b]"),
)
minimum = register(
    "minimum", broadcasts=True, inputs=("a", "b"), forward=np.minimum,
    vjps=(lambda xp, g, a, b: xp.where(a == b, g / 2, xp.where(a < b, g, 0.0)),
          lambda xp, g, a, b: xp.where(a == b, g / 2, xp.where(a > b, g, 0.0))),
    grad_fn_name="MinimumBackward0", formula="min(a, b)", latex=r"\min(a, b)",
    derivatives=("1 if a < b, 1/2 if a == b, else 0", "1 if b < a, 1/2 if a == b, else 0"),
    derivatives_latex=(r"\mathbb{1}[a < b] + \tfrac12 \mathbb{1}[a = b]",
                       r"\mathbb{1}[b < a] + \tfrac12 \mathbb{1}[a = b]"),
)


def _clamp(x, min, max):
    out = x
    if min is not None:
        out = np.maximum(out, np.asarray(min, dtype=x.dtype))
    if max is not None:
        out = np.minimum(out, np.asarray(max, dtype=x.dtype))
    return out


def _inside(x, min, max):
    if min is None:
        return x <= max
    if max is None:
        return x >= min
    return (x >= min) & (x <= max)


clamp = register(
    "clamp", inputs=("x",), params=("min", "max"), forward=_clamp,
    vjps=(lambda xp, g, x, min, max: xp.where(_inside(x, min, max), g, 0.0),),
    grad_fn_name="ClampBackward1", formula="min(max(x, min), max)", latex=r"\min(\max(x, a), b)",
    derivatives=("1 if min <= x <= max else 0",), derivatives_latex=(r"\mathbb{1}[a \le x \le b]",),
)
clamp_tensor = register(
    "clamp_tensor", broadcasts=True, inputs=("x", "low", "high"),
    forward=lambda x, low, high: np.minimum(np.maximum(x, low), high),
    vjps=(lambda xp, g, x, low, high: xp.where((x >= low) & (x <= high), g, 0.0),
          lambda xp, g, x, low, high: xp.where((x < low) & (low <= high), g, 0.0),
          # with low > high every output is high, as in PyTorch
          lambda xp, g, x, low, high: xp.where((x > high) | (low > high), g, 0.0)),
    grad_fn_name="ClampBackward0", formula="min(max(x, low), high)", latex=r"\min(\max(x, l), h)",
    derivatives=("1 if low <= x <= high else 0", "1 if x < low <= high else 0",
                 "1 if x > high or low > high else 0"),
    derivatives_latex=(r"\mathbb{1}[l \le x \le h]", r"\mathbb{1}[x < l]", r"\mathbb{1}[x > h]"),
)
where = register(
    "where", broadcasts=True, inputs=("a", "b"), params=("condition",),
    forward=lambda a, b, condition: np.where(condition, a, b),
    vjps=(lambda xp, g, condition: xp.where(condition, g, 0.0),
          lambda xp, g, condition: xp.where(condition, 0.0, g)),
    grad_fn_name="WhereBackward0", formula="a if condition else b",
    latex=r"\begin{cases} a & \text{condition} \\ b & \text{otherwise} \end{cases}",
    derivatives=("1 where condition, else 0", "0 where condition, else 1"),
    derivatives_latex=(r"\mathbb{1}[\text{condition}]", r"\mathbb{1}[\lnot\text{condition}]"),
)
remainder = register(
    "remainder", broadcasts=True, inputs=("a", "b"), forward=np.remainder,
    vjps=(unchanged, lambda xp, g, a, b: -g * xp.floor_divide(a, b)),
    grad_fn_name="RemainderBackward0", formula="a mod b", latex=r"a \bmod b",
    derivatives=("1", "-floor(a / b)"), derivatives_latex=("1", r"-\lfloor a / b \rfloor"),
    domain="b != 0",
)


# ----- more of PyTorch's elementwise functions, each with PyTorch's backward formula ---------

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_HYPERBOLIC_DOMAIN = Domain("finite for |x| <= log(2 max): about 89.42 in float32, 710.48 in float64",
                            lambda finfo, **_: [("|x|", "<=", _log_max(finfo) + _LN2)])

rsqrt = register(
    "rsqrt", inputs=("x",), forward=lambda x: np.reciprocal(np.sqrt(x)),
    vjps=(lambda xp, g, out: _keep_zero(xp, g, -0.5 * g * out ** 3),),
    grad_fn_name="RsqrtBackward0", formula="1 / sqrt(x)", latex=r"\frac{1}{\sqrt{x}}",
    derivatives=("-1 / (2 x^(3/2))",), derivatives_latex=(r"-\frac{1}{2 x^{3/2}}",),
    domain="x > 0",
)
log2 = register(
    "log2", inputs=("x",), forward=np.log2,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g / (x * _LN2)),),
    grad_fn_name="Log2Backward0", formula="log2(x)", latex=r"\log_2 x",
    derivatives=("1 / (x ln 2)",), derivatives_latex=(r"\frac{1}{x \ln 2}",), domain="x > 0",
)
log10 = register(
    "log10", inputs=("x",), forward=np.log10,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g / (x * _LN10)),),
    grad_fn_name="Log10Backward0", formula="log10(x)", latex=r"\log_{10} x",
    derivatives=("1 / (x ln 10)",), derivatives_latex=(r"\frac{1}{x \ln 10}",), domain="x > 0",
)
exp2 = register(
    "exp2", inputs=("x",), forward=np.exp2,
    vjps=(lambda xp, g, out: _keep_zero(xp, g, g * out * _LN2),),
    grad_fn_name="Exp2Backward0", formula="2^x", latex="2^{x}",
    derivatives=("2^x ln 2",), derivatives_latex=(r"2^{x} \ln 2",),
    domain=Domain("finite for x <= log2(max): 128 in float32, 1024 in float64",
                  lambda finfo, **_: [("x", "<=", _log_max(finfo) / _LN2)]),
)
asin = register(
    "asin", inputs=("x",), forward=np.arcsin,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g * (1 - x * x) ** -0.5),),
    grad_fn_name="AsinBackward0", formula="asin(x)", latex=r"\arcsin x",
    derivatives=("1 / sqrt(1 - x^2)",), derivatives_latex=(r"\frac{1}{\sqrt{1 - x^{2}}}",),
    domain="-1 <= x <= 1 (the derivative is infinite at -1 and 1)",
)
acos = register(
    "acos", inputs=("x",), forward=np.arccos,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, -g * (1 - x * x) ** -0.5),),
    grad_fn_name="AcosBackward0", formula="acos(x)", latex=r"\arccos x",
    derivatives=("-1 / sqrt(1 - x^2)",), derivatives_latex=(r"-\frac{1}{\sqrt{1 - x^{2}}}",),
    domain="-1 <= x <= 1 (the derivative is infinite at -1 and 1)",
)
atan = register(
    "atan", inputs=("x",), forward=np.arctan,
    vjps=(lambda g, x: g / (x * x + 1),),
    grad_fn_name="AtanBackward0", formula="atan(x)", latex=r"\arctan x",
    derivatives=("1 / (1 + x^2)",), derivatives_latex=(r"\frac{1}{1 + x^{2}}",),
)
sinh = register(
    "sinh", inputs=("x",), forward=np.sinh,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g * xp.cosh(x)),),
    grad_fn_name="SinhBackward0", formula="sinh(x)", latex=r"\sinh x",
    derivatives=("cosh(x)",), derivatives_latex=(r"\cosh x",), domain=_HYPERBOLIC_DOMAIN,
)
cosh = register(
    "cosh", inputs=("x",), forward=np.cosh,
    vjps=(lambda xp, g, x: _keep_zero(xp, g, g * xp.sinh(x)),),
    grad_fn_name="CoshBackward0", formula="cosh(x)", latex=r"\cosh x",
    derivatives=("sinh(x)",), derivatives_latex=(r"\sinh x",), domain=_HYPERBOLIC_DOMAIN,
)


def _step(name, forward, grad_fn_name, latex, params=()):
    """floor, ceil, round, trunc: flat between jumps, so their gradient is 0 (as PyTorch's)."""
    return register(
        name, inputs=("x",), params=params, forward=forward, vjps=(lambda xp, g: xp.zeros_like(g),),
        grad_fn_name=grad_fn_name, formula=f"{name}({', '.join(('x',) + params)})", latex=latex,
        derivatives=("0 (undefined at the jumps)",), derivatives_latex=("0",),
    )


floor = _step("floor", np.floor, "FloorBackward0", r"\lfloor x \rfloor")
ceil = _step("ceil", np.ceil, "CeilBackward0", r"\lceil x \rceil")
# half to even; with decimals, x * 10^d rounded and scaled back (PyTorch's and NumPy's way)
round = _step("round", lambda x, decimals: np.round(x, decimals), "RoundBackward0",
              r"\operatorname{round} x", params=("decimals",))
trunc = _step("trunc", np.trunc, "TruncBackward0", r"\operatorname{trunc} x")

leaky_relu = register(
    "leaky_relu", inputs=("x",), params=("negative_slope",),
    forward=lambda x, negative_slope: np.where(x > 0, x, x * negative_slope),
    vjps=(lambda xp, g, x, negative_slope: xp.where(x > 0, g, g * negative_slope),),
    grad_fn_name="LeakyReluBackward0", formula="x if x > 0 else negative_slope * x",
    latex=r"\begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}",
    derivatives=("1 if x > 0 else negative_slope",),
    derivatives_latex=(r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",),
)
elu = register(
    "elu", inputs=("x",), params=("alpha",),
    forward=lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x)),
    vjps=(lambda xp, g, x, alpha: xp.where(x > 0, g, g * (alpha * xp.exp(x))),),
    grad_fn_name="EluBackward0", formula="x if x > 0 else alpha * (exp(x) - 1)",
    latex=r"\begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    derivatives=("1 if x > 0 else alpha * exp(x)",),
    derivatives_latex=(r"\begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}",),
)


def _silu_gradient(xp, g, x):
    s = 1 / (1 + xp.exp(-x))  # PyTorch's: g * s * (1 + x * (1 - s))
    return g * s * (1 + x * (1 - s))


silu = register(
    "silu", inputs=("x",), forward=lambda x: x / (1 + np.exp(-x)),
    vjps=(_silu_gradient,),
    grad_fn_name="SiluBackward0", formula="x * sigmoid(x)", latex=r"x\,\sigma(x)",
    derivatives=("sigmoid(x) * (1 + x * (1 - sigmoid(x)))",),
    derivatives_latex=(r"\sigma(x)\,(1 + x (1 - \sigma(x)))",),
)
atan2 = register(
    "atan2", broadcasts=True, inputs=("a", "b"), forward=np.arctan2,
    # PyTorch's order: g * b * (1 / (a^2 + b^2)) and g * -a * (1 / (a^2 + b^2))
    vjps=(lambda g, a, b: g * b * (1 / (a * a + b * b)),
          lambda g, a, b: g * -a * (1 / (a * a + b * b))),
    grad_fn_name="Atan2Backward0", formula="atan2(a, b)", latex=r"\operatorname{atan2}(a, b)",
    derivatives=("b / (a^2 + b^2)", "-a / (a^2 + b^2)"),
    derivatives_latex=(r"\frac{b}{a^{2} + b^{2}}", r"-\frac{a}{a^{2} + b^{2}}"),
    domain="all (a, b) but (0, 0), where the derivatives are undefined",
)
masked_fill = register(
    "masked_fill", inputs=("x",), params=("mask", "value"),
    forward=lambda x, mask, value: np.where(mask, np.asarray(value, dtype=x.dtype), x),
    vjps=(lambda xp, g, mask: xp.where(mask, 0.0, g),),
    grad_fn_name="MaskedFillBackward0", formula="value where mask, else x",
    latex=r"\begin{cases} v & \text{mask} \\ x & \text{otherwise} \end{cases}",
    derivatives=("0 where mask, else 1",), derivatives_latex=(r"\mathbb{1}[\lnot\text{mask}]",),
)


# ----- erf and GELU -------------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_ONE_OVER_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)

erf = register(
    "erf", inputs=("x",), forward=numpy_ns.erf,
    vjps=(lambda xp, g, x: g * (_TWO_OVER_SQRT_PI * xp.exp(-(x * x))),),
    grad_fn_name="ErfBackward0", formula="erf(x)", latex=r"\operatorname{erf} x",
    derivatives=("2 / sqrt(pi) * exp(-x^2)",), derivatives_latex=(r"\frac{2}{\sqrt{\pi}} e^{-x^{2}}",),
)


def _gelu(x, approximate):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + np.tanh(inner))
    return x * 0.5 * (1 + numpy_ns.erf(x * _SQRT_HALF))


def _gelu_gradient(xp, g, x, approximate):
    """PyTorch's GeluBackward0: g * (cdf + x * pdf), or the derivative of the tanh form."""
    if approximate == "tanh":
        t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        inner_derivative = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_derivative)
    cdf = 0.5 * (1 + xp.erf(x * _SQRT_HALF))
    pdf = _ONE_OVER_SQRT_2PI * xp.exp(-0.5 * (x * x))
    return g * (cdf + x * pdf)


gelu = register(
    "gelu", inputs=("x",), params=("approximate",), forward=_gelu, vjps=(_gelu_gradient,),
    grad_fn_name="GeluBackward0", formula="x * Phi(x), Phi the standard normal CDF",
    latex=r"x\,\Phi(x)",
    derivatives=("Phi(x) + x * phi(x), phi the standard normal density",),
    derivatives_latex=(r"\Phi(x) + x\,\varphi(x)",),
)
