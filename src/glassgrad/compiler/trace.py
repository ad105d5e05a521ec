"""The tracer: watches one eager call of a function and writes down its NumPy work as a program.

While a :class:`Tracer` is installed, the hooks in ``autograd/graph.py`` and ``tensor.py`` report
every op application, in-place write, ``.grad`` read or write and value read, and
``engine.run_backward`` is wrapped. The call itself runs eagerly, untouched, so its results are
the eager results. Alongside, each op record's forward (and, at ``backward()``, each vjp, in the
engine's order) is re-run on :class:`~.symbolic.Sym` values, which appends the same NumPy calls
to a :class:`~.symbolic.Builder` and checks them against the eager arrays as it goes.

Anything the program could not repeat faithfully (a value read by Python, random numbers, an
array made outside the op records, hooks, a graph built before the call) *poisons* the trace: the
hooks come off at once, the call finishes eagerly, and the function stays eager.
"""

import heapq
import os
import sys

import numpy as np

from ..autograd import engine, grad_mode, graph
from ..autograd.graph import Node
from ..ops.namespaces import numpy_ns, sum_to_axes
from ..tensor import Tensor
from .symbolic import Builder, Sym, Untraceable, numpy_for_syms, op_modules

tensor_module = sys.modules[Tensor.__module__]  # glassgrad.tensor (the package's `tensor` is a function)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Factories whose values depend only on their (Python) arguments: their tensors are constants.
_SAFE_FACTORIES = frozenset("tensor zeros ones full empty zeros_like ones_like full_like empty_like "
                            "arange linspace logspace eye".split())
_RANDOM_FACTORIES = frozenset("rand randn rand_like randn_like randint randperm normal bernoulli "
                              "multinomial poisson".split())
_BY_REFERENCE_FACTORIES = frozenset(("as_tensor", "from_numpy"))
_INPLACE_SYMBOLS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}


