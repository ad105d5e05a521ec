"""Optimizers with PyTorch's semantics: ``glassgrad.optim.SGD`` and ``glassgrad.optim.Adam``.

They follow PyTorch's single-tensor (``foreach=False``) update rules in the same operation order,
so float32 training runs match PyTorch bit for bit on small problems.

>>> import glassgrad as torch
>>> from glassgrad.optim import SGD
>>> w = torch.tensor([1.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward(); opt.step(); w
tensor([0.8000], requires_grad=True)
"""

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
