"""The stability analyzer: how many bits of a formula's value and gradient glassgrad gets wrong in
float32 or float64, where the error comes from, and which rewrites fix it.

Values and gradients come from glassgrad's own engine (the formula evaluated on vector leaves, then
``backward``); the exact answers from mpmath through the formula's SymPy form and SymPy's
derivatives (``ground_truth``); error in Herbie's bits (``bits``); inputs uniform over the floats
of each range plus edge points (``sampling``); candidate rewrites from ``rewrites``.

>>> result = analyze("log(1 + exp(y - x))", {"x": (-100, 100), "y": (-100, 100)}, samples=300)
>>> result.verdict, result.rewrites[0].text
('unstable', 'softplus(y - x)')
"""

from dataclasses import dataclass, field

import numpy as np

from .bits import bits_of_error, float_dtype, width
from .ground_truth import UNDEFINED, UNRESOLVED, GroundTruth, GroundTruthError
from .sampling import sample_inputs

from .defaults import DEFAULT_RANGE, DEFAULT_SAMPLES
# An op "introduces error" when, on exact inputs, it is further than this from its exact result;
# a correctly implemented op is within 1 ULP (1 bit).
LOCAL_ERROR_BITS = 3.0
WORST_INPUTS_SHOWN = 5
# Beyond this many distinct ops the per-op search for where error starts is skipped: each op
# needs its own exact values, and formulas typed by people are far smaller.
MAX_OPS_EXAMINED = 200
# A rewrite is shown when it has fewer inf/nan results, or gains this much on average or at worst,
# and no quantity gets more inf/nan or loses more than these margins.
AVERAGE_MARGIN_BITS = 0.05
WORST_MARGIN_BITS = 0.5
QUANTITY_AVERAGE_MARGIN_BITS = 0.25


class StabilityError(ValueError):
    """A request the analyzer cannot carry out: bad ranges, a formula without variables ..."""


@dataclass
class QuantityError:
    """The error of one quantity (the value ``f`` or a partial derivative ``df/dx``)."""

    name: str
    average_bits: float
    worst_bits: float
    measured: int  # inputs where the exact answer is known
    non_finite: int  # inf/nan computed where the exact answer is a finite float
    true_overflow: int  # the exact answer is finite but beyond the dtype's range
    undefined: int  # no real answer (log of a negative, a pole, a derivative at a kink)
    unresolved: int  # exact answer still uncertain at the highest precision tried

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class WorstInput:
    """One of the inputs with the most error: its values, and each quantity computed and exact."""

    point: dict
    bits: dict
    computed: dict
    exact: dict

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class OpError:
    """The error one op introduces by itself: computed in the dtype on its exactly rounded inputs,
    compared with its own exact result."""

    text: str  # the subexpression, e.g. "exp(y)"
    op: str  # its op, e.g. "exp" or "/"
    average_bits: float
    worst_bits: float
    overflows: int  # exact result finite but beyond the dtype's range
    measured: int
    example: dict  # the input where it is worst
    computed: float
    exact: float
    domain: str  # the op record's note on where it is finite, if there is one

    @property
    def introduces_error(self):
        return self.worst_bits > LOCAL_ERROR_BITS

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class NonFinite:
    """Inputs where a quantity came out inf or nan although the exact answer is a finite float,
    and the ops of the forward pass where the first inf/nan appeared (from finite inputs)."""

    quantity: str
    count: int
    origins: list  # [(subexpression text, count)], "the backward pass" if the forward was finite
    example: dict
    computed: float
    exact: float

    def to_dict(self):
        return dict(self.__dict__)


class _Totals:
    """Average and worst bits over every quantity (value and partials) in ``self.quantities``."""

    @property
    def average_bits(self):
        return _overall(self.quantities)[0]

    @property
    def worst_bits(self):
        return _overall(self.quantities)[1]


@dataclass
class Rewrite(_Totals):
    """A candidate rewrite, equivalent to the formula and measured on the same inputs."""

    text: str
    origin: str
    quantities: list

    @property
    def non_finite(self):
        return _overall(self.quantities)[2]

    def to_dict(self):
        return {"text": self.text, "origin": self.origin, "average_bits": self.average_bits,
                "worst_bits": self.worst_bits, "non_finite": self.non_finite,
                "quantities": [q.to_dict() for q in self.quantities]}


