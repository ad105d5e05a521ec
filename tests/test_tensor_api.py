"""The public tensor API, checked without PyTorch: against NumPy and hand-computed numbers.

One focused test per function, method, property or operator: creation (tensor, as_tensor,
from_numpy, zeros ... normal, manual_seed), joining, linear algebra, the elementwise functions
and their derivatives, reductions, grad modes, autograd attributes (backward, grad, hooks,
retain_grad, detach ...), shape methods, in-place methods and operators, views that write through,
dtype defaults, and the error messages users meet most often.
"""

import math
import re

import numpy as np
import pytest

import glassgrad as gg


def arr(t):
    """A tensor's values as a float64 NumPy array (detached)."""
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def close(t, expected, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(arr(t), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def leaf(values, dtype=gg.float64):
    return gg.tensor(values, dtype=dtype, requires_grad=True)


X = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])
Y = np.array([[1.0, 2.0, -3.0], [0.25, -4.0, 0.5]])


# ================================================================================================
# Creation
# ================================================================================================

def test_tensor_copies_its_data_and_infers_dtype():
    data = [[1.0, 2.0], [3.0, 4.0]]
    t = gg.tensor(data)
    data[0][0] = 100.0
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.dtype == gg.float32
    assert gg.tensor([1, 2]).dtype == gg.int64
    assert gg.tensor([True, False]).dtype == gg.bool
    assert gg.tensor([1, 2.5]).dtype == gg.float32
    assert gg.tensor(3.0).shape == ()
    a = np.array([1.0, 2.0])
    t = gg.tensor(a)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0]  # a copy, unlike from_numpy


def test_dtype_defaults():
    assert gg.tensor([1.5]).dtype == gg.float32              # Python floats: float32
    assert gg.tensor([1]).dtype == gg.int64                  # Python ints: int64
    assert gg.tensor([1.5], dtype=gg.float64).dtype == gg.float64  # on request
    assert gg.tensor(np.array([1.5])).dtype == gg.float64    # NumPy arrays keep their dtype
    assert gg.tensor(np.array([1.5], dtype=np.float32)).dtype == gg.float32
    assert gg.tensor(np.array([1], dtype=np.int32)).dtype == gg.int32
    assert gg.zeros(2).dtype == gg.float32
    assert gg.arange(3).dtype == gg.int64
    assert gg.arange(3.0).dtype == gg.float32
    assert (gg.tensor([1.0]) * 2.5).dtype == gg.float32      # a Python float does not upcast
    assert (gg.tensor([1.0], dtype=gg.float64) * 2).dtype == gg.float64
    assert repr(gg.float32) == "torch.float32" and repr(gg.int64) == "torch.int64"


def test_as_tensor_shares_memory_with_a_numpy_array():
    a = np.array([1.0, 2.0, 3.0])
    t = gg.as_tensor(a)
    a[1] = -7.0
    assert t.tolist() == [1.0, -7.0, 3.0]
    assert t.dtype == gg.float64
    assert gg.as_tensor([1, 2]).tolist() == [1, 2]
    assert gg.as_tensor(a, dtype=gg.float32).dtype == gg.float32


def test_from_numpy_shares_memory_both_ways():
    a = np.array([[1, 2], [3, 4]], dtype=np.int32)
    t = gg.from_numpy(a)
    assert t.dtype == gg.int32
    a[0, 0] = 10
    assert t[0, 0].item() == 10
    t[1, 1] = -5
    assert a[1, 1] == -5
    with gg.no_grad():
        t.mul_(2)
    np.testing.assert_array_equal(a, [[20, 4], [6, -10]])
    assert np.shares_memory(t.numpy(), a)


