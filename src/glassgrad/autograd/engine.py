"""Reverse-mode differentiation: walk the recorded graph from the outputs back to the leaves.

Nodes are visited in decreasing creation order, which is a reverse topological order (a node is
always created after its inputs) and the order PyTorch's engine uses, so float32 sums of
gradients agree with PyTorch's bit for bit. The walk is iterative: a chain of a million ops
needs no recursion. Gradients are kept per node in a dict keyed by identity, summed where a value
fans out, and reduced to each input's shape where the forward pass broadcast: each op's backward
function (written from its record by ``vjp_calls.py``) does that for its inputs. In anomaly mode
(``anomaly.py``) the vjps are checking wrappers; the engine adds to their error the node, and so
the line that created it.
"""

import heapq
import sys

import numpy as np

from ..ops.namespaces import numpy_ns, tensor_ns
from . import grad_mode
from .anomaly import AnomalyError
from .graph import Node
from .vjp_calls import backward_function

Tensor = None  # set by glassgrad.tensor


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Backpropagate ``grad_outputs`` from ``outputs``.

    With ``inputs`` None, gradients accumulate into the leaves' ``.grad`` (``backward()``).
    Otherwise the gradients of ``inputs`` are returned and nothing is accumulated
    (``autograd.grad``).
    """
    previous_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    try:
        return _run(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused)
    finally:
        grad_mode.enabled = previous_mode


def _run(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused):
    # Dicts keyed by the nodes and leaves themselves: both hash by identity.
    buffers = {}  # node or leaf -> summed gradient flowing into it
    leaves = {}   # the leaves, in the order their first gradient arrived
    heap = []     # (-seq, node): a max-heap on creation order
    for k, out in enumerate(outputs):
        g = grad_outputs[k]
        key = out._grad_fn
        if key is not None:
            if key not in buffers:
                heap.append((-key.seq, key))
        elif out._requires_grad:
            key = out
            leaves[key] = None
        else:
            raise RuntimeError(
                f"element {k} of tensors does not require grad and does not have a grad_fn")
        buffers[key] = g if key not in buffers else buffers[key] + g

    capture = None
    if inputs is not None:
        # For a non-leaf input, its gradient is what flows into the node that produced it.
        capture = {t._grad_fn if t._grad_fn is not None else t: None for t in inputs}

    xp = tensor_ns if create_graph else numpy_ns
    # A node is popped only after every node that consumed its output (all created later):
    # PyTorch's order, with no separate topological sort. A node is queued when its first
    # gradient arrives.
    heapq.heapify(heap)
    pop = heapq.heappop
    while heap:
        node = pop(heap)[1]
        g = buffers.pop(node)
        if node.hooks is not None:
            g = _run_node_hooks(node, g, create_graph)
        if capture is not None and node in capture:
            capture[node] = g
        op = node.op
        try:  # free when nothing is raised (Python 3.11): anomaly mode costs nothing when off
            # The op's backward function passes each input its gradient (vjp_calls.py).
            (op.backward or backward_function(op, _helpers()))(
                node, g, xp, create_graph, buffers, heap, leaves)
        except AnomalyError as error:  # raised only by anomaly mode's checking vjps
            error.attach_node(node, error.input_index)
            raise
        if not retain_graph:
            node.saved_inputs = node.out_data = None  # frees the graph; node.freed is True

    for leaf in leaves:
        g = buffers.pop(leaf)
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
        if capture is not None:
            if leaf in capture:
                capture[leaf] = g
        else:
            # Referenced by this local alone (and getrefcount's argument): nothing else can see it.
            unshared = sys.getrefcount(g) == 2
            _accumulate_into_leaf(leaf, g, create_graph, unshared)

    if capture is None:
        return None
    results = []
    for k, t in enumerate(inputs):
        g = capture[t._grad_fn if t._grad_fn is not None else t]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {k}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior.")
            results.append(None)
        else:
            results.append(g if create_graph else Tensor._wrap(_own(g, t._data.dtype)))
    return tuple(results)


def _helpers():
    """What the generated backward functions call (vjp_calls.backward_function)."""
    return {"output_tensor": _output_tensor, "modified": _modified, "fit_to": _fit_to,
            "push": heapq.heappush, "Tensor": Tensor, "Node": Node}


def _fit_to(gi, target, xp, create_graph):
    """A gradient summed over the axes its input (``target``, a node or a leaf) was broadcast
    along, in the input's dtype."""
    if target.__class__ is not Tensor and isinstance(target, Node):
        shape, dtype = target.out_shape, target.out_dtype
    else:
        shape, dtype = target._data.shape, target._data.dtype
    array = gi._data if create_graph else gi
    if array.shape != shape:
        gi = xp.sum_to(gi, shape)
    if array.dtype is not dtype and array.dtype != dtype:
        gi = xp.astype(gi, dtype)
    return gi


