"""Matrix products: ``mm`` for two matrices and ``matmul`` for every other rank combination.

``matmul`` follows NumPy's rules (1-D operands are promoted and the added axis removed, batch
axes broadcast); its vjps promote the same way and let ``sum_to`` undo batch broadcasting.
"""

import numpy as np

from .registry import register, unchanged


def _mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {a.ndim}-D and {b.ndim}-D")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mm: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})")
    return matrix_product(a, b)


# float32/64: the dtypes NumPy hands to BLAS, by @ and by dot alike
_BLAS_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))
# Up to 64 x 64 x 64 multiply-adds dot's smaller set-up wins; at 128 x 128 x 128, and on W2's
# 256 x 784 products, dot is 8-15% slower than @ (measured here, float32).
_DOT_WORK_LIMIT = 64 ** 3


def matrix_product(a, b):
    """``a @ b`` of two matrices, by ``ndarray.dot`` where that makes the same BLAS call.

    For float32/64 with an inner size above 1, dot and @ pick the same BLAS routine (gemm, gemv,
    dot or syrk) for memory BLAS reads directly (contiguous or transposed), so the bits agree;
    dot skips matmul's generalized-ufunc set-up, 0.4-0.6 us against 0.9-1.2 us on the seed's
    20 x 2 data. With an inner size of 1 dot takes other paths (a 1x1 factor goes to BLAS scal,
    which makes NaN * 0 a 0), so those keep @, as do large products (where dot is slower),
    tensors (``Tensor.dot`` is the 1-D dot) and mixed operands (an array's dot would not hand a
    traced operand to the compiler). The choice depends on shapes and dtypes only, so a
    compiled program makes the one eager makes."""
    shape = a.shape  # (a new tuple at each read)
    inner = shape[-1]
    if (inner > 1 and shape[0] * inner * b.shape[-1] <= _DOT_WORK_LIMIT
            and a.__class__ is b.__class__ and a.dtype in _BLAS_DTYPES and b.dtype == a.dtype):
        return a.dot(b)
    return a @ b


def _matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got {a.ndim}-D and {b.ndim}-D")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"(inner sizes {k_a} and {k_b} differ)")
    return np.matmul(a, b)


def _matmul_vjp(xp, g, a, b, wrt):
    """Gradient of matmul(a, b) with respect to a (wrt=0) or b (wrt=1)."""
    a2 = xp.reshape(a, (1,) + tuple(a.shape)) if a.ndim == 1 else a
    b2 = xp.reshape(b, tuple(b.shape) + (1,)) if b.ndim == 1 else b
    # Put back the axes that 1-D operands lost, so g is a (batched) matrix.
    g_shape = tuple(g.shape)
    if a.ndim == 1:
        g_shape = g_shape[:-1] + (1,) + g_shape[-1:] if b.ndim > 1 else g_shape + (1,)
    if b.ndim == 1:
        g_shape = g_shape + (1,)
    g2 = xp.reshape(g, g_shape)
    if wrt == 0:
        return xp.reshape(xp.sum_to(xp.matmul(g2, xp.mT(b2)), tuple(a2.shape)), tuple(a.shape))
    return xp.reshape(xp.sum_to(xp.matmul(xp.mT(a2), g2), tuple(b2.shape)), tuple(b.shape))


mm = register(
    "mm", inputs=("a", "b"), forward=_mm,
    # matrix_product and .T work on arrays and tensors alike: no namespace calls needed.
    vjps=(lambda g, b: matrix_product(g, b.T),
          lambda g, a: matrix_product(a.T, g)),
    grad_fn_name="MmBackward0", formula="a @ b", latex="A B",
    derivatives=("g @ b.T", "a.T @ g"), derivatives_latex=(r"G B^{\top}", r"A^{\top} G"),
    domain="a is n x k, b is k x m",
)
matmul = register(
    "matmul", inputs=("a", "b"), forward=_matmul,
    vjps=(lambda xp, g, a, b: _matmul_vjp(xp, g, a, b, 0),
          lambda xp, g, a, b: _matmul_vjp(xp, g, a, b, 1)),
    grad_fn_name="UnsafeViewBackward0", formula="a @ b", latex="A B",
    derivatives=("g @ b.T", "a.T @ g"), derivatives_latex=(r"G B^{\top}", r"A^{\top} G"),
    domain="the last axis of a matches the first (1-D) or second-to-last axis of b",
)


def matmul_grad_fn_name(a_ndim, b_ndim):
    """PyTorch's grad_fn name for matmul of these ranks: it dispatches to dot, mv or mm and
    reshapes the rest, so the outermost node is a view or squeeze."""
    if a_ndim == 1 and b_ndim == 1:
        return "DotBackward0"
    if a_ndim == 2 and b_ndim == 1:
        return "MvBackward0"
    if a_ndim == 1 and b_ndim == 2:
        return "SqueezeBackward4"
    if a_ndim == 2:
        return "CloneBackward0"
    return "UnsafeViewBackward0"
addmm = register(
    "addmm", broadcasts=True, inputs=("bias", "a", "b"),
    forward=lambda bias, a, b: bias + matrix_product(a, b),
    # the bias's gradient is g, summed over the rows it was broadcast along (the engine does that)
    vjps=(unchanged, lambda g, b: matrix_product(g, b.T), lambda g, a: matrix_product(a.T, g)),
    grad_fn_name="AddmmBackward0", formula="bias + a @ b", latex="c + A B",
    derivatives=("1", "g @ b.T", "a.T @ g"), derivatives_latex=("1", r"G B^{\top}", r"A^{\top} G"),
    domain="a is n x k, b is k x m, bias broadcasts to n x m",
)
