"""glassgrad against PyTorch, the oracle: the same code must give the same numbers and text.

Covers (1) a few hundred random expression programs run in both libraries in float64, comparing
every intermediate value and every leaf gradient; (2) second derivatives through
``autograd.grad(create_graph=True)``; (3) ``repr`` of tensors and their ``grad_fn`` names and
edges, character for character; (4) the seed's Q1 in float32, bit for bit; (5) the result dtype
of arithmetic and comparison operators over a table of operand dtypes.

A random program is generated as Python source text that uses only the shared API through the
name ``torch``; it is executed once with ``torch`` bound to PyTorch and once to glassgrad, so a
failing seed prints code that reproduces the difference on its own.
"""

import math
import random
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import glassgrad as gg  # noqa: E402  (after the skip: without torch this module does nothing)

# ================================================================================================
# 1. Random expression programs
# ================================================================================================

RTOL = 1e-9
ATOL_SCALE = 1e-12   # absolute slack, relative to the largest magnitude in the compared array
MAX_NUMEL = 64       # keep every intermediate small
MAX_BOUND = 1e4      # values bigger than this (a loose bound) are rescaled before reuse

LEAF_SHAPES = [(), (3,), (4,), (2, 3), (3, 1), (1, 3), (3, 3), (2, 1, 3), (2, 3, 2)]
INT_SCALARS = [1, 2, 3, -2]
FLOAT_SCALARS = [0.5, 1.5, -2.25, 0.1]


def _numel(shape):
    return math.prod(shape)


