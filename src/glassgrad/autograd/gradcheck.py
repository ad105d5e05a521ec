"""Gradient checks: compare the gradients the engine computes with finite differences.

``gradcheck`` builds, for every output and every input that requires grad, two Jacobians: one
from central differences in float64 (forward passes only) and one from the engine (one backward
pass per output element), and compares them. ``gradgradcheck`` applies the same check to the
gradient itself. Signatures and messages follow ``torch.autograd.gradcheck``.
"""

import warnings

import numpy as np

from . import grad_mode

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` and :func:`gradgradcheck` when a check fails."""


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """Check the engine's gradients of ``func`` at ``inputs`` against finite differences.

    ``inputs`` is a tensor or a tuple of them (other values are passed through untouched); only
    tensors with ``requires_grad=True`` are differentiated, and they should be float64. Returns
    True, or raises :class:`GradcheckError` (returns False with ``raise_exception=False``).

    The check passes when ``|analytical - numerical| <= atol + rtol * |numerical|`` elementwise.
    Besides the Jacobians it checks that backward is deterministic (within ``nondet_tol``), that
    a zero output gradient gives zero input gradients (glassgrad has no "undefined" gradients, so
    this is what ``check_undefined_grad`` amounts to here) and, with ``check_grad_dtypes``, that
    each gradient has its input's dtype.

    Accepted for PyTorch compatibility and ignored: ``check_batched_grad``,
    ``check_batched_forward_grad`` and ``check_forward_ad`` (glassgrad has neither vmap nor
    forward-mode AD), ``fast_mode`` (the full Jacobian is always compared) and ``masked``
    (there are no sparse tensors).

    >>> import glassgrad as gg
    >>> x = gg.tensor([0.5, 2.0], dtype=gg.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t * t).exp(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    try:
        _check(func, inputs, eps, atol, rtol, nondet_tol, check_grad_dtypes, check_backward_ad)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """Check second derivatives: gradcheck the gradient of ``func`` (built with create_graph=True).

    The gradient is a function of the inputs and of ``grad_outputs`` (the vector the Jacobian is
    multiplied by); both are perturbed. Without ``grad_outputs``, random ones are drawn from
    uniform(-1, 1) with the global generator (so ``manual_seed`` makes the check reproducible).

    Accepted for PyTorch compatibility and ignored: ``gen_non_contig_grad_outputs`` (NumPy
    arrays here have no layout that would change the result), ``check_batched_grad``,
    ``check_fwd_over_rev`` (no forward-mode AD), ``fast_mode`` and ``masked``.
    """
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        with grad_mode.enable_grad():
            outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
        grad_outputs = tuple(_random_cotangent(out) for out in outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_grad_outputs = len(grad_outputs)
    differentiated = [k for k, x in enumerate(inputs) if _requires_grad(x)]

    def first_order_gradient(*args):
        xs, cotangents = args[:len(args) - n_grad_outputs], args[len(args) - n_grad_outputs:]
        # The first-order gradient must itself be recorded, whatever the caller's grad mode.
        with grad_mode.enable_grad():
            outputs = _differentiable_outputs(_as_tuple(func(*xs)))
            grads = _grad(outputs, [xs[k] for k in differentiated], cotangents,
                          create_graph=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order_gradient, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_grad_dtypes=check_grad_dtypes, check_backward_ad=check_rev_over_rev)


# ----- the checks ----------------------------------------------------------------------------
def _check(func, inputs, eps, atol, rtol, nondet_tol, check_grad_dtypes, check_backward_ad):
    """Every check of :func:`gradcheck`; raises GradcheckError on the first failure."""
    differentiated = [k for k, x in enumerate(inputs) if _requires_grad(x)]
    if not differentiated:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them "
            "has requires_grad=True.")
    _warn_if_not_double(inputs, differentiated)
    if not check_backward_ad:
        return
    with grad_mode.enable_grad():
        outputs = _as_tuple(func(*inputs))
    numerical = numerical_jacobian(func, inputs, differentiated, eps)
    diff_positions = [k for k, out in enumerate(outputs) if _requires_grad(out)]
    if not diff_positions:
        _check_all_zero(numerical)
        return
    wrt = [inputs[k] for k in differentiated]
    for i, position in enumerate(diff_positions):
        analytical = analytical_jacobian(outputs[position], wrt, check_grad_dtypes)
        for j, (a, n) in enumerate(zip(analytical, numerical[position])):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(_mismatch_message(i, j, n, a, wrt[j]))
        _check_reentrant(outputs[position], wrt, analytical, nondet_tol)
    _check_zero_cotangent_gives_zero([outputs[k] for k in diff_positions], wrt, check_grad_dtypes)


def _warn_if_not_double(inputs, differentiated):
    for k in differentiated:
        if inputs[k]._data.dtype != np.float64:
            warnings.warn(
                f"Input #{k} requires gradient and is not a double precision floating point or "
                "complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ", UserWarning, stacklevel=4)


def _check_all_zero(numerical):
    # No output requires grad, so the function must not depend on the inputs at all.
    for per_input in numerical:
        for jac in per_input:
            if jac is not None and np.any(jac != 0):
                raise GradcheckError("Numerical gradient for function expected to be zero")


def _check_reentrant(output, wrt, first, nondet_tol):
    """Backward run twice on the same graph must agree (within nondet_tol)."""
    second = analytical_jacobian(output, wrt, check_grad_dtypes=False)
    for a, b in zip(first, second):
        if a.size and np.max(np.abs(a - b)) > nondet_tol:
            raise GradcheckError(
                "Backward is not reentrant, i.e., running backward with same input and "
                "grad_output multiple times gives different values, although analytical "
                f"gradient matches numerical gradient. The tolerance for nondeterminism was "
                f"{nondet_tol}.")


def _check_zero_cotangent_gives_zero(outputs, wrt, check_grad_dtypes):
    """A backward that ignores its incoming gradient shows up here as nonzero input gradients."""
    from ..factories import zeros_like

    # Retained: a non-leaf input's own history must survive the check.
    grads = _grad(outputs, wrt, [zeros_like(out) for out in outputs], retain_graph=True)
    for x, g in zip(wrt, grads):
        if g is None:
            continue
        if np.any(g._data != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        _check_grad_attributes(x, g, check_grad_dtypes)


def _check_grad_attributes(x, g, check_grad_dtypes):
    if tuple(g._data.shape) != tuple(x._data.shape):
        raise GradcheckError("Analytical gradient has incorrect size")
    if check_grad_dtypes and g._data.dtype != x._data.dtype:
        raise GradcheckError("Gradient has dtype mismatch")


def _mismatch_message(i, j, numerical, analytical, x):
    from ..tensor import Tensor

    numerical_text = repr(Tensor._wrap(numerical))
    analytical_text = repr(Tensor._wrap(analytical.astype(x._data.dtype)))
    return (f"Jacobian mismatch for output {i} with respect to input {j},\n"
            f"numerical:{numerical_text}\nanalytical:{analytical_text}\n")


# ----- the two Jacobians ---------------------------------------------------------------------
def numerical_jacobian(func, inputs, differentiated, eps):
    """Central-difference Jacobians: ``result[o][j]`` has one row per element of input
    ``differentiated[j]`` and one column per element of output ``o`` (None for non-tensors).

    Each input element is perturbed by swapping in a perturbed copy of the tensor's array, so
    the tensors passed to ``func`` keep their identity (hooks, closures) and the caller's memory
    is never written. Only forward passes run; their graphs are dropped at once.
    """
    base = _output_arrays(func, inputs)
    result = [[None if b is None else np.zeros((inputs[k]._data.size, b.size))
               for k in differentiated] for b in base]
    for j, k in enumerate(differentiated):
        x = inputs[k]
        original = x._data
        try:
            for index in range(original.size):
                plus = _evaluate_perturbed(func, inputs, x, original, index, eps)
                minus = _evaluate_perturbed(func, inputs, x, original, index, -eps)
                for o, (p, m) in enumerate(zip(plus, minus)):
                    if p is not None:
                        result[o][j][index] = ((p - m) / (2 * eps)).ravel()
        finally:
            x._data = original
    return result


def _evaluate_perturbed(func, inputs, x, original, index, step):
    perturbed = original.copy()
    perturbed.flat[index] = original.flat[index] + step
    x._data = perturbed
    return _output_arrays(func, inputs)


def _output_arrays(func, inputs):
    """The outputs of ``func`` as float64 copies (None for outputs that are not float tensors:
    integer results such as indices have no derivative to compare)."""
    from ..tensor import Tensor

    # Grad mode stays on, as in PyTorch: functions may register hooks on their intermediates.
    with grad_mode.enable_grad():
        outputs = _as_tuple(func(*inputs))
    return [np.array(out._data, dtype=np.float64)
            if isinstance(out, Tensor) and out._data.dtype.kind == "f" else None
            for out in outputs]


def analytical_jacobian(output, wrt, check_grad_dtypes):
    """The engine's Jacobians of ``output`` with respect to each tensor in ``wrt``, laid out like
    :func:`numerical_jacobian`: one backward pass (one-hot cotangent) per output element."""
    from ..tensor import Tensor

    jacobians = [np.zeros((x._data.size, output._data.size)) for x in wrt]
    for column in range(output._data.size):
        one_hot = np.zeros(output._data.shape, dtype=output._data.dtype)
        one_hot.flat[column] = 1
        grads = _grad([output], wrt, [Tensor._wrap(one_hot)], retain_graph=True)
        for jac, x, g in zip(jacobians, wrt, grads):
            if g is not None:
                _check_grad_attributes(x, g, check_grad_dtypes)
                jac[:, column] = g._data.ravel()
    return jacobians


# ----- helpers -------------------------------------------------------------------------------
def _grad(outputs, inputs, grad_outputs, create_graph=False, retain_graph=None):
    """``autograd.grad`` that tolerates unused inputs and an empty list of outputs."""
    from . import grad as autograd_grad

    if not outputs or not inputs:
        return (None,) * len(inputs)
    return autograd_grad(outputs, inputs, grad_outputs, retain_graph=retain_graph,
                         create_graph=create_graph, allow_unused=True)


def _random_cotangent(output):
    """A cotangent like ``output``, uniform in [-1, 1), that requires grad (for gradgradcheck)."""
    from ..random import uniform_array
    from ..tensor import Tensor

    dtype = output._data.dtype if output._data.dtype.kind == "f" else np.dtype(np.float64)
    array = uniform_array(output._data.shape, dtype, low=-1.0, high=1.0)
    return Tensor._wrap(array).requires_grad_()


def _differentiable_outputs(outputs):
    return tuple(out for out in outputs if _requires_grad(out))


def _requires_grad(value):
    from ..tensor import Tensor

    return isinstance(value, Tensor) and value._requires_grad


def _as_tuple(value):
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    return (value,)
