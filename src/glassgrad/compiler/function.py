"""``compile(fn)``: trace on the first call, run the generated program afterwards.

A :class:`CompiledFunction` keeps one program per specialisation (argument shapes and dtypes,
which tensors need gradients, whether their ``.grad`` exists yet, what the function's names are
bound to). A call whose facts match no program is traced again. A trace that meets something a
program can't repeat, or whose program does not reproduce the traced call bit for bit on the same
inputs, makes the function eager for good, with one :class:`TraceWarning` saying why.
"""

import functools
import inspect
import types
import warnings

import numpy as np

from .. import random as _random
from ..autograd import grad_mode, graph
from ..tensor import Tensor
from . import codegen
from .codegen import RETRACE, make_tensor
from .symbolic import Untraceable
from .trace import Tracer, same_bits

MAX_PROGRAMS = 8  # specialisations kept per function; beyond that it runs eagerly


class TraceWarning(UserWarning):
    """A compiled function runs eagerly: the message says what could not be traced, and where."""


class CompiledFunction:
    """``fn`` compiled: call it like ``fn``; ``.source`` is the generated code (after a call)."""

    def __init__(self, fn, verify=True):
        self.fn = fn
        self.verify = verify
        self.programs = []
        self.eager_reason = None   # set once the function runs eagerly for good
        self._last = None          # the program that ran last (tried first)
        self._run_last = None
        self._traces = 0
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        run = self._run_last
        if run is not None:
            out = run(*args, **kwargs)
            if out is not RETRACE:
                return out
        return self._call_slowly(args, kwargs)

    def __get__(self, instance, owner=None):
        return self if instance is None else functools.partial(self, instance)

    def __repr__(self):
        state = f"eager: {self.eager_reason}" if self.eager_reason else f"{len(self.programs)} program(s)"
        return f"<compiled {getattr(self.fn, '__qualname__', self.fn)} ({state})>"

    @property
    def source(self):
        """The generated source of the program that ran last (None before the first call, or
        when the function runs eagerly)."""
        return self._last.source if self._last is not None else None

    @property
    def sources(self):
        return [p.source for p in self.programs]

    # ----- the slow path: another program, or a new trace ----------------------------------------
    def _call_slowly(self, args, kwargs):
        if self.eager_reason is not None or graph.tracer is not None:
            return self.fn(*args, **kwargs)  # eager for good, or inside another trace: just run
        for program in self.programs:
            out = program.function(*args, **kwargs)
            if out is not RETRACE:
                self._last, self._run_last = program, program.function
                return out
        if len(self.programs) >= MAX_PROGRAMS:
            self._give_up(f"it was traced {MAX_PROGRAMS} times for different shapes, dtypes or "
                          "arguments", "the last call")
            return self.fn(*args, **kwargs)
        return self._trace(args, kwargs)

    def _give_up(self, reason, where=None):
        self.eager_reason = reason
        self._last = self._run_last = None
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        warnings.warn(f"glassgrad.compile: {name} runs eagerly from now on: {reason}"
                      + (f" ({where})" if where else ""), TraceWarning, stacklevel=4)

    def _trace(self, args, kwargs):
        call = _describe_call(self.fn, args, kwargs)
        tracer = Tracer(self.fn, args, kwargs, call.arg_paths, call.names)
        for tensor in call.arg_tensors:
            tracer.touch(tensor)  # named and snapshotted before the function sees them
        rng = _rng_fingerprint()
        mode = grad_mode.enabled
        tracer.install()
        try:
            result = self.fn(*args, **kwargs)
        finally:
            tracer.uninstall()
        reason = tracer.poisoned
        if reason is None:
            reason = _side_effects(call, rng, mode)
        if reason is None:
            self._traces += 1
            try:
                program = codegen.build(tracer, result, call.spec, self._traces)
            except Untraceable as error:
                reason = str(error)
        # Before the check: its copies need not join the trace's, and it reads only FreeTensors.
        tracer.release()
        if reason is None and self.verify:
            try:
                _verify(program, tracer, call, args, kwargs, result)
            except Untraceable as error:
                reason = str(error)
        if reason is not None:
            self._give_up(reason)
            return result
        program.tracer = program.result = None  # the trace's bookkeeping is no longer needed
        self.programs.append(program)
        self._last, self._run_last = program, program.function
        return result