def _broadcast(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


class Value:
    """A value the program has computed: its name, shape, a loose bound on |entries|, and
    whether PyTorch is sure to store it contiguously (``view`` needs that)."""

    def __init__(self, name, shape, bound, contiguous):
        self.name, self.shape, self.bound, self.contiguous = name, tuple(shape), bound, contiguous


class Program:
    """Source text over leaves ``x0, x1 ...`` (require grad) and constants ``c0, w0 ...``,
    ending in a scalar ``out``; ``values`` names every intermediate to compare."""

    def __init__(self, seed, source, inputs, values, leaves):
        self.seed, self.source, self.inputs, self.values, self.leaves = (
            seed, source, inputs, values, leaves)
        self.code = compile(source, f"<program {seed}>", "exec")

    def __str__(self):
        setup = "\n".join(
            f"{name} = torch.tensor({array.tolist()!r}, dtype=torch.float64"
            f"{', requires_grad=True' if grad else ''})" for name, array, grad in self.inputs)
        return f"{setup}\n{self.source}\nout.backward()"


class ProgramBuilder:
    """Builds one random program. Every op keeps its inputs inside the op's domain (log of
    ``abs() + 0.5``, exp of a bounded value, ...), so both libraries stay finite."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.lines, self.values, self.inputs = [], [], []
        self.n_leaves = self.n_consts = 0

    # ----- values ----------------------------------------------------------------------------
    def input(self, shape, requires_grad=True):
        array = self.np_rng.uniform(-2.0, 2.0, size=shape)
        if requires_grad:
            name, self.n_leaves = f"x{self.n_leaves}", self.n_leaves + 1
        else:
            name, self.n_consts = f"c{self.n_consts}", self.n_consts + 1
        self.inputs.append((name, array, requires_grad))
        value = Value(name, shape, 2.0, True)
        self.values.append(value)
        return value

    def fresh(self, shape):
        """A new input of ``shape``: usually a leaf, sometimes a constant."""
        return self.input(shape, requires_grad=self.rng.random() < 0.8)

    def emit(self, expr, shape, bound, contiguous=False):
        shape = tuple(shape)
        assert _numel(shape) <= MAX_NUMEL, (expr, shape)
        name = f"v{len(self.lines)}"
        self.lines.append(f"{name} = {expr}")
        value = Value(name, shape, float(bound), contiguous)
        self.values.append(value)
        if value.bound > MAX_BOUND:
            # Rescale so later ops (exp, products) stay finite and well conditioned.
            scaled = self.emit(f"{name} / {value.bound:.6g}", shape, 1.0, contiguous)
            value.bound = math.inf  # never pick the unscaled value again
            return scaled
        return value

    def pick(self, predicate=lambda v: True):
        usable = [v for v in self.values if v.bound <= MAX_BOUND and predicate(v)]
        if not usable:
            return None
        # Favour recent values (deeper graphs) but keep fan-out from older ones.
        weights = [1.0 + i for i in range(len(usable))]
        return self.rng.choices(usable, weights)[0]

    def small(self, v, limit=3.0):
        """An expression for ``v`` with entries in [-limit, limit]: ``v`` or ``tanh(v)``."""
        if v.bound <= limit:
            return v.name, v.bound
        return f"torch.tanh({v.name})", 1.0

    def partner(self, a, allow_scalar=True):
        """A second operand broadcastable with ``a``: an existing value (maybe ``a`` itself), a
        fresh input of a compatible shape, or a Python number.
        Returns (expr, shape, bound, contiguous)."""
        r = self.rng.random()
        if allow_scalar and r < 0.15:
            k = self.rng.choice(INT_SCALARS + FLOAT_SCALARS)
            return repr(k), (), abs(k), True
        if r < 0.25:
            return a.name, a.shape, a.bound, a.contiguous
        if r < 0.65:
            b = self.pick(lambda v: v is not a and self._fits(a.shape, v.shape))
            if b is not None:
                return b.name, b.shape, b.bound, b.contiguous
        b = self.fresh(self._compatible_shape(a.shape))
        return b.name, b.shape, b.bound, True

    def _fits(self, s, t):
        shape = _broadcast(s, t)
        return shape is not None and len(shape) <= 3 and _numel(shape) <= MAX_NUMEL

    def _compatible_shape(self, shape):
        shape = list(shape)
        drop = self.rng.randint(0, len(shape))
        shape = shape[drop:]
        shape = [1 if self.rng.random() < 0.3 else s for s in shape]
        if drop == 0 and len(shape) < 3 and self.rng.random() < 0.15 and _numel(shape) <= 8:
            shape = [2] + shape
        return tuple(shape)

    # ----- ops: each returns True when it emitted something -------------------------------------
    def op_unary(self):
        a = self.pick()
        n, b, s = a.name, a.bound, a.shape
        small, sb = self.small(a)
        choices = [
            (f"-{n}", b), (f"torch.neg({n})", b), (f"{n}.neg()", b),
            (f"torch.exp({small})", math.exp(sb)), (f"{small}.exp()", math.exp(sb)),
            (f"torch.log({n}.abs() + 0.5)", max(1.0, math.log(b + 0.5))),
            (f"torch.log1p({n}.abs())", math.log1p(b)), (f"{n}.abs().log1p()", math.log1p(b)),
            (f"torch.expm1({small})", math.exp(sb)),
            (f"torch.sin({small})", 1), (f"{small}.cos()", 1), (f"torch.cos({small})", 1),
            (f"torch.tan(torch.tanh({n}))", 1.6), (f"torch.tanh({n})", 1), (f"{n}.tanh()", 1),
            (f"torch.sigmoid({n})", 1), (f"{n}.sigmoid()", 1),
            (f"torch.relu({n})", b), (f"{n}.relu()", b),
            (f"torch.sqrt({n}.abs() + 0.1)", math.sqrt(b + 0.1)),
            (f"({n}.abs() + 0.1).sqrt()", math.sqrt(b + 0.1)),
            (f"{n}.abs()", b), (f"torch.abs({n})", b), (f"abs({n})", b),
        ]
        lo = round(self.rng.uniform(-1.0, 0.5), 3)
        hi = round(lo + self.rng.uniform(0.1, 1.5), 3)
        choices += [(f"{n}.clamp(min={lo})", max(b, abs(lo))),
                    (f"{n}.clamp(max={hi})", max(b, abs(hi))),
                    (f"torch.clamp({n}, {lo}, {hi})", max(abs(lo), abs(hi))),
                    (f"{n}.clamp({lo}, {hi})", max(abs(lo), abs(hi)))]
        expr, bound = self.rng.choice(choices)
        self.emit(expr, s, bound, a.contiguous)
        return True

    def op_pow(self):
        a = self.pick()
        n, b = a.name, a.bound
        kind = self.rng.random()
        if kind < 0.35:
            e = self.rng.choice([2, 3, 0, 1])
            form = self.rng.choice([f"{n} ** {e}", f"torch.pow({n}, {e})", f"{n}.pow({e})"])
            self.emit(form, a.shape, max(b, 1.0) ** max(e, 1), a.contiguous)
        elif kind < 0.65:
            e = self.rng.choice([0.5, 1.5, -1, -0.5, 2.5, -2, 3.0])
            base = f"({n}.abs() + 0.5)"
            bound = (b + 0.5) ** e if e > 0 else 0.5 ** e
            self.emit(f"{base} ** {e}", a.shape, bound, a.contiguous)
        elif kind < 0.8:
            small, sb = self.small(a)
            base = self.rng.choice([2, 1.5, 0.5, 3])
            bound = max(base ** sb, base ** -sb)
            self.emit(f"{base} ** {small}", a.shape, bound, a.contiguous)
        else:
            expr, shape, bb, contiguous = self.partner(a, allow_scalar=False)
            exponent = expr if bb <= 2 else f"torch.tanh({expr})"
            bound = (b + 0.5) ** 2
            form = self.rng.choice([f"({n}.abs() + 0.5) ** {exponent}",
                                    f"torch.pow({n}.abs() + 0.5, {exponent})"])
            # Elementwise results follow their inputs' memory layout in PyTorch.
            self.emit(form, _broadcast(a.shape, shape), bound, contiguous and a.contiguous)
        return True

    def op_binary(self):
        a = self.pick()
        expr, shape, bb, contiguous = self.partner(a)
        n, ba = a.name, a.bound
        out = _broadcast(a.shape, shape)
        scalar = shape == () and not expr.startswith(("v", "x", "c"))
        choices = [
            (f"{n} + {expr}", ba + bb), (f"{expr} + {n}", ba + bb), (f"torch.add({n}, {expr})", ba + bb),
            (f"{n} - {expr}", ba + bb), (f"{expr} - {n}", ba + bb), (f"{n}.sub({expr})", ba + bb),
            (f"{n} * {expr}", ba * bb), (f"{expr} * {n}", ba * bb), (f"torch.mul({n}, {expr})", ba * bb),
            (f"{n}.mul({expr})", ba * bb),
        ]
        if scalar:
            k = float(expr)
            if k != 0:
                choices += [(f"{n} / {expr}", ba / abs(k))]
            choices += [(f"{expr} / ({n}.abs() + 0.5)", abs(k) * 2)]
        else:
            choices += [
                (f"{n} / ({expr}.abs() + 0.5)", ba * 2), (f"torch.div({n}, {expr}.abs() + 0.5)", ba * 2),
                (f"{expr} / ({n}.abs() + 0.5)", bb * 2),
                (f"torch.maximum({n}, {expr})", max(ba, bb)), (f"torch.minimum({expr}, {n})", max(ba, bb)),
                (f"{n}.maximum({expr})", max(ba, bb)),
                (f"torch.where({n} > {expr}, {n}, {expr})", max(ba, bb)),
                (f"torch.where({expr} > 0, {n}, {expr} * 2)", max(ba, 2 * bb)),
            ]
        expr, bound = self.rng.choice(choices)
        if _numel(out) > MAX_NUMEL:
            return False
        self.emit(expr, out, bound, contiguous and a.contiguous)
        return True

    def op_reduce(self):
        a = self.pick()
        n, s = a.name, a.shape
        nd = len(s)
        kind = self.rng.choice(["sum", "mean", "max", "min", "logsumexp"])
        if _numel(s) == 0:
            kind = "sum"  # max/min of nothing is an error in both libraries
        total = a.bound * max(1, _numel(s))
        bound = total if kind == "sum" else a.bound + (math.log(_numel(s) or 1) if kind == "logsumexp" else 0)
        if nd == 0 or self.rng.random() < 0.3:
            if kind == "logsumexp" and nd == 0:
                return False  # dim reductions of 0-d tensors: see test_dim_reduction_of_0d_tensor
            if kind == "logsumexp":
                dims = tuple(range(nd))
                self.emit(f"torch.logsumexp({n}, {dims!r})", (), bound, True)
                return True
            form = self.rng.choice([f"{n}.{kind}()", f"torch.{kind}({n})"])
            self.emit(form, (), bound, True)
            return True
        d = self.rng.randrange(-nd, nd)
        keep = self.rng.random() < 0.4
        out = tuple(1 if i == d % nd else x for i, x in enumerate(s)) if keep else \
            tuple(x for i, x in enumerate(s) if i != d % nd)
        kw = ", keepdim=True" if keep else ""
        if kind in ("sum", "mean"):
            if nd >= 2 and self.rng.random() < 0.3:
                dims = tuple(sorted(self.rng.sample(range(nd), 2)))
                out = tuple(1 if i in dims else x for i, x in enumerate(s)) if keep else \
                    tuple(x for i, x in enumerate(s) if i not in dims)
                self.emit(f"{n}.{kind}({dims!r}{kw})", out, bound, True)
                return True
            form = self.rng.choice([f"{n}.{kind}(dim={d}{kw})", f"torch.{kind}({n}, {d}{kw})"])
        elif kind in ("max", "min"):
            form = self.rng.choice([f"{n}.{kind}(dim={d}{kw})[0]", f"{n}.{kind}({d}{kw}).values",
                                    f"torch.{kind}({n}, {d}{kw}).values"])
        else:
            form = self.rng.choice([f"torch.logsumexp({n}, {d}{kw})", f"{n}.logsumexp(dim={d}{kw})"])
        self.emit(form, out, bound, True)
        return True

    def op_reshape(self):
        a = self.pick(lambda v: _numel(v.shape) > 0)
        if a is None:
            return False
        n, s = a.name, a.shape
        size = _numel(s)
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        d1 = self.rng.choice(divisors)
        rest = size // d1
        shapes = [(size,), (d1, rest), (rest, d1), (1, size), (d1, 1, rest)]
        new = self.rng.choice(shapes)
        spec = list(new)
        if self.rng.random() < 0.4:
            spec[self.rng.randrange(len(spec))] = -1
        spec_text = ", ".join(map(str, spec))
        forms = [f"{n}.reshape({spec_text})", f"torch.reshape({n}, ({spec_text},))",
                 f"{n}.reshape(({spec_text},))"]
        if a.contiguous:
            forms.append(f"{n}.view({spec_text})")
            if len(new) == 1:
                forms.append(f"{n}.view(-1)")
        if len(new) == 1:
            forms.append(f"{n}.flatten()")
        self.emit(self.rng.choice(forms), new, a.bound, a.contiguous)
        return True

    def op_transpose(self):
        a = self.pick(lambda v: len(v.shape) >= 1)
        if a is None:
            return False
        n, s = a.name, a.shape
        nd = len(s)
        if nd == 1:
            self.emit(f"{n}.t()", s, a.bound)
            return True
        forms = []
        i, j = self.rng.sample(range(-nd, nd), 2) if nd > 2 else (0, 1)
        if i % nd != j % nd:
            perm = list(range(nd))
            perm[i % nd], perm[j % nd] = perm[j % nd], perm[i % nd]
            forms.append((f"{n}.transpose({i}, {j})", perm))
            forms.append((f"torch.transpose({n}, {i}, {j})", perm))
        if nd == 2:
            forms += [(f"{n}.t()", [1, 0]), (f"{n}.T", [1, 0]), (f"torch.t({n})", [1, 0])]
        perm = list(range(nd))
        self.rng.shuffle(perm)
        forms.append((f"{n}.permute({', '.join(map(str, perm))})", perm))
        forms.append((f"{n}.permute(({', '.join(map(str, perm))},))", perm))
        form, perm = self.rng.choice(forms)
        self.emit(form, tuple(s[p] for p in perm), a.bound)
        return True

    def op_expand(self):
        a = self.pick(lambda v: len(v.shape) <= 2 and _numel(v.shape) <= 16)
        if a is None:
            return False
        n, s = a.name, a.shape
        new = [self.rng.choice([2, 3]) if x == 1 else x for x in s]
        spec = [x if x != old or self.rng.random() < 0.5 else -1 for x, old in zip(new, s)]
        if self.rng.random() < 0.5 or new == list(s):
            new, spec = [2] + new, [2] + spec
        if _numel(new) > MAX_NUMEL:
            return False
        form = self.rng.choice([f"{n}.expand({', '.join(map(str, spec))})",
                                f"{n}.expand(({', '.join(map(str, spec))},))"])
        self.emit(form, new, a.bound)
        return True

    def op_squeeze(self):
        a = self.pick()
        n, s = a.name, a.shape
        nd = len(s)
        r = self.rng.random()
        if r < 0.45 and nd < 3:
            d = self.rng.randint(-nd - 1, nd)
            new = list(s)
            new.insert(d % (nd + 1), 1)
            form = self.rng.choice([f"{n}.unsqueeze({d})", f"torch.unsqueeze({n}, {d})"])
            self.emit(form, new, a.bound, a.contiguous)
        elif r < 0.7 or nd == 0:
            self.emit(f"{n}.squeeze()", [x for x in s if x != 1], a.bound, a.contiguous)
        else:
            d = self.rng.randrange(-nd, nd)
            new = [x for i, x in enumerate(s) if not (i == d % nd and x == 1)]
            form = self.rng.choice([f"{n}.squeeze({d})", f"torch.squeeze({n}, {d})"])
            self.emit(form, new, a.bound, a.contiguous)
        return True

    def op_index(self):
        a = self.pick(lambda v: len(v.shape) >= 1 and _numel(v.shape) > 0)
        if a is None:
            return False
        n, s = a.name, a.shape
        nd, size = len(s), s[0]
        r = self.rng.random()
        if r < 0.3:
            i = self.rng.randrange(-size, size)
            self.emit(f"{n}[{i}]", s[1:], a.bound)
        elif r < 0.55:
            start = self.rng.randrange(0, size)
            stop = self.rng.randrange(start + 1, size + 1)
            step = self.rng.choice([1, 1, 2])
            length = len(range(start, stop, step))
            self.emit(f"{n}[{start}:{stop}:{step}]", (length,) + s[1:], a.bound)
        elif r < 0.75:
            index = [self.rng.randrange(-size, size) for _ in range(self.rng.randint(1, 4))]
            self.emit(f"{n}[{index!r}]", (len(index),) + s[1:], a.bound, True)
        elif nd >= 2:
            i = self.rng.randrange(s[1])
            form = self.rng.choice([(f"{n}[:, {i}]", (s[0],) + s[2:]),
                                    (f"{n}[..., {self.rng.randrange(s[-1])}]", s[:-1]),
                                    (f"{n}[1:, :{i + 1}]", (s[0] - 1, i + 1) + s[2:])])
            self.emit(form[0], form[1], a.bound)
        else:
            self.emit(f"{n}[-1:]", (1,), a.bound)
        return True

    def op_join(self):
        a = self.pick(lambda v: len(v.shape) >= 1 and _numel(v.shape) <= MAX_NUMEL // 2)
        if a is None:
            return False
        n, s = a.name, a.shape
        nd = len(s)
        if self.rng.random() < 0.5:  # stack: equal shapes
            if self.rng.random() < 0.3:
                other = a.name
            else:
                b = self.pick(lambda v: v.shape == s and v is not a) or self.fresh(s)
                other = b.name
            d = self.rng.randint(-nd - 1, nd)
            new = list(s)
            new.insert(d % (nd + 1), 2)
            form = self.rng.choice([f"torch.stack([{n}, {other}], dim={d})",
                                    f"torch.stack(({other}, {n}), {d})"])
            self.emit(form, new, a.bound, True)
            return True
        d = self.rng.randrange(-nd, nd)
        axis = d % nd

        def fits(v):
            return (len(v.shape) == nd and v is not a
                    and all(x == y for i, (x, y) in enumerate(zip(v.shape, s)) if i != axis))

        r = self.rng.random()
        if r < 0.25:
            parts = [n, n]
            extra = s[axis]
        else:
            b = self.pick(fits)
            if b is None:
                shape = list(s)
                shape[axis] = self.rng.randint(1, 3)
                b = self.fresh(tuple(shape))
            parts = [n, b.name] if self.rng.random() < 0.5 else [b.name, n]
            extra = b.shape[axis]
        new = list(s)
        new[axis] += extra
        if _numel(new) > MAX_NUMEL:
            return False
        form = self.rng.choice([f"torch.cat([{', '.join(parts)}], dim={d})",
                                f"torch.cat(({', '.join(parts)}), {d})"])
        self.emit(form, new, max(a.bound, 2.0), True)
        return True

    def op_matmul(self):
        a = self.pick(lambda v: 1 <= len(v.shape) <= 3)
        if a is None:
            return False
        n, s = a.name, a.shape
        k = s[-1]
        m = self.rng.randint(1, 3)
        if len(s) == 1:
            other_shapes = [(k,), (k, m)]
        elif len(s) == 2:
            other_shapes = [(k,), (k, m)]
        else:
            other_shapes = [(k, m), (s[0], k, m)]
        target = self.rng.choice(other_shapes)
        b = self.pick(lambda v: v.shape == target) if self.rng.random() < 0.6 else None
        if b is None:
            b = self.fresh(target)
        out = tuple(np.matmul(np.zeros(s), np.zeros(target)).shape)
        forms = [f"{n} @ {b.name}", f"torch.matmul({n}, {b.name})", f"{n}.matmul({b.name})"]
        if len(s) == 2 and len(target) == 2:
            forms += [f"torch.mm({n}, {b.name})", f"{n}.mm({b.name})"]
        self.emit(self.rng.choice(forms), out, a.bound * b.bound * k, True)
        return True

    OPS = [("op_unary", 6), ("op_pow", 2), ("op_binary", 6), ("op_reduce", 3), ("op_reshape", 1),
           ("op_transpose", 1), ("op_expand", 1), ("op_squeeze", 1), ("op_index", 2),
           ("op_join", 1.5), ("op_matmul", 1.5)]

    def build(self, n_ops):
        for _ in range(self.rng.randint(1, 2)):
            self.input(self.rng.choice(LEAF_SHAPES))
        names, weights = zip(*self.OPS)
        done = 0
        while done < n_ops:
            done += bool(getattr(self, self.rng.choices(names, weights)[0])())
        # The output: the last value and a few others, each weighted so gradients are not all ones.
        computed = [v for v in self.values if v.name.startswith("v") and v.bound <= MAX_BOUND]
        chosen = [computed[-1]] + self.rng.sample(computed[:-1], min(2, len(computed) - 1))
        terms = []
        for k, v in enumerate(chosen):
            weight = f"w{k}"
            self.inputs.append((weight, self.np_rng.uniform(-1, 1, size=v.shape), False))
            terms.append(f"({v.name} * {weight}).sum()")
        self.lines.append("out = " + " + ".join(terms))
        leaves = [name for name, _, grad in self.inputs if grad]
        values = [v.name for v in self.values if v.name.startswith("v")] + ["out"]
        return Program(self.seed, "\n".join(self.lines), self.inputs, values, leaves)


def make_program(seed):
    rng = random.Random(seed)
    return ProgramBuilder(seed).build(n_ops=rng.randint(3, 10))


def _as_array(t):
    return np.array(t.detach().numpy(), dtype=np.float64, copy=True)


def run_program(lib, program):
    """Execute ``program`` with ``torch`` bound to ``lib``; return its values and leaf grads."""
    namespace = {"torch": lib}
    for name, array, requires_grad in program.inputs:
        namespace[name] = lib.tensor(array, dtype=lib.float64, requires_grad=requires_grad)
    exec(program.code, namespace)
    out = namespace["out"]
    if out.requires_grad:  # False when no leaf reaches the output (only constants did)
        out.backward()
    values = {name: _as_array(namespace[name]) for name in program.values}
    values["out.requires_grad"] = np.array(float(out.requires_grad))
    grads = {name: None if namespace[name].grad is None else _as_array(namespace[name].grad)
             for name in program.leaves}
    return values, grads


def assert_close(actual, expected, what):
    """|actual - expected| <= RTOL * |expected| + a small absolute slack for values near 0."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    atol = ATOL_SCALE * max(1.0, scale)
    bad = ~(np.abs(actual - expected) <= RTOL * np.abs(expected) + atol)
    bad &= ~(np.isnan(actual) & np.isnan(expected))
    assert not bad.any(), f"{what}: glassgrad {actual} != torch {expected}"


N_PROGRAMS = 400


@pytest.mark.parametrize("seed", range(N_PROGRAMS))
def test_random_program_matches_torch(seed):
    program = make_program(seed)
    expected_values, expected_grads = run_program(torch, program)
    try:
        values, grads = run_program(gg, program)
    except Exception as error:  # show the program: it is the reproduction
        raise AssertionError(f"glassgrad raised {error!r} on\n{program}") from error
    context = f"\n--- program (seed {seed}) ---\n{program}"
    for name in expected_values:
        assert_close(values[name], expected_values[name], f"value {name}{context}")
    for name in program.leaves:
        if expected_grads[name] is None:
            assert grads[name] is None, f"grad of {name} should be None{context}"
        else:
            assert grads[name] is not None, f"grad of {name} is None{context}"
            assert_close(grads[name], expected_grads[name], f"grad of {name}{context}")


def _run_float32(lib, program):
    """Like run_program in float32, keeping each result's dtype name next to its values."""
    namespace = {"torch": lib}
    for name, array, requires_grad in program.inputs:
        namespace[name] = lib.tensor(array, dtype=lib.float32, requires_grad=requires_grad)
    exec(program.code, namespace)
    if namespace["out"].requires_grad:
        namespace["out"].backward()
    results = {name: namespace[name] for name in program.values}
    results.update({f"{name}.grad": namespace[name].grad for name in program.leaves})
    return {name: None if t is None else (repr(t.dtype), _as_array(t)) for name, t in results.items()}


@pytest.mark.parametrize("seed", range(0, N_PROGRAMS, 4))
def test_random_program_in_float32_keeps_torch_dtypes(seed):
    """float32 stays float32 through every op and gradient (no silent float64), and the numbers
    agree to float32 accuracy."""
    program = make_program(seed)
    expected, actual = _run_float32(torch, program), _run_float32(gg, program)
    context = f"\n--- program (seed {seed}, inputs in float32) ---\n{program}"
    for name, want in expected.items():
        got = actual[name]
        assert (got is None) == (want is None), f"{name}{context}"
        if want is None:
            continue
        assert got[0] == want[0], f"{name}: dtype {got[0]} != {want[0]}{context}"
        scale = float(np.max(np.abs(want[1]), initial=0.0))
        np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-5 * max(1.0, scale),
                                   err_msg=f"{name}{context}")