@dataclass
class Rejected:
    """A candidate rewrite that is not shown, and why."""

    text: str
    origin: str
    reason: str

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class StabilityResult(_Totals):
    """Everything the analyzer found; ``text()``, ``markdown()``, ``to_dict()`` and ``plot(path)``
    render it."""

    expression: str
    dtype: str
    ranges: dict
    samples: int
    edge_points: int
    seed: int
    quantities: list
    worst_inputs: list
    op_errors: list
    non_finite: list
    rewrites: list
    rejected: list
    precision: int  # the most bits of precision any exact answer needed
    _inputs: dict = field(default=None, repr=False)
    _sample_bits: dict = field(default=None, repr=False)  # formula text -> per-input worst bits

    @property
    def first_error(self):
        """The first op, in evaluation order, that introduces error on exact inputs (or None)."""
        return next((op for op in self.op_errors if op.introduces_error), None)

    @property
    def verdict(self):
        """"unstable" (inf/nan where the answer is finite, or over half the significand lost),
        "accurate" (at most 3 bits anywhere, 1 on average) or "inaccurate" in between."""
        average, worst, non_finite = _overall(self.quantities)
        if non_finite or worst > _significand_bits(self.dtype) / 2:
            return "unstable"
        if worst <= 3 and average <= 1:
            return "accurate"
        return "inaccurate"

    @property
    def flagged(self):
        return self.verdict == "unstable"

    def per_input_bits(self):
        """formula text -> per-input worst bits over the value and every partial (for plots):
        the original first, then the improving rewrites, best first."""
        order = [self.expression] + [rewrite.text for rewrite in self.rewrites]
        return {text: self._sample_bits[text] for text in order}

    def inputs(self):
        """name -> the sampled values (float64 arrays), edge points first."""
        return dict(self._inputs)

    def text(self):
        from .report import render_text
        return render_text(self)

    def markdown(self):
        from .report import render_markdown
        return render_markdown(self)

    def to_dict(self):
        from .report import to_dict
        return to_dict(self)

    def plot(self, path=None):
        """Draw bits of error against each input (matplotlib); PNG/SVG/PDF bytes, also written to
        ``path`` when given."""
        from .plot import plot_error
        return plot_error(self, path)


def analyze(expr, ranges=None, dtype="float32", samples=DEFAULT_SAMPLES, seed=0, rewrites=True):
    """Measure the formula ``expr`` (text or ``Expression``) over ``ranges`` (name -> (low, high);
    a variable without one gets DEFAULT_RANGE) in ``dtype``, on ``samples`` random inputs plus
    edge points; with ``rewrites``, also look for equivalent formulas that do better."""
    from ..expr import Expression, parse

    expression = expr if isinstance(expr, Expression) else parse(expr)
    dtype = float_dtype(dtype)
    names = expression.names
    if not names:
        raise StabilityError(f"the formula {expression} has no variables: nothing to sample")
    if int(samples) < 1:
        raise StabilityError(f"samples must be at least 1, got {samples}")
    ranges = checked_ranges(ranges, names, dtype)
    inputs = sample_inputs(ranges, dtype, int(samples), seed)
    truth = GroundTruth(inputs.points, dtype)
    targets = _targets(expression)
    try:
        exact = {quantity: truth.of(target) for quantity, target in targets.items()}
    except GroundTruthError as error:
        raise StabilityError(f"cannot compute exact values of {expression}: {error}") from None

    computed = _engine(expression, inputs.points, names, dtype)
    bits = _bits(computed, exact, dtype)
    quantities = [_summary(q, computed[q], bits[q], exact[q]) for q in targets]
    nodes = _operation_nodes(expression)
    if len(nodes) > MAX_OPS_EXAMINED:
        nodes = []  # too big to examine op by op: report the totals only
    op_errors = [_op_error(node, inputs, truth, dtype) for node in nodes]
    forward = _forward_values(nodes, inputs.points, dtype)
    non_finite = [_non_finite(q, computed[q], exact[q], nodes, forward, inputs)
                  for q in targets]
    sample_bits = {str(expression): _per_input(bits)}
    kept, rejected = [], []
    if rewrites:
        kept, rejected = _rewrites(expression, quantities, inputs, truth, exact, dtype, sample_bits)
    return StabilityResult(
        expression=str(expression), dtype=dtype.name,
        ranges={name: tuple(map(float, ranges[name])) for name in names},
        samples=inputs.count - inputs.edges, edge_points=inputs.edges, seed=seed,
        quantities=quantities, worst_inputs=_worst_inputs(inputs, computed, exact, bits),
        op_errors=[op for op in op_errors if op is not None],
        non_finite=[entry for entry in non_finite if entry is not None],
        rewrites=kept, rejected=rejected, precision=truth.highest_precision,
        _inputs=inputs.points, _sample_bits=sample_bits)


