"""glassgrad.autograd.functional against torch.autograd.functional and closed forms.

Each of jacobian, hessian, vjp, jvp, hvp and vhp runs on single tensors and tuples, and must
return the same structure (tensor or tuple, same nesting) and the same numbers as PyTorch to
1e-10 in float64. The closed-form tests need no PyTorch.
"""

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd import functional as AF

# ----- functions written once for both libraries: ``lib`` is glassgrad or torch -----------------
FUNCTIONS = {  # name: (function, input shapes)
    "vector-to-vector": (lambda lib, x: x.exp() * x.sum(), [(3,)]),
    "matrix-to-matrix": (lambda lib, x: (x @ x.T).tanh(), [(2, 3)]),
    "scalar-to-scalar": (lambda lib, x: x ** 3, [()]),
    "tuple-to-tensor": (lambda lib, a, b: (a * b.sin()).sum(0), [(2, 3), (3,)]),
    "tuple-to-tuple": (lambda lib, a, b: (a * b, (a ** 2).sum() + b.exp().sum()), [(3,), (3,)]),
    "tensor-to-tuple": (lambda lib, x: (x.sin(), x.cos().sum()), [(2,)]),
    "unused-input": (lambda lib, a, b: a * 2, [(2,), (3,)]),
    "tuple-of-one": (lambda lib, x: lib.logsumexp(x, 1), [(2, 3)]),
}
SCALAR_FUNCTIONS = {
    "cubic-plus-sin": (lambda lib, x: (x ** 3).sum() + (x.sin() * x).sum(), [(3,)]),
    "logsumexp-matrix": (lambda lib, x: lib.logsumexp(x, (0, 1)), [(2, 2)]),
    "two-inputs": (lambda lib, a, b: (a @ b).tanh().sum(), [(2, 3), (3,)]),
    "bilinear": (lambda lib, a, b: (a * b).sum() + (a ** 2).sum(), [(2,), (2,)]),
    "scalar-input": (lambda lib, x: x.exp() * x, [()]),
    "tuple-of-one": (lambda lib, x: (x.sigmoid() * x).sum(), [(2,)]),
}
# Functions whose single input is passed as a 1-tuple, not a bare tensor.
AS_ONE_TUPLE = {"tuple-of-one"}


def draw(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, shape) for shape in shapes]


def pack(arrays, lib, name, requires_grad=False):
    """Arrays as lib tensors: a bare tensor for one input, else a tuple (as the case asks)."""
    tensors = tuple(lib.tensor(a, dtype=lib.float64, requires_grad=requires_grad) for a in arrays)
    return tensors[0] if len(tensors) == 1 and name not in AS_ONE_TUPLE else tensors


def bind(f, lib):
    return lambda *xs: f(lib, *xs)


def outputs_like(f, inputs_arrays, name, seed):
    """Random arrays shaped like f's outputs (the v of vjp), from a glassgrad evaluation."""
    out = f(gg, *[gg.tensor(a, dtype=gg.float64) for a in inputs_arrays])
    shapes = [tuple(o.shape) for o in (out if isinstance(out, tuple) else (out,))]
    arrays = draw(shapes, seed)
    return arrays, isinstance(out, tuple)


