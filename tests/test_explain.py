"""Tests for glassgrad.explanation: every number equals what glassgrad's engine computes."""

import numpy as np
import pytest

import glassgrad as torch
from glassgrad import autograd
from glassgrad.explanation import explain


def q1():
    x = torch.tensor(3.0, requires_grad=True)
    y = torch.tensor(4.0, requires_grad=True)
    ey = torch.exp(y)
    num = x + ey
    lx = torch.log(x)
    d = x - y
    c = d ** 3
    den = lx + c
    f = num / den
    return x, y, [ey, num, lx, d, c, den, f], f


def test_q1_gradients_equal_engine_bit_for_bit():
    x, y, _, f = q1()
    e = explain(f, names={"x": x, "y": y})
    f.backward()
    assert e.gradients["x"].tobytes() == x.grad.numpy().tobytes()
    assert e.gradients["y"].tobytes() == y.grad.numpy().tobytes()
    text = e.text()
    assert "-19733.3965" in text and "18322.8477" in text


def test_q1_fan_out_sum_for_x_has_three_named_contributions():
    x, y, _, f = q1()
    e = explain(f, names={"x": x, "y": y})
    x_sum = next(g for g in e.leaf_sums if g.name == "x")
    assert [p.consumer for p in x_sum.contributions] == ["v4", "v3", "v2"]
    total = x_sum.contributions[0].contribution
    for p in x_sum.contributions[1:]:
        total = total + p.contribution
    assert total == x_sum.total
    assert "v3 = log(x) = log(3.0)" in e.text()


def test_q1_every_forward_value_matches_recomputation():
    x, y, intermediates, f = q1()
    e = explain(f, names={"x": x, "y": y})
    for t in intermediates:
        assert np.array_equal(e.step_for(t).value, t.detach().numpy())
    recomputed = {"v1": torch.exp(y), "v3": torch.log(x), "v4": x - y}
    for step in e.forward:
        if step.name in recomputed:
            assert np.array_equal(step.value, recomputed[step.name].detach().numpy())


def test_q1_every_gradient_sum_matches_autograd_grad():
    x, y, intermediates, f = q1()
    e = explain(f, names={"x": x, "y": y})
    grads = autograd.grad(f, intermediates[:-1] + [x, y], retain_graph=True)
    for t, g in zip(intermediates[:-1] + [x, y], grads):
        assert e.gradient_of(t).tobytes() == g.numpy().tobytes()
    for step in e.backward:
        for product in step.products:
            assert product.upstream.tobytes() == step.gradient.total.tobytes()
    assert x.grad is None and y.grad is None  # explain never touches .grad


def test_local_derivatives_come_from_records_and_vjps():
    x, y, _, f = q1()
    e = explain(f, names={"x": x, "y": y})
    log_step = next(s for s in e.backward if s.formula == "v3 = log(x)")
    (product,) = log_step.products
    assert product.derivative == "1/x"
    assert product.derivative_value == np.float32(1) / np.float32(3)


def test_after_backward_values_recovered_from_leaves():
    x, y, _, f = q1()
    before = explain(f, names={"x": x, "y": y})
    f.backward()
    after = explain(f, names={"x": x, "y": y})
    assert after.text() == before.text()
    assert after.gradients["x"].tobytes() == x.grad.numpy().tobytes()


def test_after_backward_constants_are_still_known():
    x = torch.tensor(2.0, requires_grad=True)
    f = torch.log(x * 3.0)  # the graph is freed, but nodes keep their constant inputs
    f.backward()
    after = explain(f)
    assert after.forward[0].substituted == "2.0 * 3.0"
    assert after.gradients["x1"] == x.grad.numpy()
    g = torch.log(x * 3.0)
    g.backward(retain_graph=True)
    (expected,) = autograd.grad(g, [x], retain_graph=True)
    assert explain(g).gradients["x1"] == expected.numpy()


def test_matrix_example_shows_shapes_and_summaries():
    torch.manual_seed(0)
    X = torch.randn(40, 30)
    W = torch.randn(30, 40, requires_grad=True)
    b = torch.zeros(40, requires_grad=True)
    loss = torch.tanh(X @ W + b).sum()
    e = explain(loss, names={"W": W, "b": b, "X": X})
    loss.backward()
    assert e.gradients["W"].tobytes() == W.grad.numpy().tobytes()
    assert e.gradients["b"].tobytes() == b.grad.numpy().tobytes()
    text = e.text()
    assert "v1 = X @ W = <40×30> @ <30×40>" in text
    assert "[40×40] tensor([[" in text and "..." in text  # 1600 values: summarised


def test_renderers_contain_key_numbers():
    x, y, _, f = q1()
    e = explain(f, names={"x": x, "y": y})
    for rendered in (e.text(), e.markdown(), e.latex(), e.html(), e._repr_markdown_(), e._repr_html_()):
        assert "-19733.3965" in rendered and "18322.8477" in rendered and "584.0868" in rendered
    assert r"\begin{align*}" in e.latex() and r"\frac{1}{x}" in e.latex()
    assert r"\ln x" in e.markdown()
    assert "http" not in e.html() and "<pre>" in e.html()


def test_shared_subexpression_and_reused_input():
    a = torch.tensor(1.5, requires_grad=True)
    s = a * a
    out = s + torch.sin(s)
    e = explain(out, names={"a": a})
    out.backward()
    assert e.gradients["a"].tobytes() == a.grad.numpy().tobytes()
    assert len(next(g for g in e.leaf_sums if g.name == "a").contributions) == 2


def test_requires_a_graph():
    with pytest.raises(ValueError, match="grad_fn"):
        explain(torch.tensor(1.0))