def test_random_programs_cover_every_op():
    """The generator really produces each op family the brief lists (guards the sampler)."""
    source = "\n".join(make_program(seed).source for seed in range(N_PROGRAMS))
    for needle in ["+", " - ", "*", " / ", "**", "torch.pow(", "-v", "exp(", "torch.log(", "log1p(",
                   "expm1(", "sin(", "cos(", "tan(", "tanh(", "sigmoid(", "relu(", "sqrt(", "abs(",
                   "maximum(", "minimum(", "clamp(", "torch.where(", ".sum()", ".sum(dim=",
                   "keepdim=True", "mean(", "max(", ".min(", "logsumexp(", " @ ", "torch.mm(",
                   "reshape(", ".view(", ".transpose(", ".t()", ".T", ".permute(", ".expand(",
                   ".squeeze(", ".unsqueeze(", "[0]", ":", "[[", "torch.cat(", "torch.stack(",
                   "flatten()"]:
        assert needle in source, needle


@pytest.mark.parametrize("expr", ["x.sum(0)", "x.sum(dim=-1, keepdim=True)", "x.mean(0)",
                                  "x.max(0).values", "x.min(-1).values", "torch.logsumexp(x, 0)"])
def test_dim_reduction_of_0d_tensor(expr):
    results = []
    for lib in (torch, gg):
        x = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = eval(expr, {"torch": lib, "x": x})
        y.backward()
        results.append((_as_array(y), _as_array(x.grad)))
    (ev, eg), (av, ag) = results
    assert_close(av, ev, expr)
    assert_close(ag, eg, f"grad of {expr}")


