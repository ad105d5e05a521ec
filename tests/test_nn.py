"""glassgrad.nn's Modules against PyTorch's: the same initial numbers after the same seed, the
same training steps, the same printed text, and state dicts that round-trip."""

import warnings

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.compiler import TraceWarning

torch = pytest.importorskip("torch")


def _mlp(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1, bias=False), nn.Sigmoid())


class _Net:
    """The same custom Module written for either library."""

    @staticmethod
    def make(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.nn.Linear(3, 4)
                self.act = lib.nn.Tanh()
                self.fc2 = lib.nn.Linear(4, 2)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))
        lib.manual_seed(3)
        return Net()


def test_linear_starts_from_pytorchs_numbers_after_the_same_seed():
    ours, theirs = _mlp(gg), _mlp(torch)
    for (name, mine), (their_name, their) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == their_name
        assert mine.detach().numpy().tobytes() == their.detach().numpy().tobytes(), name
    assert [n for n, _ in _Net.make(gg).named_parameters()] == ["fc1.weight", "fc1.bias",
                                                                "fc2.weight", "fc2.bias"]


def test_training_steps_match_pytorch():
    x = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]]
    y = [[1.0], [0.0], [1.0]]
    runs = {}
    for lib in (gg, torch):
        model = _mlp(lib)
        optimizer = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        loss_fn = lib.nn.BCELoss()
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = loss_fn(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        runs[lib.__name__] = losses, [p.detach().numpy().copy() for p in model.parameters()]
    (our_losses, ours), (their_losses, theirs) = runs["glassgrad"], runs["torch"]
    assert our_losses == pytest.approx(their_losses, rel=1e-6)
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(mine, their, rtol=1e-5, atol=1e-7)


def test_printed_text_matches_pytorch():
    def text(lib):
        model = _mlp(lib)
        x = lib.tensor([[1.0, 2.0], [3.0, -1.0]])
        out = model[0](x)
        nn = lib.nn
        layers = [nn.MSELoss(), nn.LeakyReLU(0.2), nn.Softmax(dim=1), nn.GELU(), nn.ELU(),
                  nn.CrossEntropyLoss(), nn.Softplus(), nn.Identity(), nn.SiLU(),
                  nn.ReLU(inplace=True), nn.LeakyReLU(0.1, inplace=True), nn.ELU(alpha=0.5)]
        return "\n".join([repr(model), repr(model[0].weight), str(model[0].bias),
                          repr(nn.Parameter(lib.tensor([1.0, 2.0]))), repr(out),
                          repr(model[0](x[0])), type(model[0](lib.ones(4, 5, 2)).grad_fn).__name__,
                          type(model[2](out).grad_fn).__name__, repr(_Net.make(lib))]
                         + [repr(layer) for layer in layers]
                         + [str(list(model.state_dict()))])
    assert text(gg) == text(torch)


def test_a_state_dict_round_trips_and_a_wrong_one_is_refused():
    model = _Net.make(gg)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    x = gg.tensor([[0.5, -1.0, 2.0]])
    before = model(x).detach().numpy().copy()
    with gg.no_grad():
        for p in model.parameters():
            p.mul_(2)
    assert not np.array_equal(model(x).detach().numpy(), before)
    assert model.load_state_dict(saved) == ([], [])
    assert np.array_equal(model(x).detach().numpy(), before)
    with pytest.raises(RuntimeError, match=r"missing keys \['fc2.bias'\]"):
        model.load_state_dict({k: v for k, v in saved.items() if k != "fc2.bias"})
    with pytest.raises(RuntimeError, match="size mismatch for fc1.bias"):
        model.load_state_dict(dict(saved, **{"fc1.bias": gg.zeros(5)}))


def test_module_bookkeeping():
    model = _Net.make(gg)
    shared = gg.nn.Sequential(model.fc1, gg.nn.ReLU(), model.fc1)  # one layer used twice
    assert len(list(shared.parameters())) == 2
    assert [type(m).__name__ for m in model.modules()] == ["Net", "Linear", "Tanh", "Linear"]
    model.eval()
    assert not model.training and not model.fc1.training
    model(gg.ones(2, 3)).sum().backward()
    assert model.fc1.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'fc3'"):
        model.fc3


def test_a_compiled_training_step_through_modules_equals_eager_bit_for_bit():
    def make():
        model = _Net.make(gg)
        x, y = gg.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]), gg.tensor([[1.0, 0.0], [0.0, 1.0]])
        loss_fn = gg.nn.MSELoss()

        def step():
            model.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            with gg.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            return loss
        return model, step

    (eager_model, eager), (compiled_model, compiled) = make(), make()
    compiled = gg.compile(compiled)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceWarning)
        for _ in range(4):
            assert compiled().item() == eager().item()
    for mine, their in zip(compiled_model.parameters(), eager_model.parameters()):
        assert mine.detach().numpy().tobytes() == their.detach().numpy().tobytes()
    assert compiled.eager_reason is None
