"""Candidate rewrites of a formula that may be more accurate: SymPy's ``sympy.codegen.rewriting``
optimisations (log1p, expm1, logaddexp) and a short list of ours (softplus, log-sigmoid, sigmoid,
logaddexp, the log-sum-exp max shift, and logaddexp(a, b) - a -> softplus(b - a)).

Rules work on the SymPy form and each result is printed back into the expression language. A rule
here only proposes: the analyzer keeps a candidate only after checking, at every sampled input with
mpmath, that it has the same exact value as the original, and only shows it if it measures better.
(SymPy's ``logsumexp_2terms_opt`` is the reason: it rewrites log(e^a + e^b) to
``Max(a, b) + log1p(exp(Min(a, b)))``, which is not the same function.)

>>> from glassgrad.expr import parse
>>> [c.text for c in candidates(parse("log(1 + exp(y - x))"))]  # doctest: +NORMALIZE_WHITESPACE
['softplus(y - x)',
 'maximum(0, y - x) + log(exp(-maximum(0, y - x)) + exp(y - x - maximum(0, y - x)))',
 'log1p(exp(y) * exp(-x))']
"""

from typing import NamedTuple


class Candidate(NamedTuple):
    """A rewritten formula (text of the expression language) and the rules that produced it."""

    text: str
    origin: str


def candidates(expression):
    """Distinct rewrites of ``expression`` (an ``Expression``), most promising first; none equal to
    the original's canonical text."""
    from ..expr import ParseError, parse

    symbolic = expression.to_sympy()
    found = {}
    original = str(expression)
    for rewritten, origin in _rewritten_forms(symbolic):
        if rewritten == symbolic:
            continue
        try:
            text = str(parse(render(rewritten)))
        except (ParseError, _Unprintable):
            continue  # uses something the expression language cannot say
        if text == original or text in found:
            continue
        if not set(parse(text).names) <= set(expression.names):
            continue  # sympy introduced a name (I, oo, zoo ...) that would parse as a variable
        found[text] = origin
    return [Candidate(text, origin) for text, origin in found.items()]


def _rewritten_forms(symbolic):
    """(SymPy expression, description) for every rule chain worth measuring."""
    import sympy

    bases = [(symbolic, "")]
    split = sympy.expand_log(symbolic, force=True)
    if split != symbolic:
        bases.append((split, "split the log of a product/quotient"))
    for base, base_origin in bases:
        stable, applied = _apply(base, _STABLE_RULES)
        yield stable, _describe(base_origin, applied)
        # once only: the shifted sum is again a log of a sum of exponentials
        yield _max_shift(base), _describe(base_origin, ["log-sum-exp max shift"])
        for name, optimisations in _sympy_optimisations():
            optimised = sympy.codegen.rewriting.optimize(base, optimisations)
            origin = _describe(base_origin, [f"SymPy {name}"])
            yield optimised, origin
            stable, applied = _apply(optimised, _STABLE_RULES)
            yield stable, _describe(origin, applied)


def _describe(base_origin, applied):
    return " + ".join(step for step in [base_origin, *applied] if step)


def _sympy_optimisations():
    import sympy.codegen.rewriting as rewriting

    return [("optims_c99", rewriting.optims_c99), ("optims_numpy", rewriting.optims_numpy),
            ("log1p_opt", [rewriting.log1p_opt]), ("expm1_opt", [rewriting.expm1_opt]),
            ("logaddexp_opt", [rewriting.logaddexp_opt]),
            ("logsumexp_2terms_opt", [rewriting.logsumexp_2terms_opt])]


def _apply(expression, rules, rounds=6):
    """Apply ``rules`` (name, function) until nothing changes; the names of those that did."""
    applied = []
    for _ in range(rounds):
        changed = False
        for name, rule in rules:
            rewritten = rule(expression)
            if rewritten != expression:
                expression = rewritten
                changed = True
                if name not in applied:
                    applied.append(name)
        if not changed:
            break
    return expression, applied


