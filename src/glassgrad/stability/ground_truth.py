"""Ground truth: the exact value of a SymPy expression at many inputs, correctly rounded to the
working dtype, computed with mpmath's interval arithmetic at rising precision.

Each input is evaluated as an interval that surely holds the exact result. When both ends round
to the same float the answer is known; otherwise only that input is redone at twice the precision.
Intervals, not two point evaluations compared: ``exp(1e-300) - 1`` is exactly 0 at 53 and at
106 bits, so "stable across precisions" would certify a wrong zero; the interval [0, 2^-p] cannot.

Work is shared: every subexpression is evaluated once per precision for all inputs and cached, so
a formula's value, its partial derivatives, its subexpressions and its rewrites (which share most
nodes) cost little more than the formula alone.
"""

from typing import NamedTuple

import numpy as np

from .bits import float_dtype

# Where the precision ladder starts (bits) for each working dtype, and where it gives up.
START_PRECISION = {"float32": 64, "float64": 128}
MAX_PRECISION = 8192

# Status of each input's answer.
KNOWN, UNDEFINED, UNRESOLVED = 0, 1, 2


class Truth(NamedTuple):
    """The exact answers of one expression at every input.

    ``value``: correctly rounded to the working dtype (stored as float64), NaN unless KNOWN.
    ``wide``: rounded to float64 instead, for showing (differs from ``value`` in float32).
    ``status``: KNOWN, UNDEFINED (no real value there: log of a negative, a pole, or a
    derivative at a kink) or UNRESOLVED (still uncertain at MAX_PRECISION).
    ``finite``: the exact value is a finite real number (so ``value = ±inf`` means it overflows
    the dtype, while log(0) = -inf is exact).
    """

    value: np.ndarray
    wide: np.ndarray
    status: np.ndarray
    finite: np.ndarray

    @property
    def known(self):
        return self.status == KNOWN

    @property
    def overflows(self):
        """Exact value finite, but beyond the dtype's largest float."""
        return self.known & self.finite & np.isinf(self.value)


class GroundTruthError(ValueError):
    """An expression uses something the ground-truth evaluator does not know."""


class GroundTruth:
    """Exact answers for many expressions over one set of inputs (name -> float64 array).

    >>> import numpy as np, sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> truth = GroundTruth({"x": np.array([1e-30, 1.0])}, "float64").of(sympy.exp(x) - 1)
    >>> [float(v) for v in truth.value]  # e - 1 correctly rounded; math.e - 1 is one ULP low
    [1e-30, 1.7182818284590453]
    """

    def __init__(self, inputs, dtype):
        _ensure_constants()
        self.dtype = float_dtype(dtype)
        self.inputs = {name: np.asarray(values, dtype=np.float64) for name, values in inputs.items()}
        self.count = len(next(iter(self.inputs.values()))) if self.inputs else 1
        self.start_precision = START_PRECISION[self.dtype.name]
        self.highest_precision = 0  # the most bits any answer needed so far
        self._intervals = {}  # (node, precision) -> {input index: interval or None}
        self._answers = {}  # expression -> Truth

    def of(self, expression):
        """The ``Truth`` of a SymPy expression at every input (cached)."""
        if expression not in self._answers:
            self._answers[expression] = self._solve(expression)
        return self._answers[expression]

    def _solve(self, expression):
        import mpmath.libmp as libmp

        order = _postorder(expression)
        value = np.full(self.count, np.nan)
        wide = np.full(self.count, np.nan)
        status = np.full(self.count, UNRESOLVED, dtype=np.int8)
        finite = np.zeros(self.count, dtype=bool)
        pending = list(range(self.count))
        precision = self.start_precision
        while pending and precision <= MAX_PRECISION:
            results = self._evaluate(order, precision, pending)
            still = []
            for index, interval in zip(pending, results):
                if interval is None:
                    status[index] = UNDEFINED
                    continue
                answer = self._rounded(interval, libmp)
                if answer is None:
                    still.append(index)
                    continue
                value[index], wide[index] = answer
                status[index] = KNOWN
                # only log(0) is exactly infinite; [2^(2^4096), inf] from a clamped exp is not
                finite[index] = not (interval[0] == interval[1] and interval[0] in _INFINITE)
            if len(still) < len(pending):
                self.highest_precision = max(self.highest_precision, precision)
            pending = still
            precision *= 2
        return Truth(value, wide, status, finite)

    def _rounded(self, interval, libmp):
        """(value in dtype, value in float64) when both ends round alike, else None."""
        low, high = interval
        if low == _NAN or high == _NAN:
            return None
        low_wide = libmp.to_float(low, rnd="n")
        high_wide = libmp.to_float(high, rnd="n")
        if self.dtype == np.float32:
            with np.errstate(over="ignore"):
                low_value, high_value = np.float32(low_wide), np.float32(high_wide)
        else:
            low_value, high_value = low_wide, high_wide
        if low_value != high_value:
            return None
        return float(low_value), float((low_wide + high_wide) / 2 if low_wide != high_wide
                                       else low_wide)

    def _evaluate(self, order, precision, indices):
        """The intervals of the last node of ``order`` at the inputs ``indices``."""
        for node in order:
            store = self._intervals.setdefault((node, precision), {})
            missing = [i for i in indices if i not in store]
            if not missing:
                continue
            arguments = [[self._intervals[(child, precision)][i] for i in missing]
                         for child in _children(node)]
            store.update(zip(missing, self._apply(node, arguments, precision, missing)))
        store = self._intervals[(order[-1], precision)]
        return [store[i] for i in indices]

    def _apply(self, node, arguments, precision, indices):
        """One node's intervals at the inputs ``indices``, given its arguments' intervals."""
        import mpmath.libmp as libmp

        if node.is_Symbol:
            if node.name not in self.inputs:
                raise GroundTruthError(f"no input values for variable '{node.name}'")
            values = self.inputs[node.name]
            return [_point(libmp.from_float(float(values[i]))) for i in indices]
        if node.is_number and not node.free_symbols and not node.args:
            constant = _constant(node, precision)
            return [constant] * len(indices)
        rule = _RULES.get(type(node).__name__) or _RULES.get(node.func.__name__)
        if rule is None:
            raise GroundTruthError(f"no exact evaluation for {type(node).__name__} in {node}")
        results = []
        for args in zip(*arguments):
            if any(arg is None for arg in args):
                results.append(None)
                continue
            try:
                results.append(rule(node, args, precision))
            except (ArithmeticError, ValueError):
                results.append(_WHOLE_LINE)  # uncertain here: a higher precision may settle it
        return results


