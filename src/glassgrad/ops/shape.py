"""Shape ops: reshape, transpose, permute, expand, indexing, concatenation, copies and casts.

Most of these are views in PyTorch and return NumPy views here, so in-place writes reach the
tensor they came from. Their vjps only move gradient entries around; none does arithmetic except
the sums that undo ``expand`` and repeated indices.
"""

import numpy as np

from .registry import register, unchanged

reshape = register(
    "reshape", inputs=("x",), params=("shape", "source_shape"),
    forward=lambda x, shape, source_shape: x.reshape(shape),
    vjps=(lambda xp, g, source_shape: xp.reshape(g, source_shape),),
    grad_fn_name="ViewBackward0", formula="x viewed with a new shape", latex=r"\operatorname{reshape}(x)",
    derivatives=("1 (entries keep their values)",), derivatives_latex=("1",), is_view="maybe",
)
_inverses = {}


def inverse_permutation(dims):
    """The permutation that undoes ``dims`` (cached: training loops permute the same way)."""
    inverse = _inverses.get(dims)
    if inverse is None:
        inverse = _inverses[dims] = tuple(sorted(range(len(dims)), key=dims.__getitem__))
    return inverse


permute = register(
    "permute", inputs=("x",), params=("dims",),
    forward=lambda x, dims: x.transpose(dims),
    vjps=(lambda xp, g, dims: xp.permute(g, inverse_permutation(dims)),),
    grad_fn_name="PermuteBackward0", formula="x with its axes reordered", latex=r"x^{\top}",
    derivatives=("1 (entries move)",), derivatives_latex=("1",), is_view=True,
)
transpose = register(
    "transpose", inputs=("x",), params=("dim0", "dim1"),
    forward=lambda x, dim0, dim1: x.swapaxes(dim0, dim1),
    vjps=(lambda xp, g, dim0, dim1: xp.swapaxes(g, dim0, dim1),),
    grad_fn_name="TransposeBackward0", formula="x with two axes swapped", latex=r"x^{\top}",
    derivatives=("1 (entries move)",), derivatives_latex=("1",), is_view=True,
)
expand = register(
    "expand", inputs=("x",), params=("shape", "source_shape"),
    forward=lambda x, shape, source_shape: np.broadcast_to(x, shape),
    vjps=(lambda xp, g, source_shape: xp.sum_to(g, source_shape),),
    grad_fn_name="ExpandBackward0", formula="x repeated along broadcast axes", latex=r"\operatorname{expand}(x)",
    derivatives=("1, summed over the repeats",), derivatives_latex=("1",), is_view=True,
)


def _index_scatter(g, index, shape):
    out = np.zeros(shape, dtype=g.dtype)
    # add.at sums gradients of entries picked more than once (x[[0, 0]]).
    np.add.at(out, index, g)
    return out


getitem = register(
    "getitem", inputs=("x",), params=("index", "source_shape"),
    forward=lambda x, index, source_shape: x[index],
    vjps=(lambda xp, g, index, source_shape: xp.index_scatter(g, index, source_shape),),
    grad_fn_name="SliceBackward0", formula="x[index]", latex=r"x_{\mathrm{index}}",
    derivatives=("1 at the picked entries, else 0",), derivatives_latex=("1",), is_view="maybe",
)
index_scatter = register(
    "index_scatter", inputs=("g",), params=("index", "shape"), forward=_index_scatter,
    vjps=(lambda xp, g, index: xp.getitem(g, index),),
    grad_fn_name="IndexScatterBackward0", formula="zeros with g added at index",
    latex=r"\operatorname{scatter}(g)", derivatives=("1 at index",), derivatives_latex=("1",),
)
cat = register(
    "cat", inputs=("tensors",), params=("dim", "sizes"), variadic=True,
    forward=lambda *xs, dim, sizes: np.concatenate(xs, axis=dim),
    vjps=(lambda xp, g, i, dim, sizes: xp.narrow(g, dim, int(np.sum(sizes[:i])), sizes[i]),),
    grad_fn_name="CatBackward0", formula="the inputs joined along dim", latex=r"[x_1, x_2, \dots]",
    derivatives=("1 on the input's own block",), derivatives_latex=("1",),
)
stack = register(
    "stack", inputs=("tensors",), params=("dim",), variadic=True,
    forward=lambda *xs, dim: np.stack(xs, axis=dim),
    vjps=(lambda xp, g, i, dim: xp.select(g, dim, i),),
    grad_fn_name="StackBackward0", formula="the inputs stacked along a new dim", latex=r"[x_1; x_2; \dots]",
    derivatives=("1 on the input's own slice",), derivatives_latex=("1",),
)
clone = register(
    "clone", inputs=("x",), forward=np.copy,
    vjps=(unchanged,),
    grad_fn_name="CloneBackward0", formula="a copy of x", latex="x",
    derivatives=("1",), derivatives_latex=("1",),
)
to_dtype = register(
    "to_dtype", inputs=("x",), params=("dtype", "source_dtype"),
    forward=lambda x, dtype, source_dtype: x.astype(dtype),
    vjps=(lambda xp, g, source_dtype: xp.astype(g, source_dtype),),
    grad_fn_name="ToCopyBackward0", formula="x converted to another dtype", latex="x",
    derivatives=("1",), derivatives_latex=("1",),
)