def compile(fn=None, *, verify=True):
    """Compile ``fn`` (a training step, a loss...) into straight-line NumPy on its first call.

    Usable as ``compile(fn)`` and as a decorator (``@compile``). Tensors among the arguments and
    tensors the function reads from its closure or globals (parameters) are read afresh at every
    call; results are written back into them, so code after a call sees what it would see after
    an eager call. ``verify`` runs each new program once on a copy of the traced call's inputs and
    keeps it only if it reproduces the eager results bit for bit.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, verify)
    return CompiledFunction(fn, verify)


# ----- describing a call: arguments, names, guards -----------------------------------------------

class _Call:
    def __init__(self):
        self.arg_paths = {}     # id(tensor) -> (name, path)
        self.arg_tensors = []
        self.names = {}         # id(object) -> name, for objects the function reads by name
        self.name_guards = []   # (source, object)
        self.lookups = []       # (getter, object) to check nothing was rebound during the call
        self.spec = None


def _describe_call(fn, args, kwargs):
    call = _Call()
    namespace = {}
    conditions = []
    function = getattr(fn, "__func__", fn)
    try:
        signature = inspect.signature(fn)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        parameters, defaults = _parameters_source(signature)
        namespace.update(defaults)
        arguments = bound.arguments
    except (TypeError, ValueError):  # no signature, or a call that does not fit it
        parameters, arguments = "*args, **kwargs", {"args": args, "kwargs": kwargs}
    for name, value in arguments.items():
        _describe_argument(call, (name,), value, conditions, namespace)
    code = getattr(function, "__code__", None)
    if code is not None:
        globals_ = getattr(function, "__globals__", {})
        namespace["_g"] = globals_
        for name in sorted(_global_names(code)):
            if name in globals_:
                value = globals_[name]
                call.name_guards.append((f"_g[{name!r}]", value))
                call.lookups.append((lambda n=name: globals_.get(n), value, name))
                _name_tensors(call, name, value)
        for name, cell in zip(code.co_freevars, getattr(function, "__closure__", None) or ()):
            try:
                value = cell.cell_contents
            except ValueError:
                continue  # not bound yet
            namespace[f"_cell_{name}"] = cell
            call.name_guards.append((f"_cell_{name}.cell_contents", value))
            call.lookups.append((lambda c=cell: c.cell_contents, value, name))
            _name_tensors(call, name, value)
    name = getattr(function, "__name__", "compiled")
    call.spec = codegen.CallSpec(name if name.isidentifier() else "compiled", parameters,
                                 conditions, call.name_guards, namespace)
    return call


def _parameters_source(signature):
    parts, defaults, star = [], {}, False
    for p in signature.parameters.values():
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text, star = f"*{p.name}", True
        elif p.kind is p.VAR_KEYWORD:
            text = f"**{p.name}"
        elif p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.default is not p.empty:
            defaults[f"_default_{p.name}"] = p.default
            text += f"=_default_{p.name}"
        parts.append(text)
        if p.kind is p.POSITIONAL_ONLY and (len(parts) == len(signature.parameters) or
                                            list(signature.parameters.values())[len(parts)].kind
                                            is not p.POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts), defaults


def _describe_argument(call, path, value, conditions, namespace):
    source = path[0] + "".join(f"[{p!r}]" for p in path[1:])
    if isinstance(value, Tensor):
        # a subclass (nn.Parameter) is read like a Tensor; the class test keeps Tensor's guard fast
        conditions.append(f"{source}.__class__ is not Tensor and not isinstance({source}, Tensor)")
        if id(value) in call.arg_paths:  # the same tensor twice: the program assumes it is
            conditions.append(f"{source} is not {_path_text(call.arg_paths[id(value)][1])}")
            return
        name = "_".join(str(p) for p in path)
        call.arg_paths[id(value)] = (name if name.isidentifier() else "arg", path)
        call.arg_tensors.append(value)
    elif value.__class__ in (list, tuple):
        conditions.append(f"{source}.__class__ is not {value.__class__.__name__} or len({source}) != {len(value)}")
        for i, item in enumerate(value):
            _describe_argument(call, path + (i,), item, conditions, namespace)
    elif value.__class__ is dict and all(k.__class__ in (str, int) for k in value):
        conditions.append(f"{source}.__class__ is not dict or list({source}) != {list(value)!r}")
        for key, item in value.items():
            _describe_argument(call, path + (key,), item, conditions, namespace)
    elif value is None or value.__class__ in (bool, int, float, str, complex):
        if value is None:
            conditions.append(f"{source} is not None")
        elif value != value:  # nan: its repr is no literal, and it equals nothing, itself included
            conditions.append(f"{source}.__class__ is not {value.__class__.__name__} or {source} == {source}")
        else:
            key = f"_arg_{len(namespace)}"  # the value itself: inf's repr is no literal either
            namespace[key] = value
            conditions.append(f"{source}.__class__ is not {value.__class__.__name__} or {source} != {key}")
    else:  # any other object: the very same one
        key = f"_arg_{len(namespace)}"
        namespace[key] = value
        conditions.append(f"{source} is not {key}")


def _path_text(path):
    return path[0] + "".join(f"[{p!r}]" for p in path[1:])


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _name_tensors(call, name, value):
    """Remember readable names for tensors the function reaches by name (or in a list by name)."""
    if isinstance(value, Tensor):
        call.names.setdefault(id(value), name)
    elif value.__class__ in (list, tuple):
        for i, item in enumerate(value):
            if isinstance(item, Tensor):
                call.names.setdefault(id(item), f"{name}_{i}")
    elif value.__class__ is dict:
        for key, item in value.items():
            if isinstance(item, Tensor) and str(key).isidentifier():
                call.names.setdefault(id(item), f"{name}_{key}")


def _rng_fingerprint():
    generator = _random.default_generator
    if getattr(generator, "_engine", True) is None:
        return "unseeded"  # nothing drawn since manual_seed; reading the state would seed it
    return generator.get_state().tobytes()


def _side_effects(call, rng, mode):
    """Why the traced call can't be repeated by a program, judging by its effects; or None."""
    if _rng_fingerprint() != rng:
        return "it draws random numbers, which a compiled program would repeat identically"
    if grad_mode.enabled != mode:
        return "it changes the grad mode (set_grad_enabled) without restoring it"
    for get, value, name in call.lookups:
        if get() is not value:
            return f"it rebinds the name {name!r}, a side effect the compiled program would not repeat"
    return None


