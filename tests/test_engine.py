"""Engine semantics: accumulation, freed graphs, version counters, hooks, higher-order gradients,
deep graphs without recursion, and memory released after backward. Checked against closed forms
and float64 finite differences (PyTorch comparisons live in test_against_torch.py)."""

import doctest
import gc
import importlib
import weakref

import numpy as np
import pytest

import glassgrad as gg


def finite_difference(f, x, eps=1e-6):
    """Central differences of a scalar function of a float64 array."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_leaf_gradients_accumulate_across_backward_calls():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [2 * 1 + 3, 2 * 2 + 3]


def _bump_in_place(t):
    with gg.no_grad():
        t.grad.add_(100.0)


def test_a_gradient_shared_by_two_leaves_is_not_aliased():
    """add's vjp hands the same array to both leaves; only one of them may keep it uncopied."""
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    b = gg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    _bump_in_place(a)
    assert a.grad.tolist() == [101.0, 101.0] and b.grad.tolist() == [1.0, 1.0]
    _bump_in_place(b)
    assert a.grad.tolist() == [101.0, 101.0]


def test_a_gradient_seen_by_a_hook_or_passed_in_is_not_aliased():
    kept = []
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: kept.append(g))
    (x @ gg.ones(2, 3)).sum().backward()
    _bump_in_place(x)
    assert kept[0].tolist() == [3.0, 3.0] and x.grad.tolist() == [103.0, 103.0]

    upstream = gg.tensor([5.0, 6.0])
    y = gg.tensor([1.0, 2.0], requires_grad=True)
    y.backward(upstream)
    _bump_in_place(y)
    assert upstream.tolist() == [5.0, 6.0] and y.grad.tolist() == [105.0, 106.0]


def test_a_fresh_gradient_becomes_grad_without_a_copy(monkeypatch):
    """A matmul's gradient is a new array that nothing else holds: it becomes .grad as it is, so
    a large weight's gradient is not copied every step."""
    from glassgrad.autograd import engine

    def no_copy(g, dtype):
        raise AssertionError("the gradient was copied")
    monkeypatch.setattr(engine, "_own", no_copy)
    w = gg.tensor(np.ones((3, 2)), requires_grad=True)
    x = gg.tensor(np.arange(6.0).reshape(2, 3))
    (x @ w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.repeat(x.numpy().sum(0)[:, None], 2, axis=1))


def test_grad_is_accumulated_in_place_so_references_see_the_sum():
    x = gg.tensor([1.0], requires_grad=True)
    (x * 2).backward()
    held = x.grad
    (x * 5).backward()
    assert held is x.grad and held.item() == 7.0


def test_reused_node_gets_both_contributions():
    x = gg.tensor([3.0], dtype=gg.float64, requires_grad=True)
    y = x * 2
    z = y * y + y  # dz/dx = (2y + 1) * 2
    z.backward()
    assert x.grad.item() == (2 * 6.0 + 1) * 2


def test_a_plus_a_and_x_times_x():
    a = gg.tensor([1.5], requires_grad=True)
    (a + a).backward()
    assert a.grad.item() == 2.0
    x = gg.tensor([1.5], requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == 3.0


def test_broadcast_gradients_are_reduced_to_each_input_shape():
    rng = np.random.default_rng(0)
    a_np, b_np = rng.normal(size=(3, 1)), rng.normal(size=(4,))
    a = gg.tensor(a_np, requires_grad=True)
    b = gg.tensor(b_np, requires_grad=True)
    (a * b + b).sin().sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    fa = finite_difference(lambda v: np.sin(v * b_np + b_np).sum(), a_np)
    fb = finite_difference(lambda v: np.sin(a_np * v + v).sum(), b_np)
    np.testing.assert_allclose(a.grad.numpy(), fa, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), fb, rtol=1e-6)


def test_gradients_keep_each_inputs_dtype():
    x = gg.tensor([1.0, 2.0], requires_grad=True)              # float32
    y = gg.tensor(3.0, dtype=gg.float64, requires_grad=True)   # 0-d float64: result stays float32
    z = (x * y).sum()
    assert z.dtype == gg.float32
    z.backward()
    assert x.grad.dtype == gg.float32 and y.grad.dtype == gg.float64
    assert y.grad.item() == 3.0


