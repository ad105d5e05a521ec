"""Anomaly mode: stop at the op where nan or inf first appears, in the forward or the backward pass.

``detect_anomaly()`` (a context manager and a decorator) and ``set_detect_anomaly(True)`` swap
each op record's ``forward`` and vjps for checking wrappers while the mode is on, and put them
back when it ends, so the mode costs nothing when off. A wrapper raises :class:`AnomalyError`
when its result holds a nan that none of its inputs held, or an inf while all its inputs were
finite: the first op that makes a non-finite value, not the ops that pass it on. The error names
the op, its formula (or derivative), the input values, the user's line that ran the op (for a
backward anomaly, the line that created the node: recorded only while the mode is on), and for
overflow the largest safe input in that dtype, from the record's ``domain``.

>>> import glassgrad as torch
>>> x = torch.tensor([50.0, 100.0])
>>> with torch.autograd.detect_anomaly():
...     torch.exp(x)
Traceback (most recent call last):
...
glassgrad.autograd.anomaly.AnomalyError: exp: exp(x) produced inf from finite input (float32): x = [50, 100]; ...

The whole message is one line; here it goes on: "first bad element at index [1]; the exp ran at
<doctest ...>:2 in <module>: torch.exp(x); exp is finite in float32 only while x <= 88.7228".
"""

import os
import sys

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_settings = []   # one entry per active detect_anomaly/set_detect_anomaly: (check_nan, check_inf) or None
_installed = None  # while on: what the wrappers replaced, to put back
_current = (True, True)  # the innermost active (check_nan, check_inf)


class AnomalyError(RuntimeError):
    """A nan or inf made by an op from inputs that did not have one.

    Attributes: ``phase`` ("forward" or "backward"), ``op`` (the record) and ``op_name``,
    ``kind`` ("nan" or "inf"), ``formula`` (the op's formula, or for backward the derivative
    that was evaluated), ``inputs`` (name -> NumPy array: the op's inputs, or for backward the
    incoming gradient ``g`` and the saved values), ``index`` (the first bad element of the
    result), ``dtype``, ``filename``, ``lineno``, ``function`` and ``line`` (the user's code that
    ran the op or created the node; None if unknown), ``limits`` (for overflow: [(what,
    relation, bound)] from the record's domain), ``grad_fn_name`` and ``input_index`` (backward:
    the node, and which input's gradient went bad).
    """

    def __init__(self, phase, op, kind, inputs, result, site, input_index=None, params=None):
        super().__init__()
        self.phase, self.op, self.op_name, self.kind = phase, op, op.name, kind
        self.input_index = input_index
        self.formula = op.formula if phase == "forward" else op.derivatives[
            0 if op.variadic else input_index]
        self.inputs = inputs
        self.result = result
        bad = np.isnan(result) if kind == "nan" else np.isinf(result)
        self.index = tuple(int(i) for i in np.argwhere(bad)[0]) if result.ndim else ()
        self.dtype = result.dtype
        self.grad_fn_name = op.grad_fn_name
        self.during_backward_of = None
        self.params = params or {}
        self._set_site(site)
        self.limits = []
        if kind == "inf" and phase == "forward":  # the domain bounds the op, not its derivative
            try:
                self.limits = op.domain.limits(self.dtype, self.params)
            except TypeError:  # bounds that need a param this call did not have
                pass

    def _set_site(self, site):
        self.filename, self.lineno, self.function = site if site is not None else (None, None, None)
        self.line = _source_line(self.filename, self.lineno)

    def attach_node(self, node, input_index):
        """Called by the engine: the node whose vjp went bad, and where it was created."""
        if self.phase == "backward":
            self.grad_fn_name = node.name()
            self.input_index = input_index
            self._set_site(getattr(node, "creation_site", None))
        elif self.during_backward_of is None:
            self.during_backward_of = node.name()

    @property
    def largest_safe_input(self):
        """The bound of the first ``<=`` overflow limit (exp in float32: about 88.72), or None."""
        for what, relation, bound in self.limits:
            if relation == "<=":
                return bound
        return None

    def __str__(self):
        return _describe(self)

    def describe(self, site=True):
        """The message; without ``site``, no line of code (for a formula typed at the command
        line, where the line would be glassgrad's own)."""
        return _describe(self, site)


