"""``glassgrad.special``: PyTorch's ``torch.special`` names for erf and the numerically stable
functions.

Each is the same function as in the main namespace (``glassgrad.special.xlogy`` is
``glassgrad.xlogy``), backed by a record in ``glassgrad/ops/stable.py`` or ``elementwise.py``.

>>> import glassgrad as torch
>>> torch.special.xlogy(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 1.0]))
tensor([0., 0.])
"""

from .functional import erf, expm1, log1p, log_softmax, logsumexp, sigmoid, softmax, xlogy

expit = sigmoid

__all__ = ["erf", "expit", "expm1", "log1p", "log_softmax", "logsumexp", "softmax", "xlogy"]
