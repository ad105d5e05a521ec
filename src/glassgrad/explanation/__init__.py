"""Worked solutions of a gradient: ``explain(output)`` shows the forward and backward pass.

Every step is read from the op records (formula, local derivatives, vjps), never re-derived, and
every number is what glassgrad's own forward and backward compute. Nothing in glassgrad imports
this package at import time; ``glassgrad.explain`` loads it on first use.

>>> import glassgrad as torch
>>> x = torch.tensor(3.0, requires_grad=True)
>>> explain(torch.log(x) * x, names={"x": x}).gradients["x"]
array(2.0986123, dtype=float32)
"""

import numpy as np

from . import render
from .steps import BackwardStep, ChainRuleProduct, ForwardStep, GradientSum, InputValue
from .trace import Trace, backward_steps, forward_steps, input_values

__all__ = ["explain", "Explanation", "ForwardStep", "BackwardStep", "ChainRuleProduct",
           "GradientSum", "InputValue"]


class Explanation:
    """The structured steps of one forward and backward pass, and their renderings."""

    def __init__(self, inputs, forward, backward, leaf_sums, gradients, output_name="out"):
        self.inputs = inputs          # list of InputValue
        self.forward = forward        # list of ForwardStep, in creation order
        self.backward = backward      # list of BackwardStep, in the engine's (reverse) order
        self.leaf_sums = leaf_sums    # list of GradientSum, one per leaf
        self.gradients = gradients    # leaf name -> gradient (NumPy array)
        self.output_name = output_name

    def step_for(self, tensor):
        """The ForwardStep that computed ``tensor`` (an intermediate of the explained graph)."""
        for step in self.forward:
            if step.grad_fn is tensor.grad_fn:
                return step
        raise KeyError("this tensor was not computed in the explained graph")

    def gradient_of(self, tensor):
        """d(output)/d(tensor) for an intermediate or a leaf of the explained graph."""
        for step in self.backward:
            if tensor.grad_fn is not None and step.grad_fn is tensor.grad_fn:
                return step.gradient.total
        if tensor.grad_fn is None:
            names = [leaf.name for leaf in self.inputs if leaf.value is not None]
            for name in names:
                if name in self.gradients and self._leaf_tensor(name) is tensor:
                    return self.gradients[name]
        raise KeyError("no gradient flows to this tensor in the explained graph")

    def _leaf_tensor(self, name):
        return self._leaves_by_name.get(name)

    def text(self):
        return render.text(self)

    def markdown(self):
        return render.markdown(self)

    def latex(self):
        return render.latex(self)

    def html(self):
        return render.html(self)

    def to_dict(self):
        """The steps as plain data (lists and floats), for ``--json`` and other programs."""
        def values(array):
            return np.asarray(array, dtype=float).tolist()
        return {
            "inputs": [{"name": i.name, "value": values(i.value)} for i in self.inputs],
            "forward": [{"step": f.number, "name": f.name, "formula": f.formula,
                         "substituted": f.substituted, "value": values(f.value)}
                        for f in self.forward],
            "gradients": {name: values(g) for name, g in self.gradients.items()},
        }

    def _repr_markdown_(self):
        return self.markdown()

    def _repr_html_(self):
        return self.html()

    def __str__(self):
        return self.text()

    def __repr__(self):
        return f"<Explanation: {len(self.forward)} forward steps, gradients for {list(self.gradients)}>"


def explain(output, names=None, grad_output=None):
    """Explain how ``output`` was computed and how its gradients follow by the chain rule.

    ``names`` maps names to leaves (or intermediates): ``explain(f, names={"x": x, "y": y})``.
    Works before or after ``backward()``; ``.grad`` is neither read nor changed.
    """
    trace = Trace(output, names)
    seed = None if grad_output is None else _seed(output, grad_output)
    backward, leaf_sums, gradients = backward_steps(trace, seed)
    explanation = Explanation(input_values(trace), forward_steps(trace), backward, leaf_sums,
                              gradients)
    explanation._leaves_by_name = {trace.name_of(leaf): leaf for leaf in trace.leaves}
    return explanation


def _seed(output, grad_output):
    import numpy as np
    data = getattr(grad_output, "_data", grad_output)
    return np.asarray(data, dtype=output._data.dtype).reshape(output._data.shape)
