"""What a recorded graph knows: the functions reachable from the outputs, and their values.

Backward nodes keep only the values their vjps need, so the forward value behind a node is
gathered from wherever it survives (the node's saved output, a consumer's saved input, the
leaf itself) and the rest is recomputed with the op record's own forward.
"""


def function_key(fn):
    """A stable identity for a backward function.

    glassgrad makes a fresh AccumulateGrad on each ``next_functions`` access, so a leaf's
    accumulator is identified by its tensor.
    """
    variable = getattr(fn, "variable", None)
    return ("leaf", id(variable)) if variable is not None else ("fn", id(fn))


def inputs_of(fn):
    """``fn``'s input functions, in order (None for inputs that need no gradient)."""
    return [entry[0] for entry in getattr(fn, "next_functions", ())]


def reachable_functions(roots):
    """Every function reachable from ``roots``, each once, inputs after their consumers.

    Iterative, not recursive: a graph a million ops deep must not overflow the stack.
    """
    seen, order = set(), []
    stack = list(reversed([fn for fn in roots if fn is not None]))
    while stack:
        fn = stack.pop()
        key = function_key(fn)
        if key in seen:
            continue
        seen.add(key)
        order.append(fn)
        stack.extend(reversed([u for u in inputs_of(fn) if u is not None]))
    return order


def forward_values(outputs):
    """The forward value (a NumPy array) behind each reachable function, by ``function_key``,
    plus ``("const", id(node), k)`` entries for constant inputs a node saved."""
    functions = reachable_functions([t.grad_fn for t in outputs])
    values = {}
    for fn in functions:
        variable = getattr(fn, "variable", None)
        if variable is not None:
            values[function_key(fn)] = variable._data
    for fn in functions:
        _record_saved_inputs(fn, values)
        out = _saved_output(fn)
        if out is not None:
            values[function_key(fn)] = out
    for t in outputs:
        if t.grad_fn is not None:
            values[function_key(t.grad_fn)] = t._data
    nodes = [fn for fn in functions if getattr(fn, "op", None) is not None]
    for fn in sorted(nodes, key=lambda node: node.seq):  # creation order: inputs come first
        if function_key(fn) not in values:
            _recompute(fn, values)
    return values


def _record_saved_inputs(node, values):
    # Inputs that need no gradient (numbers, data) are kept by the node as they are: a tuple,
    # or one tensor standing where ``next`` has None (graph.Node).
    constants = getattr(node, "constants", None)
    if constants is None:
        constants = ()
    elif constants.__class__ is not tuple:
        constants = tuple(constants if entry is None else None for entry in node.next)
    for k, tensor in enumerate(constants):
        if tensor is not None:
            values[("const", id(node), k)] = tensor._data
    saved = getattr(node, "saved_inputs", None)
    if not saved or len(saved) != 2 * len(inputs_of(node)):  # the inputs, then their versions
        return  # nothing saved, or freed by backward
    for k, (fn, tensor, version) in enumerate(zip(inputs_of(node), saved, node.versions)):
        if tensor._version != version:
            continue  # changed in place since: not the value this graph saw
        key = function_key(fn) if fn is not None else ("const", id(node), k)
        values[key] = tensor._data


def _saved_output(node):
    out = getattr(node, "out_data", None)
    if out is None or node.freed or node.out_vc[0] != node.out_version:
        return None
    return out


def _recompute(node, values):
    keys = [function_key(fn) if fn is not None else ("const", id(node), k)
            for k, fn in enumerate(inputs_of(node))]
    if any(key not in values for key in keys):
        return
    try:
        values[function_key(node)] = node.op.forward(*[values[key] for key in keys],
                                                     **(node.params or {}))
    except Exception:  # a drawing must not fail because one value could not be recomputed
        pass
