"""The structured steps of an explanation: plain dataclasses other features can reuse.

A :class:`ForwardStep` is one recorded op with its formula, the numbers substituted and its
value; a :class:`ChainRuleProduct` is one upstream gradient times one local derivative; a
:class:`GradientSum` adds the products arriving at one value (more than one where it fans out);
a :class:`BackwardStep` is one node's share of the backward pass. Values are NumPy arrays.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np


@dataclass
class InputValue:
    """A leaf (or a constant) that the computation starts from."""

    name: str
    value: np.ndarray
    requires_grad: bool


@dataclass
class ForwardStep:
    """``name = formula = substituted = value``, e.g. ``v3 = log(x) = log(3.0) = 1.0986``."""

    number: int
    name: str
    formula: str
    substituted: str
    value: np.ndarray
    op_name: str = ""
    latex: str = ""
    latex_substituted: str = ""
    grad_fn: Any = field(default=None, repr=False, compare=False)


@dataclass
class ChainRuleProduct:
    """upstream gradient × local derivative = contribution, for one edge ``target -> consumer``."""

    consumer: str
    target: str
    input_name: str
    derivative: str
    derivative_latex: str
    derivative_value: Optional[np.ndarray]
    upstream: np.ndarray
    contribution: np.ndarray


@dataclass
class GradientSum:
    """d(output)/d(name): the sum of the contributions arriving at ``name``, in the engine's order."""

    name: str
    contributions: List[ChainRuleProduct]
    total: np.ndarray


@dataclass
class BackwardStep:
    """One node in reverse order: its gradient and the products it sends to its inputs."""

    name: str
    formula: str
    latex: str
    gradient: GradientSum
    products: List[ChainRuleProduct]
    grad_fn: Any = field(default=None, repr=False, compare=False)
