"""Renderings of a ``StabilityResult``: plain text for the terminal, Markdown for reports and
notebooks, and a JSON-ready dict (non-finite numbers as the strings "inf", "-inf"; NaN as null).
"""

import math

import numpy as np

def verdict_line(result):
    """The verdict and the figure behind it, in words."""
    non_finite = sum(q.non_finite for q in result.quantities)
    significand = 24 if result.dtype == "float32" else 53
    if result.verdict == "unstable" and non_finite:
        return (f"UNSTABLE: inf/nan at {non_finite} result(s) whose exact value is a finite "
                f"{result.dtype}")
    if result.verdict == "unstable":
        return (f"UNSTABLE: up to {result.worst_bits:.0f} bits wrong, over half of "
                f"{result.dtype}'s {significand}-bit significand")
    if result.verdict == "inaccurate":
        return (f"inaccurate: up to {result.worst_bits:.1f} bits wrong "
                f"({result.average_bits:.2f} on average)")
    return "accurate: at most 3 bits of error anywhere, under 1 on average"


def to_dict(result):
    data = {
        "expression": result.expression, "dtype": result.dtype,
        "ranges": {name: list(bounds) for name, bounds in result.ranges.items()},
        "samples": result.samples, "edge_points": result.edge_points, "seed": result.seed,
        "precision_bits": result.precision, "verdict": result.verdict,
        "average_bits": result.average_bits, "worst_bits": result.worst_bits,
        "quantities": [q.to_dict() for q in result.quantities],
        "worst_inputs": [w.to_dict() for w in result.worst_inputs],
        "first_error": result.first_error.to_dict() if result.first_error else None,
        "op_errors": [op.to_dict() for op in result.op_errors],
        "non_finite": [entry.to_dict() for entry in result.non_finite],
        "rewrites": [r.to_dict() for r in result.rewrites],
        "rejected": [r.to_dict() for r in result.rejected],
    }
    return _json_safe(data)


def _json_safe(value):
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- text ----------------------------------------------------------------------------------------

def render_text(result):
    lines = [f"Stability of {result.expression} in {result.dtype}", _inputs_line(result),
             f"exact values: mpmath interval arithmetic, up to {result.precision} bits", "",
             f"verdict: {verdict_line(result)}", ""]
    lines += _table_text(result.quantities)
    if result.worst_inputs:
        lines += ["", "worst inputs:"]
        lines += [f"  {_point(w.point, result.dtype)}:  " + "; ".join(
            f"{q} = {_g(w.computed[q])} (exact {_g(w.exact[q])}, {_bits(w.bits[q])})"
            for q in w.computed) for w in result.worst_inputs]
    lines += [""] + _error_source_text(result)
    for entry in result.non_finite:
        lines.append(f"{entry.quantity} is inf/nan at {entry.count} input(s) where the exact answer "
                     f"is finite (e.g. {_point(entry.example, result.dtype)}: {_g(entry.computed)}, "
                     f"exact {_g(entry.exact)}); the first inf/nan appears at "
                     + ", ".join(f"{where} ({count})" for where, count in entry.origins))
    lines += [""] + _rewrites_text(result)
    return "\n".join(lines)


def _inputs_line(result):
    ranges = ", ".join(f"{name} in [{_g(low)}, {_g(high)}]"
                       for name, (low, high) in result.ranges.items())
    return (f"inputs: {ranges}; {result.samples} random (uniform over {result.dtype} values) + "
            f"{result.edge_points} edge points, seed {result.seed}")


def _table_text(quantities):
    rows = [f"  {'':8}{'avg bits':>10}{'worst bits':>12}{'inf/nan':>9}{'measured':>10}"
            f"{'no answer':>11}"]
    for q in quantities:
        rows.append(f"  {q.name:8}{q.average_bits:>10.2f}{q.worst_bits:>12.2f}{q.non_finite:>9}"
                    f"{q.measured:>10}{q.undefined + q.unresolved:>11}")
    notes = [q for q in quantities if q.true_overflow]
    for q in notes:
        rows.append(f"  ({q.name}: the exact answer itself overflows at {q.true_overflow} input(s);"
                    " inf is the correctly rounded result there)")
    return rows


def _error_source_text(result):
    first = result.first_error
    if first is None:
        return ["where error appears: no op is more than 3 bits from its exact result on exact "
                "inputs"]
    lines = [f"where error first appears: {first.text}: {_op_summary(first, result.dtype)}"]
    others = [op for op in result.op_errors if op.introduces_error and op is not first]
    if others:
        lines.append("other ops that introduce error (on exact inputs):")
        lines += [f"  {op.text}: {_op_summary(op, result.dtype)}" for op in others]
    return lines


