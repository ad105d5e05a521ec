"""Text form of tensors, matching PyTorch's ``repr`` character for character.

``Tensor.__repr__``/``__str__`` hand the underlying NumPy array and autograd metadata to
``format_tensor``; ``set_printoptions`` holds module-wide settings, as ``torch.set_printoptions`` does.
"""

import math

import numpy as np

__all__ = ["format_tensor", "set_printoptions", "get_printoptions"]

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_opts = dict(_PROFILES["default"], sci_mode=None)

# dtypes torch leaves out of the repr (default float dtype, int64, bool).
_IMPLICIT_DTYPES = ("float32", "int64", "bool")


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Change print options; same arguments and semantics as ``torch.set_printoptions``."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}; expected one of {sorted(_PROFILES)}")
        _opts.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _opts[key] = value
    # torch assigns sci_mode unconditionally, so any call without it returns to automatic mode.
    _opts["sci_mode"] = sci_mode


def get_printoptions():
    """Current print options, as keyword arguments accepted by ``set_printoptions``."""
    return dict(_opts)


def format_tensor(data, *, requires_grad=False, grad_fn_name=None):
    """Return ``repr`` of a tensor holding ``data``, e.g. ``tensor([1., 2.], requires_grad=True)``."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot format tensor of dtype {arr.dtype}")
    prefix = "tensor("
    indent = len(prefix)
    dtype_suffix = "dtype=torch." + arr.dtype.name
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={arr.shape}")
        # Nothing shows the dtype of an empty tensor, so torch names anything but the default float dtype.
        if arr.dtype.name != "float32":
            suffixes.append(dtype_suffix)
    else:
        if not _opts["edgeitems"]:
            suffixes.append(f"size={arr.shape}")
        if arr.dtype.name not in _IMPLICIT_DTYPES:
            suffixes.append(dtype_suffix)
        body = _body(arr, indent)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)


def _body(arr, indent):
    """Bracketed contents of a non-empty array, summarised with '...' above the threshold."""
    edge = _opts["edgeitems"]
    summarize = arr.size > _opts["threshold"]
    if arr.ndim == 0:
        fmt, width = _formatter(arr)
        return fmt(arr.item()).rjust(width)
    if summarize and not edge:
        return "[...]"
    cut = [summarize and n > 2 * edge for n in arr.shape]
    shown = arr
    for axis, n in enumerate(arr.shape):
        if cut[axis]:
            shown = np.take(shown, np.r_[0:edge, n - edge:n], axis=axis)
    # Column width and notation depend only on the values actually displayed.
    fmt, width = _formatter(shown)
    return _nested(shown.tolist(), cut, 0, indent, lambda v: fmt(v).rjust(width), width, edge)


def _formatter(shown):
    """Pick the notation for ``shown``: returns (scalar -> unpadded text, column width)."""
    if shown.dtype.kind != "f":
        return str, max(1, max(len(str(v)) for v in shown.ravel().tolist()))
    precision = _opts["precision"]
    flat = shown.ravel()
    vals = flat[np.isfinite(flat) & (flat != 0)]
    int_mode, sci_mode = True, False
    if vals.size:
        int_mode = bool(np.all(vals == np.ceil(vals)))
        mags = np.abs(vals)
        # Compare in double so float16 maxima do not overflow, as torch does.
        lo, hi = float(mags.min()), float(mags.max())
        sci_mode = _opts["sci_mode"]
        if sci_mode is None:
            sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
    # Python floats from tolist() are exact widenings of float16/float32, giving torch's digits.
    if sci_mode or not int_mode:
        spec = f".{precision}{'e' if sci_mode else 'f'}"

        def fmt(v):
            return format(v, spec)
    else:
        def fmt(v):
            # The trailing '.' marks a float tensor whose values happen to be integers.
            return format(v, ".0f") + ("." if math.isfinite(v) else "")
    # Zeros, nan and inf do not widen columns (torch measures only non-zero finite values).
    width = max([1] + [len(fmt(v)) for v in vals.tolist()])
    return fmt, width


def _nested(rows, cut, depth, indent, cell, width, edge):
    """Render nested lists ``rows``; ``cut[d]`` says whether dimension d was summarised."""
    remaining = len(cut) - depth
    if remaining == 1:
        items = [cell(v) for v in rows]
        if cut[depth]:
            items.insert(edge, " ...")
        per_line = max(1, math.floor((_opts["linewidth"] - indent) / (width + 2)))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = [_nested(r, cut, depth + 1, indent + 1, cell, width, edge) for r in rows]
    if cut[depth]:
        parts.insert(edge, "...")
    # Blank lines between slices grow with the number of dimensions below.
    return "[" + ("," + "\n" * (remaining - 1) + " " * (indent + 1)).join(parts) + "]"


def _add_suffixes(text, suffixes, indent):
    """Append ', suffix' items, wrapping onto a new indented line when past the line width."""
    out = [text]
    # torch's measure of the last line (two more than its true length); kept for identical wrapping.
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _opts["linewidth"]:
            out.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)