def _output_tensor(node):
    # A differentiable stand-in for the node's output: same values, produced by the same node.
    t = Tensor._wrap(node.out_data)
    t._grad_fn = node
    t._requires_grad = True
    return t


def _modified(node, j):
    """The error for saved value ``j`` of ``node`` (-1: its output) changed in place since."""
    if j < 0:
        return _modified_error(node, "out", node.out_shape, node.out_vc[0], node.out_version)
    saved = node.saved_inputs[j]
    return _modified_error(node, node.op.inputs[j], saved._data.shape, saved._vc[0], node.versions[j])


def _modified_error(node, name, shape, now, then):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: the {name!r} input of {node.name()} (a tensor of shape {list(shape)}) is at "
        f"version {now}; expected version {then} instead. Use an out-of-place op (x = x + 1 "
        "rather than x += 1) or clone() the tensor before changing it.")


def _own(g, dtype):
    """A fresh, writable array: vjps may return views or arrays shared with other gradients."""
    return np.array(g, dtype=dtype, copy=True)


def _accumulate_into_leaf(leaf, g, create_graph, unshared):
    """Add ``g`` to ``leaf.grad``. An ``unshared`` g (no other reference) that owns its memory
    becomes the new ``.grad`` as it is: W2's 784 x 256 gradient is not copied every step."""
    if create_graph:
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif leaf._grad is None:
        dtype = leaf._data.dtype
        if not (unshared and g.__class__ is np.ndarray and g.base is None and g.dtype == dtype
                and g.flags.writeable):
            g = _own(g, dtype)
        leaf._grad = Tensor._wrap(g)
    else:
        # In place, like PyTorch: code holding a reference to x.grad sees the new sum.
        grad = leaf._grad
        grad._data += g
        vc = grad._vc  # grad._bump_version(), inline
        if vc is None:
            grad._vc = [1]
        else:
            vc[0] += 1


def _as_tensor(g, create_graph):
    return g if create_graph else Tensor._wrap(np.asarray(g))


def _run_hooks(hooks, g, create_graph):
    for hook in list(hooks):
        result = hook(_as_tensor(g, create_graph))
        if result is None:
            continue
        name = getattr(hook, "__name__", "hook")
        if not isinstance(result, Tensor):
            raise TypeError(f"hook {name!r} returned a {type(result).__name__}; a tensor hook must "
                            "return a Tensor or None")
        if result._data.shape != np.shape(g._data if create_graph else g):
            raise RuntimeError(
                f"hook {name!r} has changed the size of value: the gradient has shape "
                f"{list(np.shape(g._data if create_graph else g))}, the hook returned {list(result.shape)}")
        g = result if create_graph else result._data
    return g


def _run_node_hooks(node, g, create_graph):
    if node.pre_hooks:
        g = _run_hooks(node.pre_hooks, g, create_graph)
    if node.retain is not None:
        t = node.retain()
        if t is not None:
            if create_graph:
                t._grad = g if t._grad is None else t._grad + g
            elif t._grad is None:
                t._grad = Tensor._wrap(_own(g, t._data.dtype))
            else:
                t._grad = Tensor._wrap(t._grad._data + g)
    return g
