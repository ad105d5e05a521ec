"""Higher-level derivatives of whole functions: jacobian, hessian, vjp, jvp, hvp and vhp.

Each takes a Python function of tensors and the point to differentiate at, and returns results
shaped exactly like ``torch.autograd.functional``'s (a tensor for a single tensor, tuples that
follow the structure of the inputs and outputs otherwise). Everything is built from reverse
mode: forward products (jvp, hvp) use the double-backward trick.
"""

import numpy as np

from . import grad_mode

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ----- the six functions ---------------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product, shaped like ``inputs``.

    ``v`` is shaped like the output; it may be omitted when the output has one element.

    >>> import glassgrad as gg
    >>> x = gg.tensor([1.0, 2.0], dtype=gg.float64)
    >>> vjp(lambda t: (t ** 2).sum(), x)[1]
    tensor([2., 4.], dtype=torch.float64)
    """
    with grad_mode.enable_grad():
        inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "vjp")
        inputs = _prepare_inputs(inputs, create_graph)
        outputs_are_tuple, outputs = _tensor_tuple(
            func(*inputs), "outputs of the user-provided function", "vjp")
        _check_outputs_require_grad(outputs, strict)
        if v is not None:
            v = _prepare_v(v, "vjp", create_graph)
            _validate_v(v, outputs, outputs_are_tuple)
        elif len(outputs) != 1 or outputs[0]._data.size != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single "
                "Tensor with a single element.")
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        result = _zeros_where_missing(grads, inputs, strict, create_graph, "back")
    return (_unpack(_detach(outputs, create_graph), outputs_are_tuple),
            _unpack(_detach(result, create_graph), inputs_are_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product, shaped like the output.

    Computed with the double-backward trick: ``u -> J^T u`` is linear in ``u``, so its vjp
    with ``v`` is ``J v``. ``v`` may be omitted when the input has one element.
    """
    from ..factories import zeros_like

    with grad_mode.enable_grad():
        inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "jvp")
        inputs = _prepare_inputs(inputs, create_graph)
        v = _v_like_inputs(v, inputs, inputs_are_tuple, "jvp", create_graph)
        outputs_are_tuple, outputs = _tensor_tuple(
            func(*inputs), "outputs of the user-provided function", "jvp")
        _check_outputs_require_grad(outputs, strict)
        # A dummy cotangent u: J^T u is recorded as a function of u, then differentiated in u.
        cotangents = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grads = _grad(outputs, inputs, cotangents, create_graph=True)
        _check_grads_require_grad(grads, strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        forward = _grad(grads, cotangents, v, create_graph=create_graph)
        result = _zeros_where_missing(forward, outputs, strict, create_graph, "back_trick")
    return (_unpack(_detach(outputs, create_graph), outputs_are_tuple),
            _unpack(_detach(result, create_graph), outputs_are_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` has shape ``out_i.shape + in_j.shape``.

    A single tensor in and out gives one tensor; a tuple on either side gives a tuple over it
    (outputs outside, inputs inside). Rows are computed one output element at a time.

    ``vectorize`` is accepted and changes nothing (glassgrad has no vmap; the rows are computed
    one by one either way). ``strategy="forward-mode"`` is validated as PyTorch does (it needs
    ``vectorize=True`` and no ``create_graph``) and then computed in reverse mode, which gives
    the same Jacobian.
    """
    _check_strategy(strategy, create_graph, strict, vectorize)
    with grad_mode.enable_grad():
        inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare_inputs(inputs, create_graph)
        outputs_are_tuple, outputs = _tensor_tuple(
            func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_outputs_require_grad(outputs, strict)
        blocks = tuple(_jacobian_blocks(i, out, inputs, create_graph, strict)
                       for i, out in enumerate(outputs))
    blocks = tuple(_detach(row, create_graph) for row in blocks)
    return _unpack_nested(blocks, outputs_are_tuple, inputs_are_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar-valued ``func``: the Jacobian of its gradient.

    For one input tensor the result has shape ``in.shape + in.shape``; for a tuple of inputs it
    is a tuple of tuples, ``H[i][j]`` of shape ``in_i.shape + in_j.shape``.
    """
    inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_output(*xs):
        out = func(*xs)
        out_is_tuple, outs = _tensor_tuple(out, "outputs of the user-provided function", "hessian")
        _check_outputs_require_grad(outs, strict)
        _check_single_element(out_is_tuple, outs, "hessian")
        return out.reshape(())

    def gradient(*xs):
        grads = jacobian(scalar_output, xs, create_graph=True)
        _check_jacobian_requires_grad(grads, strict)
        return grads

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack_nested(result, inputs_are_tuple, inputs_are_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar-valued ``func``, shaped like ``inputs``."""
    with grad_mode.enable_grad():
        inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "vhp")
        inputs = _prepare_inputs(inputs, create_graph)
        v = _v_like_inputs(v, inputs, inputs_are_tuple, "vhp", create_graph)
        outputs_are_tuple, outputs = _scalar_outputs(func, inputs, strict, "vhp")
        grads = _grad(outputs, inputs, create_graph=True)
        _check_jacobian_requires_grad(grads, strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        second = _grad(grads, inputs, v, create_graph=create_graph)
        result = _zeros_where_missing(second, inputs, strict, create_graph, "double_back")
    return (_unpack(_detach(outputs, create_graph), outputs_are_tuple),
            _unpack(_detach(result, create_graph), inputs_are_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar-valued ``func``, shaped like ``inputs``.

    Uses the double-backward trick on the gradient (as PyTorch does), so it equals
    :func:`vhp` whenever the Hessian is symmetric.
    """
    from ..factories import zeros_like

    with grad_mode.enable_grad():
        inputs_are_tuple, inputs = _tensor_tuple(inputs, "inputs", "hvp")
        inputs = _prepare_inputs(inputs, create_graph)
        v = _v_like_inputs(v, inputs, inputs_are_tuple, "hvp", create_graph)
        outputs_are_tuple, outputs = _scalar_outputs(func, inputs, strict, "hvp")
        grads = _grad(outputs, inputs, create_graph=True)
        _check_jacobian_requires_grad(grads, strict)
        cotangents = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        # H^T u as a function of the dummy u; its vjp with v is H v.
        second = _grad(grads, inputs, cotangents, create_graph=True)
        _check_hessian_requires_grad(grads, strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        forward = _grad(second, cotangents, v, create_graph=create_graph)
        result = _zeros_where_missing(forward, inputs, strict, create_graph, "double_back_trick")
    return (_unpack(_detach(outputs, create_graph), outputs_are_tuple),
            _unpack(_detach(result, create_graph), inputs_are_tuple))


# ----- building blocks -----------------------------------------------------------------------
def _jacobian_blocks(i, out, inputs, create_graph, strict):
    """The Jacobian of one output with respect to each input, one backward per output element."""
    from .. import functional as F
    from ..factories import zeros

    rows = [[] for _ in inputs]
    for element in range(out._data.size):
        grads = _grad((out,), inputs, (_one_hot(out, element),), create_graph=create_graph,
                      retain_graph=True)
        for j, (g, x) in enumerate(zip(grads, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of input {j}. "
                        "This is not allowed in strict mode.")
                g = _zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(
                    f"The jacobian of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode when create_graph=True.")
            rows[j].append(g)
    shape = tuple(out.shape)
    if not out._data.size:
        # No rows to stack: an empty block of the right shape.
        return tuple(zeros(shape + tuple(x.shape), dtype=x.dtype) for x in inputs)
    return tuple(F.reshape(F.stack(r, 0), shape + tuple(x.shape)) for r, x in zip(rows, inputs))


def _one_hot(out, element):
    from ..tensor import Tensor

    array = np.zeros(out._data.shape, dtype=out._data.dtype)
    array.flat[element] = 1
    return Tensor._wrap(array)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that require grad; None for unused inputs."""
    from . import grad as autograd_grad

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(out, g) for out, g in zip(outputs, grad_outputs)
            if out is not None and out.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    return autograd_grad(tuple(out for out, _ in kept), inputs, tuple(g for _, g in kept),
                         retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


def _zeros_where_missing(grads, like, strict, create_graph, stage):
    """Replace missing (None) gradients by zeros, or refuse them in strict mode."""
    result = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT_MESSAGES[stage].format(i=i))
            g = _zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. This is "
                "not allowed in strict mode when create_graph=True.")
        result.append(g)
    return tuple(result)


_INDEPENDENT_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} "
                         "in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward mode "
                         "AD.",
}


def _zeros_like(x):
    from ..factories import zeros_like

    return zeros_like(x)


# ----- argument handling ---------------------------------------------------------------------
def _tensor_tuple(value, arg_name, fn_name):
    """``(was_a_tuple, value as a tuple)``, refusing anything but tensors."""
    from ..tensor import Tensor

    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for k, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {k}" if is_tuple else f"the given {arg_name}"
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                f"but {where} has type {type(item)}.")
    return is_tuple, items


def _prepare_inputs(inputs, create_graph):
    """Fresh leaves to differentiate with respect to; with create_graph, inputs that require
    grad stay connected to their graph (through a view) so the result can be differentiated."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad
                 else x.detach().requires_grad_(True) for x in inputs)


def _prepare_v(v, fn_name, create_graph):
    _, v = _tensor_tuple(v, "v", fn_name)
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach() for t in v)


def _v_like_inputs(v, inputs, inputs_are_tuple, fn_name, create_graph):
    """The ``v`` of jvp/hvp/vhp, checked against the inputs (optional for one-element inputs)."""
    if v is not None:
        v = _prepare_v(v, fn_name, create_graph)
        _validate_v(v, inputs, inputs_are_tuple)
        return v
    if len(inputs) != 1 or inputs[0]._data.size != 1:
        raise RuntimeError(
            "The vector v can only be None if the input to the user-provided function is a "
            "single Tensor with a single element.")
    return None


def _validate_v(v, like, like_is_tuple):
    if len(v) != len(like):
        if like_is_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(like)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for k, (t, ref) in enumerate(zip(v, like)):
        if t.shape != ref.shape:
            prefix = f"Entry {k} in " if like_is_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {ref.shape} but got {t.shape}.")


def _scalar_outputs(func, inputs, strict, fn_name):
    out = func(*inputs)
    is_tuple, outputs = _tensor_tuple(out, "outputs of the user-provided function", fn_name)
    _check_outputs_require_grad(outputs, strict)
    _check_single_element(is_tuple, outputs, fn_name)
    return is_tuple, outputs


def _check_single_element(is_tuple, outputs, fn_name):
    if is_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0]._data.size != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element")


def _check_strategy(strategy, create_graph, strict, vectorize):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".')
    if vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`.")
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                "implemented for `vectorize=True`.")


# ----- strict-mode checks --------------------------------------------------------------------
def _check_outputs_require_grad(outputs, strict):
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(
                    f"Output {i} of the user-provided function does not require gradients. The "
                    "outputs must be computed in a differentiable manner from the input when "
                    "running in strict mode.")


_GRAD_INDEPENDENT = (
    "The gradient with respect to input {i} is independent of the inputs of the user-provided "
    "function. This is not allowed in strict mode.")
_JACOBIAN_INDEPENDENT = (
    "While computing the hessian, found that the jacobian of the user-provided function with "
    "respect to input {i} is independent of the input. This is not allowed in strict mode. You "
    "should ensure that your function is twice differentiable and that the jacobian depends on "
    "the inputs (this would be violated by a linear function for example).")
_HESSIAN_INDEPENDENT = (
    "The hessian of the user-provided function with respect to input {i} is independent of the "
    "input. This is not allowed in strict mode. You should ensure that your function is thrice "
    "differentiable and that the hessian depends on the inputs.")


def _check_depends_on_inputs(grads, strict, message):
    """In strict mode, refuse derivatives that are missing or do not depend on the inputs."""
    if strict:
        for i, g in enumerate(grads):
            _refuse_independent(g, i)
            if not g.requires_grad:
                raise RuntimeError(message.format(i=i))


def _check_grads_require_grad(grads, strict):
    _check_depends_on_inputs(grads, strict, _GRAD_INDEPENDENT)


def _check_jacobian_requires_grad(grads, strict):
    _check_depends_on_inputs(grads, strict, _JACOBIAN_INDEPENDENT)


def _check_hessian_requires_grad(grads, strict):
    _check_depends_on_inputs(grads, strict, _HESSIAN_INDEPENDENT)


def _refuse_independent(g, i):
    if g is None:
        raise RuntimeError(
            f"The output of the user-provided function is independent of input {i}. This is "
            "not allowed in strict mode.")


# ----- result structure ----------------------------------------------------------------------
def _detach(tensors, create_graph):
    return tuple(tensors) if create_graph else tuple(t.detach() for t in tensors)


def _unpack(tensors, was_tuple):
    return tuple(tensors) if was_tuple else tensors[0]


def _unpack_nested(blocks, outer_was_tuple, inner_was_tuple):
    """Tuple of tuples -> the caller's structure (a tuple only where the caller passed one)."""
    if not inner_was_tuple:
        blocks = tuple(row[0] for row in blocks)
    return blocks if outer_was_tuple else blocks[0]
