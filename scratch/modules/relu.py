"""Rectified linear unit."""
import numpy as np


class ReLU:
    """Elementwise max(0, x).

    Attributes:
    - dx: gradient set by ``backward``
    """

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x):
        """Return max(0, x) for x of any shape."""
        out, self.cache = relu_forward(x)
        return out

    def backward(self, dout):
        """Set dx = dout where the input was positive, 0 elsewhere (same shape as the input)."""
        self.dx = relu_backward(dout, self.cache)


def relu_forward(x):
    """(max(0, x), cache) for x of any shape; the cache is x itself."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dout where the forward input (the cache) was positive, 0 elsewhere."""
    return dout * (cache > 0)