def assert_same(ours, theirs, torch, path="result"):
    """Same structure (tensor or tuple, same lengths) and values within 1e-10."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gg.Tensor), f"{path}: expected a tensor, got {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: shape"
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                   rtol=1e-10, atol=1e-10, err_msg=path)
        return
    assert isinstance(theirs, tuple) and isinstance(ours, tuple), f"{path}: expected a tuple"
    assert len(ours) == len(theirs), f"{path}: tuple length"
    for k, (o, t) in enumerate(zip(ours, theirs)):
        assert_same(o, t, torch, f"{path}[{k}]")


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    return torch


# ----- against PyTorch -----------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_jacobian_matches_torch(torch, name):
    f, shapes = FUNCTIONS[name]
    x = draw(shapes, 0)
    ours = AF.jacobian(bind(f, gg), pack(x, gg, name))
    theirs = torch.autograd.functional.jacobian(bind(f, torch), pack(x, torch, name))
    assert_same(ours, theirs, torch)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vjp_matches_torch(torch, name):
    f, shapes = FUNCTIONS[name]
    x = draw(shapes, 1)
    v, v_is_tuple = outputs_like(f, x, name, seed=2)

    def v_for(lib):
        vs = tuple(lib.tensor(a, dtype=lib.float64) for a in v)
        return vs if v_is_tuple else vs[0]

    ours = AF.vjp(bind(f, gg), pack(x, gg, name), v_for(gg))
    theirs = torch.autograd.functional.vjp(bind(f, torch), pack(x, torch, name), v_for(torch))
    assert_same(ours, theirs, torch)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_jvp_matches_torch(torch, name):
    f, shapes = FUNCTIONS[name]
    x, v = draw(shapes, 3), draw(shapes, 4)
    ours = AF.jvp(bind(f, gg), pack(x, gg, name), pack(v, gg, name))
    theirs = torch.autograd.functional.jvp(bind(f, torch), pack(x, torch, name),
                                           pack(v, torch, name))
    assert_same(ours, theirs, torch)


@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
def test_hessian_matches_torch(torch, name):
    f, shapes = SCALAR_FUNCTIONS[name]
    x = draw(shapes, 5)
    ours = AF.hessian(bind(f, gg), pack(x, gg, name))
    theirs = torch.autograd.functional.hessian(bind(f, torch), pack(x, torch, name))
    assert_same(ours, theirs, torch)


@pytest.mark.parametrize("product", ["hvp", "vhp"])
@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
def test_hessian_vector_products_match_torch(torch, name, product):
    f, shapes = SCALAR_FUNCTIONS[name]
    x, v = draw(shapes, 6), draw(shapes, 7)
    ours = getattr(AF, product)(bind(f, gg), pack(x, gg, name), pack(v, gg, name))
    theirs = getattr(torch.autograd.functional, product)(
        bind(f, torch), pack(x, torch, name), pack(v, torch, name))
    assert_same(ours, theirs, torch)


def test_v_may_be_omitted_for_single_elements(torch):
    f = lambda lib, x: (x * x.exp()).sum()  # noqa: E731
    x = np.array([0.7])
    for fn in ("vjp", "jvp", "hvp", "vhp"):
        ours = getattr(AF, fn)(bind(f, gg), pack([x], gg, ""))
        theirs = getattr(torch.autograd.functional, fn)(bind(f, torch), pack([x], torch, ""))
        assert_same(ours, theirs, torch, fn)


@pytest.mark.parametrize("fn", ["vjp", "jvp", "hvp", "vhp", "jacobian", "hessian"])
def test_create_graph_makes_results_differentiable_like_torch(torch, fn):
    f = lambda lib, a, b: (a.sin() * b ** 2).sum()  # noqa: E731
    a, b = draw([(3,), (3,)], 8)
    v = draw([(3,), (3,)], 9)

    def second_derivative(lib, module):
        inputs = pack([a, b], lib, "", requires_grad=True)
        args = (bind(f, lib), inputs)
        if fn in ("jvp", "hvp", "vhp"):
            args += (pack(v, lib, ""),)
        result = getattr(module, fn)(*args, create_graph=True)
        if fn not in ("jacobian", "hessian"):
            result = result[1]
        flat = result if fn != "hessian" else tuple(t for row in result for t in row)
        total = sum((t * t).sum() for t in (flat if isinstance(flat, tuple) else (flat,)))
        return lib.autograd.grad(total, inputs)

    assert_same(second_derivative(gg, AF), second_derivative(torch, torch.autograd.functional),
                torch)


def test_unused_inputs_give_zeros_or_strict_errors_like_torch(torch):
    f = lambda lib, a, b: a * 2  # noqa: E731
    a, b = draw([(2,), (3,)], 10)
    assert_same(AF.jacobian(bind(f, gg), pack([a, b], gg, "")),
                torch.autograd.functional.jacobian(bind(f, torch), pack([a, b], torch, "")), torch)
    with pytest.raises(RuntimeError) as ours:
        AF.jacobian(bind(f, gg), pack([a, b], gg, ""), strict=True)
    with pytest.raises(RuntimeError) as theirs:
        torch.autograd.functional.jacobian(bind(f, torch), pack([a, b], torch, ""), strict=True)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("call", [
    lambda m, lib: m.vjp(lambda x: x * 2, lib.ones(2, dtype=lib.float64)),
    lambda m, lib: m.jvp(lambda x: x * 2, lib.ones(2, dtype=lib.float64),
                         lib.ones(3, dtype=lib.float64)),
    lambda m, lib: m.vjp(lambda a, b: (a, b), (lib.ones(2, dtype=lib.float64),) * 2,
                         (lib.ones(2, dtype=lib.float64),)),
    lambda m, lib: m.hessian(lambda x: x * 2, lib.ones(2, dtype=lib.float64)),
    lambda m, lib: m.hvp(lambda x: (x, x), lib.ones(1, dtype=lib.float64)),
    lambda m, lib: m.jacobian(lambda x: x, [lib.ones(1, dtype=lib.float64)]),
    lambda m, lib: m.hessian(lambda x: (x * 2).sum(), lib.ones(2, dtype=lib.float64), strict=True),
], ids=["vjp-needs-v", "jvp-v-shape", "vjp-v-length", "hessian-needs-scalar", "hvp-single-output",
        "inputs-must-be-tensors", "strict-linear-hessian"])
def test_argument_errors_match_torch(torch, call):
    with pytest.raises(Exception) as ours:
        call(AF, gg)
    with pytest.raises(Exception) as theirs:
        call(torch.autograd.functional, torch)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


# ----- closed forms (no PyTorch needed) ------------------------------------------------------
def test_hessian_of_sum_of_cubes_is_diag_6x():
    x = np.array([0.5, -1.25, 2.0])
    h = AF.hessian(lambda t: (t ** 3).sum(), gg.tensor(x, dtype=gg.float64))
    np.testing.assert_allclose(h.numpy(), np.diag(6 * x), rtol=1e-14, atol=0)


def test_jacobian_of_a_linear_map_is_its_matrix():
    a = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
    jac = AF.jacobian(lambda x: gg.tensor(a, dtype=gg.float64) @ x,
                      gg.tensor([0.3, 0.1, -0.2], dtype=gg.float64))
    np.testing.assert_array_equal(jac.numpy(), a)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    a = np.array([[2.0, 1.0], [-3.0, 4.0]])
    a_t = gg.tensor(a, dtype=gg.float64)
    h = AF.hessian(lambda x: x @ (a_t @ x), gg.tensor([0.7, -0.4], dtype=gg.float64))
    np.testing.assert_allclose(h.numpy(), a + a.T, rtol=1e-14)


def test_products_of_exp_closed_form():
    # f(x) = exp(x) elementwise: J = diag(e^x), so J v = v^T J = e^x * v.
    x, v = np.array([0.1, -0.6]), np.array([2.0, -3.0])
    xt, vt = gg.tensor(x, dtype=gg.float64), gg.tensor(v, dtype=gg.float64)
    out, jv = AF.jvp(gg.exp, xt, vt)
    _, vj = AF.vjp(gg.exp, xt, vt)
    np.testing.assert_allclose(out.numpy(), np.exp(x), rtol=1e-15)
    np.testing.assert_allclose(jv.numpy(), np.exp(x) * v, rtol=1e-14)
    np.testing.assert_allclose(vj.numpy(), np.exp(x) * v, rtol=1e-14)


def test_hvp_and_vhp_of_cubic_closed_form():
    # f(a, b) = sum(a^2 b): H = [[2 diag(b), 2 diag(a)], [2 diag(a), 0]].
    a, b = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    va, vb = np.array([0.3, 0.2]), np.array([1.0, -1.0])
    inputs = (gg.tensor(a, dtype=gg.float64), gg.tensor(b, dtype=gg.float64))
    v = (gg.tensor(va, dtype=gg.float64), gg.tensor(vb, dtype=gg.float64))
    expected = (2 * b * va + 2 * a * vb, 2 * a * va)
    for product in (AF.hvp, AF.vhp):
        value, (ha, hb) = product(lambda p, q: (p * p * q).sum(), inputs, v)
        assert value.item() == pytest.approx(np.sum(a * a * b))
        np.testing.assert_allclose(ha.numpy(), expected[0], rtol=1e-14)
        np.testing.assert_allclose(hb.numpy(), expected[1], rtol=1e-14)


def test_result_structure_follows_inputs_and_outputs():
    x = gg.tensor([1.0, 2.0], dtype=gg.float64)
    assert isinstance(AF.jacobian(lambda t: t * 2, x), gg.Tensor)
    by_input = AF.jacobian(lambda a, b: a * b, (x, x))
    assert isinstance(by_input, tuple) and len(by_input) == 2
    by_output = AF.jacobian(lambda t: (t, t * 2, t.sum()), x)
    assert [tuple(j.shape) for j in by_output] == [(2, 2), (2, 2), (2,)]
    nested = AF.jacobian(lambda a, b: (a * b, a.sum()), (x, x))
    assert [[tuple(j.shape) for j in row] for row in nested] == [[(2, 2), (2, 2)], [(2,), (2,)]]
    hess = AF.hessian(lambda a, b: (a * b).sum(), (x, x))
    assert [[tuple(h.shape) for h in row] for row in hess] == [[(2, 2), (2, 2)], [(2, 2), (2, 2)]]


def test_results_are_detached_unless_create_graph():
    x = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    out, vj = AF.vjp(lambda t: (t ** 2).sum(), x)
    assert not out.requires_grad and not vj.requires_grad
    out, vj = AF.vjp(lambda t: (t ** 2).sum(), x, create_graph=True)
    assert out.requires_grad and vj.requires_grad
    (g,) = gg.autograd.grad(vj.sum(), x)
    assert g.tolist() == [2.0, 2.0]


def test_vectorize_and_forward_mode_strategy_give_the_same_jacobian():
    f = lambda t: (t * t).sin()  # noqa: E731
    x = gg.tensor([0.2, -0.9, 1.3], dtype=gg.float64)
    expected = AF.jacobian(f, x).numpy()
    np.testing.assert_allclose(expected, np.diag(2 * x.numpy() * np.cos(x.numpy() ** 2)),
                               rtol=1e-14)
    for options in ({"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}):
        np.testing.assert_array_equal(AF.jacobian(f, x, **options).numpy(), expected)


def test_forward_mode_without_vectorize_is_refused_like_torch(torch):
    with pytest.raises(NotImplementedError) as ours:
        AF.jacobian(lambda t: t, gg.ones(2), strategy="forward-mode")
    with pytest.raises(NotImplementedError) as theirs:
        torch.autograd.functional.jacobian(lambda t: t, torch.ones(2), strategy="forward-mode")
    # PyTorch's text runs two words together ("isonly"); compare the words.
    assert str(ours.value).split() == str(theirs.value).replace("isonly", "is only").split()