# ================================================================================================
# 2. Second derivatives
# ================================================================================================

SECOND_ORDER_FUNCTIONS = {
    "cube": lambda t, x, y: (x * x * x).sum() + (y ** 3).sum(),
    "product": lambda t, x, y: (x * y * x).sum(),
    "quotient": lambda t, x, y: (x / (y * y + 1)).sum(),
    "exp_sin": lambda t, x, y: (t.exp(x) * t.sin(y)).sum(),
    "log_cos": lambda t, x, y: (t.log(x * x + 1) * t.cos(y)).sum(),
    "tanh_sigmoid": lambda t, x, y: (t.tanh(x * y) + t.sigmoid(x - y)).sum(),
    "pow_scalar": lambda t, x, y: ((x * x + 1) ** 1.5 + (y * y + 2) ** -0.5).sum(),
    "pow_tensor": lambda t, x, y: ((x * x + 1) ** y).sum(),
    "rpow": lambda t, x, y: (2.0 ** (x * y)).sum(),
    "sqrt_log1p_expm1": lambda t, x, y: (t.sqrt(x * x + 1) * t.log1p(y * y) + t.expm1(x * y)).sum(),
    "tan": lambda t, x, y: t.tan(x * 0.3 + y * 0.2).sum(),
    "logsumexp": lambda t, x, y: t.logsumexp(x * y, dim=0).sum() + t.logsumexp(x, dim=-1).sum(),
    "max_min": lambda t, x, y: (x * y).max() * (x * x).min(dim=1).values.sum(),
    "mean_broadcast": lambda t, x, y: ((x * y[0]) ** 2).mean(),
    "matmul_quadratic": lambda t, x, y: ((x @ y.T) ** 2).sum(),
    "matmul_tanh": lambda t, x, y: t.tanh(t.mm(x, y.t())).sum() * x.sum(),
    "where_relu": lambda t, x, y: (t.where(x > 0, x * x * y, y * y * x) + t.relu(x * y) * x).sum(),
    "clamp_abs": lambda t, x, y: (t.clamp(x, -0.5, 0.5) * y * y + t.abs(x) * x * y).sum(),
    "maximum_minimum": lambda t, x, y: (t.maximum(x, y) * x * y + t.minimum(x * x, y) * y).sum(),
    "shapes": lambda t, x, y: (t.cat([x, y * x], dim=0).T @ t.stack([x, y], dim=0)
                               .reshape(4, 3)).pow(2).sum(),
    "index_expand": lambda t, x, y: ((x[0] * y[:, 1:2]).expand(3, 2, 3) ** 3).sum()
                                    + (x[[0, 0, 1]].sum(0) * y[1]).sum() ** 2,
    "permute_transpose": lambda t, x, y: ((x.unsqueeze(2) * y.unsqueeze(1)).permute(2, 0, 1)
                                          .transpose(0, 1) ** 2).sum() * x.sum(),
}

