"""One backward function per op, written from its record: how the engine calls an op's vjps.

A record's vjps say by their parameter names what they read (``g``, ``out``, inputs, params,
``xp``, ``i``). From those names this module writes, once per op and on its first backward, a
small Python function that takes a node and its incoming gradient and passes one gradient to
each input that needs one: it fetches exactly the saved values each vjp reads, checks that none
of them was changed in place since the forward pass, calls the vjp, sums the result back to the
input's shape where the forward pass broadcast, and adds it to what already flows into that
input (``buffers``), queueing a node on its first gradient (``heap``) and noting a leaf
(``leaves``). Doing the lookup and the routing once per op rather than once per node keeps the
engine's per-node cost low, which is most of the time on the small graphs of teaching examples.

The functions read ``op.vjps`` when they run, so anomaly mode's checking vjps take effect. A vjp
that is ``registry.unchanged`` (``a + b``'s, for each input) is not called: ``g`` is passed on
as it is, and it cannot make a nan or inf that ``g`` did not already hold.

>>> from glassgrad.ops import REGISTRY
>>> print(backward_source(REGISTRY["mul"]))  # doctest: +NORMALIZE_WHITESPACE
def backward_mul(node, g, xp, create_graph, buffers, heap, leaves):
    saved = node.saved_inputs
    if saved is None:
        raise RuntimeError(FREED_MESSAGE)
    vjps = op.vjps
    t0, t1, v0, v1 = saved
    if create_graph:
        a, b = t0, t1
    else:
        a, b = t0._data, t1._data
    target = node.next0
    if target is not None:
        vc = t1._vc
        if vc is not None and vc[0] != v1:
            raise modified(node, 1)
        gk = vjps[0](g, b)
        if node.broadcast & 1:
            gk = fit_to(gk, target, xp, create_graph)
        previous = buffers.get(target)
        if previous is None:
            buffers[target] = gk
            if target.__class__ is not Tensor and isinstance(target, Node):
                push(heap, (-target.seq, target))
            else:
                leaves[target] = None
        else:
            buffers[target] = previous + gk
    target = node.next1
    if target is not None:
        vc = t0._vc
        if vc is not None and vc[0] != v0:
            raise modified(node, 0)
        gk = vjps[1](g, a)
        if node.broadcast & 2:
            gk = fit_to(gk, target, xp, create_graph)
        previous = buffers.get(target)
        if previous is None:
            buffers[target] = gk
            if target.__class__ is not Tensor and isinstance(target, Node):
                push(heap, (-target.seq, target))
            else:
                leaves[target] = None
        else:
            buffers[target] = previous + gk
"""

from ..ops.registry import unchanged
from .graph import FREED_MESSAGE


def backward_function(op, helpers):
    """The backward function for ``op``, made once and kept on the record.

    ``helpers`` are the engine's names the function calls: ``output_tensor(node)`` (a
    differentiable stand-in for the node's output, under ``create_graph``), ``modified(node, j)``
    (the error for saved value ``j``, -1 for the output, changed in place), ``fit_to(g, target,
    xp, create_graph)`` (``g`` summed to the target's shape and dtype), ``push`` (heapq's), and
    the classes ``Tensor`` and ``Node``.
    """
    function = op.backward
    if function is None:
        namespace = {"op": op, "FREED_MESSAGE": FREED_MESSAGE, **helpers}
        exec(backward_source(op), namespace)  # noqa: S102 - our own text, from the record's names
        function = op.backward = namespace[f"backward_{_identifier(op.name)}"]
    return function