def user_location():
    """``file:line`` of the innermost frame outside glassgrad: where the user's code did it."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and "numpy" not in filename.split(os.sep)[-3:-1]:
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


class FreeTensor:
    """A tensor that existed before the call (an argument, a captured parameter, or the ``.grad``
    of one): the program reads its array at every call and writes results back into it."""

    __slots__ = ("tensor", "kind", "path", "owner", "name", "sym", "array", "version",
                 "requires_grad", "is_leaf", "grad", "ref", "snapshot", "had_counter",
                 "grad_observed", "grad_replaced")

    def __init__(self, tensor, kind, name, sym, path=None, owner=None):
        self.tensor = tensor
        self.kind = kind            # "arg", "captured" or "grad"
        self.path = path            # for arguments: (parameter name, index, index, ...)
        self.owner = owner          # for grads: the FreeTensor whose .grad this is
        self.name = name            # the array's name in the program (w1, grad_w1)
        self.sym = sym
        self.array = tensor._data
        self.version = graph.version_of(tensor)
        self.had_counter = tensor._vc is not None
        self.requires_grad = tensor._requires_grad
        self.is_leaf = tensor._grad_fn is None
        self.grad = tensor._grad    # the .grad tensor object at first sight (or None)
        # Whether the call looked at that .grad (read it, or backward added into it or found it
        # None) before replacing it: only then does the program depend on it, and guard on it.
        self.grad_observed = False
        self.grad_replaced = False
        self.ref = "_" + name       # the program's name for the tensor object itself


class Tracer:
    """Records one call of ``fn`` (see the module docstring)."""

    def __init__(self, fn, args, kwargs, arg_paths, names):
        self.fn = fn
        self.builder = Builder()
        self.syms = {}           # id(eager array) -> Sym
        self._alive = []         # eager arrays and tensors whose ids are keys above
        self.created = {}        # id(tensor) -> tensor, for tensors made during the call
        self.free = {}           # id(tensor) -> FreeTensor
        self.free_order = []
        self.grad_copies = []    # (statement, gradient Sym): a new .grad made as a copy
        self._initial_grads = {}  # id(.grad tensor before the call) -> its owner's FreeTensor
        self.nodes = {}          # id(node) -> node, for nodes made during the call
        self.node_names = {}     # id(node) -> (output name, input names), for comments
        self.poisoned = None     # why the call can't be compiled (then the hooks are off)
        self.active = False
        self.arg_paths = arg_paths  # id(tensor) -> (name, path) for tensors among the arguments
        self.names = names          # id(object) -> name, for captured objects (closure, globals)
        self.constant_tensors = {id(t) for t in tensor_module._constants.values()}
        self._real_run_backward = engine.run_backward
        self.modules = op_modules()
        self.grad_mode = grad_mode.enabled
        for name in list(names.values()) + [p[0] for p in arg_paths.values()]:
            self.builder.reserve("_" + name)

    # ----- installing and removing the hooks -------------------------------------------------
    def install(self):
        self.active = True
        graph.tracer = self
        tensor_module._tracer = self
        engine.run_backward = self._run_backward

    def uninstall(self):
        self.active = False
        if graph.tracer is self:
            graph.tracer = None
        if tensor_module._tracer is self:
            tensor_module._tracer = None
        if engine.run_backward == self._run_backward:
            engine.run_backward = self._real_run_backward

    def release(self):
        """Drop what the trace recorded (the eager call's tensors and nodes, the Syms and their
        arrays) once its program is written: the check on copies reads only the FreeTensors,
        which go with the tracer itself."""
        self.builder.release()
        for container in (self.syms, self._alive, self.created, self.grad_copies,
                          self._initial_grads, self.nodes, self.node_names):
            container.clear()

    def _suspend(self):
        graph.tracer = None
        tensor_module._tracer = None

    def _resume(self):
        if self.active:
            graph.tracer = self
            tensor_module._tracer = self

    def poison(self, reason, where=None):
        if self.poisoned is None:
            self.poisoned = f"{reason} (at {where or user_location()})"
        self.uninstall()

    def _guarded(self, action, *args):
        """Run a recording step. Whatever goes wrong poisons the trace and never reaches the
        user: the eager call this step shadows has already succeeded."""
        if not self.active:
            return
        try:
            with numpy_for_syms(self.builder, self.modules):
                action(*args)
        except Untraceable as error:
            self.poison(str(error))
        except Exception as error:  # an op's code that Syms can't run
            self.poison(f"the compiler could not follow this step ({type(error).__name__}: {error})")

    # ----- arrays and tensors -> Syms --------------------------------------------------------------
    def bind(self, array, sym):
        self.syms[id(array)] = sym
        self._alive.append(array)

    def sym_of(self, tensor):
        """The Sym for ``tensor``'s array, registering a tensor from outside on first sight."""
        sym = self.syms.get(id(tensor._data))
        if sym is not None:
            return sym
        if id(tensor) in self.created:
            raise Untraceable("a tensor made during the call holds an array that no traced "
                              "operation produced")
        if id(tensor) in self.constant_tensors:  # glassgrad's cache of scalar constants
            sym = self.builder.const_sym(tensor._data, kind="fixed")
            self.bind(tensor._data, sym)
            return sym
        owner = self._initial_grads.get(id(tensor))
        return self._register_free(tensor, owner=owner).sym

    def touch(self, tensor):
        """Take note of ``tensor`` before anything reads or changes it (snapshots outside ones)."""
        if id(tensor._data) not in self.syms and id(tensor) not in self.created:
            self.sym_of(tensor)

    def _register_free(self, tensor, kind=None, owner=None):
        path = None
        if owner is not None:
            kind, name = "grad", "grad_" + owner.name
        elif id(tensor) in self.arg_paths:
            kind = "arg"
            name, path = self.arg_paths[id(tensor)]
        else:
            kind = "captured"
            name = self.names.get(id(tensor)) or (tensor.name if tensor.name and
                                                  tensor.name.isidentifier() else "captured")
        name = self.builder.new_name(name)
        self.builder.reserve("_" + name)
        sym = self.builder.input_sym(name, tensor._data.copy())  # the shadow computation's copy
        free = FreeTensor(tensor, kind, name, sym, path, owner)
        free.snapshot = tensor._data.copy()  # the value before the call, to check the program on
        free.ref = "_" + name
        self.free[id(tensor)] = free
        self.free_order.append(free)
        self._alive.append(tensor)
        self.bind(tensor._data, sym)
        if tensor._grad is not None and owner is None:
            # A gradient that exists already becomes an input when the call uses it.
            self._initial_grads[id(tensor._grad)] = free
        return free

    def observe_grad(self, tensor):
        """The call depends on ``tensor``'s .grad as it was before the call (if not yet replaced)."""
        free = self.free.get(id(tensor))
        if free is not None and not free.grad_replaced and free.kind != "grad":
            free.grad_observed = True
            if free.grad is not None:
                self.sym_of(free.grad)  # its array becomes an input of the program

    def _array_sym(self, array, hint="c"):
        """A Sym for an array met outside a tensor (a param, a grad output): known, or a constant."""
        sym = self.syms.get(id(array))
        if sym is None:
            # a read-only array (the cached ones of loss.backward()) can't change between calls
            kind = "const" if array.flags.writeable else "fixed"
            sym = self.builder.const_sym(array, hint, kind=kind)
            self.bind(array, sym)
        return sym

    def _map_params(self, value):
        if isinstance(value, np.ndarray):
            return self._array_sym(value)
        if isinstance(value, Tensor):
            return self.sym_of(value)
        if value.__class__ is tuple or value.__class__ is list:
            return value.__class__(self._map_params(v) for v in value)
        if value.__class__ is dict:
            return {k: self._map_params(v) for k, v in value.items()}
        return value

    def _check_same(self, sym, array, what):
        """The shadow value must equal the eager array bit for bit, or the program would drift."""
        if not same_bits(sym.value, array):
            raise Untraceable(f"{what} computed differently from the eager call (an array was "
                              "changed outside the traced operations)")

    # ----- hooks: ops ------------------------------------------------------------------------------
    def record_op(self, function, op, inputs, params, name):
        """Called by graph.apply/apply1/apply2: run the op eagerly, then record it."""
        self._suspend()
        try:
            if function is graph.apply2:
                result = function(op, inputs[0], inputs[1])
            elif function is graph.apply1:
                result = function(op, inputs[0], params, name)
            else:
                result = function(op, inputs, params, name)
        finally:
            self._resume()
        self._guarded(self._record_op, op, inputs, params, result)
        return result

    def _record_op(self, op, inputs, params, result):
        self.created[id(result)] = result
        self._alive.append(result)
        node = result._grad_fn
        if node is not None:
            self.nodes[id(node)] = node
        b = self.builder
        syms = [self.sym_of(t) for t in inputs]
        sym_params = {k: self._map_params(v) for k, v in params.items()} if params else {}
        b.comment = op.name + (f" ({node.name()})" if node is not None else "")
        out = op.forward(*syms, **sym_params)
        out = self._as_array_sym(out)
        if node is not None:
            self.node_names[id(node)] = (out.name, [s.name for s in syms])
        b.comment = ""
        self._check_same(out, result._data, f"{op.name}")
        self.bind(result._data, out)

    def _as_array_sym(self, value):
        if not isinstance(value, Sym):
            if isinstance(value, (np.ndarray, np.generic)):
                return self.builder.const_sym(np.asarray(value))
            raise Untraceable(f"an op gave a {type(value).__name__}")
        if not isinstance(value.value, np.ndarray):  # eager wraps NumPy scalars with np.asarray
            value = self.builder.call(np.asarray, "np.asarray", (value,), {})
        return value

    def raw_forward(self, op, tensors, params, result):
        """An op's forward run directly on arrays (an in-place op without autograd)."""
        self._guarded(self._raw_forward, op, tensors, params, result)

    def _raw_forward(self, op, tensors, params, result):
        syms = [self.sym_of(t) for t in tensors]
        sym_params = {k: self._map_params(v) for k, v in params.items()} if params else {}
        self.builder.comment = op.name
        out = self._as_array_sym(op.forward(*syms, **sym_params))
        self.builder.comment = ""
        self._check_same(out, result, op.name)
        self.bind(result, out)

    def touch_index(self, index):
        for part in index if isinstance(index, tuple) else (index,):
            if isinstance(part, Tensor):
                self._guarded(self.touch, part)
            elif isinstance(part, list):
                for p in part:
                    if isinstance(p, Tensor):
                        self._guarded(self.touch, p)

    def array_call(self, function, tensors, result, comment):
        """A NumPy computation on tensors' arrays outside the op records (comparisons, casts)."""
        self._guarded(self._array_call, function, tensors, result, comment)

    def _array_call(self, function, tensors, result, comment):
        self.builder.comment = comment
        out = self._as_array_sym(function(*[self.sym_of(t) for t in tensors]))
        self.builder.comment = ""
        self._check_same(out, result, comment)
        self.bind(result, out)

    # ----- hooks: new tensors -------------------------------------------------------------------------
    def wrapped(self, tensor):
        """Called by Tensor._wrap: a new tensor object around some array."""
        self.created[id(tensor)] = tensor
        self._alive.append(tensor)
        if id(tensor._data) in self.syms:
            return  # a new tensor around a known array: detach(), .data, in-place stand-ins
        self._guarded(self._new_array, tensor._data, sys._getframe(2))

    def _new_array(self, array, frame):
        module = frame.f_globals.get("__name__", "")
        function = frame.f_code.co_name
        if module.endswith(".factories") and function == "_finish" and frame.f_back is not None:
            frame = frame.f_back
            function = frame.f_code.co_name
        if module.endswith(".factories"):
            if function in _RANDOM_FACTORIES:
                raise Untraceable(f"torch.{function}() draws random numbers, which the compiled "
                                  "code would repeat identically at every call")
            if function == "tensor" and _holds_tensor(frame.f_locals.get("data")):
                raise Untraceable("torch.tensor() copies a tensor's values")
            if function in _SAFE_FACTORIES:
                self._fresh_constant(array)
                return
            if function in _BY_REFERENCE_FACTORIES:
                self.bind(array, self.builder.const_sym(array, "array"))
                return
        if module.endswith(".functional") and function in _SAFE_FACTORIES:
            self._fresh_constant(array)  # functional.zeros_like(x): made from a shape only
            return
        if module.endswith(".tensor") and function in ("_const", "_operand", "_scalar_operand"):
            if function == "_operand" and frame.f_locals.get("value") is array:
                self.bind(array, self.builder.const_sym(array, "array"))  # a NumPy array operand
            else:
                self._fresh_constant(array)
            return
        raise Untraceable(f"{module}.{function}() makes a tensor from array values outside the op "
                          "records")

    def _fresh_constant(self, array):
        # The program keeps the value as it is now; if the call later changes it in place,
        # the program starts from a fresh copy of this value each time.
        self.bind(array, self.builder.const_sym(array, "c", program_value=array.copy(), kind="fixed"))

    # ----- hooks: in-place writes ---------------------------------------------------------------------
    def inplace_ufunc(self, ufunc, target, other):
        self._guarded(self._inplace_ufunc, ufunc, target, other)

    def _inplace_ufunc(self, ufunc, target, other):
        t, o = self.sym_of(target), self.sym_of(other)
        symbol = _INPLACE_SYMBOLS.get(ufunc)
        self.builder.comment = f"{ufunc.__name__}, in place"
        if symbol is not None and isinstance(t.value, np.ndarray):
            import operator
            function = {"+": operator.iadd, "-": operator.isub, "*": operator.imul, "/": operator.itruediv}[symbol]
            self.builder.inplace_operator(symbol, t, o, function)
        else:
            ufunc(t, o, out=t)
        self.builder.comment = ""
        self._check_same(t, target._data, f"{ufunc.__name__}_")

    def wrote(self, target, kind, index=None, value=None):
        """After ``target``'s array was changed: kind "copyto" (value), "fill" or "setitem"."""
        self._guarded(self._wrote, target, kind, index, value)

    def _wrote(self, target, kind, index, value):
        t = self.sym_of(target)
        b = self.builder
        if isinstance(value, Tensor):
            value = self.sym_of(value)
        elif isinstance(value, (np.ndarray, np.generic)):
            known = self.syms.get(id(value))
            if known is None:  # computed from tensors' arrays behind the op records' back
                raise Untraceable("an array computed outside the op records is written into a "
                                  "tensor (an optimizer's step() does this: call it outside the "
                                  "compiled function)")
            value = known
        if kind == "copyto":
            b.comment = "copy into, in place"
            b.call(np.copyto, "np.copyto", (t, value), {"casting": "unsafe"}, writes_first=True)
        elif kind == "fill":
            b.comment = "fill, in place"
            t.fill(value)
        else:
            b.comment = "setitem, in place"
            t[self._map_params(index)] = value
        b.comment = ""
        self._check_same(t, target._data, kind)

    # ----- hooks: .grad, values, unsupported features ----------------------------------------------
    def grad_read(self, tensor):
        self._guarded(self.touch, tensor)
        self._guarded(self.observe_grad, tensor)

    def grad_write(self, tensor, value):
        self._guarded(self.touch, tensor)
        if value is not None:
            self._guarded(self.touch, value)
        free = self.free.get(id(tensor))
        if free is not None:
            free.grad_replaced = True

    def value_read(self, tensor, what):
        self.poison(f"{what} reads a tensor's value, so the result could steer Python code "
                    "differently at the next call")

    def unsupported(self, what):
        self.poison(f"{what} is not supported inside a compiled function")

    # ----- backward ----------------------------------------------------------------------------------
    def _run_backward(self, outputs, grad_outputs, retain_graph=False, create_graph=False,
                      inputs=None, allow_unused=False):
        new_grads = None
        if self.active:
            try:
                with numpy_for_syms(self.builder, self.modules):
                    new_grads = self._simulate_backward(outputs, grad_outputs, create_graph, inputs)
            except Untraceable as error:
                self.poison(str(error))
            except Exception as error:
                self.poison(f"the compiler could not follow backward() ({type(error).__name__}: {error})")
        self._suspend()
        try:
            result = self._real_run_backward(outputs, grad_outputs, retain_graph, create_graph,
                                             inputs, allow_unused)
        except BaseException:
            self.poison("backward() raised")
            raise
        finally:
            self._resume()
        if self.active and new_grads:
            # backward(): the leaves' new .grad tensors; autograd.grad(): the tensors it returns
            made = [(leaf._grad, sym, "a new .grad") for leaf, sym in new_grads] if inputs is None \
                else [(t, sym, "a gradient autograd.grad() returns") for t, sym in zip(result, new_grads)
                      if sym is not None]
            for tensor, sym, what in made:
                self.created[id(tensor)] = tensor
                self._alive.append(tensor)
                self._guarded(self._check_same, sym, tensor._data, what)
                self.bind(tensor._data, sym)
        return result

    def _simulate_backward(self, outputs, grad_outputs, create_graph, inputs):
        """The engine's walk (engine._run), on Syms: same order, same vjps, same sums."""
        if create_graph:
            raise Untraceable("backward(create_graph=True) (higher-order gradients) is not compiled")
        if inputs is not None and any(t._grad_fn is not None for t in inputs):
            raise Untraceable("autograd.grad() with respect to a tensor that is not a leaf is not "
                              "compiled")
        b = self.builder
        buffers, leaves, heap = {}, {}, []
        for k, out in enumerate(outputs):
            given = grad_outputs[k]
            g = self.syms.get(id(given))
            if g is None:
                if not isinstance(given, np.ndarray) or given.flags.writeable:
                    # only loss.backward()'s cached, read-only ones are known to stay the same
                    raise Untraceable("backward() with a gradient the compiler did not see being "
                                      "made; pass it as a tensor argument")
                g = self._array_sym(given, "ones")
            node = out._grad_fn
            if node is not None:
                key = id(node)
                if key not in buffers:
                    heap.append((-node.seq, key, node))
            elif out._requires_grad:
                key = id(out)
                leaves.setdefault(key, out)
            else:
                return None  # the engine raises its own error
            buffers[key] = g if key not in buffers else buffers[key] + g
        heapq.heapify(heap)
        while heap:
            node = heapq.heappop(heap)[2]
            if id(node) not in self.nodes:
                raise Untraceable(f"backward() reaches {node.name()}, part of a graph built before the "
                                  "compiled function was called; build the whole graph inside it")
            g = buffers.pop(id(node))
            hooks = node.hooks
            if hooks is not None and (hooks.pre_hooks or hooks.retain is not None):
                raise Untraceable("tensor hooks and retain_grad() are not compiled")
            op = node.op
            for i, target in enumerate(node.next):
                if target is None:
                    continue
                k = 0 if op.variadic else i
                out_name, in_names = self.node_names.get(id(node), ("?", ()))
                what = in_names[i] if i < len(in_names) else op.inputs[k]
                b.comment = f"{node.name()} of {out_name}: gradient for {what}"
                gi = op.vjps[k](*[self._vjp_argument(node, op, name, g, i) for name in op.vjp_args[k]])
                gi = gi if isinstance(gi, Sym) else self._array_sym(np.asarray(gi))
                if op.broadcasts:
                    if isinstance(target, Node):
                        shape, dtype = target.out_shape, target.out_dtype
                    else:
                        shape, dtype = target._data.shape, target._data.dtype
                    value = gi.value
                    if value.shape != shape or value.dtype != dtype:
                        b.comment = f"sum over the axes broadcast to reach {value.shape} from {shape}"
                        if value.shape != shape:
                            gi = _sum_to(gi, shape)
                        if value.dtype != dtype:
                            gi = numpy_ns.astype(gi, dtype)
                key = id(target)
                previous = buffers.get(key)
                if previous is None:
                    buffers[key] = gi
                    if isinstance(target, Node):
                        heapq.heappush(heap, (-target.seq, key, target))
                    elif key not in leaves:
                        leaves[key] = target
                else:
                    b.comment = "two gradients meet: sum them"
                    buffers[key] = _sum_gradients(previous, gi)
        if inputs is not None:
            return self._returned_gradients(inputs, leaves, buffers)
        new_grads = []
        for key, leaf in leaves.items():
            g = buffers.pop(key)
            if leaf._hooks:
                raise Untraceable("tensor hooks are not compiled")
            free = self.free.get(id(leaf))
            label = free.name if free is not None else "leaf"
            self.observe_grad(leaf)  # backward adds into .grad, or makes it when it is None
            if leaf._grad is None:
                b.comment = f"{label}.grad, new"
                new = b.call(np.array, "np.array", (g,), {"dtype": leaf._data.dtype, "copy": True},
                             hint=f"grad_{label}")
                self.grad_copies.append((b.statements[-1], g))
                new_grads.append((leaf, new))
            else:
                grad = self.sym_of(leaf._grad)
                b.comment = f"{label}.grad += gradient"
                b.inplace_operator("+", grad, g, _iadd)
        b.comment = ""
        return new_grads

    def _returned_gradients(self, inputs, leaves, buffers):
        """autograd.grad()'s results, as the engine makes them: a fresh copy of each input's
        summed gradient (None for an input it never reached), no .grad touched."""
        if any(leaf._hooks for leaf in leaves.values()):
            raise Untraceable("tensor hooks are not compiled")
        b, results = self.builder, []
        for t in inputs:
            g = buffers.get(id(t))
            if g is None:
                results.append(None)  # the engine raises, or returns None with allow_unused
                continue
            free = self.free.get(id(t))
            b.comment = f"gradient for {free.name if free is not None else 'an input'}, returned"
            results.append(b.call(np.array, "np.array", (g,), {"dtype": t._data.dtype, "copy": True},
                                  hint="grad"))
            self.grad_copies.append((b.statements[-1], g))
        b.comment = ""
        return results

    def _vjp_argument(self, node, op, name, g, i):
        if name == "g":
            return g
        if name == "xp":
            return numpy_ns  # the engine's own namespace: vjps may test `xp is numpy_ns`
        if name == "i":
            return i
        if name == "out":
            return self._array_sym(node.out_data)
        if name in op.params:
            return self._map_params(node.params[name])
        saved = node.saved_inputs
        if saved is None:
            raise Untraceable("backward through a graph that was already freed")
        return self.sym_of(saved[op.inputs.index(name)])