def test_backward_on_non_scalar_needs_a_gradient():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(gg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_second_backward_through_freed_graph_raises_unless_retained():
    x = gg.tensor([2.0], requires_grad=True)
    y = x.exp()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * np.exp(2.0), rel=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = gg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1
    with gg.no_grad():
        w -= 0.5
    assert w.item() == 0.5 and w.is_leaf and w.requires_grad


def test_modifying_a_saved_tensor_is_caught():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()  # mul saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; expected version 0"):
        y.backward()


def test_only_values_a_needed_vjp_reads_are_checked():
    """mul's gradient for a reads b only: like PyTorch, changing a is fine when b needs no
    gradient, and changing b is caught."""
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    b = gg.tensor([3.0, 4.0])
    y = (a * b).sum()
    with gg.no_grad():
        a.add_(1)
    y.backward()
    assert a.grad.tolist() == [3.0, 4.0]
    y = (a * b).sum()
    b.add_(1)
    with pytest.raises(RuntimeError, match="the 'b' input of MulBackward0 .* is at version 1"):
        y.backward()


def test_a_saved_output_changed_in_place_is_caught():
    x = gg.tensor([0.5], requires_grad=True)
    y = x.exp()  # ExpBackward0 saves its result
    y.mul_(2)
    with pytest.raises(RuntimeError, match="the 'out' input of ExpBackward0"):
        y.backward()


@pytest.mark.parametrize("module", ["glassgrad.autograd.vjp_calls", "glassgrad.ops.registry"])
def test_docstring_examples_hold(module):
    results = doctest.testmod(importlib.import_module(module))
    assert results.failed == 0 and results.attempted > 0


def test_every_op_gets_a_backward_function():
    from glassgrad.autograd import engine, vjp_calls
    from glassgrad.ops import REGISTRY
    for op in REGISTRY.values():
        function = vjp_calls.backward_function(op, engine._helpers())
        assert callable(function) and op.backward is function


def test_inplace_on_non_leaf_is_differentiated():
    x = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    y = x * 2
    y.mul_(3)      # y = 6x
    y.add_(x)      # y = 7x
    assert y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]


def test_rows_are_views_and_inplace_writes_through():
    w = gg.tensor([[1.0, 2.0]], requires_grad=True)
    g = gg.tensor([[10.0, 20.0]])
    with gg.no_grad():
        for param, grad in zip(w, g):   # the seed's sgd_step with params = w
            param -= 0.1 * grad
    assert w.tolist() == [[0.0, 0.0]]


def test_version_counter_is_shared_with_views():
    x = gg.zeros(2, 2)
    row = x[0]
    before = x._version
    row.add_(1)
    assert x._version == before + 1 and x.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_create_graph_gives_second_derivatives():
    x = gg.tensor([1.5], dtype=gg.float64, requires_grad=True)
    y = (x ** 3).sin()
    (dy,) = gg.autograd.grad(y, x, create_graph=True)
    (d2y,) = gg.autograd.grad(dy, x)
    v = 1.5
    assert dy.item() == pytest.approx(np.cos(v ** 3) * 3 * v ** 2, rel=1e-12)
    assert d2y.item() == pytest.approx(-np.sin(v ** 3) * 9 * v ** 4 + np.cos(v ** 3) * 6 * v, rel=1e-12)


def test_backward_create_graph_makes_grad_differentiable():
    x = gg.tensor([2.0], dtype=gg.float64, requires_grad=True)
    (x ** 4).backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12 * 2.0 ** 2


def test_autograd_grad_does_not_touch_dot_grad_and_reports_unused():
    x = gg.tensor([1.0], requires_grad=True)
    z = gg.tensor([1.0], requires_grad=True)
    (g,) = gg.autograd.grad((x * 4).sum(), x)
    assert g.item() == 4.0 and x.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        gg.autograd.grad((x * 4).sum(), [x, z])
    gx, gz = gg.autograd.grad((x * 4).sum(), [x, z], allow_unused=True)
    assert gx.item() == 4.0 and gz is None


