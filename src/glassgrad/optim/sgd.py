"""Stochastic gradient descent with momentum, Nesterov momentum, weight decay and maximize.

The update is PyTorch's single-tensor SGD, step for step (``a.add(b, alpha=s)`` fused as in
PyTorch's kernel), so float32 results agree with PyTorch bit for bit.
"""

import numpy as np

from ..tensor import Tensor
from . import _rounding as R
from .optimizer import Optimizer, assign


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)``: per parameter, with g its gradient,

    g += weight_decay * p;  b = momentum * b + (1 - dampening) * g  (b = g on the first step);
    g = g + momentum * b if nesterov else b;  p -= lr * g.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False, *, foreach=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _update(self, param, group):
        grad = param.grad._data
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = R.add_scaled(grad, param._data, group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            grad = self._apply_momentum(param, grad, group)
        assign(param, R.add_scaled(param._data, grad, -group["lr"]))

    def _apply_momentum(self, param, grad, group):
        """Update the momentum buffer; return the direction to step along."""
        momentum = group["momentum"]
        state = self.state[param]
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = Tensor._wrap(np.array(grad, copy=True))
            state["momentum_buffer"] = buffer
        else:
            decayed = buffer._data * R.scalar(momentum, buffer._data)
            assign(buffer, R.add_scaled(decayed, grad, 1 - group["dampening"]))
        if group["nesterov"]:
            return R.add_scaled(grad, buffer._data, momentum)
        return buffer._data