def test_zeros_ones_full():
    np.testing.assert_array_equal(gg.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(gg.zeros((2, 3)).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(gg.ones(4).numpy(), np.ones(4))
    assert gg.ones(2, dtype=gg.int64).dtype == gg.int64
    assert gg.full((2, 2), 7.5).tolist() == [[7.5, 7.5], [7.5, 7.5]]
    assert gg.full((2,), 7).dtype == gg.int64
    assert gg.full((2,), 7.0).dtype == gg.float32
    z = gg.zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf


def test_zeros_like_ones_like():
    base = gg.tensor([[1, 2, 3]], dtype=gg.int32)
    z, o = gg.zeros_like(base), gg.ones_like(base)
    assert z.shape == (1, 3) and z.dtype == gg.int32 and z.tolist() == [[0, 0, 0]]
    assert o.tolist() == [[1, 1, 1]] and o.dtype == gg.int32
    assert gg.ones_like(base, dtype=gg.float64).dtype == gg.float64


def test_arange():
    np.testing.assert_array_equal(gg.arange(5).numpy(), np.arange(5))
    np.testing.assert_array_equal(gg.arange(2, 11, 3).numpy(), [2, 5, 8])
    np.testing.assert_allclose(gg.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert gg.arange(10, 0, -3).tolist() == [10, 7, 4, 1]


def test_linspace():
    np.testing.assert_allclose(gg.linspace(-1, 1, 5).numpy(), [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(gg.linspace(0, 1, 7, dtype=gg.float64).numpy(), np.linspace(0, 1, 7),
                               rtol=0, atol=1e-15)
    assert gg.linspace(0, 1, 7).dtype == gg.float32


def test_eye():
    np.testing.assert_array_equal(gg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(gg.eye(2, 3).numpy(), np.eye(2, 3))


def test_rand_is_uniform_on_unit_interval():
    gg.manual_seed(1)
    r = gg.rand(20000)
    values = r.numpy()
    assert r.dtype == gg.float32 and r.shape == (20000,)
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.01 and abs(values.var() - 1 / 12) < 0.005
    assert gg.rand(2, 3).shape == (2, 3)


def test_randn_is_standard_normal():
    gg.manual_seed(2)
    values = gg.randn(20000).numpy()
    assert abs(values.mean()) < 0.03 and abs(values.std() - 1.0) < 0.03
    assert gg.randn(3, 4, dtype=gg.float64).dtype == gg.float64


def test_normal_has_requested_mean_and_std():
    gg.manual_seed(3)
    t = gg.normal(3.0, 0.5, size=(20000,))
    assert t.shape == (20000,)
    assert abs(t.numpy().mean() - 3.0) < 0.02 and abs(t.numpy().std() - 0.5) < 0.02
    w = gg.normal(0, 0.01, size=(1, 2), requires_grad=True)
    assert w.shape == (1, 2) and w.requires_grad and w.is_leaf


def test_manual_seed_is_reproducible_and_matches_pytorch():
    gg.manual_seed(0)
    first = gg.rand(3).tolist()
    gg.manual_seed(0)
    assert gg.rand(3).tolist() == first
    gg.manual_seed(1)
    assert gg.rand(3).tolist() != first
    # PyTorch's published draws after torch.manual_seed(0).
    np.testing.assert_allclose(first, [0.49625658988952637, 0.7682217955589294, 0.08847743272781372],
                               rtol=0, atol=0)
    gg.manual_seed(0)
    np.testing.assert_allclose(gg.randn(3).numpy(), [1.5409960746765137, -0.293428897857666,
                                                     -2.1787893772125244], rtol=0, atol=0)


# ================================================================================================
# Joining and linear algebra
# ================================================================================================

def test_cat():
    a, b = leaf(X), leaf(Y[:1])
    c = gg.cat([a, b], dim=0)
    np.testing.assert_array_equal(arr(c), np.concatenate([X, Y[:1]], axis=0))
    (c * gg.arange(9.0, dtype=gg.float64).reshape(3, 3)).sum().backward()
    np.testing.assert_array_equal(arr(a.grad), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(arr(b.grad), [[6, 7, 8]])
    assert gg.cat((gg.ones(2, 1), gg.zeros(2, 2)), 1).tolist() == [[1, 0, 0], [1, 0, 0]]


def test_stack():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    s = gg.stack([a, b], dim=1)
    np.testing.assert_array_equal(arr(s), [[1, 3], [2, 4]])
    (s * gg.tensor([[1.0, 10.0], [100.0, 1000.0]], dtype=gg.float64)).sum().backward()
    assert a.grad.tolist() == [1.0, 100.0] and b.grad.tolist() == [10.0, 1000.0]
    assert gg.stack([gg.zeros(2, 3)] * 4).shape == (4, 2, 3)


def test_mm_values_and_gradients():
    a, b = leaf(X), leaf(Y.T)
    c = gg.mm(a, b)
    np.testing.assert_allclose(arr(c), X @ Y.T)
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    c.backward(gg.tensor(g, dtype=gg.float64))
    np.testing.assert_allclose(arr(a.grad), g @ Y)        # dL/dA = G B^T
    np.testing.assert_allclose(arr(b.grad), X.T @ g)      # dL/dB = A^T G


def test_matmul_shapes_and_gradients():
    v = np.array([1.0, -2.0, 0.5])
    a, x = leaf(X), leaf(v)
    y = gg.matmul(a, x)
    np.testing.assert_allclose(arr(y), X @ v)
    y.sum().backward()
    np.testing.assert_allclose(arr(a.grad), np.outer([1, 1], v))
    np.testing.assert_allclose(arr(x.grad), X.sum(axis=0))
    assert gg.matmul(gg.ones(3), gg.ones(3)).item() == 3.0                  # dot: 0-d
    assert gg.matmul(gg.ones(4, 2, 3), gg.ones(3, 5)).shape == (4, 2, 5)    # batched
    assert (gg.ones(2, 3) @ gg.ones(3)).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mm_takes_the_same_bits_as_numpy_matmul(dtype):
    """mm's forward and gradients go through ``ndarray.dot`` where it is matmul's BLAS call with
    less set-up (ops.linalg.matrix_product): the bits must be matmul's, special values included,
    for contiguous, Fortran-ordered and transposed operands."""
    from glassgrad.ops.linalg import matrix_product

    rng = np.random.default_rng(7)
    with np.errstate(all="ignore"):
        for n, k, m in [(20, 2, 1), (1, 20, 1), (2, 20, 1), (1, 3, 5), (5, 3, 5), (17, 33, 4)]:
            for _ in range(20):
                a = rng.choice([0.0, -0.0, 1.0, -2.5, 0.1, 1e-45, 3e38, -np.inf, np.inf, np.nan],
                               size=(n, k)).astype(dtype)
                b = rng.standard_normal((k, m)).astype(dtype)
                b[rng.random((k, m)) < 0.3] = -0.0
                for x, y in [(a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b)),
                             (a.T.copy().T, b.T.copy().T)]:
                    assert matrix_product(x, y).tobytes() == np.matmul(x, y).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_takes_the_same_bits_as_numpy_mean(dtype):
    """mean's forward is the sum over the count (np.mean's set-up costs more than its work on
    small arrays): the bits and the result's type must be np.mean's, for every axis choice,
    ordinary values of every magnitude and special ones."""
    import itertools

    rng = np.random.default_rng(3)
    kinds = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-45, 1.0, -2.5, 3e38, 1e-310, 1 / 3]
    with np.errstate(all="ignore"):
        for shape in [(), (1,), (3,), (20,), (7, 3), (3, 1, 5), (129, 3), (1000,)]:
            axes = [None] + [c for r in range(1, len(shape) + 1)
                             for c in itertools.combinations(range(len(shape)), r)]
            for trial in range(12):
                x = (rng.choice(kinds, size=shape) if trial % 3 == 0 else
                     rng.standard_normal(shape) * 10.0 ** rng.integers(-40, 38)).astype(dtype)
                x = x.T if trial % 4 == 1 else x
                for axis, keepdim in itertools.product(axes, (False, True)):
                    mine = gg.tensor(x).mean(dim=axis, keepdim=keepdim)._data
                    expected = np.asarray(np.mean(x, axis=axis, keepdims=keepdim))
                    assert mine.dtype == expected.dtype and mine.shape == expected.shape
                    assert mine.tobytes() == expected.tobytes(), (shape, axis, keepdim)


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_mm_by_a_one_by_one_matrix_keeps_nan(dtype):
    """A 1x1 factor sends ``ndarray.dot`` to BLAS scal, which turns NaN * 0 into 0; mm must
    give NaN there (IEEE: NaN times anything is NaN), in the forward and in the gradients."""
    column = leaf([[math.nan], [2.0], [-1.0]], dtype)
    zero = leaf([[0.0]], dtype)
    product = gg.mm(column, zero)
    assert math.isnan(product[0, 0].item()) and product[1:].tolist() == [[0.0], [0.0]]
    product.backward(gg.tensor([[0.0], [1.0], [1.0]], dtype=dtype))
    assert math.isnan(zero.grad.item())                   # column.T @ g: NaN * 0 + 2 - 1
    row = leaf([[math.nan]], dtype)
    assert all(math.isnan(v) for v in gg.mm(row, gg.zeros(1, 3, dtype=dtype)).tolist()[0])


# ================================================================================================
# Elementwise functions: value against NumPy, derivative against the formula
# ================================================================================================

UNARY = {
    # name: (input values, numpy function, derivative)
    "exp": (X, np.exp, np.exp),
    "log": (np.abs(X) + 0.1, np.log, lambda x: 1 / x),
    "log1p": (np.abs(X), np.log1p, lambda x: 1 / (1 + x)),
    "expm1": (X, np.expm1, np.exp),
    "sin": (X, np.sin, np.cos),
    "cos": (X, np.cos, lambda x: -np.sin(x)),
    "tan": (X / 2, np.tan, lambda x: 1 / np.cos(x) ** 2),
    "tanh": (X, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (X, lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "relu": (X, lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "sqrt": (np.abs(X), np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "abs": (X, np.abs, np.sign),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_function_value_and_derivative(name):
    values, f, df = UNARY[name]
    x = leaf(values)
    y = getattr(gg, name)(x)
    assert y.grad_fn is not None and y.dtype == gg.float64
    close(y, f(values), rtol=1e-12, atol=1e-14)
    y.sum().backward()
    close(x.grad, df(values), rtol=1e-12, atol=1e-14)
    # The method form computes the same thing.
    close(getattr(leaf(values), name)(), f(values), rtol=1e-12, atol=1e-14)


def test_unary_functions_make_ints_float():
    assert gg.exp(gg.tensor([0, 1])).dtype == gg.float32
    close(gg.sqrt(gg.tensor([4, 9])), [2, 3])
    assert gg.abs(gg.tensor([-3, 2])).tolist() == [3, 2]   # abs keeps ints


def test_pow_forms():
    x, e = leaf([1.5, 2.0, 0.5]), leaf([2.0, -1.0, 3.0])
    y = (x ** 3).sum() + (2 ** x).sum() + gg.pow(x, e).sum()
    expected = (1.5 ** 3 + 8 + 0.125) + (2 ** 1.5 + 4 + 2 ** 0.5) + (1.5 ** 2 + 0.5 + 0.125)
    assert y.item() == pytest.approx(expected, rel=1e-12)
    y.backward()
    xv, ev = np.array([1.5, 2.0, 0.5]), np.array([2.0, -1.0, 3.0])
    close(x.grad, 3 * xv ** 2 + np.log(2) * 2 ** xv + ev * xv ** (ev - 1), rtol=1e-12)
    close(e.grad, np.log(xv) * xv ** ev, rtol=1e-12)
    assert gg.tensor([2, 3]).pow(2).tolist() == [4, 9]
    assert (gg.tensor([4.0]) ** 0.5).item() == 2.0


def test_maximum_minimum_values_and_gradients():
    a, b = leaf([1.0, 5.0, 3.0]), leaf([2.0, 4.0, 3.0])
    hi, lo = gg.maximum(a, b), gg.minimum(a, b)
    assert hi.tolist() == [2.0, 5.0, 3.0] and lo.tolist() == [1.0, 4.0, 3.0]
    (hi + 10 * lo).sum().backward()
    # Ties split the gradient in half, as in PyTorch.
    assert a.grad.tolist() == [10.0, 1.0, 5.5] and b.grad.tolist() == [1.0, 10.0, 5.5]


def test_clamp():
    x = leaf([-2.0, -0.5, 0.0, 0.5, 2.0])
    y = gg.clamp(x, -1.0, 1.0)
    assert y.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert gg.tensor([-3.0, 3.0]).clamp(min=0).tolist() == [0.0, 3.0]
    assert gg.tensor([-3.0, 3.0]).clamp(max=0).tolist() == [-3.0, 0.0]


def test_where():
    x, y = leaf([1.0, -2.0, 3.0]), leaf([10.0, 20.0, 30.0])
    z = gg.where(x > 0, x * x, y)
    assert z.tolist() == [1.0, 20.0, 9.0]
    z.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 6.0] and y.grad.tolist() == [0.0, 1.0, 0.0]
    assert gg.where(gg.tensor([True, False]), gg.tensor([1.0, 2.0]), 0.0).tolist() == [1.0, 0.0]


# ================================================================================================
# Reductions
# ================================================================================================

def test_sum():
    x = leaf(X)
    assert x.sum().item() == pytest.approx(X.sum())
    close(x.sum(dim=0), X.sum(axis=0))
    assert x.sum(1, keepdim=True).shape == (2, 1)
    assert gg.sum(x, (0, 1)).item() == pytest.approx(X.sum())
    (x.sum(dim=1) * gg.tensor([1.0, 2.0], dtype=gg.float64)).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), [[1, 1, 1], [2, 2, 2]])
    assert gg.tensor([True, True, False]).sum().item() == 2


def test_mean():
    x = leaf(X)
    assert x.mean().item() == pytest.approx(X.mean())
    close(gg.mean(x, dim=1), X.mean(axis=1))
    assert x.mean(0, keepdim=True).shape == (1, 3)
    x.mean().backward()
    np.testing.assert_allclose(arr(x.grad), np.full((2, 3), 1 / 6))


def test_max_all_three_forms():
    x = leaf([[1.0, 5.0, 5.0], [4.0, 2.0, 6.0]])
    # 1. max(): the largest element; ties share the gradient.
    m = x.max()
    assert m.item() == 6.0 and m.shape == ()
    # 2. max(dim): (values, indices); the gradient goes to the index.
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert x.max(1).values.tolist() == [5.0, 6.0] and x.max(1).indices.dtype == gg.int64
    assert x.max(0, keepdim=True).values.shape == (1, 3)
    # 3. max(a, b): elementwise maximum.
    assert gg.max(x, gg.full((2, 3), 4.5, dtype=gg.float64)).tolist() == [[4.5, 5.0, 5.0], [4.5, 4.5, 6.0]]
    (m + values.sum()).backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
    y = leaf([3.0, 1.0, 3.0])
    y.max().backward()
    assert y.grad.tolist() == [0.5, 0.0, 0.5]


def test_min():
    x = leaf([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert x.min().item() == 1.0
    values, indices = gg.min(x, dim=0)
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [0, 1, 0]
    assert gg.min(x, gg.full((2, 3), 2.5, dtype=gg.float64)).tolist() == [[1.0, 2.5, 2.5], [2.5, 2.0, 2.5]]
    values.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


def test_logsumexp_is_stable_and_its_gradient_is_softmax():
    x = leaf([[1000.0, 1000.0, 999.0], [-1.0, 0.0, 1.0]])
    y = gg.logsumexp(x, dim=1)
    row = np.array([-1.0, 0.0, 1.0])
    close(y, [1000 + math.log(2 + math.exp(-1)), math.log(np.exp(row).sum())], rtol=1e-12)
    y.sum().backward()
    e = np.exp([0.0, 0.0, -1.0])
    close(x.grad, [e / e.sum(), np.exp(row) / np.exp(row).sum()], rtol=1e-12)
    assert gg.logsumexp(x, 1, keepdim=True).shape == (2, 1)


# ================================================================================================
# Grad modes
# ================================================================================================

def test_no_grad_as_context_and_decorator():
    x = leaf([1.0])
    with gg.no_grad():
        y = x * 2
        assert not gg.is_grad_enabled()
    assert gg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @gg.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with gg.no_grad():
        with gg.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad

    @gg.enable_grad()
    def double(t):
        return t * 2

    with gg.no_grad():
        assert double(x).requires_grad


def test_set_grad_enabled_as_context_function_and_decorator():
    x = leaf([1.0])
    with gg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    gg.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        gg.set_grad_enabled(True)
    assert (x * 2).requires_grad

    @gg.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert (x * 2).requires_grad  # decorating does not switch the mode for the caller


# ================================================================================================
# Autograd attributes and methods
# ================================================================================================

def test_backward_accumulates_into_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0, 12.0]  # accumulates
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    (3 * x).backward(gg.tensor([1.0, 0.5, 0.0], dtype=gg.float64))  # non-scalar with gradient
    assert x.grad.tolist() == [3.0, 1.5, 0.0]


def test_fan_out_gradients_add_up():
    x = leaf([2.0])
    y = x * x + x * 3 + x
    y.backward()
    assert x.grad.tolist() == [2 * 2.0 + 3 + 1]
    a = leaf([1.5])
    (a + a).backward()
    assert a.grad.tolist() == [2.0]


def test_broadcast_gradients_are_reduced_to_the_input_shape():
    a, b = leaf(np.ones((2, 3))), leaf([[1.0], [2.0]])
    c = leaf(5.0)
    (a * b * c).sum().backward()
    assert b.grad.shape == (2, 1) and b.grad.tolist() == [[15.0], [15.0]]
    assert c.grad.shape == () and c.grad.item() == 9.0


def test_grad_is_none_until_backward():
    x = leaf([1.0])
    assert x.grad is None
    y = leaf([5.0])
    (x * 2).backward()
    assert y.grad is None and x.grad.tolist() == [2.0]


def test_requires_grad_property_and_requires_grad_():
    x = gg.tensor([1.0, 2.0])
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad and (x * 2).requires_grad
    assert not (gg.tensor([1.0]) * 2).requires_grad


def test_is_leaf():
    x = leaf([1.0])
    assert x.is_leaf and gg.tensor([1.0]).is_leaf
    assert not (x * 2).is_leaf
    assert (x * 2).detach().is_leaf
    with gg.no_grad():
        assert (x * 2).is_leaf


def test_grad_fn_name_and_next_functions():
    x, y = leaf([3.0]), leaf([4.0])
    f = (x + gg.exp(y)) / (gg.log(x) + (x - y) ** 3)
    assert f.grad_fn.name() == "DivBackward0"
    numerator, denominator = [fn for fn, _ in f.grad_fn.next_functions]
    assert numerator.name() == "AddBackward0" and denominator.name() == "AddBackward0"
    names = [fn.name() for fn, _ in numerator.next_functions]
    assert names == ["torch::autograd::AccumulateGrad", "ExpBackward0"]
    assert numerator.next_functions[0][0].variable is x
    assert x.grad_fn is None
    assert [fn is None for fn, _ in (x * 2).grad_fn.next_functions] == [False, True]


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    z = x * 5
    (y * y + z).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]       # dL/dy = 2y
    assert x.grad.tolist() == [23.0, 41.0]      # 3 * 2y + 5
    with pytest.warns(UserWarning, match="not a leaf"):
        assert z.grad is None


def test_register_hook_on_a_leaf_replaces_its_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]] and x.grad.tolist() == [20.0, 40.0]
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_register_hook_on_a_non_leaf_replaces_the_gradient_flowing_on():
    x = leaf([1.0, 2.0])
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))   # returning None keeps the gradient
    y.register_hook(lambda g: g + 1)
    (y * 2).sum().backward()
    assert seen == [[2.0, 2.0]]
    assert x.grad.tolist() == [9.0, 9.0]   # (2 + 1) * 3


def test_detach_shares_memory_without_history():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.tolist() == [2.0, 4.0]
    e = x.detach()
    e[0] = 100.0
    assert x.tolist() == [100.0, 2.0]


def test_detach_in_place():
    x = leaf([1.0, 2.0])
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_item():
    assert gg.tensor([2.5]).item() == 2.5 and isinstance(gg.tensor([2.5]).item(), float)
    assert gg.tensor(7).item() == 7 and isinstance(gg.tensor(7).item(), int)
    assert gg.tensor([[True]]).item() is True


def test_tolist():
    assert gg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert gg.tensor(1.5).tolist() == 1.5
    assert gg.tensor([]).tolist() == []


def test_numpy_shares_memory():
    t = gg.tensor([1.0, 2.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0] = 9.0
    assert t.tolist() == [9.0, 2.0]
    with pytest.raises(RuntimeError, match=re.escape("Use tensor.detach().numpy() instead")):
        leaf([1.0]).numpy()


def test_data_is_the_values_outside_autograd():
    x = leaf([1.0, 2.0])
    d = x.data
    assert not d.requires_grad and d.tolist() == [1.0, 2.0]
    d.mul_(3)   # allowed: not tracked
    assert x.tolist() == [3.0, 6.0] and x.requires_grad


def test_shape_size_dim_ndim_dtype():
    t = gg.zeros(2, 3, 4, dtype=gg.float64)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4)
    assert t.size(1) == 3 and t.size(-1) == 4 and t.shape[0] == 2
    assert repr(t.shape) == "torch.Size([2, 3, 4])"
    assert t.dim() == 3 and t.ndim == 3 and gg.tensor(1.0).dim() == 0
    assert t.dtype == gg.float64 and t.numel() == 24


# ================================================================================================
# Shape methods
# ================================================================================================

def test_T_and_t():
    x = leaf(X)
    np.testing.assert_array_equal(arr(x.T), X.T)
    np.testing.assert_array_equal(arr(x.t()), X.T)
    (x.T * gg.tensor(Y.T, dtype=gg.float64)).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), Y)
    assert gg.ones(3).t().shape == (3,)


def test_view_and_reshape():
    x = leaf(X)
    v = x.view(3, 2)
    np.testing.assert_array_equal(arr(v), X.reshape(3, 2))
    assert x.view(-1).shape == (6,) and x.reshape(-1, 2).shape == (3, 2)
    assert x.reshape((1, 6)).shape == (1, 6)
    (v * gg.arange(6.0, dtype=gg.float64).view(3, 2)).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), np.arange(6.0).reshape(2, 3))


