"""From a finished trace to a Python function: prune, fold constants, guard, write source, exec.

The program has four parts, in this order: guards (the facts the trace was specialised on: the
argument kinds, shapes and dtypes, which tensors need gradients, what the function's names are
bound to; when one fails the program returns ``RETRACE`` and the caller traces again), reading
the inputs' arrays, the traced NumPy lines, and writing back (new ``.grad`` tensors, version
counters, the returned tensors).
"""

import collections
import linecache
import re

import numpy as np

from ..autograd import grad_mode, graph
from ..tensor import Tensor
from .symbolic import Sym, Untraceable

RETRACE = object()  # what a program returns when its guards don't hold for the call
_SCALAR_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # IEEE alike as scalars and arrays
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\d[\w.]*|[A-Za-z_]\w*")  # strings, numbers, names
# A temporary this large is deleted after the last line that reads it, so its memory is reused
# by the lines after (as the eager engine frees activations during backward); smaller ones are
# left to the return, where a del would cost more time than the memory is worth.
RELEASE_BYTES = 1 << 16


def make_tensor(data, requires_grad=False, grad_fn=None, grad=None, version=0, _new=object.__new__):
    """A Tensor around ``data`` with the given autograd state (the programs' one helper)."""
    t = _new(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t._grad_fn = grad_fn
    t._grad = grad
    t._vc = [version] if version else None
    t._base = t._hooks = None
    return t


class _FreedOp:
    """The record-like part of FreedGraph: its backward says the graph was freed."""

    name = "freed_graph"

    @staticmethod
    def backward(node, g, xp, create_graph, buffers, heap, leaves):
        raise RuntimeError(graph.FREED_MESSAGE)


class FreedGraph(graph.Node):
    """Where a stand-in's inputs lead: backward through it says the graph was freed, as eager's
    second backward through a used graph does."""

    __slots__ = ()
    op = _FreedOp
    grad_fn_name = "FreedGraph"


_FREED_GRAPH = FreedGraph()
_FREED_GRAPH.next, _FREED_GRAPH.seq, _FREED_GRAPH.hooks, _FREED_GRAPH.saved_inputs = (), -1, None, None


def _stand_in(node):
    """A copy of a returned tensor's (freed) grad_fn that does not hold on to the rest of the
    traced graph: the same class, so the same name and printing, with its inputs cut. Keeping
    the traced node itself would keep every node of the trace alive (34,000 for W3) for as long
    as the program lives, and the garbage collector would walk them all."""
    copy = object.__new__(type(node))
    for slot in graph.Node.__slots__:
        if slot != "__weakref__" and hasattr(node, slot):
            setattr(copy, slot, getattr(node, slot))
    copy.next = tuple(None if n is None else _FREED_GRAPH for n in node.next)
    copy.hooks = None
    return copy


class CallSpec:
    """What the program's guards check about the call besides its tensors."""

    def __init__(self, function_name, parameters, arg_guards, name_guards, namespace):
        self.function_name = function_name
        self.parameters = parameters    # the def line's parameter list, as source
        self.arg_guards = arg_guards    # source conditions (each True when the call differs)
        self.name_guards = name_guards  # (lookup source, object) for the function's own names
        self.namespace = namespace      # objects the guards refer to (_g, cells)


class Program:
    """A compiled specialisation: its source, the function exec'd from it, and the trace."""

    def __init__(self, source, function, namespace, tracer, result):
        self.source = source
        self.function = function
        self.namespace = namespace
        self.tracer = tracer
        self.result = result


def build(tracer, result, spec, counter):
    return _Generator(tracer, result, spec).program(counter)


class _Generator:
    def __init__(self, tracer, result, spec):
        self.tracer = tracer
        self.builder = tracer.builder
        self.result = result
        self.spec = spec
        self.epilogue = []
        self.escaping = []        # Syms that leave the program (in tensors it returns or stores)
        self._made = {}           # id(tensor) -> variable holding its materialised Tensor
        self.folded = []          # lines run once at the trace (their values are constants)
        self.namespace = {"np": np, "RETRACE": RETRACE, "_make": make_tensor, "Tensor": Tensor,
                          "_grad_mode": grad_mode}

    # ----- writing back -------------------------------------------------------------------------
    def _ref(self, tensor):
        """Source for a tensor that leaves the program: an input's own object, or a new one."""
        free = self.tracer.free.get(id(tensor))
        if free is not None:
            return free.ref
        if id(tensor) not in self.tracer.created:
            self.tracer.touch(tensor)  # returned untouched: an input all the same
            return self.tracer.free[id(tensor)].ref
        made = self._made.get(id(tensor))
        if made is not None:
            return made
        sym = self.tracer.syms.get(id(tensor._data))
        if sym is None:
            raise Untraceable("a returned tensor holds an array no traced operation produced")
        node = tensor._grad_fn
        if node is not None and node.saved_inputs is not None:
            raise Untraceable("the function returns a tensor whose autograd graph is still alive, so "
                              "backward() could be called on it later; call backward() inside the "
                              "compiled function, or compute the value under no_grad()")
        grad = "None" if tensor._grad is None else self._ref(tensor._grad)
        node_name = "None" if node is None else self.builder.constant(_stand_in(node), "node")
        self.escaping.append(sym)
        name = self.builder.new_name("out")
        self._made[id(tensor)] = name
        # A constant handed out must be a copy: the caller may change it in place.
        data = f"{sym.name}.copy()" if sym.root.kind == "fixed" else sym.name
        self.epilogue.append(f"{name} = _make({data}, {tensor._requires_grad}, {node_name}, {grad}, "
                             f"{graph.version_of(tensor)})")
        return name

    def _render_output(self, value):
        if isinstance(value, Tensor):
            return self._ref(value)
        cls = value.__class__
        if cls is tuple:
            items = [self._render_output(v) for v in value]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if cls is list:
            return f"[{', '.join(self._render_output(v) for v in value)}]"
        if cls is dict:
            return "{" + ", ".join(f"{self.builder.render(k, [])}: {self._render_output(v)}"
                                   for k, v in value.items()) + "}"
        return self.builder.render(value, [])

    def _write_back(self):
        """.grad slots that now hold other tensors, and version counters that moved."""
        for free in list(self.tracer.free_order):
            tensor = free.tensor
            if tensor._data is not free.array:
                raise Untraceable(f"the function replaces {free.name}.data; change it in place instead")
            if tensor._requires_grad != free.requires_grad or (tensor._grad_fn is None) != free.is_leaf:
                raise Untraceable(f"the function changes whether {free.name} requires grad, or makes it "
                                  "part of a graph")
            if free.kind != "grad" and tensor._grad is not free.grad:
                value = "None" if tensor._grad is None else self._ref(tensor._grad)
                self.epilogue.append(f"{free.ref}._grad = {value}")
        seen = set()
        self.version_guards = []
        for free in self.tracer.free_order:
            vc = free.tensor._vc
            delta = graph.version_of(free.tensor) - free.version
            if delta and id(vc) not in seen:
                seen.add(id(vc))
                # in-place changes count on the tensor's version counter, as they do eagerly
                if free.kind == "captured":
                    # the program's own tensor object: its counter, once made (at the latest by
                    # the traced call's own in-place change), stays that list
                    self.namespace[f"{free.ref}_vc"] = vc
                    self.epilogue.append(f"{free.ref}_vc[0] += {delta}  # version counter")
                elif free.had_counter and free.kind == "grad":
                    # a parameter's counter, once made, stays: one guard, one line
                    self.version_guards.append(f"{free.ref}._vc is None")
                    self.epilogue.append(f"{free.ref}._vc[0] += {delta}  # version counter")
                else:
                    self.epilogue.append(f"_vc = {free.ref}._vc  # version counter")
                    self.epilogue.append(f"if _vc is None: {free.ref}._vc = [{delta}]")
                    self.epilogue.append(f"else: _vc[0] += {delta}")

    # ----- pruning -------------------------------------------------------------------------------
    def _fold_constants(self, statements):
        """Arrays that are the same at every call (made only from fixed constants: the ones of
        loss.backward() spread by a mean's vjp, 1/n...) become constants: their lines run once,
        now. Not those read before their last write, nor those that leave the program (callers
        may change those in place)."""
        unsafe = {e.root for e in self.escaping}
        last_write = {}
        for i, s in enumerate(statements):
            if s.writes is not None:
                last_write[s.writes.root] = i
        foldable = {}
        for i, s in enumerate(statements):
            for r in s.reads:
                root = r.root
                if not r.is_static() or root.kind == "input":
                    continue
                if root in unsafe:
                    foldable[root] = False
                elif not (s.writes is not None and s.writes.root is root) and i <= last_write.get(root, -1):
                    foldable[root] = False  # read while it is still being filled
                else:
                    foldable.setdefault(root, True)
        fold = {root for root, ok in foldable.items() if ok}
        kept = []
        for s in statements:
            roots = {t.root for t in s.targets}
            if s.writes is not None:
                roots.add(s.writes.root)
            if roots and roots <= fold and not s.guard and all(r.is_static() for r in s.reads):
                self.folded.append(s.line())  # computed once, at the trace: shown as a comment
                continue
            kept.append(s)
        for s in kept:
            for r in s.reads:
                if r.root in fold:
                    r.kind = "fixed"
                    self.builder.constants[r.name] = r.value
        return kept

    def _prune(self, statements):
        """Drop lines whose results nobody reads and whose writes nobody sees (reverse pass)."""
        live = set(self.escaping)
        live_roots = {s.root for s in live} | {f.sym for f in self.tracer.free_order}
        kept = []
        for s in reversed(statements):
            needed = s.guard or any(t in live for t in s.targets) or \
                (s.writes is not None and s.writes.root in live_roots)
            if not needed:
                continue
            kept.append(s)
            for r in s.reads:
                live.add(r)
                live_roots.add(r.root)
            if s.writes is not None:
                live.add(s.writes)
        kept.reverse()
        return kept, live

    def _share_repeated_values(self, statements):
        """A line that computes what an earlier line computed (the same text: the same call on
        the same variables, none of them written in between) becomes ``t9 = t3``: log-softmax's
        backward recomputes its forward's pieces, a square's two gradients are one product.
        Only for new arrays that no line writes and that do not leave the program, so that the
        two names can share one array; the later one is then treated as a view of the earlier."""
        written = {s.writes.root for s in statements if s.writes is not None}
        unshareable = written | {e.root for e in self.escaping}
        # Texts are compared with each name read as the first of its equals: a shared array's
        # later name as the earlier one, a number constant (inf0) as the first with its value.
        canonical, first_of = {}, {}
        for name, value in self.builder.constants.items():
            if isinstance(value, (int, float, np.generic)) and not isinstance(value, bool):
                # by type and bits: -0.0 is not 0.0, NaNs differ by payload
                floating = isinstance(value, (float, np.generic))
                bits = np.asarray(value).tobytes() if floating else repr(value)
                canonical[name] = first_of.setdefault((type(value), bits), name)

        def key(text):  # only names are replaced, not words inside strings or numbers
            return _TOKEN.sub(lambda m: canonical.get(m.group(0), m.group(0)), text)
        available = {}  # canonical text -> (Sym, roots it reads)
        for s in statements:
            if s.writes is not None:
                changed = s.writes.root
                available = {text: entry for text, entry in available.items()
                             if changed not in entry[1] and entry[0].root is not changed}
                continue
            if s.guard or len(s.targets) != 1:
                continue
            target = s.targets[0]
            if target.kind != "temp" or target.root is not target or target in unshareable:
                continue
            text = key(s.text)
            earlier = available.get(text)
            if earlier is None:
                available[text] = (target, {r.root for r in s.reads})
                continue
            source = earlier[0]
            canonical[target.name] = source.name
            note = f"the same as {source.name}"
            s.comment = f"{s.comment} ({note})" if s.comment else note
            s.text, s.reads, s.arithmetic = source.name, (source,), None
            target.root = source  # one array, two names: a write to either is a write to both

    def _adopt_fresh_gradients(self, statements):
        """A new .grad is written ``np.array(g, copy=True)``. When ``g`` is this call's own
        temporary (not a view, not a constant, not returned) of the right dtype and no later line
        or other .grad reads it, the copy is dropped: the .grad is ``g`` itself, as the eager
        engine does for a gradient nothing else holds (W2's 784 x 256 weight)."""
        position = {id(s): i for i, s in enumerate(statements)}
        last_read = {}
        for i, s in enumerate(statements):
            for r in s.reads:
                last_read[r.root] = i
        kept = [(s, g) for s, g in self.tracer.grad_copies if id(s) in position]
        uses = collections.Counter(g.root for _, g in kept)
        escaping = {e.root for e in self.escaping}
        for statement, g in kept:
            new = statement.targets[0]
            if (g.kind == "temp" and g.root is g and not g.is_static() and uses[g] == 1
                    and g not in escaping and last_read.get(g) == position[id(statement)]
                    and isinstance(g.value, np.ndarray) and g.value.dtype == new.value.dtype):
                statement.text = g.name
                statement.comment += " (the gradient itself: nothing else reads it)"

    def _scalar_arithmetic(self, statements):
        """One-element float arithmetic on NumPy scalars instead of 0-d arrays: ``a * b`` costs
        0.5 us as a ufunc on two 0-d arrays and 0.05 us on two float32 scalars, the same IEEE
        operation (a fit's per-parameter update is a few of these).

        First, a 0-d array made from a scalar (``np.asarray(t)``, a gradient's fresh copy) that
        only arithmetic reads, and that is neither written nor returned, is the scalar itself:
        arithmetic gives the same value and type either way. Then each ``a op b`` (+ - * /) of
        two 0-d values of one float dtype reads its arrays as scalars: ``x[()]``, or a scalar
        constant for a fixed one; the result was a scalar before and is one after. A one-element
        update ``b[...] = b - t`` (a bias of shape (1,)) becomes ``b[0] = b[0] - t[0]``: 0.17 us
        against 0.52; and a one-element product only such updates read (``t = g * lr``) is
        computed as a scalar too."""
        written = {s.writes.root for s in statements if s.writes is not None}
        escaping = {e.root for e in self.escaping}
        readers = collections.defaultdict(list)
        for s in statements:
            for r in s.reads:
                readers[r].append(s)
        scalars = {}  # Sym -> source for its value as a NumPy scalar
        aliases = []  # (line, Sym) for ``t8 = t7`` lines made below
        for s in statements:
            if len(s.targets) == 1 and len(s.reads) == 1 and s.text.startswith(("np.asarray(", "np.array(")):
                made, source = s.targets[0], s.reads[0]
                if (isinstance(source.value, np.generic) and source.value.dtype == made.value.dtype
                        and made.root is made and made not in written):
                    scalars[made] = source.name  # the scalar it was made from, read directly
                    if (made.kind == "temp" and made not in escaping and readers[made]
                            and all(r.arithmetic is not None for r in readers[made])):
                        s.text = source.name
                        note = "kept a NumPy scalar: only arithmetic reads it"
                        s.comment = f"{s.comment} ({note})" if s.comment else note
                        aliases.append((s, made))
            if s.arithmetic is None:
                continue
            template, operands = s.arithmetic
            if not all(isinstance(o, Sym) and isinstance(o.value, (np.ndarray, np.generic))
                       and o.value.size == 1 for o in operands):
                continue
            dtypes = {o.value.dtype for o in operands}
            if len(dtypes) != 1 or dtypes.pop() not in _SCALAR_DTYPES:
                continue
            # An update writes one element whatever its operands' shapes. An expression keeps
            # its result's type if every operand is 0-d, or else if only updates read it.
            if "{index}" not in template and not all(o.value.shape == () for o in operands):
                made = s.targets[0]
                if (made.kind != "temp" or made.root is not made or made in written
                        or made in escaping or not readers[made]
                        or not all(r.arithmetic is not None and "{index}" in r.arithmetic[0]
                                   for r in readers[made])):
                    continue
                scalars[made] = made.name
            s.text = template.format(*(self._as_scalar(o, scalars, written) for o in operands),
                                     index=_first_index(operands[0].value))
        # an alias every reader now reads through (``t7 / t9`` for ``t8 / t10``) is not needed
        unread = {id(s) for s, made in aliases if not any(
            made.name in _TOKEN.findall(r.text) for r in readers[made])}
        statements[:] = [s for s in statements if id(s) not in unread]

    def _as_scalar(self, sym, scalars, written):
        """Source for ``sym``'s one value as a NumPy scalar (see _scalar_arithmetic)."""
        known = scalars.get(sym)
        if known is None:
            if isinstance(sym.value, np.generic):
                known = sym.name
            elif sym.kind == "fixed" and sym.root not in written and sym.name in self.builder.constants:
                # the same at every call: the scalar is made once, now
                value = self.builder.constants[sym.name]
                known = self.builder.constant(value[(0,) * value.ndim], f"{sym.name}_s")
            else:
                known = f"{sym.name}[{_first_index(sym.value)}]"
            scalars[sym] = known
        return known

    # ----- the source ------------------------------------------------------------------------------
    def _hoist_view(self, statement, captured):
        """``t = w.T`` (or another view) of a captured array ``w``: that view is made once, now,
        and used while ``w`` is still the traced array (it sees every later write to it)."""
        view = statement.targets[0].view_of if len(statement.targets) == 1 else None
        free = captured.get(id(view[0])) if view is not None else None
        if free is not None:
            b = self.builder
            source, method, args = view
            suffix = "T" if method == "transpose" else "0d"
            made = b.constant(getattr(free.array, method)(*args), f"{free.name}_{suffix}")
            traced = b.constant(free.array, f"{free.ref}_traced")
            statement.text = f"{made} if {free.name} is {traced} else {statement.text}"

    def program(self, counter):
        tracer, b = self.tracer, self.builder
        output = self._render_output(self.result)
        self._write_back()
        statements = self._fold_constants(b.statements)
        statements, live = self._prune(statements)
        self._share_repeated_values(statements)
        self._adopt_fresh_gradients(statements)
        self._scalar_arithmetic(statements)
        written_roots = {s.writes.root for s in statements if s.writes is not None}
        _check_value_checks(statements)
        for root in written_roots:
            if root.kind == "const":
                raise Untraceable("the function writes into a NumPy array it did not create")
        copies = [root for root in written_roots if root.kind == "fixed"]

        frees = tracer.free_order
        args = [f for f in frees if f.kind == "arg"]
        grads = [f for f in frees if f.kind == "grad"]
        used = {s for s in live if s.kind == "input"}

        lines = []
        # 1. guards on the call itself: arguments, the function's names, grad mode
        conditions = list(self.spec.arg_guards)
        self.guard_bindings = []
        for lookup, value in self.spec.name_guards:
            captured = tracer.free.get(id(value))
            name = captured.ref if captured is not None and captured.kind == "captured" else \
                b.constant(value, "_" + _lookup_name(lookup))
            conditions.append(f"{lookup} is not {name}")
            self.guard_bindings.append((lookup, name, value))
        conditions.append(f"_grad_mode.enabled is not {grad_mode.enabled}")
        lines += _guard_block(conditions, "the call is not the one traced")
        # 2. the tensors: references, arrays, and their guards
        for f in args:
            lines.append(f"{f.ref} = {_path_source(f.path)}")
        for f in frees:
            if f.kind == "captured":
                self.namespace[f.ref] = f.tensor
        conditions = []
        grad_refs = {id(g.owner): g.ref for g in grads}  # read into locals before the guards
        for f in frees:
            if f.kind == "grad":
                continue
            lines.append(f"{f.name} = {f.ref}._data")
            dtype = b.constant(f.array.dtype, f.array.dtype.name)
            check = f"{f.name}.shape != {f.array.shape!r} or {f.name}.dtype != {dtype}"
            if f.kind == "captured":
                # the same array object as at the trace cannot have changed shape or dtype
                same = b.constant(f.array, f"{f.ref}_traced")
                check = f"{f.name} is not {same} and ({check})"
            conditions.append(check)
            conditions.append(f"{f.ref}._requires_grad is not {f.requires_grad}")
            if f.requires_grad:
                conditions.append(f"{f.ref}._grad_fn is {'not ' if f.is_leaf else ''}None")
            if f.grad_observed:
                grad = grad_refs.get(id(f), f"{f.ref}._grad")
                conditions.append(f"{grad} is {'' if f.grad is not None else 'not '}None")
        for f in grads:
            lines.append(f"{f.ref} = {f.owner.ref}._grad")
        conditions += self.version_guards
        lines += _guard_block(conditions, "shapes, dtypes or gradients differ from the traced ones")
        for f in grads:
            if f.sym in used or any(f.sym is r for r in written_roots):
                lines.append(f"{f.name} = {f.ref}._data")
        for root in copies:
            b.constants[root.name + "_init"] = b.constants.pop(root.name)
            lines.append(f"{root.name} = {root.name}_init.copy()  # changed in place below: a fresh copy")
        # 3. the traced lines
        if self.folded:
            lines += ["", "# computed once, when traced (the same at every call):"]
            lines += [f"#   {line}" for line in self.folded]
        if statements:
            lines.append("")
        captured = {id(f.sym): f for f in frees if f.kind == "captured"}
        for s in statements:
            self._hoist_view(s, captured)
        releases = _releases(statements, self.epilogue + [output])
        for k, s in enumerate(statements):
            lines.append(s.line())
            if k in releases:
                lines.append(f"del {', '.join(releases[k])}  # large, and read by no later line")
        # 4. writing back and returning
        if self.epilogue:
            lines.append("")
        lines += self.epilogue
        lines.append(f"return {output}")

        name = self.spec.function_name
        doc = (f'"""{name}, compiled by glassgrad: the traced forward, backward and updates as '
               f'straight-line NumPy.\n\n    Arrays are named after the tensors they belong to; '
               f'_w is the tensor object\n    behind the array w. Each comment names the op (and '
               f'grad_fn) the line comes from.\n    """')
        source = f"def {name}({self.spec.parameters}):\n    {doc}\n" + \
            "".join(f"    {line}\n" if line else "\n" for line in lines)
        namespace = dict(self.namespace)
        namespace.update(b.constants)
        namespace.update(self.spec.namespace)
        filename = f"<glassgrad.compile {name} #{counter}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # our own generated source
        program = Program(source, namespace[name], namespace, tracer, self.result)
        program.guard_bindings = self.guard_bindings
        return program


def _releases(statements, tail):
    """Statement index -> the large temporaries to delete after it: those it is the last to
    mention. A name the writing back or the return mentions is kept; a view's base stays alive
    through the view, whatever happens to the base's name."""
    large = {t.name for s in statements for t in s.targets
             if t.kind == "temp" and isinstance(t.value, np.ndarray) and t.value.nbytes >= RELEASE_BYTES}
    if not large:
        return {}
    last = {}
    for k, s in enumerate(statements):
        code = f"{', '.join(t.name for t in s.targets)} = {s.text}" if s.targets else s.text
        for name in _TOKEN.findall(code):
            if name in large:
                last[name] = k
    for text in tail:
        for name in _TOKEN.findall(text):
            last.pop(name, None)
    releases = collections.defaultdict(list)
    for name, k in last.items():
        releases[k].append(name)
    return releases


def _first_index(array):
    """Source for the index of a one-element array's element: ``()``, ``0`` or ``0, 0``..."""
    return ", ".join("0" * array.ndim) or "()"


def _check_value_checks(statements):
    """A value check may send the call back to be traced again, so nobody outside may have seen
    a write before it."""
    seen_write = False
    for s in statements:
        if s.guard and seen_write:
            raise Untraceable("a branch on values comes after an in-place update of a tensor from "
                              "outside, so a call taking the other branch could not start over")
        if s.writes is not None and s.writes.root.kind in ("input", "const"):
            seen_write = True


def _guard_block(conditions, why):
    if not conditions:
        return []
    lines = [f"if ({conditions[0]}"]
    lines += [f"        or {c}" for c in conditions[1:]]
    lines[-1] += "):"
    lines.append(f"    return RETRACE  # {why}")
    return lines


def _lookup_name(lookup):
    """``w`` for ``_g['w']`` or ``_cell_w.cell_contents``."""
    if lookup.startswith("_g["):
        return lookup[3:-1].strip("'\"")
    return lookup[len("_cell_"):].split(".")[0]


def _path_source(path):
    """``params[0]`` for the path ("params", 0)."""
    text = path[0]
    for part in path[1:]:
        text += f"[{part!r}]"
    return text