def checked_ranges(ranges, names, dtype=np.float64):
    """name -> (low, high) for every variable: given ones checked, missing ones DEFAULT_RANGE."""
    ranges = dict(ranges or {})
    unknown = [name for name in ranges if name not in names]
    if unknown:
        raise StabilityError(f"range for {', '.join(map(repr, unknown))}, which the formula does "
                             f"not use (its variables: {', '.join(names)})")
    largest = float(np.finfo(float_dtype(dtype)).max)
    checked = {}
    for name in names:
        bounds = ranges.get(name, DEFAULT_RANGE)
        try:
            low, high = (float(value) for value in bounds)
        except (TypeError, ValueError):
            raise StabilityError(f"range for {name!r} must be two numbers (low, high), "
                                 f"got {bounds!r}") from None
        if not (np.isfinite(low) and np.isfinite(high)):
            raise StabilityError(f"range for {name!r} must be finite, got [{low}, {high}]")
        if low > high:
            raise StabilityError(f"range for {name!r} is empty: low {low} > high {high}")
        if max(abs(low), abs(high)) > largest:
            raise StabilityError(f"range for {name!r} goes beyond the largest "
                                 f"{float_dtype(dtype).name} ({largest:.4g})")
        checked[name] = (low, high)
    return checked


# -- measuring -----------------------------------------------------------------------------------

def _targets(expression):
    """quantity -> SymPy expression: "f" and "df/d<name>" for each variable."""
    import sympy

    symbolic = expression.to_sympy()
    targets = {"f": symbolic}
    for name in expression.names:
        targets[f"df/d{name}"] = sympy.diff(symbolic, sympy.Symbol(name, real=True))
    return targets


def _engine(expression, points, names, dtype):
    """quantity -> float64 array: the formula and its partials as glassgrad computes them in dtype,
    at every input at once (vector leaves, one backward)."""
    import glassgrad as gg

    gg_dtype = getattr(gg, dtype.name)
    count = len(points[names[0]])
    with np.errstate(all="ignore"):
        leaves = {name: gg.tensor(points[name].astype(dtype), dtype=gg_dtype, requires_grad=True)
                  for name in names}
        output = expression.evaluate(leaves, dtype=gg_dtype)
        if output.requires_grad:
            output.backward(gg.ones_like(output))
    results = {"f": np.broadcast_to(output.detach().numpy().astype(np.float64), (count,)).copy()}
    for name in names:
        grad = leaves[name].grad
        # a rewrite may no longer use a variable: its partial is then 0
        results[f"df/d{name}"] = (np.zeros(count) if grad is None
                                  else np.broadcast_to(grad.numpy().astype(np.float64), (count,)))
    return results


def _bits(computed, exact, dtype):
    return {q: bits_of_error(computed[q], np.where(exact[q].known, exact[q].value, np.nan), dtype)
            for q in exact}


def _summary(name, computed, bits, exact):
    measured = ~np.isnan(bits)
    return QuantityError(
        name=name,
        average_bits=float(bits[measured].mean()) if measured.any() else 0.0,
        worst_bits=float(bits[measured].max()) if measured.any() else 0.0,
        measured=int(measured.sum()),
        non_finite=int(np.sum(_avoidably_non_finite(computed, exact))),
        true_overflow=int(np.sum(exact.overflows)),
        undefined=int(np.sum(exact.status == UNDEFINED)),
        unresolved=int(np.sum(exact.status == UNRESOLVED)))


def _avoidably_non_finite(computed, exact):
    return exact.known & np.isfinite(exact.value) & ~np.isfinite(computed)


def _overall(quantities):
    """(mean of the average bits, worst bits, non-finite count) over the value and partials."""
    return (float(np.mean([q.average_bits for q in quantities])),
            float(max(q.worst_bits for q in quantities)),
            int(sum(q.non_finite for q in quantities)))


def _per_input(bits):
    stacked = np.vstack(list(bits.values()))
    with np.errstate(all="ignore"):
        return np.where(np.isnan(stacked).all(axis=0), np.nan,
                        np.nanmax(np.where(np.isnan(stacked), -1.0, stacked), axis=0))


