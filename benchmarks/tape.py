"""The least an eager reverse-mode engine in Python can do: W1's floor for eager engines.

Just enough for the seed's Model 1: each op computes its NumPy result and, when an input needs a
gradient, records a node holding a closure that maps the output's gradient to its inputs'.
``backward`` pops nodes in reverse creation order and sums gradients into the leaves' ``.grad``.

It has none of what makes an engine PyTorch-compatible: no version counters (an in-place change
of a saved value goes unnoticed), no hooks or retain_grad, no dtype promotion or general
broadcasting (only a bias of shape (n,)), no saved values for graph tools, no anomaly mode, no
second derivatives. Measured beside glassgrad's eager engine, it shows what those cost, and how
far per-op Python can go at all.
"""

import heapq
import itertools

import numpy as np

_next_seq = itertools.count().__next__
_recording = [True]  # no_grad() switches it off


class _Node:
    __slots__ = ("vjp", "inputs", "seq")


class Tensor:
    __slots__ = ("data", "grad", "node", "requires_grad")

    def __init__(self, data, requires_grad=False, node=None):
        self.data, self.grad, self.node, self.requires_grad = data, None, node, requires_grad

    @property
    def T(self):
        return _result(self.data.T, (self,), lambda g: (g.T,))

    def __add__(self, other):
        if other.data.shape == self.data.shape:
            return _result(self.data + other.data, (self, other), lambda g: (g, g))
        return _result(self.data + other.data, (self, other), lambda g: (g, g.sum(axis=0)))

    def __sub__(self, other):
        return _result(self.data - other.data, (self, other), lambda g: (g, -g))

    def __matmul__(self, other):
        a, b = self.data, other.data
        return _result(a @ b, (self, other), lambda g: (g @ b.T, a.T @ g))

    def __truediv__(self, number):
        return _result(self.data / number, (self,), lambda g: (g / number,))

    def __rmul__(self, number):
        return _result(number * self.data, (self,), lambda g: (g * number,))

    def __isub__(self, other):
        self.data -= other.data
        return self

    def zero_(self):
        self.data.fill(0)
        return self

    def backward(self):
        _recording[0] = False
        try:
            gradients = {self.node: np.ones_like(self.data)}
            heap = [(-self.node.seq, self.node)]
            while heap:
                node = heapq.heappop(heap)[1]
                for tensor, g in zip(node.inputs, node.vjp(gradients.pop(node))):
                    if not tensor.requires_grad:
                        continue
                    if tensor.node is None:  # a leaf
                        if tensor.grad is None:
                            tensor.grad = Tensor(g.copy())
                        else:
                            tensor.grad.data += g
                    elif tensor.node in gradients:
                        gradients[tensor.node] = gradients[tensor.node] + g
                    else:
                        gradients[tensor.node] = g
                        heapq.heappush(heap, (-tensor.node.seq, tensor.node))
        finally:
            _recording[0] = True


def _result(data, inputs, vjp):
    if _recording[0]:
        for t in inputs:
            if t.requires_grad:
                node = _Node()
                node.vjp, node.inputs, node.seq = vjp, inputs, _next_seq()
                return Tensor(data, True, node)
    return Tensor(data)


def mm(a, b):
    return a @ b


class no_grad:
    def __enter__(self):
        _recording[0] = False

    def __exit__(self, *exc):
        _recording[0] = True