def test_flatten():
    t = gg.arange(24).reshape(2, 3, 4)
    assert t.flatten().shape == (24,)
    assert t.flatten(1).shape == (2, 12)
    np.testing.assert_array_equal(t.flatten().numpy(), np.arange(24))


def test_squeeze_and_unsqueeze():
    t = gg.zeros(2, 1, 3, 1)
    assert t.squeeze().shape == (2, 3)
    assert t.squeeze(1).shape == (2, 3, 1)
    assert t.squeeze(0).shape == (2, 1, 3, 1)   # not size 1: unchanged
    assert gg.zeros(3).unsqueeze(0).shape == (1, 3)
    assert gg.zeros(3).unsqueeze(-1).shape == (3, 1)
    x = leaf([1.0, 2.0])
    (x.unsqueeze(1) * gg.tensor([[1.0, 2.0]], dtype=gg.float64)).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_transpose():
    t = gg.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(t.transpose(0, 2).numpy(), np.arange(24).reshape(2, 3, 4).swapaxes(0, 2))
    assert t.transpose(-1, 1).shape == (2, 4, 3)


def test_expand():
    x = leaf([[1.0], [2.0]])
    e = x.expand(2, 3)
    np.testing.assert_array_equal(arr(e), [[1, 1, 1], [2, 2, 2]])
    assert x.expand(4, -1, 3).shape == (4, 2, 3)
    (e * gg.tensor([[1.0, 2.0, 3.0]], dtype=gg.float64)).sum().backward()
    assert x.grad.tolist() == [[6.0], [6.0]]