def _worst_inputs(inputs, computed, exact, bits):
    worst = _per_input(bits)
    order = [i for i in np.argsort(-np.nan_to_num(worst, nan=-1.0), kind="stable")
             if worst[i] >= 1.0][:WORST_INPUTS_SHOWN]
    return [WorstInput(point=inputs.at(i),
                       bits={q: _number(bits[q][i]) for q in bits},
                       computed={q: float(computed[q][i]) for q in computed},
                       exact={q: _number(exact[q].wide[i]) for q in exact})
            for i in order]


def _number(value):
    """A float for JSON and reports; None for NaN (no exact answer there)."""
    value = float(value)
    return None if np.isnan(value) else value


def _significand_bits(dtype):
    return np.finfo(float_dtype(dtype)).nmant + 1


# -- where the error comes from ------------------------------------------------------------------

def _operation_nodes(expression):
    """The formula's distinct operations (no variables or numbers), children before parents."""
    from ..expr import Name, Number

    order, seen, stack = [], set(), [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if node not in seen:
                seen.add(node)
                order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children))
    return [node for node in order if not isinstance(node, (Name, Number))]


def _single_op(node):
    """The node's own operation applied to placeholder variables a0, a1, ..."""
    from ..expr import Binary, Call, Name, Unary

    slots = tuple(Name(f"a{k}") for k in range(len(node.children)))
    if isinstance(node, Binary):
        return Binary(node.op, *slots)
    if isinstance(node, Unary):
        return Unary(node.op, *slots)
    return Call(node.function, slots)


def _op_label(node):
    from ..expr import Binary, Call
    if isinstance(node, Call):
        return node.function
    return node.op if isinstance(node, Binary) else f"unary {node.op}"


_RECORD_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "unary -": "neg"}


def _domain(node):
    """The op record's note on where the op is finite ('' for composites and total ops)."""
    from ..ops.registry import REGISTRY

    label = _op_label(node)
    record = REGISTRY.get(_RECORD_NAMES.get(label, label))
    if record is None or record.domain == "all real numbers":
        return ""
    return record.domain


def _apply_op(node, arguments, dtype):
    """The node's op in dtype on the given float64 arrays (no gradients)."""
    import glassgrad as gg

    gg_dtype = getattr(gg, dtype.name)
    with gg.no_grad(), np.errstate(all="ignore"):
        values = {f"a{k}": gg.tensor(np.asarray(argument).astype(dtype), dtype=gg_dtype)
                  for k, argument in enumerate(arguments)}
        result = _single_op(node).evaluate(values, dtype=gg_dtype)
    count = max(len(np.atleast_1d(a)) for a in arguments)
    return np.broadcast_to(result.numpy().astype(np.float64), (count,))


def _op_error(node, inputs, truth, dtype):
    """Local error of one op (Herbie's local error): its exact inputs rounded to dtype, the op in
    dtype, compared with its own exact result. An exact result beyond the dtype's range counts as
    full error: the op overflowed where nothing after it can recover."""
    try:
        exact = truth.of(node.to_sympy())
        children = [truth.of(child.to_sympy()) for child in node.children]
    except GroundTruthError:
        return None
    usable = exact.known.copy()
    for child in children:
        usable &= child.known & ~child.overflows  # an input that overflowed is its op's error
    if not usable.any():
        return None
    computed = _apply_op(node, [np.where(usable, child.value, 0.0) for child in children], dtype)
    bits = bits_of_error(computed, np.where(usable, exact.value, np.nan), dtype)
    overflow = usable & exact.overflows
    bits = np.where(overflow, float(width(dtype)), bits)
    worst = int(np.nanargmax(bits))
    return OpError(text=str(node), op=_op_label(node),
                   average_bits=float(np.nanmean(bits)), worst_bits=float(bits[worst]),
                   overflows=int(overflow.sum()), measured=int(usable.sum()),
                   example=inputs.at(worst), computed=float(computed[worst]),
                   exact=float(exact.wide[worst]), domain=_domain(node))


def _forward_values(nodes, points, dtype):
    """node -> its values in dtype as the formula actually computes them (errors propagated)."""
    from ..expr import CONSTANTS, Name, Number

    def value(node):
        if isinstance(node, Name):
            return CONSTANTS[node.name][0] if node.is_constant else points[node.name]
        if isinstance(node, Number):
            return np.float64(node.value)
        return values[node]

    values = {}
    for node in nodes:
        values[node] = _apply_op(node, [np.atleast_1d(value(child)) for child in node.children],
                                 dtype)
    return values


