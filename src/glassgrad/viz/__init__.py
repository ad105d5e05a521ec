"""Drawings of glassgrad graphs: ``make_dot`` (the backward graph, as torchviz draws PyTorch's)
and ``make_forward_dot`` (the computation as written, values on the edges).

Both return a :class:`DotGraph` whose ``.source`` is DOT text built here; ``.render()``,
``.pipe()`` and Jupyter display use Graphviz (``pip install graphviz``, ``apt-get install
graphviz``) only when called. ``import glassgrad`` does not import this package.
"""

from .digraph import DotGraph, GraphvizNotFound, Record
from .dot import make_dot
from .forward import make_forward_dot

__all__ = ["DotGraph", "GraphvizNotFound", "Record", "make_dot", "make_forward_dot"]