def test_getitem():
    x = leaf(X)
    assert x[1, 2].item() == X[1, 2]
    np.testing.assert_array_equal(arr(x[0]), X[0])
    np.testing.assert_array_equal(arr(x[:, 1:]), X[:, 1:])
    np.testing.assert_array_equal(arr(x[[1, 1, 0]]), X[[1, 1, 0]])
    np.testing.assert_array_equal(arr(x[..., -1]), X[..., -1])
    np.testing.assert_array_equal(arr(x[x > 0]), X[X > 0])
    (x[[1, 1, 0]].sum() + x[0, 0]).backward()
    np.testing.assert_array_equal(arr(x.grad), [[2, 1, 1], [2, 2, 2]])   # repeats add up


def test_len_and_iter():
    t = gg.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    x = leaf([1.0, 2.0])
    a, b = x
    (a * 10 + b).backward()
    assert x.grad.tolist() == [10.0, 1.0]


def test_indexing_and_iteration_return_views():
    x = gg.ones(2, 3)
    with gg.no_grad():
        x[0].mul_(5)
        for row in x:
            row.add_(1)
        x[:, 2].zero_()
    assert x.tolist() == [[6.0, 6.0, 0.0], [2.0, 2.0, 0.0]]
    v = x.view(6)
    v[0] = -1.0
    x.T[1].fill_(9)
    assert x.tolist() == [[-1.0, 9.0, 0.0], [2.0, 9.0, 0.0]]


