"""glassgrad.optim against PyTorch (the seed's Q2 Model 2 trained 200 steps; bit-for-bit updates
with identical gradients) and without torch (hand-computed steps, zero_grad, param groups,
state dicts, hyperparameter errors)."""

import copy

import numpy as np
import pytest

import glassgrad as gg
from conftest import Q2_X, Q2_Y
from glassgrad import optim

X, Y = Q2_X, Q2_Y


def _train_q2(lib, optimizer_name, settings, dtype, steps=200):
    """The seed's Model 2 (y = x w^T + b, mean squared error) from fixed initial weights."""
    dtype = getattr(lib, dtype)
    x, y = lib.tensor(X, dtype=dtype).view(-1, 1), lib.tensor(Y, dtype=dtype).view(-1, 1)
    w = lib.tensor([[0.0123]], dtype=dtype, requires_grad=True)
    b = lib.zeros(1, dtype=dtype, requires_grad=True)
    optimizer = getattr(lib.optim, optimizer_name)([w, b], **settings)
    for _ in range(steps):
        optimizer.zero_grad()
        error = lib.mm(x, w.T) + b - y
        ((error.T @ error) / len(y)).backward()
        optimizer.step()
    return np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()])


Q2_RUNS = [("SGD", dict(lr=0.01)), ("Adam", dict(lr=0.1)),
           ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.01))]


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("name,settings", Q2_RUNS, ids=[f"{n}-{s}" for n, s in Q2_RUNS])
def test_q2_training_matches_torch(name, settings, dtype, rtol):
    torch = pytest.importorskip("torch")
    expected = _train_q2(torch, name, settings, dtype)
    np.testing.assert_allclose(_train_q2(gg, name, settings, dtype), expected, rtol=rtol, atol=0)


VARIANTS = [
    ("SGD", dict(lr=0.05)), ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=0.1)), ("Adam", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True)), ("Adam", dict(lr=0.3, betas=(0.3, 0.99), eps=1e-3)),
    ("Adam", dict(lr=0.1, maximize=True, amsgrad=True)),
]


def _train_on_given_gradients(lib, name, settings, dtype, steps=50):
    """Gradients computed in NumPy from the parameters, so both libraries see the same ones:
    any difference is the optimizer's own arithmetic."""
    start = np.linspace(-2, 3, 7).astype(dtype)
    scale = np.linspace(0.5, 2, 7).astype(dtype)
    param = lib.tensor(start, requires_grad=True)
    optimizer = getattr(lib.optim, name)([param], **settings)
    for step in range(steps):
        value = param.detach().numpy()
        grad = scale * (value - dtype(1)) + np.sin(dtype(step) * scale).astype(dtype)
        param.grad = lib.tensor(grad)
        optimizer.step()
    return param.detach().numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,settings", VARIANTS, ids=[f"{n}-{s}" for n, s in VARIANTS])
def test_updates_are_bit_for_bit_torch(name, settings, dtype):
    torch = pytest.importorskip("torch")
    expected = _train_on_given_gradients(torch, name, settings, dtype)
    result = _train_on_given_gradients(gg, name, settings, dtype)
    if dtype is np.float32:
        np.testing.assert_array_equal(result, expected)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-14, atol=0)


# ----- without torch ------------------------------------------------------------------------------
def test_sgd_momentum_by_hand():
    p = gg.tensor([1.0], dtype=gg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    for _ in range(2):
        p.grad = gg.tensor([2.0], dtype=gg.float64)
        opt.step()
    # buffer 2, then 0.5*2 + 2 = 3: p = 1 - 0.2 - 0.3
    assert p.item() == pytest.approx(0.5, rel=1e-15)
    assert opt.state[p]["momentum_buffer"].item() == 3.0


def test_adam_first_step_is_lr_times_sign():
    p = gg.tensor([1.0, -2.0], dtype=gg.float64, requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    p.grad = gg.tensor([3.0, -0.5], dtype=gg.float64)
    opt.step()
    np.testing.assert_allclose(p.numpy(force=True), [0.99, -1.99], rtol=1e-7)
    assert opt.state[p]["step"].item() == 1


def test_step_is_in_place_and_keeps_views():
    p = gg.tensor([1.0, 2.0], requires_grad=True)
    view = p.detach()[1:]
    version = p._version
    opt = optim.SGD([p], lr=1.0)
    p.grad = gg.tensor([0.5, 0.5])
    opt.step()
    assert view.item() == 1.5 and p._version > version and p.is_leaf


def test_zero_grad_to_none_or_zeros():
    p = gg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and grad.item() == 0.0
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # parameters without a gradient are skipped
    assert p.item() == 1.0


def test_param_groups_with_different_learning_rates():
    a, b = gg.tensor([1.0], requires_grad=True), gg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    (a + b).sum().backward()
    opt.step()
    assert (a.item(), b.item()) == (pytest.approx(0.9), pytest.approx(0.5))
    c = gg.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 2.0})
    assert opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_state_dict_round_trip_continues_the_same_run():
    def run(split):
        p = gg.tensor([1.0, -1.0], dtype=gg.float64, requires_grad=True)
        opt = optim.Adam([p], lr=0.1, amsgrad=True)
        for step in range(6):
            if step == split:
                saved = copy.deepcopy(opt.state_dict())
                opt = optim.Adam([p], lr=0.1, amsgrad=True)
                opt.load_state_dict(saved)
            p.grad = p.detach() * 2 + step
            opt.step()
        return p.numpy(force=True).copy(), opt
    uninterrupted, _ = run(split=None)
    resumed, opt = run(split=3)
    np.testing.assert_array_equal(resumed, uninterrupted)
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


def test_load_state_dict_checks_groups():
    p = gg.tensor([1.0], requires_grad=True)
    saved = optim.SGD([p], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [p]}, {"params": [gg.ones(1, requires_grad=True)]}]).load_state_dict(saved)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda p: optim.SGD(p, momentum=-0.1), "Invalid momentum value: -0.1"),
    (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.Adam(p, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
])
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make([gg.ones(1, requires_grad=True)] if "empty" not in message else [])


def test_bad_params_are_refused():
    p = gg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got torch.FloatTensor"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({p})
