"""The op registry: one record per primitive (see ``registry.Op``), keyed by name in REGISTRY."""

from . import elementwise, linalg, reduce, shape, stable  # noqa: F401  (importing registers the ops)
from .registry import REGISTRY, Domain, Op, register

__all__ = ["REGISTRY", "Domain", "Op", "register"]