def test_float_and_double():
    t = gg.tensor([1, 2])
    assert t.float().dtype == gg.float32 and t.double().dtype == gg.float64
    x = gg.tensor([1.5], requires_grad=True)
    y = x.double()
    assert y.dtype == gg.float64 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == gg.float32 and x.grad.tolist() == [2.0]


# ================================================================================================
# In-place methods and operators
# ================================================================================================

def test_zero_and_fill():
    t = gg.tensor([1.0, 2.0])
    assert t.zero_() is t and t.tolist() == [0.0, 0.0]
    assert t.fill_(3.5) is t and t.tolist() == [3.5, 3.5]


def test_add_sub_mul_div_in_place():
    t = gg.tensor([1.0, 2.0])
    t.add_(1)
    assert t.tolist() == [2.0, 3.0]
    t.sub_(gg.tensor([0.5, 1.0]))
    assert t.tolist() == [1.5, 2.0]
    t.mul_(4)
    assert t.tolist() == [6.0, 8.0]
    assert t.div_(2) is t and t.tolist() == [3.0, 4.0]
    t.add_(gg.tensor([1.0, 1.0]), alpha=2)
    assert t.tolist() == [5.0, 6.0]


def test_copy_():
    t = gg.zeros(2, 2)
    t.copy_(gg.tensor([1.0, 2.0]))            # broadcasts
    assert t.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    t.copy_(gg.tensor([[1, 2], [3, 4]]))       # casts
    assert t.dtype == gg.float32 and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_in_place_operators_keep_identity():
    t = gg.tensor([2.0, 4.0])
    alias = t
    t += 1
    t -= 0.5
    t *= 2
    t /= 5
    assert alias is t and t.dtype == gg.float32
    np.testing.assert_array_equal(t.numpy(), np.array([1.0, 1.8], dtype=np.float32))


