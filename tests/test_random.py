"""glassgrad.random must reproduce PyTorch's CPU random streams bit for bit.

Tests that need torch import it with pytest.importorskip; the others check
values recorded from torch 2.13 (x86-64) so they run without torch.
"""

import hashlib
import random as pyrandom
import struct
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest

import glassgrad.random as R
from glassgrad.random import (Generator, get_rng_state, manual_seed, normal_array, randint_array,
                              randperm_array, set_rng_state, uniform_array)

SHAPES = [(), (1,), (1, 2), (15,), (16,), (17,), (3, 5, 7), (784, 256)]
SEEDS = [0, 1, 42, 12345, 2**32 + 5, -1]
DTYPES = [np.float32, np.float64]


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def assert_same(ours, theirs):
    """Same dtype, shape and bytes (so -0.0 versus 0.0 counts as a difference)."""
    theirs = theirs.numpy() if hasattr(theirs, "numpy") else np.asarray(theirs)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    diff = np.flatnonzero(ours.ravel() != theirs.ravel())
    assert ours.tobytes() == theirs.tobytes(), (
        f"{diff.size} of {ours.size} values differ (if 0, only signs of zeros): "
        f"{ours.ravel()[diff[:3]]} vs {theirs.ravel()[diff[:3]]}")


# torch's CPUGeneratorImplState: seed, left, seeded, next, 624 state words, legacy normal fields, float cache
LAYOUT = struct.Struct("<QiiQ624Qdddi4xf?3x")