def _sum_to(g, shape):
    """numpy_ns.sum_to (g.sum(axes, keepdims=True), reshaped) in one reduction when dropping the
    summed axes already gives ``shape``: the same sums, bit for bit, one call fewer."""
    axes, lead = sum_to_axes(g.value.shape, shape)
    kept = tuple(n for i, n in enumerate(g.value.shape) if i not in axes)
    if kept == tuple(shape):
        return g.builder.call(np.add.reduce, "np.add.reduce", (g, axes[0] if len(axes) == 1 else axes), {})
    return numpy_ns.sum_to(g, shape)


def _sum_gradients(a, b):
    """``a + b``, except for the Gram product ``e.T @ e`` of a column ``e`` (an MSE's sum of
    squares): its two gradients for ``e``, ``e @ g`` and ``(g @ e.T).T``, are then the same
    numbers (each element is the one product ``e[i] * g``), so the sum is one of them doubled:
    a matmul and a transpose fewer, the same bits."""
    product = _gram_twin(a, b)
    if product is None:
        product = _gram_twin(b, a)
    if product is None:
        return a + b
    b.builder.comment += f" (both are {product.name}: for a column e, (g @ e.T).T is e @ g)"
    return product + product


def _gram_twin(p, q):
    """``p`` when ``p`` is ``e @ g`` and ``q`` is ``(g @ e.T).T`` with ``e`` a column and ``g``
    a fixed, NaN-free 1x1 matrix, and matmul is seen to compute both alike; else None."""
    if p.product is None or q.permuted is None or q.permuted[1] != (1, 0):
        return None
    e, g = p.product
    twin = q.permuted[0].product
    if twin is None or twin[0] is not g or not isinstance(g, Sym) or not isinstance(e, Sym):
        return None
    e_t = twin[1].permuted
    if e_t is None or e_t[0] is not e or e_t[1] != (1, 0):
        return None
    ev, gv = e.value, g.value
    if not (ev.ndim == 2 and ev.shape[1] == 1 and gv.shape == (1, 1) and ev.dtype == gv.dtype
            and ev.dtype in (np.float32, np.float64) and ev.flags.c_contiguous):
        return None
    # A g that may change could be a NaN whose payload would then pick a side: fixed ones only.
    if not g.is_static() or np.isnan(gv).any() or e.root is not e or e.kind != "temp":
        return None
    return p if _matmuls_agree(ev.shape, gv) else None