# -- the functions our rules produce -------------------------------------------------------------

def _function(name):
    import sympy
    return sympy.Function(name)


def _logaddexp(*arguments):
    from sympy.codegen.numpy_nodes import logaddexp
    result = arguments[0]
    for argument in arguments[1:]:
        result = logaddexp(result, argument)
    return result


def _exponent(term):
    """u when ``term`` is exp(u) (and 0 for the constant 1), else None."""
    import sympy
    if isinstance(term, sympy.exp):
        return term.args[0]
    if term == 1:
        return sympy.Integer(0)
    return None


def _exponents(total):
    """[u1, u2, ...] when ``total`` is exp(u1) + exp(u2) + ... (1 counts as exp(0)), else None."""
    if not total.is_Add:
        return None
    exponents = [_exponent(term) for term in total.args]
    return None if any(u is None for u in exponents) else exponents


def _is_log(node):
    import sympy
    return isinstance(node, sympy.log)


# -- our rules -----------------------------------------------------------------------------------

def _sigmoid(expression):
    """1/(1 + e^v) -> sigmoid(-v) and e^u/(e^u + e^w) -> sigmoid(u - w): the sigmoid primitive
    picks 1/(1 + e^-t) or e^t/(1 + e^t) by the sign of t, so exp never overflows."""
    import sympy
    sigmoid = _function("sigmoid")

    def reciprocal_of_two_exps(node):
        exponents = _exponents(node.base) if node.is_Pow and node.exp == -1 else None
        return exponents is not None and len(exponents) == 2

    def fraction(node):
        if not node.is_Mul:
            return node
        factors = list(node.args)
        for k, denominator in enumerate(factors):
            if not reciprocal_of_two_exps(denominator):
                continue
            u, w = _exponents(denominator.base)
            for j, numerator in enumerate(factors):
                if j != k and _exponent(numerator) in (u, w) and numerator != 1:
                    top = _exponent(numerator)
                    other = w if top == u else u
                    rest = [f for i, f in enumerate(factors) if i not in (j, k)]
                    return sympy.Mul(sigmoid(top - other), *rest)
        return node

    def lone_reciprocal(node):
        if reciprocal_of_two_exps(node) and 0 in _exponents(node.base):
            u, w = _exponents(node.base)
            return sigmoid(-(u if w == 0 else w))
        return node

    expression = expression.replace(lambda n: n.is_Mul, fraction)
    return expression.replace(lambda n: n.is_Pow, lone_reciprocal)


def _log_sigmoid(expression):
    """log(sigmoid(u)) -> log_sigmoid(u), and -log_sigmoid(u) -> softplus(-u)."""
    sigmoid, log_sigmoid, softplus = (_function(n) for n in ("sigmoid", "log_sigmoid", "softplus"))
    expression = expression.replace(
        lambda n: _is_log(n) and isinstance(n.args[0], sigmoid),
        lambda n: log_sigmoid(n.args[0].args[0]))

    def negated(node):
        if node.is_Mul and len(node.args) == 2 and node.args[0] == -1 \
                and isinstance(node.args[1], log_sigmoid):
            return softplus(-node.args[1].args[0])
        return node
    return expression.replace(lambda n: n.is_Mul, negated)


def _softplus(expression):
    """log(1 + e^u) and log1p(e^u) -> softplus(u) (relu(u) + log1p(e^-|u|): exp never overflows)."""
    import sympy
    from sympy.codegen.cfunctions import log1p
    softplus = _function("softplus")

    def one_plus_exp(node):
        exponents = _exponents(node.args[0]) if _is_log(node) else None
        return exponents is not None and len(exponents) == 2 and 0 in exponents

    def log1p_of_exp(node):
        return isinstance(node, log1p) and isinstance(node.args[0], sympy.exp)

    expression = expression.replace(
        one_plus_exp, lambda n: softplus(sum(_exponents(n.args[0]))))
    return expression.replace(log1p_of_exp, lambda n: softplus(n.args[0].args[0]))