def backward_source(op):
    """The text of ``op``'s backward function (shown by the doctest above)."""
    lines = [f"def backward_{_identifier(op.name)}(node, g, xp, create_graph, buffers, heap, leaves):"]
    add = lines.append
    used = {name for args in op.vjp_args for name in args}
    numbered = {f"{letter}{k}" for letter in "tv" for k in range(len(op.inputs))}
    clash = (set(op.params) | {name for name, _ in op.save_inputs}) & (_LOCAL_NAMES | numbered)
    if clash:
        raise ValueError(f"op {op.name!r}: input or param names {sorted(clash)} are reserved")
    if op.variadic and op.saves:  # its saved tuple has a length known only per node
        raise ValueError(f"op {op.name!r}: a variadic op's vjp may not read saved values")
    if op.saves:
        add("    saved = node.saved_inputs")
        add("    if saved is None:")
        add("        raise RuntimeError(FREED_MESSAGE)")
    if any(vjp is not unchanged for vjp in op.vjps):
        add("    vjps = op.vjps")
    if op.params and used & set(op.params):
        add("    params = node.params")
        for name in op.params:
            if name in used:
                add(f"    {name} = params[{name!r}]")
    if op.saves_out:
        add("    out = output_tensor(node) if create_graph else node.out_data")
    if op.save_inputs:
        # the inputs, then their versions when saved (graph.Node)
        n = len(op.inputs)
        add(f"    {', '.join([f't{k}' for k in range(n)] + [f'v{k}' for k in range(n)])} = saved")
        names = ", ".join(name for name, _ in op.save_inputs)
        add("    if create_graph:")
        add(f"        {names} = {', '.join(f't{k}' for _, k in op.save_inputs)}")
        add("    else:")
        add(f"        {names} = {', '.join(f't{k}._data' for _, k in op.save_inputs)}")
    if op.variadic or len(op.inputs) > 2:
        # Any number of inputs (cat, stack: one vjp, told which input by i): a loop.
        add("    for position, target in enumerate(node.next):")
        add("        if target is None:")
        add("            continue")
        if op.variadic:
            add(f"        gk = {_call(op, 0, 'position')}")
        else:
            for k in range(len(op.inputs)):
                add(f"        {'if' if k == 0 else 'elif'} position == {k}:")
                _checks(add, op, k, "            ")
                add(f"            gk = {_call(op, k, str(k))}")
        _deliver(add, op, "        ", "1 << position")
        return "\n".join(lines)
    # one or two inputs are in the node's slots next0 and next1 (graph.Node)
    for k in range(len(op.inputs)):
        add(f"    target = node.next{k}")
        add("    if target is not None:")
        _checks(add, op, k, "        ")
        add(f"        gk = {_call(op, k, str(k))}")
        _deliver(add, op, "        ", str(1 << k))
    return "\n".join(lines)


def _checks(add, op, k, indent):
    """Raise if a saved value vjp ``k`` reads was changed in place since the forward pass."""
    for j in op.vjp_checks[k]:
        if j < 0:
            add(f"{indent}if node.out_vc[0] != node.out_version:")
            add(f"{indent}    raise modified(node, -1)")
        else:
            add(f"{indent}vc = t{j}._vc")
            add(f"{indent}if vc is not None and vc[0] != v{j}:")
            add(f"{indent}    raise modified(node, {j})")


def _deliver(add, op, indent, bit):
    """Add ``gk`` into what flows to ``target``; queue a node on its first gradient."""
    if op.broadcasts:  # graph.Node.broadcast: a bit per input
        add(f"{indent}if node.broadcast & {bit}:")
        add(f"{indent}    gk = fit_to(gk, target, xp, create_graph)")
    add(f"{indent}previous = buffers.get(target)")
    add(f"{indent}if previous is None:")
    add(f"{indent}    buffers[target] = gk")
    add(f"{indent}    if target.__class__ is not Tensor and isinstance(target, Node):")
    add(f"{indent}        push(heap, (-target.seq, target))")
    add(f"{indent}    else:")
    add(f"{indent}        leaves[target] = None")
    add(f"{indent}else:")
    add(f"{indent}    buffers[target] = previous + gk")


def _call(op, k, index):
    """The call of vjp ``k`` with its arguments by name (``i`` is the input's index); ``g``
    itself for the vjp ``unchanged``."""
    if op.vjps[k] is unchanged:
        return "g"
    arguments = ", ".join(index if name == "i" else name for name in op.vjp_args[k])
    return f"vjps[{k}]({arguments})"


_LOCAL_NAMES = {"node", "g", "xp", "create_graph", "buffers", "heap", "leaves", "saved", "vjps",
                "params", "out", "vc", "op", "i", "position", "target", "gk", "previous",
                "modified", "output_tensor", "fit_to", "push", "Tensor", "Node", "FREED_MESSAGE"}


def _identifier(name):
    return "".join(c if c.isalnum() else "_" for c in name)
