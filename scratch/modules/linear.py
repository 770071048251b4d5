"""Fully connected layer."""
import numpy as np

from .initialization import course_weights


class Linear:
    """Affine map x @ weight + bias, flattening every input axis after the first.

    Attributes:
    - weight: shape (in_dim, out_dim), the course's initialisation
    - bias: shape (out_dim,), zeros
    - dx, dw, db: gradients set by ``backward``
    """

    def __init__(self, in_dim, out_dim):
        self.in_dim = in_dim
        self.out_dim = out_dim
        self.weight = course_weights((in_dim, out_dim))
        self.bias = np.zeros(out_dim)
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """Map x of shape (N, d_1, ..., d_m), with d_1 * ... * d_m = in_dim, to (N, out_dim)."""
        x_rows = x.reshape(x.shape[0], -1)
        if x_rows.shape[1] != self.in_dim:
            raise ValueError(f"Linear expects {self.in_dim} features per sample, got "
                             f"{x_rows.shape[1]} from input of shape {x.shape}")
        out, self.cache = affine_forward(x, self.weight, self.bias)
        return out

    def backward(self, dout):
        """Set dx (the input's shape), dw (in_dim, out_dim) and db (out_dim,) from dout
        of shape (N, out_dim)."""
        self.dx, self.dw, self.db = affine_backward(dout, self.cache)


def affine_forward(x, w, b):
    """x @ w + b, every axis of x after the first flattened.

    Inputs:
    - x: shape (N, d_1, ..., d_m); w: shape (d_1 * ... * d_m, M); b: shape (M,)

    Returns a tuple of:
    - out: shape (N, M)
    - cache: (x, w) for ``affine_backward``
    """
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    """Gradients of ``affine_forward`` from dout (N, M): (dx (x's shape), dw (D, M), db (M,))."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)