_XY_RNG = np.random.default_rng(7)
_X = _XY_RNG.uniform(0.2, 1.5, size=(2, 3)) * _XY_RNG.choice([-1, 1], size=(2, 3))
_Y = _XY_RNG.uniform(0.3, 1.2, size=(2, 3))


def _second_derivatives(lib, fn):
    """Gradient, then the gradient of <gradient, v> (a Hessian-vector product), and the
    full Hessian rows of x obtained by differentiating each gradient entry."""
    x = lib.tensor(_X, dtype=lib.float64, requires_grad=True)
    y = lib.tensor(_Y, dtype=lib.float64, requires_grad=True)
    f = fn(lib, x, y)
    gx, gy = lib.autograd.grad(f, (x, y), create_graph=True)
    v = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=lib.float64)
    hvp = lib.autograd.grad((gx * v).sum() + (gy * v * v).sum(), (x, y), retain_graph=True,
                            allow_unused=True)
    rows = [lib.autograd.grad(gx.reshape(-1)[k], (x, y), retain_graph=True, allow_unused=True)
            for k in range(6)]
    arrays = [_as_array(f), _as_array(gx), _as_array(gy)]
    arrays += [np.zeros((2, 3)) if h is None else _as_array(h) for h in hvp]
    for row in rows:
        arrays += [np.zeros((2, 3)) if r is None else _as_array(r) for r in row]
    return arrays


@pytest.mark.parametrize("name", sorted(SECOND_ORDER_FUNCTIONS))
def test_second_derivatives_match_torch(name):
    fn = SECOND_ORDER_FUNCTIONS[name]
    expected = _second_derivatives(torch, fn)
    actual = _second_derivatives(gg, fn)
    labels = ["f", "df/dx", "df/dy", "hvp x", "hvp y"] + [
        f"d(df/dx[{k}])/d{w}" for k in range(6) for w in "xy"]
    for label, a, e in zip(labels, actual, expected):
        assert_close(a, e, f"{name}: {label}")