def untemper(y):
    """Invert mt19937's output tempering, so a state can be built to emit chosen outputs."""
    def undo_right(y, s):
        r = y
        for _ in range(32 // s + 1):
            r = y ^ (r >> s)
        return r

    def undo_left(y, s, mask):
        r = y
        for _ in range(32 // s + 1):
            r = y ^ ((r << s) & mask)
        return r & 0xFFFFFFFF
    y = undo_right(int(y), 18)
    y = undo_left(y, 15, 0xEFC60000)
    y = undo_left(y, 7, 0x9D2C5680)
    return undo_right(y, 11)


def crafted_state(outputs):
    words = [0] * 624
    words[1:1 + len(outputs)] = [untemper(v) for v in outputs]
    # left=624, next=1: the next outputs come straight from words[1:], before any twist
    return np.frombuffer(LAYOUT.pack(1, 624, 1, 1, *words, 0.0, 0.0, 0.0, 0, 0.0, False), np.uint8).copy()


# one block of torch's 16-wide normal kernel: 24-bit uniforms for the radii, then for the angles.
# The angles sit at zeros of cos and sin (3/4, 1/4, 1/2 turn) where the float32 kernel's
# argument reduction only matches with its fused multiply-add; u=0 gives a zero radius.
CRAFTED_U1 = [2412559, 4194304, 9539539, 0, 16777215, 1, 8388608, 12345]
CRAFTED_U2 = [12582913, 12582912, 12582909, 4194304, 8388608, 0, 16777215, 2097152]
CRAFTED_RANDN = [
    2.7235142852077843e-07, 9.045346693881129e-09, -1.2211708053655457e-06, 0.0, -5.7681074142456055,
    0.0003452669770922512, 1.1774100065231323, 0.027130981907248497, -0.5572270154953003,
    -0.7585275769233704, -1.296704649925232, 0.0, -5.042639941166271e-07, 0.0, -3.5556794841795636e-07,
    0.027130983769893646]


# ---------------------------------------------------------------- without torch: recorded values

def test_recorded_small_draws():
    manual_seed(0)
    assert uniform_array((3,)).tolist() == [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]
    assert normal_array((3,)).tolist() == [0.3643381893634796, 0.13439632952213287, 0.16421625018119812]
    assert normal_array((1, 2), mean=0, std=0.01).tolist() == [[0.0030576102435588837, 0.0020998092368245125]]
    assert randint_array(0, 10, (5,)).tolist() == [6, 6, 8, 4, 3]
    assert randperm_array(10).tolist() == [6, 3, 9, 5, 0, 4, 7, 2, 1, 8]
    assert normal_array((17,))[:4].tolist() == [0.8743818402290344, 0.9382607340812683,
                                                0.4888698160648346, -0.6730899214744568]
    manual_seed(0)
    assert randint_array(0, 2**31, (3,)).tolist() == [398764591, 1478610112, 1537364731]
    assert randint_array(-2**40, 2**40, (2,)).tolist() == [-258354086553, -1058178736429]
    manual_seed(0)
    assert randint_array(0, 2**31, (3,), np.float32).tolist() == [382722848.0, 1858664704.0, 710291712.0]


@pytest.mark.parametrize("seed_, make, expected", [
    (0, lambda: normal_array((784, 256)), "067f657fa2ed6c2d"),
    (42, lambda: normal_array((3, 5, 7), np.float64), "8f3f8dc647bf78d0"),
    (42, lambda: uniform_array((784, 256), np.float64), "93a21f4a4e658279"),
    (7, lambda: normal_array((100,), np.float32, 0.5, 2.0), "88050e43e25fa785"),
    (5, lambda: normal_array((784, 256), np.float64), "9aef66bcde3ebf1b"),
    (3, lambda: np.concatenate([normal_array((15,)), normal_array((16,))]), "b56b9488d9896d16"),
])
def test_recorded_large_draws(seed_, make, expected):
    manual_seed(seed_)
    assert digest(make()) == expected


def test_shapes_and_dtypes():
    manual_seed(0)
    assert uniform_array(()).shape == ()
    assert normal_array((2, 3), np.float64).dtype == np.float64
    assert normal_array(5).shape == (5,)
    assert randint_array(0, 5, (4,), dtype=np.int32).dtype == np.int32
    assert randperm_array(0).shape == (0,) and randperm_array(0).dtype == np.int64
    with pytest.raises(TypeError):
        uniform_array((2,), np.int64)
    with pytest.raises(ValueError):
        randint_array(3, 3, (1,))
    with pytest.raises(ValueError):
        normal_array((2,), std=-1.0)


def test_seeding_rules():
    assert Generator().initial_seed() == 67280421310721
    assert manual_seed(-1).initial_seed() == 2**64 - 1
    assert R.initial_seed() == 2**64 - 1
    for bad in (2**64, -2**63 - 1):
        with pytest.raises(ValueError):
            manual_seed(bad)
    # only the low 32 bits reach mt19937, as in torch
    a = Generator().manual_seed(5)
    b = Generator().manual_seed(5 + 2**32)
    assert uniform_array((8,), generator=a).tobytes() == uniform_array((8,), generator=b).tobytes()
    s = R.seed()
    assert 0 <= s < 2**64 and R.initial_seed() == s


def test_import_draws_nothing():
    code = ("import glassgrad.random as r; s = r.get_rng_state();"
            "print(r.initial_seed(), int(s[8]), int(s[16]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # fresh torch-style state: left=1, next=0
    assert out.stdout.split() == ["67280421310721", "1", "0"]


def test_generators_are_independent():
    g1, g2 = Generator().manual_seed(3), Generator().manual_seed(3)
    first = normal_array((20,), generator=g1)
    manual_seed(99)
    normal_array((20,))  # draws on the default generator leave g2 alone
    assert first.tobytes() == normal_array((20,), generator=g2).tobytes()


def test_state_round_trip_includes_cached_normal():
    manual_seed(11)
    normal_array((1,))  # leaves Box-Muller's spare sample cached
    state = get_rng_state()
    assert state.dtype == np.uint8 and state.shape == (5056,)
    expected = [normal_array((3,)), uniform_array((40,)), randperm_array(7)]
    set_rng_state(state)
    got = [normal_array((3,)), uniform_array((40,)), randperm_array(7)]
    for e, g in zip(expected, got):
        assert e.tobytes() == g.tobytes()
    set_rng_state(bytes(state))
    assert normal_array((3,)).tobytes() == expected[0].tobytes()
    with pytest.raises(ValueError):
        set_rng_state(state[:-1])


def test_manual_seed_clears_cached_normal():
    manual_seed(5)
    a = normal_array((1,))
    manual_seed(5)
    normal_array((3,))  # odd count: leaves a cached spare behind
    manual_seed(5)
    assert normal_array((1,)).tobytes() == a.tobytes()


def test_randint_and_randperm_properties():
    manual_seed(2)
    v = randint_array(-5, 5, (1000,))
    assert v.min() >= -5 and v.max() < 5
    for n in (1, 2, 17, 1000):
        assert sorted(randperm_array(n).tolist()) == list(range(n))


def test_huge_randperm_path_is_a_deterministic_permutation(monkeypatch):
    monkeypatch.setattr(R, "_RANDPERM_SMALL", 10)  # exercise the path torch takes for n >= 2**32 // 20
    p1 = randperm_array(50, generator=Generator().manual_seed(1))
    p2 = randperm_array(50, generator=Generator().manual_seed(1))
    assert sorted(p1.tolist()) == list(range(50))
    assert p1.tolist() == p2.tolist()


def test_state_layout_is_torchs():
    manual_seed(2**40 + 7)
    fields = LAYOUT.unpack(get_rng_state().tobytes())
    seed_, left, seeded, nxt, k0, k1 = fields[:6]
    assert (seed_, left, seeded, nxt) == (2**40 + 7, 1, 1, 0)
    # mt19937's init_genrand on the low 32 bits of the seed
    assert (k0, k1) == (7, (1812433253 * (7 ^ (7 >> 30)) + 1) % 2**32)
    uniform_array((10,))
    assert LAYOUT.unpack(get_rng_state().tobytes())[1:4] == (615, 1, 10)


def test_crafted_state_hits_kernel_corner_cases():
    set_rng_state(crafted_state(CRAFTED_U1 + CRAFTED_U2))
    out = normal_array((16,))
    assert out.tolist() == CRAFTED_RANDN
    assert not np.signbit(out[[3, 11, 13]]).any()  # zero radius gives +0.0, as torch's fused add does
    set_rng_state(crafted_state(CRAFTED_U1))
    assert uniform_array((4,)).tolist() == [v / 2**24 for v in CRAFTED_U1[:4]]


def _exact_fma(a, b, c, dtype):
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    if dtype == np.float64:
        return float(exact)  # Fraction -> float rounds correctly
    # round to float32 by hand: both neighbours of the float64 nearest, pick the closer (ties to even)
    lo = np.float32(float(exact))
    if Fraction(float(lo)) > exact:
        lo = np.nextafter(lo, np.float32(-np.inf))
    hi = np.nextafter(lo, np.float32(np.inf))
    dlo, dhi = exact - Fraction(float(lo)), Fraction(float(hi)) - exact
    if dlo != dhi:
        return lo if dlo < dhi else hi
    return lo if int(lo.view(np.int32)) % 2 == 0 else hi


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_multiply_add_is_correctly_rounded(dtype):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(300).astype(dtype) for _ in range(3))
    # sums on or next to a halfway point, where rounding twice goes wrong
    if dtype == np.float32:
        a[0] = b[0] = np.float32(1 + 2**-12)
        c[0] = np.float32(2**-60)
    else:
        a[0], b[0], c[0] = 1 + 2**-27, 1 + 2**-26, 2**-80
    got = R._fma(a, b, c, np.dtype(dtype))
    assert got.dtype == dtype
    want = [_exact_fma(x, y, z, dtype) for x, y, z in zip(a, b, c)]
    assert got.tolist() == [float(w) for w in want]


# ---------------------------------------------------------------- against torch

def torch_dtype(torch, dtype):
    return {np.float32: torch.float32, np.float64: torch.float64}[dtype]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed_", SEEDS)
def test_rand_randn_normal_match_torch(seed_, dtype, shape):
    torch = pytest.importorskip("torch")
    tdt = torch_dtype(torch, dtype)
    torch.manual_seed(seed_)
    manual_seed(seed_)
    # consecutive draws share the generator, so each call also checks the state the previous one left
    assert_same(uniform_array(shape, dtype), torch.rand(shape, dtype=tdt))
    assert_same(normal_array(shape, dtype), torch.randn(shape, dtype=tdt))
    assert_same(normal_array(shape, dtype, 0, 0.01), torch.normal(0, 0.01, size=shape, dtype=tdt))
    assert_same(normal_array(shape, dtype, 0.3, 1.7), torch.normal(0.3, 1.7, size=shape, dtype=tdt))
    assert_same(uniform_array(shape, dtype, -3.7, 11.3), torch.empty(shape, dtype=tdt).uniform_(-3.7, 11.3))
    assert_same(normal_array((1,), dtype), torch.randn(1, dtype=tdt))
    assert_same(get_rng_state(), torch.get_rng_state())


def test_cached_normal_survives_large_draws_like_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(4)
    manual_seed(4)
    for n in (1, 100, 1, 3, 16, 1, 2):  # the >= 16 path neither uses nor clears the spare sample
        assert_same(normal_array((n,)), torch.randn(n))
    assert_same(get_rng_state(), torch.get_rng_state())


@pytest.mark.parametrize("seed_", [0, 1, 7, 31337])
def test_randperm_matches_torch(seed_):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed_)
    manual_seed(seed_)
    for n in (0, 1, 2, 3, 5, 10, 17, 100, 1000, 60000):
        assert_same(randperm_array(n), torch.randperm(n))
    assert_same(get_rng_state(), torch.get_rng_state())


RANGES = [(0, 2), (3, 10), (-5, 5), (0, 1000), (0, 2**28 - 1), (0, 2**28), (0, 2**31), (0, 2**32 - 1),
          (0, 2**32), (-2**40, 2**40), (-2**63, 2**63 - 1)]


@pytest.mark.parametrize("low, high", RANGES)
@pytest.mark.parametrize("seed_", [0, 38])
def test_randint_matches_torch(seed_, low, high):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed_)
    manual_seed(seed_)
    pairs = [(np.int64, torch.int64), (np.float32, torch.float32), (np.float64, torch.float64)]
    if high - low < 2**31:
        pairs.append((np.int32, torch.int32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about float bounds beyond 2**24
        for dt, tdt in pairs:
            assert_same(randint_array(low, high, (7,), dtype=dt), torch.randint(low, high, (7,), dtype=tdt))
    assert_same(get_rng_state(), torch.get_rng_state())


def test_random_call_sequences_match_torch():
    torch = pytest.importorskip("torch")
    rng = pyrandom.Random(0)
    for _ in range(60):
        s = rng.randrange(-2**63, 2**64)
        torch.manual_seed(s)
        manual_seed(s)
        for _ in range(8):
            n = rng.choice([1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 100, 1000])
            dt = rng.choice(DTYPES)
            tdt = torch_dtype(torch, dt)
            m, sd = rng.choice([(0.0, 1.0), (0.0, 0.01), (0.5, 2.0), (-1.25, 0.3)])
            kind = rng.randrange(5)
            if kind == 0:
                assert_same(uniform_array((n,), dt, m - sd, m + sd),
                            torch.empty(n, dtype=tdt).uniform_(m - sd, m + sd))
            elif kind == 1:
                assert_same(normal_array((n,), dt, m, sd), torch.normal(m, sd, size=(n,), dtype=tdt))
            elif kind == 2:
                assert_same(randint_array(0, n + 1, (n,)), torch.randint(0, n + 1, (n,)))
            elif kind == 3:
                assert_same(randperm_array(n), torch.randperm(n))
            else:
                assert_same(normal_array((n,), dt), torch.randn(n, dtype=tdt))
        assert_same(get_rng_state(), torch.get_rng_state())


def test_generator_objects_match_torch():
    torch = pytest.importorskip("torch")
    g, tg = Generator(), torch.Generator()
    assert g.initial_seed() == tg.initial_seed()
    assert_same(uniform_array((5,), generator=g), torch.rand(5, generator=tg))
    g.manual_seed(77)
    tg.manual_seed(77)
    assert_same(normal_array((20,), generator=g), torch.randn(20, generator=tg))
    assert_same(randperm_array(50, generator=g), torch.randperm(50, generator=tg))
    assert_same(g.get_state(), tg.get_state())


def test_states_move_between_torch_and_glassgrad():
    torch = pytest.importorskip("torch")
    torch.manual_seed(9)
    torch.randn(3)  # leaves a cached spare sample in the state
    set_rng_state(torch.get_rng_state().numpy())
    assert_same(normal_array((5,)), torch.randn(5))
    normal_array((1,))
    torch.set_rng_state(torch.from_numpy(get_rng_state()))
    assert_same(normal_array((40,)), torch.randn(40))
    assert_same(normal_array((3,)), torch.randn(3))


def test_crafted_state_matches_torch():
    torch = pytest.importorskip("torch")
    state = crafted_state(CRAFTED_U1 + CRAFTED_U2)
    torch.set_rng_state(torch.from_numpy(state))
    set_rng_state(state)
    assert_same(normal_array((16,)), torch.randn(16))
    assert_same(get_rng_state(), torch.get_rng_state())
