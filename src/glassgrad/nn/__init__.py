"""Neural networks with PyTorch's names: ``glassgrad.nn.functional`` (losses and activations as
functions) and the layers as Modules (``Linear``, ``Sequential``, ``ReLU``, ``MSELoss`` ...)."""

from . import functional
from .modules import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, ELU, GELU, Identity, L1Loss,
                      LeakyReLU, Linear, LogSoftmax, Module, MSELoss, NLLLoss, ReLU, Sequential,
                      Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .parameter import Parameter

__all__ = ["functional", "Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU",
           "Sigmoid", "Tanh", "SiLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
           "LogSoftmax", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss"]
