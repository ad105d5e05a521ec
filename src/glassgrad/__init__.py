"""glassgrad: glass-box automatic differentiation with PyTorch's tensor API, on NumPy.

``import glassgrad as torch`` runs PyTorch-style autograd code and prints what PyTorch prints;
every op is one record in ``glassgrad.ops.REGISTRY``, which the engine and the explainers read.

>>> import glassgrad as torch
>>> x = torch.tensor([3.0], requires_grad=True)
>>> (x * x).backward(); x.grad
tensor([6.])
"""

import warnings as _warnings

from . import _dtype
from ._dtype import (bool, double, dtype, float, float16, float32, float64, get_default_dtype, half,
                     int, int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from ._printing import get_printoptions, set_printoptions
from .tensor import Size, Tensor
from .functional import *  # noqa: F401,F403  (the torch-like function namespace)
from .functional import abs, all, any, max, min, pow, sum  # shadow builtins on purpose, like torch
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, manual_seed, normal, ones, ones_like, rand, rand_like, randint,
                        randn, randn_like, randperm, tensor, zeros, zeros_like)
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .random import get_rng_state, initial_seed, seed, set_rng_state
from . import autograd, functional, ops, random
from ._methods import bind_methods as _bind_methods

__version__ = "0.1.0"


_LAZY_SUBMODULES = {"nn", "optim", "viz", "expr", "worked", "explanation", "fit", "special",
                    "stability", "compiler"}


def __getattr__(name):
    """``glassgrad.optim``, ``glassgrad.nn`` ... without importing them with glassgrad: they load
    on first use, so ``import glassgrad`` stays light (PEP 562)."""
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'glassgrad' has no attribute {name!r}")


def compile(fn=None, *, verify=True):
    """Trace ``fn`` (a training step, say) on its first call and run it afterwards as generated
    straight-line NumPy, bit for bit the same as eager; see ``glassgrad.compiler``."""
    from .compiler import compile as _compile  # imported on use: keeps `import glassgrad` light
    return _compile(fn, verify=verify) if fn is not None else _compile(verify=verify)


def explain(output, names=None, grad_output=None):
    """The forward and backward pass behind ``output``, step by step (``.text()``,
    ``.markdown()``, ``.latex()``, ``.html()``); see ``glassgrad.explanation``."""
    from .explanation import explain as _explain  # imported on use: keeps `import glassgrad` light
    return _explain(output, names=names, grad_output=grad_output)

# NumPy warns on overflow and 0/0; PyTorch returns inf and nan silently, and so do we.
_warnings.filterwarnings(
    "ignore", message=r"(overflow|invalid value|divide by zero|underflow) encountered",
    category=RuntimeWarning, module=r"glassgrad\.")

_bind_methods()