def test_in_place_update_under_no_grad_like_sgd():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    with gg.no_grad():
        w -= 0.1 * w.grad
    assert w.is_leaf and w.requires_grad
    close(w, [0.8, 1.6], rtol=1e-15)
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]


def test_in_place_op_on_a_non_leaf_is_differentiated():
    x = leaf([1.0, 2.0])
    y = x * 2
    y += x * x
    y.mul_(3)
    y.sum().backward()
    assert x.grad.tolist() == [3 * (2 + 2 * 1.0), 3 * (2 + 2 * 2.0)]


def test_arithmetic_operators():
    a, b = gg.tensor([1.0, 2.0, 4.0]), gg.tensor([2.0, 8.0, 0.5])
    assert (a + b).tolist() == [3.0, 10.0, 4.5]
    assert (a - b).tolist() == [-1.0, -6.0, 3.5]
    assert (a * b).tolist() == [2.0, 16.0, 2.0]
    assert (a / b).tolist() == [0.5, 0.25, 8.0]
    assert (a ** b).tolist() == [1.0, 256.0, 2.0]
    assert (a @ b).item() == 20.0
    assert (-a).tolist() == [-1.0, -2.0, -4.0]
    assert (a % 3).tolist() == [1.0, 2.0, 1.0]
    assert (a // 3).tolist() == [0.0, 0.0, 1.0]
    assert (1 + a).tolist() == [2.0, 3.0, 5.0]
    assert (1 - a).tolist() == [0.0, -1.0, -3.0]
    assert (2 * a).tolist() == [2.0, 4.0, 8.0]
    assert (4 / a).tolist() == [4.0, 2.0, 1.0]
    assert (2 ** a).tolist() == [2.0, 4.0, 16.0]
    assert abs(gg.tensor([-1.5])).tolist() == [1.5]
    assert (gg.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]   # true division of ints is float


def test_operator_gradients():
    a, b = leaf([1.0, 2.0]), leaf([4.0, 0.5])
    (a + b - a * b + a / b + a ** b - (-a) + (3 - a) + 2 / b).sum().backward()
    av, bv = np.array([1.0, 2.0]), np.array([4.0, 0.5])
    close(a.grad, 1 - bv + 1 / bv + bv * av ** (bv - 1) + 1 - 1, rtol=1e-12)
    close(b.grad, 1 - av - av / bv ** 2 + av ** bv * np.log(av) - 2 / bv ** 2, rtol=1e-12)


def test_comparison_operators():
    a, b = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([3.0, 2.0, 1.0])
    assert (a == b).tolist() == [False, True, False]
    assert (a != b).tolist() == [True, False, True]
    assert (a < b).tolist() == [True, False, False]
    assert (a <= b).tolist() == [True, True, False]
    assert (a > b).tolist() == [False, False, True]
    assert (a >= b).tolist() == [False, True, True]
    assert (a > 2).dtype == gg.bool
    assert (2 < a).tolist() == [False, False, True]
    assert not (a > 1).requires_grad and not (leaf([1.0]) > 0).requires_grad


# ================================================================================================
# Error messages
# ================================================================================================

def test_backward_on_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_second_backward_through_a_freed_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_in_place_on_a_leaf_that_requires_grad():
    x = leaf([1.0, 2.0])
    message = "a leaf Variable that requires grad is being used in an in-place operation"
    with pytest.raises(RuntimeError, match=message):
        x += 1
    with pytest.raises(RuntimeError, match=message):
        x.mul_(2)
    with pytest.raises(RuntimeError, match=message):
        x.zero_()
    assert x.tolist() == [1.0, 2.0]   # nothing was written


def test_modifying_a_saved_tensor_before_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()          # ExpBackward0 saves its output
    z = y * 2
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                           "has been modified by an inplace operation"):
        (z + y).sum().backward()
    a = leaf([1.0, 2.0])
    b = a * 2
    c = b * b            # MulBackward0 saves b
    b.mul_(3)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        c.sum().backward()