_AGREE = {}  # (rows, dtype, g's bytes) -> whether matmul computes e @ g and (g @ e.T).T alike


def _matmuls_agree(shape, g):
    """Whether this NumPy's matmul gives ``e @ g`` and ``(g @ e.T).T`` the same bits for every
    kind of value of ``e`` (signed zeros, tiny, huge, infinite, NaN) at every position: BLAS
    kernels may differ in how they start a sum, so this is checked, not assumed."""
    key = (shape, g.dtype.str, g.tobytes())
    known = _AGREE.get(key)
    if known is None:
        info = np.finfo(g.dtype)
        kinds = np.array([0.0, -0.0, 1.0, -1.0, 0.1, -3.5, info.smallest_subnormal,
                          -info.smallest_subnormal, info.tiny, info.max, -info.max, np.inf, -np.inf,
                          np.nan, -np.nan], dtype=g.dtype)
        pattern = np.resize(kinds, shape[0])
        with np.errstate(all="ignore"):
            known = all(same_bits(e @ g, (g @ e.T).T) for e in
                        (np.roll(pattern, shift).reshape(shape) for shift in range(len(kinds))))
        _AGREE[key] = known
    return known


def _iadd(a, b):
    a += b
    return a


def _holds_tensor(data):
    if isinstance(data, Tensor):
        return True
    if isinstance(data, (list, tuple)):
        return any(_holds_tensor(d) for d in data)
    return False


def same_bits(a, b):
    """Equal arrays to the last bit: shape, dtype, and bytes (NaN payloads, signs of zero)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype == b.dtype
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())
