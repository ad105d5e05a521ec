"""PyTorch-compatible random numbers for glassgrad, in pure NumPy.

After ``manual_seed(s)`` the array producers here return bit for bit the numbers
that PyTorch's CPU generator (mt19937 plus ATen's sampling kernels) gives for
``torch.rand``, ``torch.randn``, ``torch.normal``, ``torch.randint`` and ``torch.randperm``.
Float32 normals of 16 or more elements follow the AVX2 kernel of x86-64 PyTorch builds;
builds without AVX2 (e.g. on ARM) compute those with libm and give different numbers.
"""

import math
import os
import struct

import numpy as np

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed",
    "get_rng_state", "set_rng_state",
    "uniform_array", "normal_array", "randint_array", "randperm_array",
]

_DEFAULT_SEED = 67280421310721  # the seed of a fresh torch.Generator()
# torch's CPUGeneratorImplState byte layout, so states can move between torch and glassgrad
_STATE = struct.Struct("<QiiQ624Qdddi4xf?3x")
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_U64 = np.uint64


class Generator:
    """A CPU random number generator with torch.Generator's interface and stream."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise ValueError(f"only the 'cpu' device is supported, got {device!r}")
        self.manual_seed(_DEFAULT_SEED)

    @property
    def _mt(self):
        """The mt19937 engine, seeded on first use: importing NumPy's random module costs
        ~10 ms, which `import glassgrad` should not pay for a program that never draws."""
        if self._engine is None:
            # RandomState's legacy seeding is mt19937's init_genrand, which torch uses on the
            # low 32 bits of the seed
            key = np.random.RandomState(self._seed & 0xFFFFFFFF).get_state()[1]
            self._engine = np.random.MT19937(0)
            self._engine.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
        return self._engine

    @property
    def device(self):
        return "cpu"

    def manual_seed(self, seed):
        seed = int(seed)
        if not -2**63 <= seed < 2**64:
            raise ValueError(f"seed must be in [-2**63, 2**64), got {seed}")
        seed %= 2**64  # torch maps negative seeds onto uint64
        self._seed = seed
        self._engine = None  # seeded from self._seed on first use (see _mt)
        self._fresh = True  # torch reports next=0 until the first draw
        self._next_double = None  # Box-Muller's spare sample, as torch caches it
        self._next_float = None  # never produced by CPU kernels; kept so states round-trip
        return self

    def seed(self):
        s = int.from_bytes(os.urandom(8), "little")  # torch also takes 64 bits from the OS
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 array laid out exactly like torch.get_rng_state()."""
        st = self._mt.state["state"]
        pos = int(st["pos"])
        nd, nf = self._next_double, self._next_float
        packed = _STATE.pack(
            self._seed, 625 - pos, 1, 0 if self._fresh else pos, *st["key"].tolist(),
            0.0, 0.0 if nd is None else nd, 0.0, nd is not None,
            0.0 if nf is None else nf, nf is not None)
        return np.frombuffer(packed, dtype=np.uint8).copy()

    def set_state(self, state):
        if isinstance(state, (bytes, bytearray)):
            raw = bytes(state)
        else:
            raw = np.asarray(state).astype(np.uint8).tobytes()
        if len(raw) != _STATE.size:
            raise ValueError(f"expected an RNG state of {_STATE.size} bytes, got {len(raw)}")
        fields = _STATE.unpack(raw)
        seed_, left, seeded, nxt = fields[:4]
        key = np.array(fields[4:628], dtype=np.uint64).astype(np.uint32)
        normal_y, normal_valid, next_float, float_valid = fields[629], fields[631], fields[632], fields[633]
        if not (seeded and 1 <= left <= 624 and nxt <= 624):
            raise ValueError("invalid mt19937 state")
        # torch's 'left' counts down to the next twist; numpy's 'pos' counts up to 624
        self._engine = np.random.MT19937(0)
        self._engine.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 625 - left}}
        self._seed = seed_
        self._fresh = left == 1 and nxt == 0
        self._next_double = normal_y if normal_valid else None
        self._next_float = next_float if float_valid else None
        return self

    def _raw32(self, n):
        """n raw mt19937 outputs (as uint64), like n calls of torch's random()."""
        if n:
            self._fresh = False
        return self._mt.random_raw(n)

    def _raw64(self, n):
        """n values of torch's random64(): two outputs, the first as the high word."""
        r = self._raw32(2 * n)
        return (r[0::2] << _U64(32)) | r[1::2]


default_generator = Generator()


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


# ---------------------------------------------------------------- helpers

