"""How names, numbers and tensors are written in an explanation.

Numbers use glassgrad's own printing (``tensor(3.)`` shows as ``3.0``), tensors show their
shape and a summarised value, and a record's formula gets its input and param names replaced by
the explanation's names (``log(x)`` -> ``log(v2)``) without touching function names.
"""

import re

import numpy as np

from .._printing import format_tensor

# An identifier not preceded by a backslash (a LaTeX command) or a word character.
_IDENTIFIER = re.compile(r"(?<![\\\w])[A-Za-z_]\w*")


def substitute(template, replacements):
    """``template`` with each whole identifier in ``replacements`` replaced."""
    return _IDENTIFIER.sub(lambda m: replacements.get(m.group(0), m.group(0)), template)


def is_scalar(value):
    """One number (a 0-d value, or one element like the seed's ``tensor([3.])``): shown as a number."""
    return np.size(value) == 1


def number_text(value):
    """A one-element value as glassgrad prints it, ``3.0`` rather than ``3.``."""
    body = format_tensor(np.asarray(value).reshape(()))[len("tensor("):-1].split(",")[0].strip()
    return body + "0" if body.endswith(".") else body


def shape_text(value):
    return "×".join(str(n) for n in np.shape(value)) or "scalar"


def value_text(value):
    """A number for 0-d values; the shape and glassgrad's (summarised) repr for tensors."""
    if is_scalar(value):
        return number_text(value)
    return f"[{shape_text(value)}] {format_tensor(np.asarray(value))}"


def operand_text(value):
    """A value inside a substituted formula: a number (bracketed if negative) or a shape."""
    if value is None:
        return "?"
    if is_scalar(value):
        text = number_text(value)
        return f"({text})" if text.startswith("-") else text
    return f"<{shape_text(value)}>"


def param_text(value):
    if isinstance(value, (float, np.floating)) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return operand_text(np.asarray(value))
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def latex_name(name):
    """``v12`` -> ``v_{12}``; other names unchanged (with underscores escaped)."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    return name.replace("_", r"\_")