def _postorder(expression):
    """Unique subexpressions, children before parents (iteratively: no recursion limit)."""
    order, seen, stack = [], set(), [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if node not in seen:
                seen.add(node)
                order.append(node)
            continue
        if node in seen:
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    return order


def _children(node):
    if node.is_Symbol or (node.is_number and not node.args):
        return ()
    if type(node).__name__ == "Heaviside":
        return node.args[:1]  # the second argument is the value at 0, which we never use
    return node.args


# -- interval rules ------------------------------------------------------------------------------
# Intervals are pairs (low, high) of mpmath's raw mpf tuples; None means "no real value".

def _libmp():
    import mpmath.libmp as libmp
    return libmp


def _point(value):
    return (value, value)


# mpmath's special values, bound on first use so that importing this module needs no mpmath.
_INF = _NINF = _NAN = _ZERO = _ONE = _WHOLE_LINE = None
_INFINITE = ()


def _ensure_constants():
    global _INF, _NINF, _NAN, _ZERO, _ONE, _INFINITE, _WHOLE_LINE
    if _INF is None:
        libmp = _libmp()
        _INF, _NINF, _NAN, _ZERO, _ONE = libmp.finf, libmp.fninf, libmp.fnan, libmp.fzero, libmp.fone
        _INFINITE = (_INF, _NINF)
        _WHOLE_LINE = (_NINF, _INF)  # "somewhere on the real line": never rounds to one float


def _constant(node, precision):
    """A number or a named constant (pi, E) as a tight interval."""
    import sympy
    from mpmath.libmp import libmpi

    libmp = _libmp()
    if node.is_Integer:
        return _point(libmp.from_int(int(node)))
    if node.is_Rational:
        return libmpi.mpi_div(_point(libmp.from_int(int(node.p))),
                              _point(libmp.from_int(int(node.q))), precision)
    if node.is_Float:
        return _point(node._mpf_)
    if node is sympy.pi:
        low, high = libmpi.mpi_pi(precision)
    elif node is sympy.E:
        low, high = libmpi.mpi_exp(_point(libmp.fone), precision)
    else:
        low = high = None
    if low is not None:
        return (_widen(low, precision, -1), _widen(high, precision, +1))
    if node.is_infinite:
        raise GroundTruthError(f"the expression contains {node}")
    raise GroundTruthError(f"no exact evaluation for the constant {node}")


def _sign(interval):
    """+1 if surely positive, -1 if surely negative, 0 if exactly zero, None if it straddles 0."""
    libmp = _libmp()
    low, high = libmp.mpf_sign(interval[0]), libmp.mpf_sign(interval[1])
    if low > 0:
        return 1
    if high < 0:
        return -1
    if low == 0 and high == 0:
        return 0
    return None


def _is_exact_zero(interval):
    return interval[0] == _ZERO and interval[1] == _ZERO


def _fold(operation):
    def rule(node, args, precision):
        result = args[0]
        for arg in args[1:]:
            result = operation(result, arg, precision)
        return result
    return rule


def _log(node, args, precision):
    from mpmath.libmp import libmpi
    (interval,) = args
    sign = _sign(interval)
    if sign == -1:
        return None
    if sign == 0:
        return (_NINF, _NINF)  # log(0) = -inf exactly
    if sign is None:
        return _WHOLE_LINE  # part of it is negative: decide at a higher precision
    return libmpi.mpi_log(interval, precision)


def _sqrt(interval, precision):
    from mpmath.libmp import libmpi
    sign = _sign(interval)
    if sign == -1:
        return None
    if sign is None:
        return (_ZERO, libmpi.mpi_sqrt((_ZERO, interval[1]), precision)[1])
    return libmpi.mpi_sqrt(interval, precision)


def _integer_power(base, exponent, precision):
    from mpmath.libmp import libmpi
    if exponent < 0:
        if _is_exact_zero(base):
            return None  # a pole
        if _sign(base) is None:
            return _WHOLE_LINE
        return libmpi.mpi_div(_point(_ONE), _integer_power(base, -exponent, precision), precision)
    low, high = libmpi.mpi_pow_int(base, exponent, precision)
    if exponent <= 2:  # one rounded multiplication at most: mpmath rounds it outward exactly
        return (low, high)
    return (_widen(low, precision, -1), _widen(high, precision, +1))


def _power(node, args, precision):
    from mpmath.libmp import libmpi

    base, exponent = args
    power = node.args[1]
    if power.is_Integer:
        return _integer_power(base, int(power), precision)
    if power.is_Rational and power.q == 2:  # sqrt and its powers, the usual non-integer case
        root = _sqrt(base, precision)
        return None if root is None else _integer_power(root, int(power.p), precision)
    if exponent[0] == exponent[1] and _mpf_is_integer(exponent[0]):
        # x ** y at an integer y is real even for negative x
        return _integer_power(base, _libmp().to_int(exponent[0]), precision)
    sign = _sign(base)
    if sign == -1:
        return None
    if sign == 0:
        positive = _sign(exponent)
        if positive == 1:
            return _point(_ZERO)
        return None if positive in (0, -1) else _WHOLE_LINE
    if sign is None:
        return _WHOLE_LINE
    if base[0] == base[1] == _ONE:
        return _point(_ONE)
    low, high = libmpi.mpi_pow(base, exponent, precision)
    return (_widen(low, precision, -1), _widen(high, precision, +1))


def _mpf_is_integer(raw):
    libmp = _libmp()
    return raw not in (_INF, _NINF, _NAN) and libmp.mpf_eq(raw, libmp.mpf_floor(raw))


def _tanh(node, args, precision):
    # tanh is increasing: its ends are tanh of the ends (then widened like every elementary function)
    libmp = _libmp()
    low, high = args[0]
    return (libmp.mpf_tanh(low, precision, libmp.round_floor),
            libmp.mpf_tanh(high, precision, libmp.round_ceiling))


def _elementary(function, exact_at):
    """A rule for an elementary function whose mpmath interval may be a few ULPs too narrow:
    mpmath's exp, log, sin, cos, tan and tanh do not always round in the direction asked
    (exp(2^-142) at 128 bits gives [1, 1]). So the ends are pushed out by 16 ULPs, except at
    the one input where the function is exact (exp(0) = 1, log(1) = 0), lest an exact 0 or 1
    become an interval that never rounds to one float."""
    def rule(node, args, precision):
        (interval,) = args
        result = function(node, args, precision)
        if result is None or (interval[0] == interval[1] == exact_at()):
            return result
        return (_widen(result[0], precision, -1), _widen(result[1], precision, +1))
    return rule


def _widen(value, precision, direction):
    libmp = _libmp()
    if value in (_INF, _NINF, _ZERO, _NAN):
        return value
    slack = libmp.mpf_shift(libmp.mpf_abs(value), 4 - precision)
    if direction > 0:
        return libmp.mpf_add(value, slack, precision + 8, libmp.round_ceiling)
    return libmp.mpf_sub(value, slack, precision + 8, libmp.round_floor)


def _extreme(choose_larger):
    def rule(node, args, precision):
        libmp = _libmp()
        low, high = args[0]
        for other_low, other_high in args[1:]:
            if libmp.mpf_lt(low, other_low) == choose_larger:
                low = other_low
            if libmp.mpf_lt(high, other_high) == choose_larger:
                high = other_high
        return (low, high)
    return rule


def _step(positive, zero_is_kink, negative):
    """Heaviside and sign (the derivatives of Max, Min and Abs): at exactly 0 the function they
    differentiate has a kink, so there is no derivative to compare with."""
    def rule(node, args, precision):
        libmp = _libmp()
        sign = _sign(args[0])
        if sign == 0:
            return None
        if sign is None:
            return (libmp.from_int(negative), libmp.from_int(positive))
        return _point(libmp.from_int(positive if sign > 0 else negative))
    return rule


def _unary(name):
    def rule(node, args, precision):
        from mpmath.libmp import libmpi
        return getattr(libmpi, name)(args[0], precision)
    return rule


def _binary(name):
    def operation(a, b, precision):
        from mpmath.libmp import libmpi
        return getattr(libmpi, name)(a, b, precision)
    return operation


# Arguments beyond 2^MAX_MAGNITUDE (only nested exponentials get there) would make mpmath work
# with millions of bits; exp and the periodic functions bound them instead of computing.
MAX_MAGNITUDE = 4096


def _magnitude(value):
    """log2 of |value| rounded up (mpmath's raw tuple is sign, mantissa, exponent, bit count)."""
    sign, mantissa, exponent, bits = value
    if not mantissa:
        return float("inf") if value in _INFINITE or value == _NAN else float("-inf")
    return exponent + bits


def _exp(node, args, precision):
    """exp, with astronomically large arguments bounded: e^x >= 2^x for x >= 0, and
    e^x <= 2^x for x <= 0, so [2^(2^4096), inf] and [0, 2^-(2^4096)] hold the answer."""
    from mpmath.libmp import libmpi
    libmp = _libmp()
    low, high = args[0]
    big = MAX_MAGNITUDE
    if _magnitude(low) <= big and _magnitude(high) <= big:
        return libmpi.mpi_exp(args[0], precision)
    lower = (libmp.from_man_exp(1, 2 ** big) if libmp.mpf_sign(low) > 0 and _magnitude(low) > big
             else _ZERO if _magnitude(low) > big else libmpi.mpi_exp(_point(low), precision)[0])
    upper = (libmp.from_man_exp(1, -(2 ** big)) if libmp.mpf_sign(high) < 0 and
             _magnitude(high) > big else _INF if _magnitude(high) > big
             else libmpi.mpi_exp(_point(high), precision)[1])
    return (lower, upper)


def _periodic(name, bounds):
    """sin, cos, tan; for arguments too large to reduce, only their range (sin, cos) or nothing
    (tan) is known, so such inputs stay unresolved rather than hang."""
    def rule(node, args, precision):
        from mpmath.libmp import libmpi
        libmp = _libmp()
        if max(_magnitude(args[0][0]), _magnitude(args[0][1])) > MAX_MAGNITUDE:
            if bounds is None:
                return _WHOLE_LINE
            return tuple(libmp.from_int(b) for b in bounds)
        return getattr(libmpi, name)(args[0], precision)
    return rule


def _abs(node, args, precision):
    from mpmath.libmp import libmpi
    return libmpi.mpi_abs(args[0], precision)


_RULES = {
    "Add": _fold(_binary("mpi_add")),
    "Mul": _fold(_binary("mpi_mul")),
    "Pow": _power,
    "exp": _elementary(_exp, lambda: _ZERO),
    "log": _elementary(_log, lambda: _ONE),
    "sin": _elementary(_periodic("mpi_sin", (-1, 1)), lambda: _ZERO),
    "cos": _elementary(_periodic("mpi_cos", (-1, 1)), lambda: _ZERO),
    "tan": _elementary(_periodic("mpi_tan", None), lambda: _ZERO),
    "tanh": _elementary(_tanh, lambda: _ZERO),
    "Abs": _abs,
    "Max": _extreme(True),
    "Min": _extreme(False),
    "Heaviside": _step(1, True, 0),
    "sign": _step(1, True, -1),
}