def _op_summary(op, dtype):
    if op.overflows:
        what = f"overflows at {op.overflows} of {op.measured} inputs"
    else:
        what = f"up to {op.worst_bits:.1f} bits ({op.average_bits:.2f} on average)"
    text = (f"{what}, e.g. at {_point(op.example, dtype)} it gives {_g(op.computed)}, "
            f"exact {_g(op.exact)}")
    return text + (f" [{op.op}: {op.domain}]" if op.domain and op.overflows else "")


def _rewrites_text(result):
    if not result.rewrites:
        return ["rewrites: none of the candidates is more accurate" if result.rejected
                else "rewrites: no candidate rewrite applies"] + _rejected_text(result)
    lines = ["rewrites that improve it (each checked equal to the formula with mpmath at every "
             "input):"]
    for rewrite in result.rewrites:
        lines.append(f"  {rewrite.text}    [{rewrite.origin}]")
        for before, after in zip(result.quantities, rewrite.quantities):
            lines.append(f"      {before.name}: avg {before.average_bits:.2f} -> "
                         f"{after.average_bits:.2f} bits, worst {before.worst_bits:.1f} -> "
                         f"{after.worst_bits:.1f}, inf/nan {before.non_finite} -> "
                         f"{after.non_finite}")
    return lines + _rejected_text(result)


def _rejected_text(result):
    unequal = [r for r in result.rejected if r.reason.startswith("not equivalent")]
    no_better = len(result.rejected) - len(unequal)
    lines = []
    if no_better:
        lines.append(f"not shown: {no_better} equivalent candidate(s) that are not more accurate")
    lines += [f"rejected (not the same function): {r.text} [{r.origin}]: {r.reason}"
              for r in unequal]
    return lines


# -- markdown ------------------------------------------------------------------------------------

def render_markdown(result):
    lines = [f"### Stability of `{result.expression}` in {result.dtype}", "",
             _inputs_line(result) + f"; exact values from mpmath (up to {result.precision} bits).",
             "", f"**Verdict:** {verdict_line(result)}", "",
             "| | avg bits | worst bits | inf/nan | measured | no answer |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {q.name} | {q.average_bits:.2f} | {q.worst_bits:.2f} | {q.non_finite} | "
              f"{q.measured} | {q.undefined + q.unresolved} |" for q in result.quantities]
    if result.worst_inputs:
        lines += ["", "**Worst inputs**", ""]
        lines += [f"- {_point(w.point, result.dtype)}: " + "; ".join(
            f"{q} = {_g(w.computed[q])} (exact {_g(w.exact[q])}, {_bits(w.bits[q])})"
            for q in w.computed) for w in result.worst_inputs]
    lines += [""] + [f"{line}" for line in _error_source_text(result)]
    for entry in result.non_finite:
        lines.append(f"\n- `{entry.quantity}` is inf/nan at {entry.count} input(s) where the exact "
                     f"answer is finite; first inf/nan at "
                     + ", ".join(f"`{where}` ({count})" for where, count in entry.origins))
    lines.append("")
    if result.rewrites:
        lines += ["**Rewrites that improve it** (checked equal to the formula with mpmath at every "
                  "input)", "", "| rewrite | from | " + " | ".join(
                      f"{q.name} avg / worst bits" for q in result.quantities) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in result.quantities) + " |",
                  "| `" + result.expression + "` | original | " + " | ".join(
                      f"{q.average_bits:.2f} / {q.worst_bits:.1f}" for q in result.quantities)
                  + " |"]
        lines += [f"| `{r.text}` | {r.origin} | " + " | ".join(
            f"{q.average_bits:.2f} / {q.worst_bits:.1f}" for q in r.quantities) + " |"
            for r in result.rewrites]
    lines += _rejected_text(result)
    return "\n".join(lines) + "\n"


# -- numbers -------------------------------------------------------------------------------------

def _g(value):
    if value is None:
        return "none"
    return f"{float(value):.6g}"


def _bits(value):
    return "no exact answer" if value is None else f"{value:.1f} bits"


def _point(point, dtype):
    """Inputs as the shortest text that reads back as the same float of the dtype."""
    width = np.float32 if dtype == "float32" else np.float64
    return ", ".join(f"{name} = {np.format_float_positional(width(value), trim='-')}"
                     if 1e-4 <= abs(value) < 1e6 or value == 0
                     else f"{name} = {np.format_float_scientific(width(value), trim='-')}"
                     for name, value in point.items())
