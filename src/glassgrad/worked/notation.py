"""Notation for worked solutions: each piece of a formula as plain text and as LaTeX, side by side.

A `Term` is a pair (text, latex); the small builders here (symbols, numbers, derivatives, sums,
products) keep the two spellings in step so every renderer shows the same formula.
"""

import re
from typing import NamedTuple


class Term(NamedTuple):
    text: str
    latex: str


def format_number(value):
    """Ten significant digits: more than hand calculations publish, few enough to read."""
    return f"{value:.10g}"


def tex_name(name):
    """LaTeX for a name: "h1" -> "h_{1}", "net_h1" -> "\\mathrm{net}_{h1}", "b_o1" -> "b_{o1}"."""
    if "_" in name:
        head, rest = name.split("_", 1)
        head = head if len(head) == 1 else rf"\mathrm{{{head}}}"
        return f"{head}_{{{rest.replace('_', ',')}}}"
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if match:
        letters, digits = match.groups()
        letters = letters if len(letters) == 1 else rf"\mathrm{{{letters}}}"
        return f"{letters}_{{{digits}}}"
    return name if len(name) == 1 else rf"\mathrm{{{name}}}"


def symbol(name):
    return Term(name, tex_name(name))


def number(value):
    """A number as substituted into a formula; negatives get parentheses so signs stay readable."""
    text = format_number(value)
    text = f"({text})" if value < 0 else text
    return Term(text, text)


def derivative(top, bottom):
    """The partial derivative of `top` with respect to `bottom`: "dE/dw5"."""
    return Term(f"d{top}/d{bottom}", rf"\frac{{\partial {tex_name(top)}}}{{\partial {tex_name(bottom)}}}")


def net_name(neuron):
    return f"net_{neuron}"


def product(*terms):
    return Term("*".join(t.text for t in terms), r" \cdot ".join(t.latex for t in terms))


def total(*terms):
    """A sum; a term already starting with a minus sign is joined with " + " all the same."""
    return Term(" + ".join(t.text for t in terms), " + ".join(t.latex for t in terms))


def raw(text, latex=None):
    return Term(text, text if latex is None else latex)