def _log_sum_exp(expression):
    """log(e^a + e^b + ...) -> logaddexp(logaddexp(a, b), ...): the max shift, inside each pair."""
    return expression.replace(
        lambda n: _is_log(n) and (_exponents(n.args[0]) or []) != [] and
        not (len(n.args[0].args) == 2 and 0 in _exponents(n.args[0])),
        lambda n: _logaddexp(*_exponents(n.args[0])))


def _logaddexp_minus_argument(expression):
    """logaddexp(a, b) - a -> softplus(b - a): the difference is computed without cancellation."""
    import sympy
    from sympy.codegen.numpy_nodes import logaddexp
    softplus = _function("softplus")

    def rewrite(node):
        if not node.is_Add:
            return node
        for k, term in enumerate(node.args):
            if not isinstance(term, logaddexp):
                continue
            rest = sympy.Add(*(t for i, t in enumerate(node.args) if i != k))
            for kept, subtracted in (term.args, reversed(term.args)):
                remainder = rest + subtracted
                if sympy.count_ops(remainder) < sympy.count_ops(rest):
                    return softplus(kept - subtracted) + remainder
        return node
    return expression.replace(lambda n: n.is_Add, rewrite)


def _max_shift(expression):
    """log(sum of e^a_i) -> m + log(sum of e^(a_i - m)) with m = max(a_i): the log-sum-exp trick
    written out, for sums of three or more exponentials as well as two."""
    import sympy

    def shifted(node):
        exponents = _exponents(node.args[0])
        top = sympy.Max(*exponents)
        return top + sympy.log(sympy.Add(*(sympy.exp(u - top) for u in exponents)),
                               evaluate=False)

    return expression.replace(lambda n: _is_log(n) and _exponents(n.args[0]) is not None, shifted)


_STABLE_RULES = [
    ("sigmoid by sign", _sigmoid),
    ("log-sigmoid", _log_sigmoid),
    ("softplus", _softplus),
    ("logaddexp", _log_sum_exp),
    ("logaddexp(a, b) - a = softplus(b - a)", _logaddexp_minus_argument),
]


# -- SymPy back to the expression language -------------------------------------------------------

class _Unprintable(ValueError):
    pass


def render(expression):
    """The expression-language text of a SymPy expression (``_Unprintable`` if it has no words
    for part of it)."""
    return _printer().doprint(expression)


_PRINTER = None


def _printer():
    global _PRINTER
    if _PRINTER is None:
        from sympy.printing.str import StrPrinter

        class LanguagePrinter(StrPrinter):
            """SymPy's Python-like printing, with the expression language's names for things."""

            def _print_Float(self, expr):
                return repr(float(expr))

            def _print_Exp1(self, expr):
                return "e"

            def _print_Pi(self, expr):
                return "pi"

            def _print_Abs(self, expr):
                return f"abs({self._print(expr.args[0])})"

            def _print_Max(self, expr):
                return self._nested("maximum", expr.args)

            def _print_Min(self, expr):
                return self._nested("minimum", expr.args)

            def _nested(self, name, arguments):
                text = self._print(arguments[-1])
                for argument in reversed(arguments[:-1]):
                    text = f"{name}({self._print(argument)}, {text})"
                return text

            def _print_Add(self, expr, order=None):
                # subtracted terms last: "logaddexp(x, y) - x", not "-x + logaddexp(x, y)"
                terms = [self._print(term) for term in self._as_ordered_terms(expr, order=order)]
                terms.sort(key=lambda text: text.startswith("-"))
                text = terms[0]
                for term in terms[1:]:
                    text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
                return text

            def _print_ImaginaryUnit(self, expr):
                raise _Unprintable("i")

            def emptyPrinter(self, expr):
                raise _Unprintable(type(expr).__name__)

        _PRINTER = LanguagePrinter({"order": "none"})
    return _PRINTER
