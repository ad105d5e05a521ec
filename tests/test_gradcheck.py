"""gradcheck and gradgradcheck: they pass on right gradients, and catch wrong ones.

Wrong gradients are made on purpose (a hook that scales a gradient, a vjp that is right to first
order but cuts the graph), and the failure must name the output and input, as PyTorch's does.
Where PyTorch is installed, the same checks run there and must agree, message included.
"""

import importlib

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd import GradcheckError, gradcheck, gradgradcheck
from glassgrad.autograd.graph import apply
from glassgrad.ops.registry import Op


def double(values, requires_grad=True):
    return gg.tensor(values, dtype=gg.float64, requires_grad=requires_grad)


def scaled_gradient(t, factor):
    """``t`` unchanged going forward; its gradient multiplied by ``factor`` going back."""
    y = t * 1.0
    y.register_hook(lambda g: g * factor)
    return y


# ----- correct functions pass ----------------------------------------------------------------
CORRECT = {
    "exp-of-square": (lambda x: (x * x).exp(), [[0.5, -1.0, 0.2]]),
    "two-inputs": (lambda a, b: a * b.sin() + a / (b * b + 1), [[0.5, -1.0], [1.5, 0.3]]),
    "broadcast": (lambda a, b: a @ b + b.sum(), [[[0.5, -1.0], [2.0, 0.1]], [0.3, 0.7]]),
    "several-outputs": (lambda a, b: (a.tanh(), (a * b).sum(), b ** 3), [[0.1, 0.2], [1.0, -2.0]]),
    "same-input-twice": (lambda a, b: a * b, None),
    "identity": (lambda x: x, [[1.0, 2.0]]),
    "scalar": (lambda x: x.log() * x, [2.5]),
    "unused-input": (lambda a, b: a * 2, [[1.0, 2.0], [3.0]]),
    "empty": (lambda x: x.exp(), [np.zeros((0, 2))]),
}


@pytest.mark.parametrize("name", CORRECT)
def test_gradcheck_passes_on_correct_functions(name):
    f, values = CORRECT[name]
    if values is None:
        x = double([0.5, -1.5])
        inputs = (x, x)
    else:
        inputs = tuple(double(v) for v in values)
    assert gradcheck(f, inputs) is True


def test_gradcheck_accepts_a_single_tensor_and_non_tensor_arguments():
    x = double([0.3, 0.9])
    assert gradcheck(lambda t: t.sin(), x)
    constant = double([2.0, 3.0], requires_grad=False)
    assert gradcheck(lambda t, power, c: (t ** power) * c, (x, 3, constant))


def test_gradcheck_leaves_inputs_and_their_grads_untouched():
    x = double([0.3, 0.9])
    array = x._data
    before = x.detach().numpy().copy()
    gradcheck(lambda t: t.exp(), (x,))
    assert x._data is array and np.array_equal(x.detach().numpy(), before)
    assert x.grad is None


def test_a_non_leaf_input_is_checked_and_its_history_kept():
    leaf = double([0.5, 1.5])
    hidden = leaf.exp()
    assert gradcheck(lambda t: t * t, hidden)
    hidden.sum().backward()  # the graph behind the input was not freed by the check
    np.testing.assert_allclose(leaf.grad.numpy(), np.exp([0.5, 1.5]), rtol=1e-15)


def test_integer_outputs_are_not_differentiated():
    x = double([0.5, 1.5, -0.2])
    assert gradcheck(lambda t: (t.sin(), gg.argmax(t)), x)
    assert gradcheck(lambda t: gg.argmax(t), x)


# ----- wrong gradients fail ------------------------------------------------------------------
def wrong_in_second_output(a, constant, b):
    """Outputs: one not differentiable, sin(a) right, a*b with its gradient scaled by 1.5."""
    return (a * constant).detach(), a.sin(), scaled_gradient(a * b, 1.5)


def wrong_inputs():
    return double([0.5, -1.0]), double([2.0, 3.0], requires_grad=False), double([1.5, 0.25])