def test_third_derivative_of_a_cube():
    """grad of grad of grad: d3/dx3 x^3 sin(x) through three create_graph passes."""
    results = []
    for lib in (torch, gg):
        x = lib.tensor([0.7, -1.3], dtype=lib.float64, requires_grad=True)
        f = (x ** 3 * lib.sin(x)).sum()
        (g1,) = lib.autograd.grad(f, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        results.append([_as_array(g) for g in (g1, g2, g3)])
    for k, (e, a) in enumerate(zip(*results), 1):
        assert_close(a, e, f"derivative {k}")


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_double_backward_accumulates_into_grad():
    """backward(create_graph=True) then backward on a function of x.grad, as in gradient
    penalties: x.grad ends up holding first plus second derivative contributions."""
    results = []
    for lib in (torch, gg):
        x = lib.tensor([0.5, 1.5, -2.0], dtype=lib.float64, requires_grad=True)
        y = (x ** 3).sum()
        y.backward(create_graph=True)
        first = _as_array(x.grad)
        penalty = (x.grad ** 2).sum()
        x.grad = None
        penalty.backward()
        results.append((first, _as_array(x.grad)))
    for e, a in zip(*results):
        assert_close(a, e, "double backward")


# ================================================================================================
# 3. Reprs, grad_fn names and graph edges
# ================================================================================================

def _leaf(t, dtype=None):
    return t.tensor([[1.0, -2.5, 3.25], [0.5, 4.0, -6.0]], dtype=dtype or t.float32, requires_grad=True)


REPR_CASES = {
    "float_list": lambda t: t.tensor([1.0, 2.5, -3.0]),
    "float_matrix": lambda t: t.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "int_list": lambda t: t.tensor([1, 2, 3]),
    "int_negative": lambda t: t.tensor([[-10, 2], [300, 4]]),
    "bool_list": lambda t: t.tensor([True, False, True]),
    "float64": lambda t: t.tensor([1.0, 2.0], dtype=t.float64),
    "float64_fraction": lambda t: t.tensor([1 / 3, 2 / 3], dtype=t.float64),
    "int32": lambda t: t.tensor([1, 2], dtype=t.int32),
    "int64_explicit": lambda t: t.tensor([1, 2], dtype=t.int64),
    "float_from_ints": lambda t: t.tensor([1, 2], dtype=t.float32),
    "zero_d_float": lambda t: t.tensor(3.5),
    "zero_d_int": lambda t: t.tensor(7),
    "zero_d_bool": lambda t: t.tensor(False),
    "zero_d_f64": lambda t: t.tensor(0.1, dtype=t.float64),
    "empty": lambda t: t.tensor([]),
    "empty_2d": lambda t: t.zeros(0, 3),
    "empty_int": lambda t: t.tensor([], dtype=t.int64),
    "zeros": lambda t: t.zeros(2, 3),
    "ones_int": lambda t: t.ones(3, dtype=t.int64),
    "arange": lambda t: t.arange(5),
    "arange_float": lambda t: t.arange(0.0, 1.0, 0.25),
    "linspace": lambda t: t.linspace(0, 1, 7),
    "eye": lambda t: t.eye(3),
    "full": lambda t: t.full((2, 2), 7.0),
    "large_summarised": lambda t: t.arange(2000).reshape(40, 50),
    "large_float_summarised": lambda t: t.linspace(-1, 1, 1500),
    "sci_notation": lambda t: t.tensor([1e-5, 1.0, 1e5]),
    "sci_notation_big": lambda t: t.tensor([1.0e10, 2.0]),
    "tiny": lambda t: t.tensor([1e-8, -2e-9]),
    "nan_inf": lambda t: t.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
    "requires_grad_leaf": lambda t: _leaf(t),
    "requires_grad_f64": lambda t: _leaf(t, t.float64),
    "requires_grad_zero_d": lambda t: t.tensor(2.0, requires_grad=True),
    "mul_scalar": lambda t: _leaf(t) * 2,
    "add": lambda t: _leaf(t) + _leaf(t),
    "sub_rsub": lambda t: 1 - _leaf(t),
    "div": lambda t: _leaf(t) / 3,
    "neg": lambda t: -_leaf(t),
    "pow": lambda t: _leaf(t) ** 2,
    "pow_tensor": lambda t: _leaf(t) ** _leaf(t),
    "rpow": lambda t: 2 ** _leaf(t),
    "exp": lambda t: t.exp(_leaf(t)),
    "log_abs": lambda t: t.log(_leaf(t).abs()),
    "sigmoid": lambda t: _leaf(t).sigmoid(),
    "relu": lambda t: t.relu(_leaf(t)),
    "sum": lambda t: _leaf(t).sum(),
    "sum_dim": lambda t: _leaf(t).sum(dim=1),
    "mean": lambda t: _leaf(t).mean(),
    "var": lambda t: _leaf(t).var(),
    "var_dim_biased": lambda t: _leaf(t).var(1, keepdim=True, unbiased=False),
    "std": lambda t: t.std(_leaf(t, t.float64), 0),
    "norm": lambda t: _leaf(t).norm(),
    "norm_p1_dim": lambda t: t.norm(_leaf(t), 1, dim=0),
    "floor": lambda t: _leaf(t).floor(),
    "round": lambda t: t.round(_leaf(t)),
    "round_decimals": lambda t: t.round(_leaf(t, t.float64) * 1.2345, decimals=2),
    "asin": lambda t: (_leaf(t) / 10).asin(),
    "cosh": lambda t: t.cosh(_leaf(t)),
    "rsqrt": lambda t: _leaf(t).abs().rsqrt(),
    "log2": lambda t: t.log2(_leaf(t).abs()),
    "leaky_relu": lambda t: t.nn.functional.leaky_relu(_leaf(t), 0.2),
    "leaky_relu_inplace": lambda t: t.nn.functional.leaky_relu(_leaf(t) * 1, inplace=True),
    "elu_inplace": lambda t: t.nn.functional.elu(_leaf(t) * 1, inplace=True),
    "silu": lambda t: t.nn.functional.silu(_leaf(t)),
    "cumsum": lambda t: _leaf(t).cumsum(1),
    "prod": lambda t: _leaf(t).prod(),
    "prod_dim": lambda t: t.prod(_leaf(t), 0, keepdim=True),
    "flip": lambda t: _leaf(t).flip(1),
    "tril": lambda t: t.tril(_leaf(t)),
    "triu_inplace": lambda t: (_leaf(t) * 1).triu_(1),
    "masked_fill": lambda t: _leaf(t).masked_fill(t.tensor([True, False, True]), 0.0),
    "atan2": lambda t: t.atan2(_leaf(t), t.tensor(2.0)),
    "trace": lambda t: _leaf(t)[:, :2].trace(),
    "outer": lambda t: t.outer(_leaf(t)[0], _leaf(t)[1]),
    "erf": lambda t: t.erf(_leaf(t, t.float64)),
    "gelu": lambda t: t.nn.functional.gelu(_leaf(t)),
    "gelu_tanh": lambda t: t.nn.functional.gelu(_leaf(t, t.float64), approximate="tanh"),
    "gather": lambda t: _leaf(t).gather(1, t.tensor([[2, 0], [1, 1]])),
    "index_select": lambda t: t.index_select(_leaf(t), 1, t.tensor([2, 0, 2])),
    "bmm": lambda t: t.bmm(_leaf(t)[None], _leaf(t).T[None]),
    "max_all": lambda t: _leaf(t).max(),
    "max_dim_values": lambda t: _leaf(t).max(dim=0).values,
    "transpose_T": lambda t: _leaf(t).T,
    "t": lambda t: _leaf(t).t(),
    "transpose": lambda t: _leaf(t).transpose(0, 1),
    "permute": lambda t: _leaf(t).permute(1, 0),
    "select": lambda t: _leaf(t)[0],
    "slice": lambda t: _leaf(t)[:, 1:],
    "index_list": lambda t: _leaf(t)[[0, 0]],
    "view": lambda t: _leaf(t).view(-1),
    "reshape": lambda t: _leaf(t).reshape(3, 2),
    "unsqueeze": lambda t: _leaf(t).unsqueeze(0),
    "squeeze": lambda t: _leaf(t)[:1].squeeze(),
    "expand": lambda t: _leaf(t)[:1].expand(3, 3),
    "cat": lambda t: t.cat([_leaf(t), _leaf(t)]),
    "stack": lambda t: t.stack([_leaf(t), _leaf(t)], dim=1),
    "mm": lambda t: t.mm(_leaf(t), _leaf(t).T),
    "matmul_vec": lambda t: _leaf(t) @ t.tensor([1.0, 2.0, 3.0]),
    "double": lambda t: _leaf(t).double(),
    "float_of_double": lambda t: _leaf(t, t.float64).float(),
    "clamp": lambda t: _leaf(t).clamp(-1, 1),
    "where": lambda t: t.where(_leaf(t) > 0, _leaf(t), t.zeros(2, 3)),
    "logsumexp": lambda t: t.logsumexp(_leaf(t), dim=1),
    "maximum": lambda t: t.maximum(_leaf(t), t.zeros(3)),
    "detach": lambda t: (_leaf(t) * 3).detach(),
    "no_grad_result": lambda t: _no_grad_times_two(t),
    "grad_of_sum": lambda t: _grad_after_backward(t),
    "int_arith": lambda t: t.tensor([1, 2, 3]) * 2 + 1,
    "int_div": lambda t: t.tensor([1, 2, 3]) / 2,
    "comparison": lambda t: t.tensor([1.0, 2.0, 3.0]) > 1.5,
    "tensor_item_float": lambda t: t.tensor([584.0868], requires_grad=True),
    "big_numbers": lambda t: t.tensor([[4.1796e+01, 1.4833e-02]], requires_grad=True),
    "negative_zero": lambda t: t.tensor([-0.0, 0.0, 1.0]),
    "int_float_mix": lambda t: t.tensor([1, 2.5]),
    "three_d_summarised": lambda t: t.arange(3000.0).reshape(10, 10, 30),
    "three_d_small": lambda t: t.zeros(2, 1, 3),
    "mixed_magnitudes": lambda t: t.tensor([[1e-4, 1.0], [1e4, 2.0]]),
    "float64_sci": lambda t: t.tensor([1e-10, 1.0], dtype=t.float64),
    "bool_matrix": lambda t: t.eye(2, dtype=t.bool),
    "float64_sum_grad_fn": lambda t: _leaf(t, t.float64).sum(),
    "int32_sum": lambda t: t.ones(2, 3, dtype=t.int32).sum(),
    "zero_d_nan": lambda t: t.tensor(float("nan")),
    "shape": lambda t: t.zeros(2, 3).shape,
    "size": lambda t: t.zeros(4, 1).size(),
    "dtype": lambda t: t.tensor([1, 2], dtype=t.int32).dtype,
}


def _no_grad_times_two(t):
    x = _leaf(t)
    with t.no_grad():
        return x * 2


def _grad_after_backward(t):
    x = _leaf(t)
    (x * x).sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(REPR_CASES))