# ----- checking a new program against the traced call ---------------------------------------------

def _verify(program, tracer, call, args, kwargs, result):
    """Run ``program`` on copies of the traced call's inputs; it must give the eager results."""
    scratch = {}

    def copy_of(free):  # called once per FreeTensor: its snapshot is not needed after this
        t = make_tensor(free.snapshot, free.requires_grad,
                        None if free.is_leaf else free.tensor._grad_fn)
        # a captured tensor's counter is bound into the program: the copy needs one to bump
        t._vc = [free.version] if free.had_counter or free.kind == "captured" else None
        return t

    for free in tracer.free_order:
        if free.kind != "grad":
            scratch[id(free.tensor)] = copy_of(free)
            scratch[id(free.tensor)]._grad = free.grad  # (a .grad the call never looked at)
    for free in tracer.free_order:
        if free.kind == "grad":
            scratch[id(free.tensor)] = scratch[id(free.owner.tensor)]._grad = copy_of(free)

    swap = functools.partial(_swapped, scratch=scratch)
    namespace = dict(program.namespace)
    for free in tracer.free_order:
        if free.kind == "captured":
            namespace[free.ref] = scratch[id(free.tensor)]
            if free.ref + "_vc" in namespace:  # its version counter, bound as a constant
                namespace[free.ref + "_vc"] = scratch[id(free.tensor)]._vc
    # The names the guards look up now lead to the copies (containers of tensors are copied once
    # and that copy used everywhere, so that the identity guards hold).
    globals_ = {}
    for lookup, name, value in program.guard_bindings:
        swapped = swap(value)
        namespace[name] = swapped
        if lookup.startswith("_g["):
            globals_[lookup[3:-1].strip("'\"")] = swapped
        else:
            namespace[lookup.split(".")[0]] = types.CellType(swapped)
    namespace["_g"] = globals_
    function = types.FunctionType(program.function.__code__, namespace, program.function.__name__,
                                  program.function.__defaults__)
    function.__kwdefaults__ = program.function.__kwdefaults__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = function(*swap(args), **swap(kwargs))
    if out is RETRACE:
        raise Untraceable("the compiled program's guards reject the very call it was traced on")
    problems = []
    for free in tracer.free_order:
        mine, theirs = scratch[id(free.tensor)], free.tensor
        if free.kind != "grad":
            _compare_tensor(mine, theirs, free.name, scratch, problems)
    _compare_output(out, result, "the result", scratch, problems)
    if problems:
        raise Untraceable("checked on the traced call's own inputs, the compiled program does not "
                          f"reproduce the eager results ({problems[0]})")


