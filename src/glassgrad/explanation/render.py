"""Write an :class:`~glassgrad.explanation.Explanation` as text, Markdown, LaTeX or HTML.

Each renderer reads only the structured steps, so all four show the same numbers. The HTML is
self-contained (inline CSS, formulas as text): it loads nothing from anywhere.
"""

import html as html_escape

from . import formatting as fmt


def _indent(text, prefix):
    return text.replace("\n", "\n" + prefix)


def _sum_line(gradient, output_name):
    """``∂out/∂x = a + b + c = total`` (or ``= total`` with a single contribution)."""
    head = f"∂{output_name}/∂{gradient.name}"
    parts = gradient.contributions
    total = fmt.value_text(gradient.total)
    if not parts:
        return f"{head} = {total}"
    if len(parts) == 1:
        return f"{head} = {total}   (from {parts[0].consumer})"
    sources = " + ".join(f"∂{output_name}/∂{p.consumer}·∂{p.consumer}/∂{gradient.name}" for p in parts)
    if all(fmt.is_scalar(p.contribution) for p in parts):
        numbers = " + ".join(fmt.operand_text(p.contribution) for p in parts)
        return f"{head} = {sources}\n    = {numbers}\n    = {total}   (sum of {len(parts)} contributions)"
    return f"{head} = {sources}\n    = {total}   (sum of {len(parts)} contributions)"


def _product_line(product):
    local = "" if product.derivative_value is None else f" = {fmt.value_text(product.derivative_value)}"
    head = f"∂{product.consumer}/∂{product.target} = {product.derivative}{local}"
    if product.derivative_value is not None and fmt.is_scalar(product.upstream):
        chain = (f"{fmt.operand_text(product.upstream)} × {fmt.operand_text(product.derivative_value)}"
                 f" = {fmt.value_text(product.contribution)}")
    else:
        chain = f"vjp = {fmt.value_text(product.contribution)}"
    return f"{head}\n      contribution to ∂out/∂{product.target}: {chain}"


def text(explanation):
    out = explanation.output_name
    lines = ["Forward pass"]
    for leaf in explanation.inputs:
        lines.append(f"  {leaf.name} = {_indent(fmt.value_text(leaf.value), '    ')}")
    for step in explanation.forward:
        lines.append(f"  {step.number}. {step.name} = {step.formula} = {step.substituted}"
                     f"\n     = {_indent(fmt.value_text(step.value), '       ')}")
    lines.append(f"  {out} = {explanation.forward[-1].name}")
    lines.append("")
    lines.append(f"Backward pass (chain rule, from ∂{out}/∂{out} = 1 back to the inputs)")
    for step in explanation.backward:
        lines.append("  " + _indent(_sum_line(step.gradient, out), "  "))
        lines.append(f"  {step.formula}")
        for product in step.products:
            lines.append("    " + _indent(_product_line(product).replace("∂out", f"∂{out}"), "  "))
    for gradient in explanation.leaf_sums:
        lines.append("  " + _indent(_sum_line(gradient, out), "  "))
    lines.append("")
    lines.append("Gradients")
    for name, value in explanation.gradients.items():
        lines.append(f"  ∂{out}/∂{name} = {_indent(fmt.value_text(value), '    ')}")
    return "\n".join(lines) + "\n"


def _math_value(value):
    return fmt.number_text(value) if fmt.is_scalar(value) else rf"\text{{[{fmt.shape_text(value)}]}}"


def _math_operand(value):
    text = _math_value(value)
    return f"({text})" if text.startswith("-") else text


def _latex_derivative(product):
    return (rf"\frac{{\partial {fmt.latex_name(product.consumer)}}}{{\partial {fmt.latex_name(product.target)}}}"
            rf" = {product.derivative_latex}")


def _latex_sum(gradient, out):
    head = rf"\frac{{\partial {out}}}{{\partial {fmt.latex_name(gradient.name)}}}"
    if len(gradient.contributions) > 1:
        parts = " + ".join(_math_operand(p.contribution) for p in gradient.contributions)
        return rf"{head} &= {parts} = {_math_value(gradient.total)}"
    return rf"{head} &= {_math_value(gradient.total)}"


def latex(explanation):
    out = r"\mathrm{out}"
    forward = [rf"{fmt.latex_name(s.name)} &= {s.latex} = {s.latex_substituted} = {_math_value(s.value)}"
               for s in explanation.forward]
    backward = []
    for step in explanation.backward:
        backward.append(_latex_sum(step.gradient, out))
        for product in step.products:
            value = ("" if product.derivative_value is None
                     else f" = {_math_value(product.derivative_value)}")
            backward.append(_latex_derivative(product).replace(" = ", " &= ", 1) + value)
    backward += [_latex_sum(g, out) for g in explanation.leaf_sums]
    return ("% Forward pass\n\\begin{align*}\n" + " \\\\\n".join(forward) + "\n\\end{align*}\n"
            "% Backward pass\n\\begin{align*}\n" + " \\\\\n".join(backward) + "\n\\end{align*}\n")


def markdown(explanation):
    out = explanation.output_name
    lines = ["### Forward pass", ""]
    for leaf in explanation.inputs:
        lines.append(f"- ${fmt.latex_name(leaf.name)}$ = `{_one_line(fmt.value_text(leaf.value))}`")
    for s in explanation.forward:
        lines.append(f"{s.number}. ${fmt.latex_name(s.name)} = {s.latex} = {s.latex_substituted}$"
                     f" = `{_one_line(fmt.value_text(s.value))}`  (`{s.name} = {s.formula}`)")
    lines += ["", "### Backward pass", ""]
    for step in explanation.backward:
        lines.append(f"- $\\displaystyle {_latex_sum(step.gradient, 'out').replace('&', '')}$ for `{step.formula}`")
        for p in step.products:
            local = "" if p.derivative_value is None else f" = `{_one_line(fmt.value_text(p.derivative_value))}`"
            lines.append(f"  - ${_latex_derivative(p)}${local}; contribution "
                         f"`{_one_line(fmt.value_text(p.contribution))}`")
    for g in explanation.leaf_sums:
        lines.append(f"- $\\displaystyle {_latex_sum(g, 'out').replace('&', '')}$")
    lines += ["", "### Gradients", ""]
    for name, value in explanation.gradients.items():
        lines.append(f"- ∂{out}/∂{name} = `{_one_line(fmt.value_text(value))}`")
    return "\n".join(lines) + "\n"


def _one_line(text):
    return " ".join(text.split())


_STYLE = ("body{font-family:sans-serif} pre{background:#f6f6f6;padding:0.5em} "
          "h3{margin-bottom:0.2em}")


def html(explanation):
    sections = text(explanation).split("\n\n")
    body = []
    for section in sections:
        title, _, rest = section.partition("\n")
        body.append(f"<h3>{html_escape.escape(title)}</h3>\n<pre>{html_escape.escape(rest)}</pre>")
    return (f"<div class=\"glassgrad-explanation\"><style>{_STYLE}</style>\n"
            + "\n".join(body) + "\n</div>\n")
