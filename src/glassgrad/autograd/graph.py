"""The recorded computation: one :class:`Node` per op application, and :func:`apply`.

``apply`` runs an op record's forward on NumPy arrays and, when gradients are being recorded,
creates the Node that backward will visit: the record, where each input's gradient goes, the
values the vjps will need, and their version numbers (to catch in-place changes). A node's
``next_functions`` and ``_saved_*`` attributes mirror PyTorch's, so graph tools written for
PyTorch can read it.
"""

import itertools

import numpy as np

from . import grad_mode

Tensor = None  # glassgrad.tensor sets this once the class exists (the modules import each other)
# The compiler's tracer while it records a call (glassgrad.compiler.trace), else None: one
# global read is all the op path pays when nothing is being traced.
tracer = None
_next_seq = itertools.count().__next__
_NO_PARAMS = {}


class Node:
    """A recorded op application: PyTorch's ``grad_fn``.

    Each (op, grad_fn name) pair has a subclass named like PyTorch's class (``DivBackward0``) with
    ``_saved_*`` properties for the saved values. Nodes are made as plain Nodes and take that
    class when first shown (:func:`expose`): Python 3.11 specializes attribute access per type,
    and a class per op made every node access in the op path and the engine polymorphic.
    """

    # ``constants`` (inputs needing no gradient, for the graph drawer's values) is set only when
    # there are any: a tuple with None where ``next`` has a node, or, from apply2, the one
    # constant tensor itself (no tuple: large graphs hold fewer objects for the GC to walk).
    # ``broadcast`` is set only for ops that may broadcast (``op.broadcasts``): bit k is set when
    # input k's gradient may need summing back to its shape or casting to its dtype (all bits,
    # -1, when the dtypes differ: a vjp mixing them may promote any input's gradient).
    # ``saved_inputs``: the inputs a vjp reads, then the version each had when saved, in one
    # tuple (a, b, version of a, version of b): one object fewer per node for the GC to track.
    # ``next`` (the inputs: a Node, a leaf Tensor, or None where no gradient is needed) keeps
    # one or two inputs in slots of their own, ``next0`` and ``next1`` (``_ONE`` when there is
    # one), and ``next_all`` None: a tuple per node was the largest share of the objects the
    # cycle collector walks in a scalar graph. Other counts are in ``next_all``.
    __slots__ = ("next0", "next1", "next_all", "params", "seq", "saved_inputs", "out_data",
                 "out_vc", "out_version", "out_shape", "out_dtype", "hooks", "constants",
                 "broadcast", "op", "creation_site", "__weakref__")
    grad_fn_name = None  # a named subclass's; a plain Node reads its op's

    @property
    def next(self):
        """The inputs, in order: a Node, a leaf Tensor, or None (no gradient needed)."""
        every = self.next_all
        if every is not None:
            return every
        second = self.next1
        return (self.next0,) if second is _ONE else (self.next0, second)

    @next.setter
    def next(self, inputs):
        count = len(inputs)
        if count == 1:
            self.next0, self.next1, self.next_all = inputs[0], _ONE, None
        elif count == 2:
            (self.next0, self.next1), self.next_all = inputs, None
        else:
            self.next_all = tuple(inputs)

    def name(self):
        """PyTorch's name for this backward function, e.g. ``DivBackward0``."""
        return self.grad_fn_name or self.op.grad_fn_name

    @property
    def freed(self):
        """True once backward has released the values this node saved."""
        return self.saved_inputs is None

    @property
    def versions(self):
        """The version number each saved input had when it was saved."""
        saved = self.saved_inputs
        return saved[len(saved) // 2:] if saved else ()

    @property
    def next_functions(self):
        """One ``(function, 0)`` pair per input, as in PyTorch (``None`` for constants)."""
        return tuple((AccumulateGrad(n) if isinstance(n, Tensor) else n and expose(n), 0)
                     for n in self.next)

    @property
    def pre_hooks(self):
        return self.hooks.pre_hooks if self.hooks is not None else None

    @property
    def retain(self):
        return self.hooks.retain if self.hooks is not None else None

    def _hooks(self):
        if self.hooks is None:
            self.hooks = _NodeHooks()
        return self.hooks

    def register_prehook(self, hook):
        """Call ``hook(grad)`` on the gradient of this node's output before its vjps run."""
        hooks = self._hooks().pre_hooks
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def saved_value(self, torch_name):
        for ours, theirs in self.op.torch_saved_names.items():
            if theirs != torch_name:
                continue
            if ours in self.params:
                return self.params[ours]
            if self.freed:
                raise RuntimeError(FREED_MESSAGE)
            if ours == "out":
                return Tensor._wrap(self.out_data)
            for name, k in self.op.save_inputs:
                if name == ours:
                    return self.saved_inputs[k].detach()
        raise AttributeError(f"{self.name()} has no saved value {torch_name!r}")

    def saved_values(self):
        """The values this node keeps for backward, by PyTorch's names (``self``, ``result``...)."""
        names = self.op.torch_saved_names
        return {names[n]: self.saved_value(names[n]) for n in self.op.saves + self.op.params}

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class _NodeHooks:
    """The rarely used parts of a node: tensor hooks and retain_grad."""

    __slots__ = ("pre_hooks", "retain")

    def __init__(self):
        self.pre_hooks = []
        self.retain = None


_node_classes = {}


def expose(node):
    """``node`` as PyTorch shows it: of its op's named class (``DivBackward0``) from now on."""
    if node.__class__.grad_fn_name is None:
        node.__class__ = node_class(node.op)  # the same slots: Python allows the switch
    return node


def node_class(op, name=None):
    """The named Node subclass for ``op`` under grad_fn name ``name`` (default: the record's)."""
    name = name or op.grad_fn_name
    cls = _node_classes.get((op.name, name))
    if cls is None:
        # torchviz and users read saved values as attributes: _saved_self, _saved_result, ...
        properties = {f"_saved_{theirs}": property(lambda self, t=theirs: self.saved_value(t))
                      for theirs in op.torch_saved_names.values()}
        # The class is named like PyTorch's (CopySlices for "torch::autograd::CopySlices").
        cls = type(name.split("::")[-1], (Node,),
                   {"__slots__": (), "grad_fn_name": name, **properties})
        _node_classes[(op.name, name)] = cls
    return cls


class AccumulateGrad:
    """The graph's view of a leaf tensor: where its gradient is accumulated."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self.variable):#x}>"


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling backward."
)


def version_of(t):
    vc = t._vc
    return vc[0] if vc is not None else 0


def apply(op, tensors, params=_NO_PARAMS, name=None):
    """Run ``op`` on ``tensors`` (glassgrad Tensors) and record it if any input needs a gradient."""
    if tracer is not None:
        return tracer.record_op(apply, op, tensors, params, name)
    if len(tensors) == 1 and not op.variadic:
        return apply1(op, tensors[0], params, name)
    arrays = [t._data for t in tensors]
    try:
        out = op.forward(*arrays, **params)
    except ValueError as error:
        raise broadcast_error(op, arrays, error) from None
    result = Tensor._wrap(out if out.__class__ is _ndarray else np.asarray(out))
    if grad_mode.enabled:
        for t in tensors:
            if t._requires_grad:
                record(op, tensors, params, result, name)
                break
    return result


def apply1(op, x, params=_NO_PARAMS, name=None):
    """``apply`` for one input: the hot path of unary and shape ops, kept flat like apply2."""
    if tracer is not None:
        return tracer.record_op(apply1, op, (x,), params, name)
    try:
        data = x._data
    except AttributeError:
        raise TypeError(f"{op.name}(): argument 'input' must be Tensor, not {type(x).__name__}") from None
    forward = op.forward  # specialized as an attribute load, not as a method load
    out = forward(data, **params) if params else forward(data)
    if out.__class__ is not _ndarray:
        out = np.asarray(out)
    result = _new_object(Tensor)
    result._data = out
    result._grad = result._vc = result._base = result._hooks = None
    view = op.is_view
    if view and (view is True or (out.base is not None and np.may_share_memory(out, data))):
        # A view shares its base's version counter, so in-place writes through it are seen.
        if x._vc is None:
            x._vc = [0]
        result._vc = x._vc
        result._base = x._base if x._base is not None else x
    if not x._requires_grad or not grad_mode.enabled or out.dtype.kind != "f":
        result._requires_grad = False
        result._grad_fn = None
        return result
    node = (op.node_class or Node)() if name is None else node_class(op, name)()
    node.op = op
    node.next0, node.next1, node.next_all = x._grad_fn or x, _ONE, None
    node.params = params
    node.seq = _next_seq()
    node.hooks = None
    if op.save_inputs:
        node.saved_inputs = (x, x._vc[0] if x._vc is not None else 0)
    else:
        node.saved_inputs = ()
    if op.saves_out:
        if result._vc is None:
            result._vc = [0]
        node.out_data, node.out_vc, node.out_version = out, result._vc, result._vc[0]
    node.out_shape = out.shape
    node.out_dtype = out.dtype
    if op.broadcasts:  # none of those has one input, but if one did: check in backward
        node.broadcast = -1
    result._grad_fn = node
    result._requires_grad = True
    return result


def apply2(op, a, b):
    """``apply`` for two inputs without params: the hot path of arithmetic, kept flat (no helper
    calls) because a training loop runs it millions of times."""
    if tracer is not None:
        return tracer.record_op(apply2, op, (a, b), _NO_PARAMS, None)
    forward = op.forward  # an attribute load (specialized), where op.forward(...) is a method load (not)
    try:
        out = forward(a._data, b._data)
    except ValueError as error:
        raise broadcast_error(op, (a._data, b._data), error) from None
    if out.__class__ is not _ndarray:
        out = np.asarray(out)
    result = _new_object(Tensor)
    result._data = out
    result._grad = result._vc = result._base = result._hooks = None
    a_grad, b_grad = a._requires_grad, b._requires_grad
    if not (a_grad or b_grad) or not grad_mode.enabled or out.dtype.kind != "f":
        result._requires_grad = False
        result._grad_fn = None
        return result
    node = op.node_class()
    node.op = op
    node.next0 = (a._grad_fn or a) if a_grad else None
    node.next1 = (b._grad_fn or b) if b_grad else None
    node.next_all = None
    if not (a_grad and b_grad):  # a number or data: kept so a drawing can show its value
        node.constants = b if a_grad else a
    node.params = _NO_PARAMS
    node.seq = _next_seq()
    node.hooks = None
    if op.save_inputs:
        node.saved_inputs = (a, b, a._vc[0] if a._vc is not None else 0,
                             b._vc[0] if b._vc is not None else 0)
    else:
        node.saved_inputs = ()
    if op.saves_out:
        result._vc = vc = [0]
        node.out_data, node.out_vc, node.out_version = out, vc, 0
    node.out_shape = shape = out.shape
    node.out_dtype = out.dtype
    if op.broadcasts:
        a, b = a._data, b._data
        dtype = out.dtype
        if a.dtype is not dtype or b.dtype is not dtype:
            node.broadcast = -1
        else:
            node.broadcast = (a.shape != shape) | (b.shape != shape) << 1
    result._grad_fn = node
    result._requires_grad = True
    return result


_new_object = object.__new__
_ndarray = np.ndarray  # a global: 3.11 can't specialize np.x (numpy has a module __getattr__)
_ONE = object()  # a node's next1 when it has one input


def record(op, tensors, params, result, name=None):
    """Attach a new Node to ``result``: the graph edge from ``tensors`` to it (the general
    path; apply1 and apply2 do the same inline)."""
    if result._data.dtype.kind != "f":
        return None  # integer and bool results carry no gradient (x.long(), comparisons)
    node = (op.node_class or Node)() if name is None else node_class(op, name)()
    node.op = op
    node.next = inputs = [(t._grad_fn or t) if t._requires_grad else None for t in tensors]
    if None in inputs:  # numbers or data: kept so an explanation can show their values
        node.constants = tuple([None if t._requires_grad else t for t in tensors])
    node.params = params
    node.seq = _next_seq()
    node.hooks = None
    if op.save_inputs:
        # Every input is kept (simpler than picking); versions catch later in-place changes.
        node.saved_inputs = (*tensors, *[t._vc[0] if t._vc is not None else 0 for t in tensors])
    else:
        node.saved_inputs = ()
    out = result._data
    if op.saves_out:
        if result._vc is None:
            result._vc = [0]
        node.out_data = out
        node.out_vc = result._vc
        node.out_version = result._vc[0]
    node.out_shape = out.shape
    node.out_dtype = out.dtype
    if op.broadcasts:
        node.broadcast = -1 if any(t._data.dtype != out.dtype for t in tensors) else sum(
            1 << k for k, t in enumerate(tensors) if t._data.shape != out.shape)
    result._grad_fn = node
    result._requires_grad = True
    return node


def broadcast_error(op, arrays, error):
    """Turn NumPy's broadcasting ValueError into one naming the op (a record or a name) and both shapes."""
    name = getattr(op, "name", op)
    if "broadcast" not in str(error) or len(arrays) < 2:
        return error
    shapes = [tuple(a.shape) for a in arrays]
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + s for s in shapes]
    for dim in range(ndim - 1, -1, -1):
        sizes = {p[dim] for p in padded} - {1}
        if len(sizes) > 1:
            a, b = padded[0][dim], padded[1][dim]
            return RuntimeError(
                f"{name}: shapes {shapes[0]} and {shapes[1]} don't broadcast: the size of "
                f"tensor a ({a}) must match the size of tensor b ({b}) at non-singleton "
                f"dimension {dim}")
    return RuntimeError(f"{name}: shapes {shapes} don't broadcast")