def _swapped(value, scratch):
    """``value`` with the tensors in ``scratch`` (by id) put for the originals, in containers too.
    (Module-level: a nested function calling itself would be a cycle holding the copies.)"""
    if isinstance(value, Tensor):
        return scratch.get(id(value), value)
    if value.__class__ in (list, tuple):
        return value.__class__(_swapped(v, scratch) for v in value)
    if value.__class__ is dict:
        return {k: _swapped(v, scratch) for k, v in value.items()}
    return value


def _compare_tensor(mine, theirs, label, scratch, problems, compare_grad=True):
    if not same_bits(mine._data, theirs._data):
        problems.append(f"{label} differs")
    elif mine._requires_grad != theirs._requires_grad:
        problems.append(f"{label}.requires_grad differs")
    elif graph.version_of(mine) != graph.version_of(theirs):
        problems.append(f"{label}'s version counter differs")
    elif compare_grad:
        a, b = mine._grad, theirs._grad
        if (a is None) != (b is None):
            problems.append(f"whether {label}.grad exists differs")
        elif b is not None:
            if id(b) in scratch and scratch[id(b)] is not a:
                problems.append(f"{label}.grad is not the tensor it was")
            else:
                _compare_tensor(a, b, label + ".grad", scratch, problems, compare_grad=False)


def _compare_output(mine, theirs, label, scratch, problems):
    if isinstance(theirs, Tensor):
        if not isinstance(mine, Tensor):
            problems.append(f"{label} is not a tensor")
        elif id(theirs) in scratch:
            if scratch[id(theirs)] is not mine:
                problems.append(f"{label} is not the input tensor it was")
        else:
            _compare_tensor(mine, theirs, label, scratch, problems)
            if (mine._grad_fn is None) != (theirs._grad_fn is None) or (
                    theirs._grad_fn is not None and mine._grad_fn.name() != theirs._grad_fn.name()):
                problems.append(f"{label}.grad_fn differs")  # a stand-in of the same name is fine
    elif theirs.__class__ in (list, tuple):
        if mine.__class__ is not theirs.__class__ or len(mine) != len(theirs):
            problems.append(f"{label} has another structure")
        else:
            for k, (a, b) in enumerate(zip(mine, theirs)):
                _compare_output(a, b, f"{label}[{k}]", scratch, problems)
    elif theirs.__class__ is dict:
        if mine.__class__ is not dict or list(mine) != list(theirs):
            problems.append(f"{label} has other keys")
        else:
            for key in theirs:
                _compare_output(mine[key], theirs[key], f"{label}[{key!r}]", scratch, problems)
    elif isinstance(theirs, np.ndarray):
        if not same_bits(np.asarray(mine), theirs):
            problems.append(f"{label} differs")
    elif not (mine is theirs or mine == theirs):
        problems.append(f"{label} differs")
