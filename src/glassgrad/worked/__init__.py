"""Worked backpropagation for small fully connected networks (the seed's Q4), from a TOML spec.

`load_spec` reads the network (format in `glassgrad.worked.spec`), `solve` does the forward pass,
the backward pass and the update by hand in float64, shows every formula with its numbers, and
checks every number against glassgrad's autograd; `check_answers` grades a student's values.
Nothing imports this package when `import glassgrad` runs.

>>> from glassgrad.worked import load_spec, solve
>>> solution = solve(load_spec("examples/mazur.toml"))
>>> round(solution.value("E"), 9), round(solution.value("new w5"), 8)
(0.298371109, 0.35891648)
"""

from .checker import AnswerCheck, CheckReport, check_answers
from .solution import (BackwardPass, ForwardPass, Quantity, StepWork, UpdateRow, WorkedSolution,
                       solve)
from .spec import Layer, NetworkSpec, Parameter, SpecError, apply_overrides, load_spec, parse_spec
from .verify import AutogradMismatch

__all__ = ["AnswerCheck", "AutogradMismatch", "BackwardPass", "CheckReport", "ForwardPass", "Layer",
           "NetworkSpec", "Parameter", "Quantity", "SpecError", "StepWork", "UpdateRow",
           "WorkedSolution", "apply_overrides", "check_answers", "load_spec", "parse_spec", "solve"]
