"""Neural-network helpers with PyTorch's names; for now only ``glassgrad.nn.functional``
(losses and activations). Module classes come later."""

from . import functional

__all__ = ["functional"]