def _describe(error, site=True):
    """The error as one line: what went wrong, with which values, where, and what is safe."""
    dtype = np.dtype(error.dtype).name
    values = ", ".join(f"{name} = {_show(value, error.index, error.result.shape)}"
                       for name, value in error.inputs.items())
    if error.phase == "forward":
        head = f"{error.op_name}: {error.formula} produced {error.kind} from finite input ({dtype})"
        if error.kind == "nan":
            head = f"{error.op_name}: {error.formula} produced nan from input without nan ({dtype})"
        text = f"{head}: {values}"
        if error.during_backward_of:
            text += f", while computing the gradient of {error.during_backward_of}"
    else:
        position = "" if error.input_index is None else f" in its {_ordinal(error.input_index)} output"
        text = (f"Function '{error.grad_fn_name}' returned {error.kind} values{position} although "
                f"its inputs are finite ({dtype}): the derivative d/d{_input_name(error)} = "
                f"{error.formula} with {values}")
    if error.result.size > 1:
        text += f"; first bad element at index {list(error.index)}"
    if site and error.filename is not None:
        verb = "ran" if error.phase == "forward" else "was created"
        text += (f"; the {error.op_name} {verb} at {error.filename}:{error.lineno}"
                 f" in {error.function}")
        if error.line:
            text += f": {error.line}"
    elif site and error.phase == "backward":
        text += f"; the {error.op_name} was created before anomaly mode was on (line unknown)"
    if error.limits:
        bounds = " and ".join(f"{what} {relation} {bound:.6g}" for what, relation, bound in error.limits)
        text += f"; {error.op_name} is finite in {dtype} only while {bounds}"
    else:
        text += f"; domain of {error.op_name}: {error.op.domain}"
    return text


def _ordinal(k):
    return {0: "0th", 1: "1st", 2: "2nd"}.get(k, f"{k}th")


def _input_name(error):
    if error.input_index is None or error.op.variadic:
        return error.op.inputs[0]
    return error.op.inputs[error.input_index]


def _show(value, index, result_shape):
    """A short form of an input: its values if few, else its shape and the element behind the
    first bad result."""
    value = np.asarray(value)
    if value.size <= 6:
        shown = _number(value) if value.ndim == 0 else "[" + ", ".join(_number(v) for v in value.ravel()) + "]"
        return shown if value.ndim <= 1 else f"{shown} (shape {list(value.shape)})"
    element = _matching_element(value, index, result_shape)
    if element is None:
        return f"shape {list(value.shape)}, largest |value| {_number(np.max(np.abs(value)))}"
    return f"shape {list(value.shape)}, [{', '.join(map(str, element))}] = {_number(value[element])}"


def _matching_element(value, index, result_shape):
    """The element of an input that broadcasts to result[index], if the shapes line up."""
    if len(index) < value.ndim:
        return None
    aligned = index[len(index) - value.ndim:]
    element = []
    for i, size, out_size in zip(aligned, value.shape, result_shape[len(result_shape) - value.ndim:]):
        if size == out_size:
            element.append(i)
        elif size == 1:
            element.append(0)
        else:
            return None
    return tuple(element)


def _number(v):
    v = float(v) if np.ndim(v) == 0 else v
    return format(v, ".6g") if isinstance(v, float) else str(v)


def _source_line(filename, lineno):
    if filename is None:
        return None
    import linecache
    line = linecache.getline(filename, lineno).strip()
    return line or None


def user_site(depth=1):
    """(filename, line number, function) of the innermost frame outside glassgrad's own files."""
    frame = sys._getframe(depth)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR):
            return filename, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


# ----- checking ---------------------------------------------------------------------------------
def _as_array(value):
    data = getattr(value, "_data", None)  # a Tensor, under create_graph
    return np.asarray(value if data is None else data)


def _new_non_finite(result, inputs):
    """"nan" if ``result`` has a nan and no input had one, "inf" if it has an inf and every input
    was finite (as far as the current settings check), else None."""
    if result.dtype.kind not in "fc" or np.isfinite(result).all():
        return None
    check_nan, check_inf = _current
    floats = [a for a in inputs if a.dtype.kind in "fc"]
    if check_nan and np.isnan(result).any() and not any(np.isnan(a).any() for a in floats):
        return "nan"
    if check_inf and np.isinf(result).any() and all(np.isfinite(a).all() for a in floats):
        return "inf"
    return None


def _forward_inputs(op, arrays):
    if op.variadic:
        return {f"{op.inputs[0]}[{j}]": a for j, a in enumerate(arrays)}
    return dict(zip(op.inputs, arrays))


def _checking_forward(op, forward):
    def checked(*arrays, **params):
        out = forward(*arrays, **params)
        result = np.asarray(out)
        if result.dtype.kind in "fc" and not np.isfinite(result).all():
            inputs = [np.asarray(a) for a in arrays]
            kind = _new_non_finite(result, inputs)
            if kind is not None:
                raise AnomalyError("forward", op, kind, _forward_inputs(op, inputs), result,
                                   user_site(2), params=params)
        return out
    checked.unchecked = forward
    return checked


def _checking_vjp(op, k, vjp):
    names = op.vjp_args[k]
    # g and the saved values are what the vjp reads; xp, i and params are not values to check
    value_positions = [j for j, n in enumerate(names) if n not in ("xp", "i") and n not in op.params]
    # Which input the gradient is for: k, or for cat and stack (one vjp for all) the argument i.
    index_position = names.index("i") if op.variadic and "i" in names else None

    def checked(*args):
        gradient = vjp(*args)
        result = _as_array(gradient)
        if result.dtype.kind in "fc" and not np.isfinite(result).all():
            values = {names[j]: _as_array(args[j]) for j in value_positions}
            kind = _new_non_finite(result, list(values.values()))
            if kind is not None:
                raise AnomalyError("backward", op, kind, values, result, None,
                                   input_index=k if index_position is None else args[index_position],
                                   params={n: args[j] for j, n in enumerate(names) if n in op.params})
        return gradient
    checked.unchecked = vjp
    return checked


