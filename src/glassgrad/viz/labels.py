"""The text inside graph nodes: tensor names and shapes, saved attributes, values and formulas.

Tensor labels and attribute tables follow torchviz's layout (``"x\\n (1)"``; a name, a rule, then
``key: value`` rows), so a glassgrad drawing reads like a PyTorch one. Values are shortened to
fit a node; formulas come from the op records, never re-derived here.
"""

import numpy as np

SAVED_PREFIX = "_saved_"  # how PyTorch (and glassgrad) nodes expose what backward keeps


def size_to_str(shape):
    """A shape as torchviz prints it: ``(2, 3)``; ``()`` for a scalar."""
    return "(" + ", ".join(str(int(n)) for n in shape) + ")"


def tensor_label(tensor, name=""):
    """``name`` over the tensor's shape, e.g. ``"x\\n (1)"``."""
    return f"{name}\n {size_to_str(tensor.shape)}"


def function_name(fn):
    """The backward function's class name: ``DivBackward0``, ``AccumulateGrad``."""
    return type(fn).__name__


def saved_names(fn):
    """The names under which ``fn`` exposes saved values (``self``, ``exponent`` ...), sorted."""
    return [attr[len(SAVED_PREFIX):] for attr in dir(fn) if attr.startswith(SAVED_PREFIX)]


def saved_value(fn, name):
    """``fn._saved_<name>``, or None once backward has freed it."""
    try:
        return getattr(fn, SAVED_PREFIX + name)
    except RuntimeError:  # freed by backward (no retain_graph): there is nothing left to show
        return None


def is_tensor(value):
    return hasattr(value, "grad_fn") and hasattr(value, "shape")


def describe_saved(value):
    """One saved attribute as torchviz shows it: tensors as placeholders, the rest as text."""
    if value is None:
        return "[freed]"
    if is_tensor(value):
        return "[saved tensor]"
    if isinstance(value, tuple) and any(is_tensor(v) for v in value):
        return "[saved tensors]"
    return str(value)


def function_label(fn, show_attrs, max_attr_chars):
    """The node's class name and, with ``show_attrs``, a table of its saved attributes."""
    name = function_name(fn)
    if not show_attrs:
        return name
    attrs = {key: describe_saved(saved_value(fn, key)) for key in saved_names(fn)}
    return attribute_table(name, attrs, max_attr_chars) if attrs else name


def attribute_table(title, attrs, max_attr_chars):
    """``title``, a rule, then ``key: value`` rows with values cut to ``max_attr_chars``."""
    max_chars = max(max_attr_chars, 3)  # room for the "..." of a cut value
    key_width = max(len(key) for key in attrs)
    value_width = min(max(len(value) for value in attrs.values()), max_chars)
    rule = "-" * max(key_width + value_width + 2, len(title))
    rows = [f"{key:<{key_width}}: {shorten(value, value_width):>{value_width}}"
            for key, value in attrs.items()]
    return "\n".join([title, rule, *rows])


def shorten(text, max_chars):
    """``text`` cut to ``max_chars`` characters, ending in ``...`` when cut."""
    return text if len(text) <= max_chars else text[:max(max_chars - 3, 0)] + "..."


def format_value(array, max_chars=50):
    """Values on one line: ``2.718`` for one element, ``[1, 2.5, 3]`` for more, cut to fit."""
    array = np.asarray(array)
    if array.size == 1:
        text = _number(array.reshape(()).item())
    else:
        text = np.array2string(array, precision=4, threshold=8, edgeitems=2, separator=", ",
                               max_line_width=10**6)
        text = " ".join(text.split())  # one line, whatever the rank
    return shorten(text, max(max_chars, 3))


def _number(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def formula_lines(fn, max_attr_chars=50):
    """The op record's formula, then one ``name = value`` line per non-tensor parameter."""
    op = getattr(fn, "op", None)
    if op is None:
        return []
    params = getattr(fn, "params", None) or {}
    lines = [op.formula]
    lines += [f"{name} = {shorten(str(value), max_attr_chars)}" for name, value in params.items()
              if not is_tensor(value)]
    return lines
