"""Tensor repr must match PyTorch exactly; torch (when installed) is the oracle."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

try:
    from glassgrad._printing import format_tensor, get_printoptions, set_printoptions
except ImportError:
    # The package __init__ may be mid-edit by others; the printing module itself has no package deps.
    _path = pathlib.Path(__file__).resolve().parents[1] / "src" / "glassgrad" / "_printing.py"
    _spec = importlib.util.spec_from_file_location("_glassgrad_printing", _path)
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    format_tensor, get_printoptions, set_printoptions = (
        _mod.format_tensor, _mod.get_printoptions, _mod.set_printoptions)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _default_printoptions():
    yield
    # Leave both printers at defaults even when an assertion failed mid-test.
    set_printoptions(profile="default")
    torch_module = sys.modules.get("torch")
    if torch_module is not None:
        torch_module.set_printoptions(profile="default")


def _a(values, dtype=np.float32):
    return np.array(values, dtype=dtype)


_rng = np.random.default_rng(1234)


def _randn(*shape, scale=1.0, dtype=np.float32):
    return (_rng.standard_normal(shape) * scale).astype(dtype)


CASES = {
    # 0-d
    "scalar_f32": _a(3.5),
    "scalar_int": _a(3, np.int64),
    "scalar_int_float": _a(3.0),
    "scalar_neg_zero": _a(-0.0),
    "scalar_zero": _a(0.0),
    "scalar_nan": _a(np.nan),
    "scalar_neginf": _a(-np.inf),
    "scalar_bool": _a(True, np.bool_),
    "scalar_f64": _a(2.0 / 3.0, np.float64),
    "scalar_tiny": _a(1e-5),
    "scalar_huge": _a(1e8 + 8),
    "scalar_seed_like": _a(-19733.3965),
    # 1-d floats
    "seed_value": _a([584.0868]),
    "int_valued": _a([1.0, 2.0]),
    "int_valued_neg": _a([-3.0, 10.0, 200.0]),
    "plain": _a([0.1, -2.5, 3.14159]),
    "mixed_mag_sci": _a([41.796, 0.014833]),
    "ratio_just_below_1000": _a([1.0, 999.0]),
    "ratio_above_1000": _a([1.0, 1001.0]),
    "tiny_1e-5": _a([1e-5, 1.0]),
    "min_exactly_1e-4": _a([1e-4, 0.05]),
    "huge_1e8": _a([1e8, 2e8]),
    "huge_int_valued_1e8": _a([1e8, 3.0]),
    "just_1e8": _a([1e8]),
    "precision_099995": _a([0.99995, 0.5]),
    "precision_099995_f64": _a([0.99995], np.float64),
    "rounding_half": _a([0.00005, 0.00015, 1.0]),
    "nan_inf_finite": _a([np.nan, -np.inf, 2.5]),
    "inf_int_valued": _a([np.inf, 1.0, -2.0]),
    "nan_only": _a([np.nan, np.nan]),
    "inf_only": _a([np.inf, -np.inf]),
    "zeros": np.zeros(4, np.float32),
    "neg_zero_mixed": _a([-0.0, 1.5]),
    "neg_zero_int_valued": _a([-0.0, 2.0]),
    "neg_zero_sci": _a([-0.0, 1e-7]),
    "subnormal": _a([1e-40, 1.0]),
    "float32_max": _a([np.finfo(np.float32).max, 1.0]),
    "wrap_line": _randn(40),
    "wrap_line_sci": _randn(30, scale=1e6),
    "f64_vector": _randn(7, dtype=np.float64),
    "f16_vector": _randn(5, dtype=np.float16),
    "f16_max": _a([65504.0, 1.0], np.float16),
    "f16_int_valued": _a([1.0, 2.0], np.float16),
    # 1-d ints / bools
    "ints": _a([1, -20, 300], np.int64),
    "ints_wrap": np.arange(-50, 50, dtype=np.int64),
    "int32": _a([1, 2, 3], np.int32),
    "int8": _a([-128, 127], np.int8),
    "int16": _a([7, -7], np.int16),
    "uint8": _a([0, 255, 17], np.uint8),
    "uint64_max": _a([2**64 - 1], np.uint64),
    "bools": _a([True, False], np.bool_),
    "bools_all_true": _a([True, True, True], np.bool_),
    # 2-d and higher
    "mat": _randn(3, 4),
    "mat_sci": _randn(2, 3, scale=1e-6),
    "mat_int_valued": np.round(_randn(3, 3, scale=10)),
    "mat_ints": _rng.integers(-100, 100, size=(4, 5)),
    "mat_bools": _rng.random((2, 3)) > 0.5,
    "mat_wide_wrap": _randn(3, 20),
    "mat_one_row": _randn(1, 5),
    "mat_one_col": _randn(5, 1),
    "tensor3d": _randn(2, 3, 4),
    "tensor3d_int": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
    "tensor4d": _randn(2, 2, 2, 3),
    "tensor4d_f64": _randn(2, 1, 3, 2, dtype=np.float64),
    "tensor5d": np.arange(32, dtype=np.int64).reshape(2, 2, 2, 2, 2),
    "mat_nan_inf": _a([[np.nan, 1.25], [np.inf, -0.0]]),
    "mat_uint8": _rng.integers(0, 256, size=(3, 3)).astype(np.uint8),
    # empty
    "empty_1d": np.zeros(0, np.float32),
    "empty_1d_int": np.zeros(0, np.int64),
    "empty_1d_bool": np.zeros(0, np.bool_),
    "empty_1d_f64": np.zeros(0, np.float64),
    "empty_2d": np.zeros((0, 3), np.float32),
    "empty_3d_int32": np.zeros((2, 0, 3), np.int32),
    # large: summarised
    "large_1d": _randn(2000),
    "large_1d_arange": np.arange(2000, dtype=np.float32),
    "large_1d_ints": np.arange(5000, dtype=np.int64),
    "large_1001": _randn(1001),
    "exactly_1000": _randn(1000),
    "large_2d": _randn(100, 100),
    "large_2d_narrow": _randn(500, 3),
    "large_2d_short_rows": _randn(4, 600),
    "large_3d": _randn(20, 20, 20),
    "large_bools": _rng.random(1500) > 0.5,
    "large_f64_sci": _randn(40, 40, scale=1e-9, dtype=np.float64),
    "large_edge_outliers": np.concatenate([[1e-9], np.ones(2000), [5.0]]).astype(np.float32),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name):
    arr = CASES[name]
    assert format_tensor(arr) == repr(torch.from_numpy(arr))


def test_table_is_large_and_varied():
    assert len(CASES) >= 60
    assert {a.ndim for a in CASES.values()} >= {0, 1, 2, 3, 4}
    assert any(a.size > 1000 for a in CASES.values())


@pytest.mark.parametrize("name", [n for n, a in CASES.items() if a.dtype.kind == "f"])
def test_requires_grad_leaf_matches_torch(torch, name):
    arr = CASES[name]
    expected = repr(torch.from_numpy(arr).requires_grad_())
    assert format_tensor(arr, requires_grad=True) == expected


@pytest.mark.parametrize("name", ["seed_value", "mat", "wrap_line", "tensor3d", "large_2d", "scalar_f32",
                                  "mat_wide_wrap", "f64_vector"])
def test_grad_fn_matches_torch(torch, name):
    leaf = torch.from_numpy(CASES[name]).requires_grad_()
    for out in (leaf * 2, leaf.sum(), leaf / 3):
        # requires_grad is True too, but grad_fn takes precedence, as in torch.
        got = format_tensor(out.detach().numpy(), requires_grad=True, grad_fn_name=type(out.grad_fn).__name__)
        assert got == repr(out)


OPTIONS = [
    dict(precision=2),
    dict(precision=0),
    dict(precision=8),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(edgeitems=0),
    dict(linewidth=30),
    dict(linewidth=200),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(profile="short"),
    dict(profile="full"),
    dict(profile="short", precision=6),
]


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", ["plain", "mixed_mag_sci", "int_valued", "ints_wrap", "mat", "tensor3d",
                                  "large_1d", "large_2d", "zeros", "nan_inf_finite", "scalar_f32",
                                  "empty_2d", "f64_vector", "wrap_line_sci"])
def test_printoptions_match_torch(torch, opts, name):
    arr = CASES[name]
    set_printoptions(**opts)
    torch.set_printoptions(**opts)
    assert format_tensor(arr) == repr(torch.from_numpy(arr))
    if arr.dtype.kind == "f":
        assert format_tensor(arr, requires_grad=True) == repr(torch.from_numpy(arr).requires_grad_())


def test_narrow_linewidth_wraps_suffixes_like_torch(torch):
    arr = _a([1.0, 2.0], np.float64)
    set_printoptions(linewidth=20)
    torch.set_printoptions(linewidth=20)
    assert format_tensor(arr, requires_grad=True) == repr(torch.from_numpy(arr).requires_grad_())


# Expected strings below were produced by PyTorch 2.13; these tests run without torch.

def test_seed_grad_fn_without_torch():
    assert format_tensor(_a([584.0868]), grad_fn_name="DivBackward0") == "tensor([584.0868], grad_fn=<DivBackward0>)"


def test_float32_digits_without_torch():
    assert format_tensor(_a([-19733.3965])) == "tensor([-19733.3965])"
    assert format_tensor(_a([0.99995, 0.5])) == "tensor([0.9999, 0.5000])"


def test_sci_and_requires_grad_without_torch():
    assert (format_tensor(_a([[41.796, 0.014833]]), requires_grad=True)
            == "tensor([[4.1796e+01, 1.4833e-02]], requires_grad=True)")
    assert format_tensor(_a([[1.5, -2.25], [1e-3, 4.0]])) == (
        "tensor([[ 1.5000e+00, -2.2500e+00],\n"
        "        [ 1.0000e-03,  4.0000e+00]])")


def test_dtypes_and_scalars_without_torch():
    assert format_tensor(_a([1.0, 2.0], np.float64)) == "tensor([1., 2.], dtype=torch.float64)"
    assert format_tensor(_a(3, np.int64)) == "tensor(3)"
    assert format_tensor(_a(True, np.bool_)) == "tensor(True)"
    assert format_tensor(_a([True, False], np.bool_)) == "tensor([ True, False])"
    assert format_tensor(_a([1, 2], np.uint16)) == "tensor([1, 2], dtype=torch.uint16)"
    assert format_tensor(_a(-0.0)) == "tensor(-0.)"
    assert format_tensor(_a([np.nan, 1.0])) == "tensor([nan, 1.])"
    assert format_tensor(_a([np.nan, -np.inf, 2.5])) == "tensor([   nan,   -inf, 2.5000])"


def test_empty_and_nested_without_torch():
    assert format_tensor(np.zeros((0, 3), np.float32)) == "tensor([], size=(0, 3))"
    assert format_tensor(np.zeros(0, np.int64)) == "tensor([], dtype=torch.int64)"
    assert format_tensor(np.zeros((2, 0, 3), np.int32)) == "tensor([], size=(2, 0, 3), dtype=torch.int32)"
    assert format_tensor(np.arange(6).reshape(1, 2, 3)) == "tensor([[[0, 1, 2],\n         [3, 4, 5]]])"


def test_summarised_without_torch():
    assert format_tensor(np.arange(2000, dtype=np.float32)) == (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])")


def test_printoptions_state_without_torch():
    set_printoptions(precision=2, threshold=5)
    assert format_tensor(_a([1.12345])) == "tensor([1.12])"
    assert format_tensor(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    assert get_printoptions()["precision"] == 2
    set_printoptions(profile="default")
    assert format_tensor(_a([1.12345])) == "tensor([1.1235])"
    assert format_tensor(np.arange(10)) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"
    assert get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def test_rejects_unsupported_input():
    with pytest.raises(TypeError):
        format_tensor(np.array(["a"]))
    with pytest.raises(ValueError):
        set_printoptions(profile="nope")