def test_a_wrong_gradient_raises_naming_output_and_input():
    with pytest.raises(GradcheckError) as caught:
        gradcheck(wrong_in_second_output, wrong_inputs())
    message = str(caught.value)
    # Outputs and inputs are counted among the differentiable ones, as in PyTorch.
    assert message.startswith("Jacobian mismatch for output 1 with respect to input 0,\n")
    assert "numerical:tensor([[1.5000, 0.0000],\n        [0.0000, 0.2500]]" in message
    assert "analytical:tensor([[2.2500, 0.0000],\n        [0.0000, 0.3750]]" in message
    assert isinstance(caught.value, RuntimeError)


def test_a_wrong_gradient_for_the_second_input_names_input_1():
    def f(a, b):
        return a * scaled_gradient(b, -1.0)

    with pytest.raises(GradcheckError, match="output 0 with respect to input 1,"):
        gradcheck(f, (double([1.0, 2.0]), double([3.0, 4.0])))


def test_a_wrong_gradient_returns_false_without_raise_exception():
    assert gradcheck(wrong_in_second_output, wrong_inputs(), raise_exception=False) is False


def test_a_small_error_passes_within_tolerance_and_fails_outside_it():
    x = double([0.5, 1.5])
    slightly_wrong = lambda t: scaled_gradient(t.exp(), 1 + 1e-4)  # noqa: E731
    assert gradcheck(slightly_wrong, x)  # within rtol=1e-3
    assert not gradcheck(slightly_wrong, x, rtol=1e-6, raise_exception=False)


def test_an_output_that_cannot_require_grad_must_not_depend_on_the_inputs():
    x = double([0.5, 1.5])
    assert gradcheck(lambda t: gg.ones(2, dtype=gg.float64), x)
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be zero"):
        gradcheck(lambda t: (t * 2).detach(), x)


def test_nondeterministic_backward_is_caught():
    rng = np.random.default_rng(0)

    def noisy(t):
        y = t * 2
        # Noise far below the Jacobian tolerance: only the reentrancy check sees it.
        y.register_hook(lambda g: g + g * rng.uniform(-1e-9, 1e-9))
        return y

    x = double([0.5, 1.5])
    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(noisy, x)
    assert gradcheck(noisy, x, nondet_tol=1e-6)


def test_backward_that_ignores_its_incoming_gradient_is_caught():
    def ignores_zero_gradients(t):
        y = t * 2
        # Right for every one-hot cotangent, wrong for a zero one.
        y.register_hook(lambda g: g if g.abs().sum().item() > 0 else g + 1)
        return y

    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(ignores_zero_gradients, double([0.5, 1.5]))


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, double([1.0], requires_grad=False))


# ----- precision warning ---------------------------------------------------------------------
def test_float32_inputs_warn():
    a = double([0.5, 1.0])
    b = gg.tensor([1.5, 2.0], requires_grad=True)  # float32
    with pytest.warns(UserWarning, match=r"Input #1 requires gradient and is not a double "
                                         r"precision floating point"):
        gradcheck(lambda x, y: x * y, (a, b), raise_exception=False)


def test_float64_inputs_do_not_warn(recwarn):
    gradcheck(lambda x: x * 3, double([0.5]))
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


# ----- gradgradcheck -------------------------------------------------------------------------
SECOND_ORDER = {
    "cube-sum": (lambda x: (x ** 3).sum(), [[0.5, -1.0, 2.0]]),
    "sin-times-exp": (lambda x: x.sin() * x.exp(), [[0.5, -1.0]]),
    "two-inputs": (lambda a, b: (a * b).tanh() + a / b, [[0.5, -1.0], [1.5, 0.7]]),
    "matmul": (lambda a, b: (a @ b).sigmoid(), [[[0.5, -1.0], [2.0, 0.1]], [[0.3], [0.7]]]),
    "logsumexp": (lambda x: gg.logsumexp(x, 1), [[[0.5, -1.0, 0.2], [2.0, 0.1, -0.3]]]),
    "linear": (lambda a, b: a + 2 * b, [[0.5, -1.0], [1.0, 2.0]]),
    "several-outputs": (lambda x: (x.exp(), (x * x).sum()), [[0.3, 0.4]]),
}


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_gradgradcheck_passes_on_twice_differentiable_functions(name):
    f, values = SECOND_ORDER[name]
    gg.manual_seed(0)
    assert gradgradcheck(f, tuple(double(v) for v in values)) is True


