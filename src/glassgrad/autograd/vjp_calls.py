"""One backward function per op, written from its record: how the engine calls an op's vjps.

A record's vjps say by their parameter names what they read (``g``, ``out``, inputs, params,
``xp``, ``i``). From those names this module writes, once per op and on its first backward, a
small Python function that takes a node and its incoming gradient and returns one gradient per
input (None where the input needs none): it fetches exactly the saved values each vjp reads,
checks that none of them was changed in place since the forward pass, and calls the vjp. Doing
this lookup once per op rather than once per node keeps the engine's per-node cost low, which is
most of the time on the small graphs of teaching examples.

The functions read ``op.vjps`` when they run, so anomaly mode's checking vjps take effect.

>>> from glassgrad.ops import REGISTRY
>>> print(backward_source(REGISTRY["mul"]))  # doctest: +NORMALIZE_WHITESPACE
def backward_mul(node, g, xp, create_graph):
    saved = node.saved_inputs
    if saved is None:
        raise RuntimeError(FREED_MESSAGE)
    vjps = op.vjps
    t0, t1, v0, v1 = saved
    if create_graph:
        a, b = t0, t1
    else:
        a, b = t0._data, t1._data
    if node.next0 is None:
        g0 = None
    else:
        vc = t1._vc
        if vc is not None and vc[0] != v1:
            raise modified(node, 1)
        g0 = vjps[0](g, b)
    if node.next1 is None:
        g1 = None
    else:
        vc = t0._vc
        if vc is not None and vc[0] != v0:
            raise modified(node, 0)
        g1 = vjps[1](g, a)
    return g0, g1
"""

from .graph import FREED_MESSAGE


def backward_function(op, output_tensor, modified):
    """The backward function for ``op``, made once and kept on the record.

    ``output_tensor(node)`` gives a differentiable stand-in for the node's output (used under
    ``create_graph``); ``modified(node, j)`` gives the error for saved value ``j`` (-1: the
    output) having been changed in place.
    """
    function = op.backward
    if function is None:
        namespace = {"op": op, "FREED_MESSAGE": FREED_MESSAGE, "output_tensor": output_tensor,
                     "modified": modified}
        exec(backward_source(op), namespace)  # noqa: S102 - our own text, from the record's names
        function = op.backward = namespace[f"backward_{_identifier(op.name)}"]
    return function


def backward_source(op):
    """The text of ``op``'s backward function (shown by the doctest above)."""
    lines = [f"def backward_{_identifier(op.name)}(node, g, xp, create_graph):"]
    add = lines.append
    used = {name for args in op.vjp_args for name in args}
    numbered = {f"{letter}{k}" for letter in "tvg" for k in range(len(op.inputs))}
    clash = (set(op.params) | {name for name, _ in op.save_inputs}) & (_LOCAL_NAMES | numbered)
    if clash:
        raise ValueError(f"op {op.name!r}: input or param names {sorted(clash)} are reserved")
    if op.variadic and op.saves:  # its saved tuple has a length known only per node
        raise ValueError(f"op {op.name!r}: a variadic op's vjp may not read saved values")
    if op.saves:
        add("    saved = node.saved_inputs")
        add("    if saved is None:")
        add("        raise RuntimeError(FREED_MESSAGE)")
    add("    vjps = op.vjps")
    if op.variadic:
        add("    nxt = node.next")
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
    if op.variadic:
        # One vjp for every input (cat, stack): i says which.
        call = _call(op, 0, "i")
        add("    return tuple(None if target is None else " + call + " for i, target in enumerate(nxt))")
        return "\n".join(lines)
    # one or two inputs are in the node's slots next0 and next1 (graph.Node)
    if len(op.inputs) > 2:
        add("    nxt = node.next")
    for k in range(len(op.inputs)):
        add(f"    if {f'node.next{k}' if len(op.inputs) <= 2 else f'nxt[{k}]'} is None:")
        add(f"        g{k} = None")
        add("    else:")
        for j in op.vjp_checks[k]:
            if j < 0:
                add("        if node.out_vc[0] != node.out_version:")
                add("            raise modified(node, -1)")
            else:
                add(f"        vc = t{j}._vc")
                add(f"        if vc is not None and vc[0] != v{j}:")
                add(f"            raise modified(node, {j})")
        add(f"        g{k} = {_call(op, k, str(k))}")
    add(f"    return {', '.join(f'g{k}' for k in range(len(op.inputs)))}"
        + ("," if len(op.inputs) == 1 else ""))
    return "\n".join(lines)


def _call(op, k, index):
    """The call of vjp ``k`` with its arguments by name (``i`` is the input's index)."""
    arguments = ", ".join(index if name == "i" else name for name in op.vjp_args[k])
    return f"vjps[{k}]({arguments})"


_LOCAL_NAMES = {"node", "g", "xp", "create_graph", "saved", "vjps", "nxt", "params", "out",
                "vc", "op", "i", "target", "modified", "output_tensor",
                "FREED_MESSAGE"}


def _identifier(name):
    return "".join(c if c.isalnum() else "_" for c in name)
