"""Adam (Kingma & Ba) with PyTorch's options: weight decay (L2, added to the gradient), AMSGrad,
maximize.

The update is PyTorch's single-tensor Adam in the same operation order (``lerp`` and ``addcmul``
fused, bias corrections in Python floats), so float32 results agree with PyTorch bit for bit.
"""

import numpy as np

from ..factories import tensor, zeros_like
from ..tensor import Tensor
from . import _rounding as R
from .optimizer import Optimizer, assign


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False)``: per parameter, at step t with gradient g,

    m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g;  (AMSGrad: v_max = max(v_max, v))
    p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _state_for(self, param, amsgrad):
        """The parameter's state, created on its first step (a float32 step count, as PyTorch)."""
        state = self.state[param]
        if not state:
            state["step"] = tensor(0.0)
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_like(param)
        return state

    def _update(self, param, group):
        beta1, beta2 = group["betas"]
        state = self._state_for(param, group["amsgrad"])
        grad = param.grad._data
        if group["maximize"]:
            grad = -grad
        state["step"].add_(1)
        if group["weight_decay"] != 0:
            grad = R.add_scaled(grad, param._data, group["weight_decay"])

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        assign(exp_avg, R.lerp(exp_avg._data, grad, 1 - beta1))
        decayed = exp_avg_sq._data * R.scalar(beta2, grad)
        assign(exp_avg_sq, R.addcmul(decayed, grad, grad, 1 - beta2))

        step = state["step"].item()
        step_size = group["lr"] / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        second_moment = exp_avg_sq._data
        if group["amsgrad"]:
            running_max = state["max_exp_avg_sq"]
            assign(running_max, np.maximum(running_max._data, second_moment))
            second_moment = running_max._data
        denom = np.sqrt(second_moment) / R.scalar(bias_correction2_sqrt, grad)
        denom = denom + R.scalar(group["eps"], grad)
        assign(param, R.addcdiv(param._data, exp_avg._data, denom, -step_size))
