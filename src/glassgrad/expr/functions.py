"""The functions a formula may call, each with its arity, its glassgrad form and its SymPy form.

This table is the whole allow-list: a name not in it is an unknown function. glassgrad has no
``softplus``, ``log_sigmoid`` or ``logaddexp`` at the top level yet, so they are built here from
stable primitives (``maximum``, ``abs``, ``log1p``, ``exp``) that never overflow ``exp``.
"""

import math
from typing import Callable, NamedTuple

# Constants by name: their value for glassgrad, and the name of the SymPy object.
CONSTANTS = {"pi": (math.pi, "pi"), "e": (math.e, "E")}


class Function(NamedTuple):
    """A callable of the language: arity, glassgrad builder ``(gg, *args)`` and SymPy builder
    ``(sympy, *args)``."""

    arity: int
    glassgrad: Callable
    sympy: Callable


def _softplus(gg, x):
    # log(1 + exp(x)) rewritten so exp only sees -|x| <= 0 and cannot overflow; maximum, not relu,
    # so the gradient at 0 is the true 1/2 (maximum splits a tie, relu gives 0 there).
    return gg.maximum(x, gg.zeros_like(x)) + gg.log1p(gg.exp(-gg.abs(x)))


def _log_sigmoid(gg, x):
    # log(1 / (1 + exp(-x))) = -softplus(-x): finite for every finite x.
    return -_softplus(gg, -x)


def _logaddexp(gg, a, b):
    # log(exp(a) + exp(b)) shifted by the larger argument; nan when a = b = ±inf, like the naive form.
    return gg.maximum(a, b) + gg.log1p(gg.exp(-gg.abs(a - b)))


def _glassgrad(name):
    """The builder that calls ``glassgrad.<name>`` (looked up when called, so import is lazy)."""
    return lambda gg, *args: getattr(gg, name)(*args)


def _sympy(name):
    return lambda sp, *args: getattr(sp, name)(*args)


FUNCTIONS = {
    "exp": Function(1, _glassgrad("exp"), _sympy("exp")),
    "log": Function(1, _glassgrad("log"), _sympy("log")),
    "log1p": Function(1, _glassgrad("log1p"), lambda sp, x: sp.log(1 + x)),
    "expm1": Function(1, _glassgrad("expm1"), lambda sp, x: sp.exp(x) - 1),
    "sqrt": Function(1, _glassgrad("sqrt"), _sympy("sqrt")),
    "sin": Function(1, _glassgrad("sin"), _sympy("sin")),
    "cos": Function(1, _glassgrad("cos"), _sympy("cos")),
    "tan": Function(1, _glassgrad("tan"), _sympy("tan")),
    "tanh": Function(1, _glassgrad("tanh"), _sympy("tanh")),
    "sigmoid": Function(1, _glassgrad("sigmoid"), lambda sp, x: 1 / (1 + sp.exp(-x))),
    "relu": Function(1, _glassgrad("relu"), lambda sp, x: sp.Max(x, 0)),
    "abs": Function(1, _glassgrad("abs"), _sympy("Abs")),
    "square": Function(1, _glassgrad("square"), lambda sp, x: x ** 2),
    "reciprocal": Function(1, _glassgrad("reciprocal"), lambda sp, x: 1 / x),
    "softplus": Function(1, _softplus, lambda sp, x: sp.log(1 + sp.exp(x))),
    "log_sigmoid": Function(1, _log_sigmoid, lambda sp, x: -sp.log(1 + sp.exp(-x))),
    "logaddexp": Function(2, _logaddexp, lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b))),
    "maximum": Function(2, _glassgrad("maximum"), _sympy("Max")),
    "minimum": Function(2, _glassgrad("minimum"), _sympy("Min")),
}