def _mask_out(shape, dtype, index):
    # Ones except at ``index``: the entries an assignment overwrote get no gradient.
    keep = np.ones(shape, dtype=dtype)
    keep[index] = 0
    return keep


def _setitem(a, b, index):
    out = a.copy()
    out[index] = b
    return out


setitem = register(
    "setitem", broadcasts=True, inputs=("a", "b"), params=("index",), forward=_setitem,
    vjps=(lambda xp, g, index: g * _mask_out(xp.data(g).shape, xp.data(g).dtype, index),
          lambda xp, g, index: xp.getitem(g, index)),
    grad_fn_name="torch::autograd::CopySlices", formula="a with a[index] = b", latex=r"a\,[\mathrm{index} \leftarrow b]",
    derivatives=("1 outside index, 0 inside", "1"), derivatives_latex=("1", "1"),
)
copy_into = register(
    "copy", broadcasts=True, inputs=("a", "b"), forward=lambda a, b: np.broadcast_to(b, a.shape).astype(a.dtype),
    vjps=(lambda xp, g: xp.zeros_like(g), unchanged),
    grad_fn_name="CopyBackwards", formula="b copied into a", latex=r"a \leftarrow b",
    derivatives=("0", "1"), derivatives_latex=("0", "1"),
)


# ----- copies that move or mask entries: flip, tril, triu ---------------------------------------

flip = register(
    "flip", inputs=("x",), params=("dims",),
    forward=lambda x, dims: np.flip(x, dims).copy(),  # a copy, as in PyTorch (NumPy's is a view)
    vjps=(lambda xp, g, dims: xp.flip(g, dims),),
    grad_fn_name="FlipBackward0", formula="x reversed along dims", latex=r"\operatorname{flip}(x)",
    derivatives=("1 (entries move)",), derivatives_latex=("1",),
)


def _triangle(name, keep, where, grad_fn_name, indicator):
    """tril and triu: the entries on one side of diagonal ``diagonal`` (of the last two dims)
    kept, the others 0; the gradient passes where x is kept."""
    return register(
        name, inputs=("x",), params=("diagonal",),
        forward=lambda x, diagonal: keep(x, diagonal),
        vjps=(lambda xp, g, diagonal: getattr(xp, name)(g, diagonal),),
        grad_fn_name=grad_fn_name, formula=f"x on and {where} the diagonal, 0 elsewhere",
        latex=rf"\operatorname{{{name}}}(x)",
        derivatives=(f"1 on and {where} the diagonal, 0 elsewhere",), derivatives_latex=(indicator,),
    )


tril = _triangle("tril", np.tril, "below", "TrilBackward0", r"\mathbb{1}[j \le i + k]")
triu = _triangle("triu", np.triu, "above", "TriuBackward0", r"\mathbb{1}[j \ge i + k]")


def _repeat_gradient(xp, g, x, sizes):
    """Each entry of x appears once per tile: its gradient is the sum over the tiles."""
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    tiled = xp.reshape(g, tuple(n for pair in zip(sizes, shape) for n in pair))  # (tiles, size) per axis
    summed = xp.sum(tiled, tuple(range(0, 2 * len(sizes), 2)), False)
    return xp.reshape(summed, tuple(x.shape))


repeat = register(
    "repeat", inputs=("x",), params=("sizes",),
    forward=lambda x, sizes: np.tile(x, sizes),
    vjps=(_repeat_gradient,),
    grad_fn_name="RepeatBackward0", formula="x tiled sizes times along each axis",
    latex=r"\operatorname{repeat}(x)",
    derivatives=("1 for each copy (summed over the tiles)",), derivatives_latex=("1",),
)