def test_gradgradcheck_with_given_grad_outputs():
    x = double([0.5, -1.0])
    v = double([1.0, -2.0])
    assert gradgradcheck(lambda t: t.sin() * t, (x,), (v,))
    # A cotangent that is not differentiated is a constant of the check.
    assert gradgradcheck(lambda t: t.sin() * t, (x,), double([1.0, -2.0], requires_grad=False))


# sin whose vjp reads plain arrays: right to first order, but the gradient it returns does not
# depend on x in the recorded graph, so its second derivative is lost.
GRAPH_CUTTING_SIN = Op(
    "graph_cutting_sin", inputs=("x",), forward=np.sin,
    vjps=(lambda xp, g, x: g * np.cos(xp.data(x)),),
    grad_fn_name="SinBackward0", formula="sin(x)", latex=r"\sin x",
    derivatives=("cos(x)",), derivatives_latex=(r"\cos x",))


def graph_cutting_sin(t):
    # Applied by name: the record is deliberately left out of REGISTRY (and of its meta-test).
    return apply(GRAPH_CUTTING_SIN, (t,), name="SinBackward0")


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable():
    x = double([0.5, -1.0, 2.0])
    assert gradcheck(graph_cutting_sin, x)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradgradcheck(graph_cutting_sin, x)
    assert gradgradcheck(graph_cutting_sin, x, raise_exception=False) is False


# ----- agreement with PyTorch ----------------------------------------------------------------
@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def torch_inputs(torch):
    return (torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True),
            torch.tensor([2.0, 3.0], dtype=torch.float64),
            torch.tensor([1.5, 0.25], dtype=torch.float64, requires_grad=True))


def test_mismatch_message_is_pytorchs(torch):
    with pytest.raises(GradcheckError) as ours:
        gradcheck(wrong_in_second_output, wrong_inputs())
    # torch.autograd.gradcheck is the function; the module holding the error is shadowed.
    torch_gradcheck_module = importlib.import_module("torch.autograd.gradcheck")
    with pytest.raises(torch_gradcheck_module.GradcheckError) as theirs:
        torch.autograd.gradcheck(wrong_in_second_output, torch_inputs(torch))
    assert str(ours.value) == str(theirs.value)


def test_float32_warning_is_pytorchs(torch):
    with pytest.warns(UserWarning) as ours:
        gradcheck(lambda x: x * 2, gg.tensor([1.0], requires_grad=True), raise_exception=False)
    with pytest.warns(UserWarning) as theirs:
        torch.autograd.gradcheck(lambda x: x * 2, torch.tensor([1.0], requires_grad=True),
                                 raise_exception=False)
    assert str(ours[0].message) == str(theirs[0].message)


@pytest.mark.parametrize("name", ["exp-of-square", "two-inputs", "several-outputs"])
def test_verdicts_agree_with_pytorch(torch, name):
    f, values = CORRECT[name]
    ours = gradcheck(f, tuple(double(v) for v in values))
    theirs = torch.autograd.gradcheck(
        f, tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values))
    assert ours is theirs is True
    assert gradcheck(wrong_in_second_output, wrong_inputs(), raise_exception=False) is \
        torch.autograd.gradcheck(wrong_in_second_output, torch_inputs(torch),
                                 raise_exception=False) is False


@pytest.mark.parametrize("name", ["cube-sum", "sin-times-exp", "two-inputs"])
def test_gradgradcheck_verdicts_agree_with_pytorch(torch, name):
    f, values = SECOND_ORDER[name]
    ours = gradgradcheck(f, tuple(double(v) for v in values))
    theirs = torch.autograd.gradgradcheck(
        f, tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values))
    assert ours is theirs is True
