"""Automatic differentiation: ``backward``, ``grad``, grad modes, and gradient checks.

``glassgrad.autograd.grad(outputs, inputs)`` returns gradients without touching ``.grad``;
``backward`` accumulates them into the leaves, as ``Tensor.backward`` does. ``detect_anomaly()``
finds the op where nan or inf first appears (see ``anomaly``).
"""

import numpy as np

from . import engine, graph
from .anomaly import (AnomalyError, detect_anomaly, is_anomaly_check_nan_enabled,
                      is_anomaly_enabled, set_detect_anomaly)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled


def _as_tuple(x):
    return (x,) if not isinstance(x, (tuple, list)) else tuple(x)


def _expect_tensors(function, argument, tensors):
    """Raise a TypeError naming ``function``'s ``argument`` if any of ``tensors`` is not a Tensor."""
    for k, t in enumerate(tensors):
        if not isinstance(t, engine.Tensor):
            raise TypeError(f"{function}(): {argument}[{k}] must be a Tensor, not {type(t).__name__}")


def _expect_requires_grad(inputs):
    for k, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {k}) does not require grad")


def _grad_outputs(outputs, grad_outputs, create_graph):
    """One gradient per output: ones for single-element outputs, checked shapes otherwise."""
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} outputs; "
                           "give one gradient (or None) per output")
    grads = []
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if not out._requires_grad:
                raise RuntimeError(f"element {k} of tensors does not require grad and does not have a grad_fn")
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if create_graph:
                grads.append(engine.Tensor._wrap(np.ones(out._data.shape, out._data.dtype)))
            else:  # loss.backward()'s cached read-only ones: the compiler knows they stay the same
                from ..tensor import _ones_like
                grads.append(_ones_like(out._data))
            continue
        if not isinstance(g, engine.Tensor):
            if not isinstance(g, (np.ndarray, np.number, bool, int, float)):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
            g = engine.Tensor._wrap(np.asarray(g, dtype=out._data.dtype))
        if g._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{k}] has a shape of {g.shape} and output[{k}] "
                f"has a shape of {out.shape}.")
        grads.append(g if create_graph else g._data.astype(out._data.dtype, copy=False))
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (or only into ``inputs``)."""
    tensors = _as_tuple(tensors)
    _expect_tensors("backward", "tensors", tensors)
    grads = _grad_outputs(tensors, _as_tuple(grad_tensors) if grad_tensors is not None
                          else (None,) * len(tensors), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        engine.run_backward(tensors, grads, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    _expect_tensors("backward", "inputs", inputs)
    _expect_requires_grad(inputs)
    if graph.tracer is not None:  # the accumulation below is NumPy the compiler would not see
        graph.tracer.unsupported("backward(inputs=...)")
    results = engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                                  allow_unused=True)
    for t, g in zip(inputs, results):
        if g is not None:
            engine._accumulate_into_leaf(t, g if create_graph else g._data, create_graph, False)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Nothing is accumulated into ``.grad``. With ``create_graph=True`` the results are themselves
    differentiable, so ``grad`` can be applied again for second derivatives.
    """
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    _expect_tensors("grad", "outputs", outputs)
    _expect_tensors("grad", "inputs", inputs)
    _expect_requires_grad(inputs)
    grads = _grad_outputs(outputs, _as_tuple(grad_outputs) if grad_outputs is not None
                          else (None,) * len(outputs), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    results = engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                                  allow_unused=allow_unused or materialize_grads)
    if materialize_grads:
        from ..factories import zeros_like
        results = tuple(zeros_like(t) if g is None else g for t, g in zip(inputs, results))
    return results


from . import functional  # noqa: E402  (jacobian, hessian, vjp, jvp, hvp, vhp)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "functional", "gradcheck", "gradgradcheck", "GradcheckError",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "AnomalyError"]