def test_hooks_see_and_replace_gradients():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[30.0, 30.0]] and x.grad.tolist() == [30.0, 30.0]


def test_retain_grad_keeps_non_leaf_gradient():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0]
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert (x * 2).grad is None


def test_grad_fn_names_and_next_functions_follow_pytorch():
    x = gg.tensor([3.0], requires_grad=True)
    y = gg.tensor([4.0], requires_grad=True)
    f = (x + gg.exp(y)) / (gg.log(x) + (x - y) ** 3)
    assert f.grad_fn.name() == "DivBackward0"
    names = [fn.name() for fn, _ in f.grad_fn.next_functions]
    assert names == ["AddBackward0", "AddBackward0"]
    (scaled := x * 2.0)
    assert [fn if fn is None else fn.name() for fn, _ in scaled.grad_fn.next_functions] == [
        "torch::autograd::AccumulateGrad", None]
    assert scaled.grad_fn.next_functions[0][0].variable is x


def test_nodes_are_shown_as_pytorchs_classes_and_stay_themselves():
    x = gg.tensor([3.0], requires_grad=True)
    f = gg.exp(x) / x
    exp_node = f.grad_fn.next_functions[0][0]
    assert type(f.grad_fn).__name__ == "DivBackward0" and type(exp_node).__name__ == "ExpBackward0"
    assert f.grad_fn is f.grad_fn and isinstance(f.grad_fn, gg.autograd.graph.Node)
    assert exp_node._saved_result.item() == pytest.approx(np.exp(3.0), rel=1e-6)
    # A node first shown after backward ran through it (its values freed) still gets its class.
    g = gg.sin(x) * 2.0
    g.backward()
    assert type(g.grad_fn.next_functions[0][0]).__name__ == "SinBackward0"
    assert x.grad.item() == pytest.approx(2 * np.cos(3.0), rel=1e-6)


def test_no_grad_nests_with_enable_grad_and_decorates():
    # set_grad_enabled's forms are covered in test_tensor_api.py
    x = gg.tensor([1.0], requires_grad=True)
    with gg.no_grad():
        assert not (x * 2).requires_grad
        with gg.enable_grad():
            assert (x * 2).requires_grad

    @gg.no_grad()
    def double(t):
        return t * 2
    assert not double(x).requires_grad and gg.is_grad_enabled()


def test_million_op_chain_without_recursion():
    x = gg.tensor([1.0], dtype=gg.float64, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = -y
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a million-node chain must not overflow the C stack either
    gc.collect()


def test_memory_is_released_after_backward():
    x = gg.tensor(np.ones(1000), requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    assert ref() is not None  # mul saved it for backward
    y.backward()
    assert ref() is None      # freed with the graph
    h = x * 2
    y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    assert ref() is not None  # retain_graph keeps it


def test_graph_objects_are_collected_by_refcounting_alone():
    gc.collect()
    gc.disable()
    try:
        x = gg.tensor([1.0, 2.0], requires_grad=True)
        for _ in range(100):
            loss = ((x * 3).exp() / 2).sum()
            loss.backward()
        ref = weakref.ref(loss.grad_fn)
        del loss
        assert ref() is None  # no reference cycle keeps a graph alive
    finally:
        gc.enable()


def test_cached_scalar_constants_keep_the_sign_of_zero():
    x = gg.tensor([1.0, 2.0])
    for _ in range(2):  # the second round would hit the constants cache
        assert np.signbit((x * 0.0).numpy()).tolist() == [False, False]
        assert np.signbit((x * -0.0).numpy()).tolist() == [True, True]


def test_submodules_load_on_first_attribute_access():
    import os
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    code = ("import sys, glassgrad; assert 'glassgrad.viz' not in sys.modules; "
            "glassgrad.viz.make_dot; glassgrad.expr.parse; assert 'glassgrad.viz' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=src))
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        gg.nonexistent