# ----- recording where nodes are created ---------------------------------------------------------
_recording_classes = {}


def _remember_site(node):
    node.creation_site = user_site(2)


def _recording_class(base):
    """A subclass of a node class (same name and slots) whose instances remember the user's line."""
    if base is None or getattr(base, "records_site", False):
        return base
    cls = _recording_classes.get(base)
    if cls is None:
        cls = type(base.__name__, (base,), {"__slots__": (), "records_site": True,
                                            "__init__": _remember_site,
                                            "__module__": base.__module__})
        _recording_classes[base] = cls
    return cls


# ----- switching the mode on and off --------------------------------------------------------------
def _install():
    from ..ops import REGISTRY
    from . import graph
    replaced = []
    for op in REGISTRY.values():
        replaced.append((op, op.forward, op.vjps, op.node_class))
        op.forward = _checking_forward(op, op.forward)
        op.vjps = tuple(_checking_vjp(op, k, v) for k, v in enumerate(op.vjps))
        op.node_class = _recording_class(op.node_class)
    plain_node_class = graph.node_class
    # Named variants (SumBackward0 for a full sum ...) come from graph.node_class: record those too.
    graph.node_class = lambda op, name=None: _recording_class(plain_node_class(op, name))
    return replaced, plain_node_class


def _uninstall(installed):
    from . import graph
    replaced, plain_node_class = installed
    for op, forward, vjps, node_class in replaced:
        # put back only what is still ours (another tool may have wrapped the record since)
        if getattr(op.forward, "unchecked", None) is forward:
            op.forward = forward
        if all(getattr(v, "unchecked", None) is w for v, w in zip(op.vjps, vjps)):
            op.vjps = vjps
        if op.node_class is _recording_classes.get(node_class):
            op.node_class = node_class
    graph.node_class = plain_node_class


class _Setting:
    """One active detect_anomaly block or set_detect_anomaly call (compared by identity)."""

    __slots__ = ("on", "check_nan", "check_inf")

    def __init__(self, on, check_nan, check_inf):
        self.on, self.check_nan, self.check_inf = bool(on), bool(check_nan), bool(check_inf)


def _update():
    """Install or remove the wrappers to match the innermost setting."""
    global _installed, _current
    innermost = _settings[-1] if _settings else None
    if innermost is not None and innermost.on:
        _current = (innermost.check_nan, innermost.check_inf)
        if _installed is None:
            _installed = _install()
    elif _installed is not None:
        _uninstall(_installed)
        _installed = None


def _push(setting):
    _settings.append(setting)
    _update()


def _remove(setting):
    for j in range(len(_settings) - 1, -1, -1):
        if _settings[j] is setting:
            del _settings[j]
            break
    _update()


def is_anomaly_enabled():
    return bool(_settings) and _settings[-1].on


def is_anomaly_check_nan_enabled():
    return is_anomaly_enabled() and _settings[-1].check_nan


class detect_anomaly:
    """Within this block (or the decorated function), raise :class:`AnomalyError` at the first
    op, forward or backward, that makes a nan (``check_nan``) or an inf (``check_inf``) from
    inputs that had none. Costs nothing once the block ends.

    >>> import glassgrad as torch
    >>> @torch.autograd.detect_anomaly()
    ... def f(x):
    ...     return torch.sqrt(x).sum()
    >>> x = torch.tensor([0.0, 4.0], requires_grad=True)
    >>> f(x).backward()   # sqrt'(0) = inf appears after f returned: outside the mode
    >>> x.grad
    tensor([   inf, 0.2500])
    """

    def __init__(self, check_nan=True, check_inf=True):
        self.check_nan, self.check_inf = bool(check_nan), bool(check_inf)
        self._active = []  # one setting per entry: the same instance may be entered twice

    def __enter__(self):
        setting = _Setting(True, self.check_nan, self.check_inf)
        self._active.append(setting)
        _push(setting)
        return self

    def __exit__(self, *exc_info):
        _remove(self._active.pop())
        return False

    def __call__(self, function):
        import functools

        @functools.wraps(function)
        def with_anomaly_detection(*args, **kwargs):
            with detect_anomaly(self.check_nan, self.check_inf):
                return function(*args, **kwargs)
        return with_anomaly_detection


class set_detect_anomaly:
    """Turn anomaly mode on or off: at once when called (``set_detect_anomaly(True)``), or for a
    ``with`` block, after which the previous mode comes back (as PyTorch's)."""

    def __init__(self, mode, check_nan=True, check_inf=True):
        self._setting = _Setting(mode, check_nan, check_inf)
        _push(self._setting)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _remove(self._setting)
        return False