def test_requires_grad_on_an_int_tensor():
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        gg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        gg.tensor([1, 2]).requires_grad_()


def test_shape_mismatch_in_add_names_the_op_and_both_shapes():
    with pytest.raises(RuntimeError) as info:
        gg.ones(2, 3) + gg.ones(4)
    message = str(info.value)
    assert "add" in message
    assert re.search(r"[\(\[]2, 3[\)\]]", message) and re.search(r"[\(\[]4,?[\)\]]", message), message
    # ... and keeps PyTorch's wording of the cause.
    assert re.search("(?i)the size of tensor a \\(3\\) must match the size of tensor b \\(4\\) at "
                     "non-singleton dimension 1", message), message


def test_shape_mismatch_in_mm():
    message = re.escape("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")
    with pytest.raises(RuntimeError, match=message):
        gg.mm(gg.ones(2, 3), gg.ones(4, 5))
    with pytest.raises(RuntimeError, match=message):
        gg.ones(2, 3) @ gg.ones(4, 5)


def test_item_on_a_multi_element_tensor():
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        gg.ones(2, 3).item()


# ================================================================================================
# Regressions: bugs found here, now fixed
# ================================================================================================

def test_integer_cast_cuts_the_graph():
    x = leaf([1.5, 2.5])
    assert not x.long().requires_grad and x.long().grad_fn is None
    assert not x.bool().requires_grad
    (x * x.long()).sum().backward()   # x.long() is a constant: d/dx = [1, 2]
    assert x.grad.tolist() == [1.0, 2.0]


def test_true_division_in_place_on_an_int_tensor():
    t = gg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        t /= 2