def _non_finite(quantity, computed, exact, nodes, forward, inputs):
    """Where a quantity is inf/nan but its exact answer is a finite float, and which op of the
    forward pass first produced inf/nan from finite inputs at those inputs."""
    bad = _avoidably_non_finite(computed, exact)
    if not bad.any():
        return None
    origin = np.full(len(computed), -1)
    for k, node in enumerate(nodes):
        children_finite = np.ones(len(computed), dtype=bool)
        for child in node.children:
            if child in forward:
                children_finite &= np.isfinite(forward[child])
        starts = bad & (origin < 0) & ~np.isfinite(forward[node]) & children_finite
        origin[starts] = k
    counts = {}
    for k in origin[bad]:
        if k >= 0:
            where = str(nodes[k])
        elif nodes:
            where = "the backward pass (the forward pass was finite)"
        else:
            where = f"not traced (over {MAX_OPS_EXAMINED} ops)"
        counts[where] = counts.get(where, 0) + 1
    example = int(np.flatnonzero(bad)[0])
    return NonFinite(quantity=quantity, count=int(bad.sum()),
                     origins=sorted(counts.items(), key=lambda item: -item[1]),
                     example=inputs.at(example), computed=float(computed[example]),
                     exact=float(exact.wide[example]))


# -- rewrites ------------------------------------------------------------------------------------

def _rewrites(expression, quantities, inputs, truth, exact, dtype, sample_bits):
    """(improving rewrites, best first; rejected candidates with the reason)."""
    from ..expr import parse
    from .rewrites import candidates

    kept, rejected = [], []
    for candidate in candidates(expression):
        rewritten = parse(candidate.text)
        problem = _inequivalence(rewritten, exact["f"], truth, inputs, dtype)
        if problem:
            rejected.append(Rejected(candidate.text, candidate.origin, problem))
            continue
        computed = _engine(rewritten, inputs.points, expression.names, dtype)
        bits = _bits(computed, exact, dtype)
        measured = Rewrite(candidate.text, candidate.origin,
                           [_summary(q, computed[q], bits[q], exact[q]) for q in exact])
        if _improves(measured.quantities, quantities):
            kept.append(measured)
            sample_bits[candidate.text] = _per_input(bits)
        else:
            rejected.append(Rejected(candidate.text, candidate.origin,
                                     "equivalent, but not more accurate"))
    kept.sort(key=lambda r: (r.non_finite, round(r.average_bits, 2), r.worst_bits, len(r.text)))
    return kept, rejected


def _inequivalence(rewritten, exact, truth, inputs, dtype):
    """'' if the rewrite has the formula's exact value at every input where that is known; else
    the first input where it does not."""
    try:
        candidate = truth.of(rewritten.to_sympy())
    except GroundTruthError as error:
        return f"no exact values ({error})"
    compared = exact.known & (candidate.status != UNRESOLVED)
    differs = compared & ~(candidate.known & _same_float(candidate.value, exact.value, dtype))
    if not differs.any():
        return ""
    k = int(np.flatnonzero(differs)[0])
    point = ", ".join(f"{name} = {value:.6g}" for name, value in inputs.at(k).items())
    theirs = "undefined" if candidate.status[k] == UNDEFINED else f"{candidate.wide[k]:.6g}"
    return f"not equivalent: at {point} it is {theirs}, the formula is {exact.wide[k]:.6g}"


def _same_float(a, b, dtype):
    """Equal, or one ULP apart (two correctly rounded results may differ by double rounding)."""
    with np.errstate(invalid="ignore"):
        both_inf = np.isinf(a) & (a == b)
        close = bits_of_error(np.where(np.isnan(a), np.inf, a), np.where(np.isnan(b), 0, b), dtype)
    return both_inf | (close <= 1.0)


def _improves(candidate, original):
    """Better overall (fewer inf/nan, fewer bits on average or at worst), and no quantity worse."""
    average, worst, non_finite = _overall(candidate)
    before_average, before_worst, before_non_finite = _overall(original)
    better = (non_finite < before_non_finite or average < before_average - AVERAGE_MARGIN_BITS
              or worst < before_worst - WORST_MARGIN_BITS)
    no_worse = all(after.non_finite <= before.non_finite
                   and after.average_bits <= before.average_bits + QUANTITY_AVERAGE_MARGIN_BITS
                   and after.worst_bits <= before.worst_bits + WORST_MARGIN_BITS
                   for after, before in zip(candidate, original))
    return better and no_worse
