"""The trace compiler: a training step traced once, then run as straight-line NumPy.

``glassgrad.compiler.compile(step)`` (also a decorator) runs ``step`` eagerly on its first call
while recording every op, in-place write and ``backward()`` through the op records; from that it
writes a plain Python function of NumPy calls (forward, the backward pass in the engine's order,
the updates), with no Tensor or graph objects in the hot code. Later calls with the same shapes
run that function, which gives the eager results bit for bit. ``step.source`` shows it::

    @glassgrad.compiler.compile
    def step():
        loss = ((x @ w.T + b - y) ** 2).mean()
        loss.backward()
        with glassgrad.no_grad():
            for p in (w, b):
                p -= lr * p.grad
                p.grad.zero_()
        return loss

Python code that depends on tensor values (``loss.item()``, ``if x > 0``, printing) cannot be
replayed: the first call then finishes eagerly, a :class:`TraceWarning` says what and where, and
the function stays eager. Side effects on plain Python objects (appending to a list) happen only
during traced calls, as with ``jax.jit``.
"""

from .function import MAX_PROGRAMS, CompiledFunction, TraceWarning, compile

__all__ = ["compile", "CompiledFunction", "TraceWarning", "MAX_PROGRAMS"]
