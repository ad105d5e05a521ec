"""What a fit prints: the fitted parameters, the final loss and the comparison with the exact
least-squares optimum, and the seed's three Q2 models side by side.

Parameters are printed with the shortest digits that identify the working-precision value
(``41.79637`` for a float32), so every printed digit is one the fit really computed.
"""

import numpy as np

def shortest(value, dtype="float32"):
    """The shortest decimal that reads back as the same ``dtype`` value."""
    return str(np.float32(value)) if dtype == "float32" else repr(float(value))


def _g(value, digits=7):
    return f"{value:.{digits}g}"


def heading(formula, target, source, rows, optimizer, lr, dtype, standardized):
    """The line printed before a fit's log: what is fitted to what, and how."""
    return (f"fitting {target} ~ {formula} to {source} ({rows} rows): {optimizer}, lr {lr:g}, "
            f"{dtype}" + (", standardized columns" if standardized else ""))


def summary(result):
    """The lines after the log: how the run ended, the parameters, the loss, the comparison."""
    params = ", ".join(f"{name} = {shortest(value, result.dtype)}" for name, value in result.params.items())
    lines = [f"{result.stopped}: {result.epochs} epochs in {result.seconds:.2f} s",
             f"parameters: {params}",
             f"final loss (MSE): {shortest(result.loss, result.dtype)}", ""]
    return "\n".join(lines + comparison(result))


def comparison(result):
    """The table of fitted against optimal values, or why there is no closed form."""
    if result.optimum is None:
        return [f"no closed-form optimum: {result.nonlinear_reason}"]
    rows = [("parameter", "gradient descent", "optimum", "difference")]
    for name, gap in result.param_gaps.items():
        rows.append((name, _g(result.params[name]), _g(result.optimum.params[name]), _g(gap, 3)))
    rows.append(("MSE", _g(result.mse), _g(result.optimum.mse), _g(result.loss_gap, 3)))
    lines = ["closed-form optimum (least squares in float64):"] + _table(rows)
    if result.optimum.rank < len(result.params):
        lines.append(f"note: only {result.optimum.rank} of the {len(result.params)} parameters "
                     "are determined by the data; the optimum shown is the smallest one")
    return lines


def seed_table(named_results):
    """One line per seed model: epochs, the fit's MSE, the optimum's, and the largest gap."""
    rows = [("model", "formula", "lr", "epochs", "MSE", "optimum MSE", "MSE gap", "largest parameter gap")]
    for name, result in named_results:
        gaps = result.param_gaps
        worst = max(gaps, key=lambda p: abs(gaps[p]))
        rows.append((name, result.model, f"{result.lr:g}", str(result.epochs), _g(result.mse),
                     _g(result.optimum.mse), _g(result.loss_gap, 3), f"{worst}: {_g(gaps[worst], 3)}"))
    return _table(rows)


def _table(rows):
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