def _shape_size(shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    return shape, math.prod(shape)


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (_F32, _F64):
        raise TypeError(f"only float32 and float64 are supported, got {dtype}")
    return dtype


def _unit(gen, n, dtype):
    """torch's uniform [0, 1): the low 24 bits of random() or the low 53 bits of random64()."""
    if dtype == _F32:
        return (gen._raw32(n) & _U64(0xFFFFFF)).astype(_F32) * np.float32(2.0**-24)
    return (gen._raw64(n) & _U64(2**53 - 1)).astype(_F64) * 2.0**-53


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    def split(x):
        t = 134217729.0 * x  # Veltkamp split into two 26-bit halves
        hi = t - (t - x)
        return hi, x - hi
    p = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round_odd(s, err):
    # an inexact sum with an even last bit moves to its odd neighbour, which makes a later rounding exact
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s = np.where(fix, np.nextafter(s, np.copysign(np.inf, err)), s)
    return s


def _fma(a, b, c, dtype):
    """Correctly rounded a*b + c in dtype; torch's compiled kernels fuse these multiply-adds."""
    if dtype == _F32:
        # a float32 product is exact in float64, so only the add rounds there; the second rounding
        # to float32 can go wrong only for sums exactly halfway between two float32s
        s = np.multiply(a, b, dtype=_F64) + c
        tie = (s.view(np.int64) & 0x1FFFFFFF) == 0x10000000
        if tie.any():
            a, b, c = (np.broadcast_to(v, s.shape)[tie].astype(_F64) for v in (a, b, c))
            s[tie] = _round_odd(*_two_sum(a * b, c))
        return s.astype(_F32)
    a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=_F64) for v in (a, b, c)))
    # Boldo and Melquiond's FMA emulation from error-free transformations
    hi, lo = _two_prod(a, b)
    th, tl = _two_sum(c, hi)
    v, err = _two_sum(tl, lo)
    return th + _round_odd(v, err)


# float32 constants of the Cephes-style polynomials in torch's AVX2 normal kernel (avx_mathfun.h)
_C = {k: np.float32(v) for k, v in dict(
    sqrthf=0.707106781186547524, log_q1=-2.12194440e-4, log_q2=0.693359375,
    fopi=1.27323954473516, dp1=-0.78515625, dp2=-2.4187564849853515625e-4,
    dp3=-3.77489497744594108e-8, two_pi=2.0 * math.pi).items()}
_LOG_P = [np.float32(v) for v in (
    7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
    -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1)]
_COS_P = [np.float32(v) for v in (2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002)]
_SIN_P = [np.float32(v) for v in (-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1)]
_ONE, _HALF = np.float32(1.0), np.float32(0.5)


def _log_f32(x):
    """log of float32 x in (0, 1], step for step as torch's AVX2 build computes it."""
    bits = x.view(np.int32)  # x >= 2**-24 here, so no denormal clamp is needed
    e = ((bits >> 23) - 127).astype(np.float32) + _ONE
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)  # mantissa in [0.5, 1)
    small = m < _C["sqrthf"]
    e = e - np.where(small, _ONE, np.float32(0))
    x = (m - _ONE) + np.where(small, m, np.float32(0))
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = _fma(y, x, p, _F32)
    y = y * x
    y = _fma(y, z, e * _C["log_q1"], _F32)  # GCC fused this multiply, not e*q1
    y = y - z * _HALF
    return (x + y) + e * _C["log_q2"]  # e*q2 is exact, so fusing it changes nothing


def _sincos_f32(x):
    """sin and cos of float32 x >= 0, step for step as torch's AVX2 build computes them."""
    j = (x * _C["fopi"]).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    # Cody-Waite reduction by pi/4; y*dp1 and y*dp2 are exact, y*dp3 is fused
    x = (x + y * _C["dp1"]) + y * _C["dp2"]
    x = _fma(y, _C["dp3"], x, _F32)
    z = x * x
    c = np.full_like(z, _COS_P[0])
    for p in _COS_P[1:]:
        c = _fma(c, z, p, _F32)
    c = c * z
    c = _fma(c, z, -(z * _HALF), _F32) + _ONE
    s = np.full_like(z, _SIN_P[0])
    for p in _SIN_P[1:]:
        s = _fma(s, z, p, _F32)
    s = _fma(s * z, x, x, _F32)
    use_sin_poly = (j & 2) == 0
    sin = np.where(use_sin_poly, s, c)
    cos = np.where(use_sin_poly, c, s)
    return np.where((j & 4) != 0, -sin, sin), np.where(((j - 2) & 4) == 0, -cos, cos)


def _math_map(f, x):
    # libm itself (through the math module), as torch calls it; NumPy's SIMD log can differ in the last bit
    return np.fromiter(map(f, x.ravel().tolist()), dtype=_F64, count=x.size).reshape(x.shape)


def _box_muller16(u, dtype, mean, std):
    """torch's normal_fill_16 on each block of 16 uniforms: u[:8] give radii, u[8:] angles."""
    u = u.reshape(-1, 16)
    u1, u2 = 1 - u[:, :8], u[:, 8:]
    if dtype == _F32:  # torch's AVX2 kernel
        radius = np.sqrt(np.float32(-2.0) * _log_f32(u1))
        sin, cos = _sincos_f32(_C["two_pi"] * u2)
    else:  # torch's scalar kernel with libm
        radius = np.sqrt(-2.0 * _math_map(math.log, u1))
        theta = (2.0 * math.pi) * u2
        sin, cos = _math_map(math.sin, theta), _math_map(math.cos, theta)
    out = np.concatenate([radius * cos, radius * sin], axis=1)
    return _fma(out, std, mean, dtype).ravel()