def test_repr_matches_torch(name):
    make = REPR_CASES[name]
    assert repr(make(gg)) == repr(make(torch))


def _edges(fn):
    return [None if f is None else f.name() for f, _ in fn.next_functions]


@pytest.mark.parametrize("name", sorted(n for n in REPR_CASES
                                        if getattr(REPR_CASES[n](torch), "grad_fn", None) is not None))
def test_grad_fn_name_and_edges_match_torch(name):
    make = REPR_CASES[name]
    ours, theirs = make(gg).grad_fn, make(torch).grad_fn
    assert ours is not None
    assert ours.name() == theirs.name()
    assert len(ours.next_functions) == len(theirs.next_functions)
    assert _edges(ours) == _edges(theirs)


def test_enough_repr_cases():
    assert len(REPR_CASES) >= 40


def _copy_slices(t):
    x = _leaf(t)
    z = x.clone()
    z[1:] = x[:1] * 3
    return z.grad_fn.name()


# Printed forms glassgrad once got wrong (now regression tests).
FORMER_REPR_DIVERGENCES = {
    "max_dim_returns_torch_return_types": lambda t: repr(_leaf(t).max(dim=1)),
    "min_dim_returns_torch_return_types": lambda t: repr(t.tensor([[1.0, 5.0], [4.0, 2.0]]).min(0)),
    "none_index_is_unsqueeze": lambda t: _leaf(t)[None].grad_fn.name(),
    "reshape_of_transpose_is_unsafe_view": lambda t: _leaf(t).T.reshape(6).grad_fn.name(),
    "batched_matmul_is_unsafe_view": lambda t: (_leaf(t).expand(4, 2, 3) @ _leaf(t).T).grad_fn.name(),
    "iteration_is_unbind": lambda t: next(iter(_leaf(t))).grad_fn.name(),
    "relu_keeps_negative_zero": lambda t: repr(t.relu(t.tensor([-0.0, -1.0, 2.0]))),
    "copy_slices_name": _copy_slices,
}


@pytest.mark.parametrize("name", sorted(FORMER_REPR_DIVERGENCES))
def test_former_repr_divergence(name):
    make = FORMER_REPR_DIVERGENCES[name]
    assert make(gg) == make(torch)


def test_clamp_with_tensor_bounds():
    results = []
    for lib in (torch, gg):
        x = lib.tensor([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]], dtype=lib.float64, requires_grad=True)
        lo = lib.tensor([0.0, -2.0, 1.0], dtype=lib.float64, requires_grad=True)
        y = x.clamp(min=lo, max=lib.tensor(1.8, dtype=lib.float64))
        (y * y).sum().backward()
        results.append((y.grad_fn.name(), _as_array(y), _as_array(x.grad), _as_array(lo.grad)))
    (tn, *expected), (gn, *actual) = results
    assert gn == tn
    for a, e in zip(actual, expected):
        assert_close(a, e, "clamp with tensor bounds")


def test_view_of_a_non_contiguous_tensor_is_refused():
    message = "view size is not compatible with input tensor's size and stride"
    for lib in (torch, gg):
        with pytest.raises(RuntimeError, match=message):
            lib.arange(6.0).reshape(2, 3).T.view(6)


# ================================================================================================
# 4. The seed's Q1 in float32, bit for bit
# ================================================================================================

def _q1(lib):
    x = lib.tensor([3.0])
    y = lib.tensor([4.0])
    x.requires_grad_(True)
    y.requires_grad_(True)
    f = (x + (lib.exp(y))) / ((lib.log(x)) + ((x - y) ** 3))
    f.backward()
    return f, x.grad, y.grad


def test_q1_float32_bit_exact():
    ours, theirs = _q1(gg), _q1(torch)
    for name, a, b in zip(("f", "df/dx", "df/dy"), ours, theirs):
        assert a.dtype == gg.float32
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes(), (
            f"{name}: {a.detach().numpy()!r} != {b.detach().numpy()!r}")


def test_q1_prints_the_seed_output():
    f, dx, dy = _q1(gg)
    assert repr(f) == "tensor([584.0868], grad_fn=<DivBackward0>)"
    assert repr(dx) == "tensor([-19733.3965])"
    assert repr(dy) == "tensor([18322.8477])"


# ================================================================================================
# 5. dtype promotion
# ================================================================================================

