"""Error against input: one scatter panel per variable, bits of error (the worst of the value and
every partial derivative at that input) for the original formula and each improving rewrite.

matplotlib is imported here only, when a plot is asked for; no pyplot state is touched.
"""

import io
import math
from pathlib import Path

FORMATS = ("png", "svg", "pdf")
# The original and at most this many rewrites share a panel; more would hide each other.
REWRITES_DRAWN = 3
_MARKERS = ("o", "s", "^", "D")


def plot_format(path):
    """The image format a file name asks for ('png' when it has no suffix); ValueError if unknown."""
    suffix = Path(path).suffix.lstrip(".").lower() if path else "png"
    suffix = suffix or "png"
    if suffix not in FORMATS:
        raise ValueError(f"cannot draw a .{suffix} file; use .png, .svg or .pdf")
    return suffix


def plot_error(result, path=None):
    """The figure as bytes (PNG, SVG or PDF after ``path``'s suffix); written to ``path`` whole or
    not at all when given."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install matplotlib") from None
    fmt = plot_format(path)
    inputs = result.inputs()
    names = list(result.ranges)
    series = list(result.per_input_bits().items())[:1 + REWRITES_DRAWN]
    figure = Figure(figsize=(5.5 * len(names), 4.8), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    top = 32 if result.dtype == "float32" else 64
    for ax, name in zip(axes, names):
        values = inputs[name]
        # the original is drawn last, on top: its bad inputs stay visible over the rewrites'
        for k, (label, bits) in reversed(list(enumerate(series))):
            kind = "original" if k == 0 else "rewrite"
            ax.scatter(values, bits, s=7, alpha=0.45, marker=_MARKERS[k % len(_MARKERS)],
                       color=f"C{k}", label=f"{kind}: {_short(label)}")
        _symlog_axis(ax, values)
        ax.set_ylim(-1, top + 2)
        ax.set_xlabel(f"{name} (symmetric log scale)")
        ax.set_ylabel("bits of error (worst of f and its partials)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles[::-1], labels[::-1], loc="outside lower center", ncols=2, fontsize=8)
    figure.suptitle(f"{result.expression} in {result.dtype}: error against input")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    data = buffer.getvalue()
    if path:
        from ..cli import write_atomically
        write_atomically(path, data)
    return data


def _symlog_axis(ax, values, ticks_per_side=4):
    """A symmetric log axis whose linear zone reaches down to the smallest nonzero input, so
    inputs near 0 (where cancellation lives) spread out instead of piling on the axis; a few
    powers of ten as ticks, not one per decade."""
    import numpy as np

    magnitudes = np.abs(values[values != 0])
    if not magnitudes.size:
        return
    low, high = np.floor(np.log10(magnitudes.min())), np.ceil(np.log10(magnitudes.max()))
    ax.set_xscale("symlog", linthresh=10.0 ** low, linscale=0.3)
    # the smallest power sits on the edge of the linear zone, too close to 0 to label
    exponents = np.unique(np.round(np.linspace(low, high, ticks_per_side + 1)[1:]).astype(int))
    positive = [10.0 ** e for e in exponents]
    ticks = ([-t for t in reversed(positive)] if (values < 0).any() else []) + [0.0] + \
        (positive if (values > 0).any() else [])
    ax.set_xticks(ticks, [_tick_label(t) for t in ticks], fontsize=8)
    ax.minorticks_off()


def _tick_label(value):
    if value == 0:
        return "0"
    exponent = int(round(math.log10(abs(value))))
    return f"{'-' if value < 0 else ''}1e{exponent}" if abs(exponent) > 2 else f"{value:g}"


def _short(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."