def _standard_normals(gen, n):
    """n draws of torch's scalar normal_distribution<double>, sharing its cached spare sample."""
    vals = []
    for _ in range(n):
        if gen._next_double is not None:
            vals.append(gen._next_double)
            gen._next_double = None
            continue
        u1, u2 = _unit(gen, 2, _F64).tolist()
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        gen._next_double = r * math.sin(theta)
        vals.append(r * math.cos(theta))
    return np.array(vals, dtype=_F64)


# ---------------------------------------------------------------- producers

def uniform_array(shape, dtype=np.float32, low=0.0, high=1.0, generator=None):
    """torch.rand(shape) / Tensor.uniform_(low, high)."""
    gen = default_generator if generator is None else generator
    dtype = _float_dtype(dtype)
    shape, n = _shape_size(shape)
    lo, hi = dtype.type(low), dtype.type(high)  # torch casts the bounds to the tensor's dtype
    if not lo <= hi:
        raise ValueError(f"uniform expects low <= high, got low={low}, high={high}")
    x = _unit(gen, n, dtype)
    if lo != 0 or hi != 1:
        x = _fma(x, hi - lo, lo, dtype)
    return x.reshape(shape)


def normal_array(shape, dtype=np.float32, mean=0.0, std=1.0, generator=None):
    """torch.randn(shape) / torch.normal(mean, std, size=shape) / Tensor.normal_(mean, std)."""
    gen = default_generator if generator is None else generator
    dtype = _float_dtype(dtype)
    shape, n = _shape_size(shape)
    if not std >= 0:
        raise ValueError(f"normal expects std >= 0, got {std}")
    if n < 16:  # torch samples small tensors one at a time in double precision
        return _fma(_standard_normals(gen, n), float(std), float(mean), _F64).astype(dtype).reshape(shape)
    # torch's vectorised path: n uniforms, Box-Muller per block of 16, and a tail
    # block of 16 fresh uniforms that overwrites the last 16 outputs
    mean, std = dtype.type(mean), dtype.type(std)
    full = n // 16 * 16
    out = _box_muller16(_unit(gen, n, dtype)[:full], dtype, mean, std)
    if n != full:
        out = np.concatenate([out[:n - 16], _box_muller16(_unit(gen, 16, dtype), dtype, mean, std)])
    return out.reshape(shape)


def randint_array(low, high, shape, dtype=np.int64, generator=None):
    """torch.randint(low, high, shape): random() % (high - low) + low."""
    gen = default_generator if generator is None else generator
    dtype = np.dtype(dtype)
    shape, n = _shape_size(shape)
    low, high = int(low), int(high)
    if dtype.kind == "f":
        # like torch, pull bounds the dtype cannot represent inwards so results stay in [low, high)
        digits = np.finfo(dtype).nmant + 1
        up = int(np.array(low + 1).astype(dtype))
        if up < low:
            low = up + (1 << (abs(low + 1).bit_length() - digits))
        down = int(np.array(high - 1).astype(dtype))
        if down >= high:
            high = down - (1 << (abs(high - 1).bit_length() - digits))
    span = high - low
    if span <= 0:
        raise ValueError(f"randint expects low < high, got low={low}, high={high}")
    # torch's public builds draw 64 bits once the range reaches 2**28, for any dtype
    r = gen._raw64(n) if span >= 2**28 else gen._raw32(n)
    # uint64 arithmetic wraps exactly like torch's (val % range) + base
    v = ((r % _U64(span)) + _U64(low % 2**64)).view(np.int64)
    return v.astype(dtype).reshape(shape)


# torch switches to a 64-bit inside-out shuffle at this size
_RANDPERM_SMALL = 0xFFFFFFFF // 20


def randperm_array(n, generator=None):
    """torch.randperm(n) as int64.

    Bit-identical to torch for n < 214748364 (torch's Fisher-Yates with random() % (n - i)).
    Larger n gets a fast deterministic permutation (argsort of 64-bit draws) that differs from torch.
    """
    gen = default_generator if generator is None else generator
    n = int(n)
    if n < 0:
        raise ValueError(f"randperm expects n >= 0, got {n}")
    if n >= _RANDPERM_SMALL:
        return np.argsort(gen._raw64(n), kind="stable").astype(np.int64)
    offsets = (gen._raw32(max(n - 1, 0)) % np.arange(n, 1, -1, dtype=_U64)).tolist()
    perm = list(range(n))
    # the swaps depend on each other, so this loop stays in Python
    for i, z in enumerate(offsets):
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)