def _operand_makers():
    """Operands by label: tensors of several dtypes (0-d and 1-d) and Python numbers.
    Values are small positive so every op (including ** and /) is defined for every pair."""
    makers = {}
    for dtype in ("float32", "float64", "int64", "int32", "bool"):
        values = [True, True] if dtype == "bool" else [2, 3]
        makers[f"{dtype}[2]"] = lambda t, d=dtype, v=values: t.tensor(v, dtype=getattr(t, d))
        makers[f"{dtype}[]"] = lambda t, d=dtype, v=values: t.tensor(v[0], dtype=getattr(t, d))
    makers["int"] = lambda t: 2
    makers["float"] = lambda t: 1.5
    makers["bool"] = lambda t: True
    return makers


OPERANDS = _operand_makers()
OPERATORS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a ** b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
PAIRS = [(a, b) for a in OPERANDS for b in OPERANDS
         if not (a in ("int", "float", "bool") and b in ("int", "float", "bool"))]


def _outcome(lib, op, left, right):
    """The result dtype's repr, or the exception type when the library refuses the pair."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = OPERATORS[op](OPERANDS[left](lib), OPERANDS[right](lib))
    except (RuntimeError, TypeError) as error:
        return f"raises {type(error).__name__}"
    return repr(result.dtype)


def _dtype_mismatches(op, pairs):
    mismatches = []
    for left, right in pairs:
        expected = _outcome(torch, op, left, right)
        actual = _outcome(gg, op, left, right)
        if actual != expected:
            mismatches.append(f"{left} {op} {right}: glassgrad {actual}, torch {expected}")
    return mismatches


@pytest.mark.parametrize("op", list(OPERATORS))
def test_result_dtype_matches_torch(op):
    """Every operand pair, including bools (refused '-', PyTorch's ** dtypes)."""
    mismatches = _dtype_mismatches(op, PAIRS)
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_comparison_functions_and_methods_match_torch(name):
    """torch.gt(a, b) and a.gt(b) give PyTorch's values and dtype, and refuse a number first."""
    def outcome(lib, call):
        try:
            result = call(lib)
        except (RuntimeError, TypeError) as error:
            return f"raises {type(error).__name__}"
        return repr(result.dtype), result.tolist()

    mismatches = []
    for left, right in [(a, b) for a in OPERANDS for b in OPERANDS] + [("float32[2]", "float32[]")]:
        for form, call in [("function", lambda lib: getattr(lib, name)(OPERANDS[left](lib), OPERANDS[right](lib))),
                           ("method", lambda lib: getattr(OPERANDS[left](lib), name)(OPERANDS[right](lib)))]:
            if form == "method" and left in ("int", "float", "bool"):
                continue  # a Python number has no .gt
            expected, actual = outcome(torch, call), outcome(gg, call)
            if actual != expected:
                mismatches.append(f"{form} {name}({left}, {right}): glassgrad {actual}, torch {expected}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("expr", [
    "x.split(2, 1)", "torch.split(x, [1, 2], 0)", "x.split(3, 1)", "x.chunk(2, 0)",
    "torch.chunk(x, 3, 1)", "x.unbind(0)", "torch.unbind(x, 1)", "(x.repeat(2, 1),)",
    "(x.repeat(2, 1, 3),)", "(x[0].repeat(3),)", "torch.sort(x)", "x.sort(0, descending=True)",
    "x.topk(2, 0)", "torch.topk(x[1:], 3, dim=1, largest=False)", "x.sort(descending=True)"])
def test_pieces_sorts_and_repeats_match_torch(expr):
    """Values, indices, grad_fn names and gradients, with distinct weights per output entry
    (topk of equal values is left out: PyTorch does not define their order)."""
    def run(lib):
        x = lib.tensor([[3.0, 1.0, 2.0, 1.0], [0.5, -1.0, 4.0, 2.5], [2.0, 2.5, -3.0, 0.0]],
                       dtype=lib.float64, requires_grad=True)
        out = eval(expr, {"torch": lib, "x": x})
        parts = [out.values] if hasattr(out, "indices") else list(out)
        loss = 0
        for k, part in enumerate(parts):
            loss = loss + (part * lib.arange(1, part.numel() + 1, dtype=lib.float64)
                           .reshape(part.shape) * (k + 1)).sum()
        loss.backward()
        indices = out.indices.tolist() if hasattr(out, "indices") else None
        return ([p.tolist() for p in parts], [type(p.grad_fn).__name__ for p in parts], indices,
                x.grad.tolist())
    assert run(gg) == run(torch)


def test_a_split_piece_is_a_view_that_writes_through():
    whole = gg.zeros(4)
    first, _ = whole.split(2)
    first.add_(1)
    assert whole.tolist() == [1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("call", [
    lambda t, x: t.gather(x, 1, t.tensor([[5]])), lambda t, x: t.gather(x, 1, t.tensor([[-1]])),
    lambda t, x: x.gather(1, t.tensor([1])), lambda t, x: x.gather(1, t.tensor([[0.5]])),
    lambda t, x: x.index_select(1, t.tensor([3])), lambda t, x: t.bmm(x, x),
    lambda t, x: x.masked_fill(t.tensor([1, 0, 1]), 0.0), lambda t, x: x.flip((0, 0)),
    lambda t, x: x[0].tril(), lambda t, x: t.trace(x[0]), lambda t, x: x.split([1, 1], 1),
    lambda t, x: x.chunk(0), lambda t, x: x.repeat(2), lambda t, x: x.topk(4)])
def test_bad_arguments_to_the_newer_ops_raise_as_in_torch(call):
    """The same exception type as PyTorch, and a message naming the op."""
    def outcome(lib):
        try:
            call(lib, lib.ones(2, 3))
        except Exception as error:  # noqa: BLE001  (whatever each library raises is compared)
            return type(error), str(error)
        return None, ""
    (ours, message), (theirs, _) = outcome(gg), outcome(torch)
    assert theirs is not None and ours is theirs, (ours, theirs)
    assert "\n" not in message


@pytest.mark.parametrize("value", [
    np.float64(1.5), np.float32(-2.5), np.float16(0.5), np.int64(3), np.int32(-7), np.uint8(200),
    np.bool_(True), np.array(1.5), 1.5, 2, [np.float64(1.5)], [np.float16(1.5), 2], [2, np.float16(1.5)],
    [np.float64(1), np.float32(1)], [np.float32(1), 1.5], [np.float16(1.5), 2.0], [np.int32(1), 2],
    [np.int32(1)], [np.int32(1), 2.5], [np.float16(1), np.int64(2)], [[np.float64(1)], [2.0]],
    [np.uint8(1), np.int8(1)], [np.int16(1), np.int32(2)], [True, False], [[1, 2], [3, 4.5]], []])
def test_tensor_of_numpy_scalars_infers_torchs_dtype(value):
    """torch.tensor(np.float64(x)) is float64: a NumPy scalar is data with a dtype, not a Python
    number (np.float64 is a float subclass, so this is easy to get wrong); in a list, the widest
    of each kind wins, with floats over ints over bools."""
    mine, theirs = gg.tensor(value), torch.tensor(value)
    assert str(mine.dtype) == str(theirs.dtype) and tuple(mine.shape) == tuple(theirs.shape)
    assert mine.tolist() == theirs.tolist()
