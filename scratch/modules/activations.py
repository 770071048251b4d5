"""Elementwise activations beside ReLU: leaky ReLU, sigmoid and tanh."""
import numpy as np


class LeakyReLU:
    """x where x > 0, negative_slope * x elsewhere.

    Attributes:
    - dx: gradient set by ``backward``
    """

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope
        self.cache = None
        self.dx = None

    def forward(self, x):
        """Apply to x of any shape; returns the same shape."""
        self.cache = x > 0
        return np.where(self.cache, x, self.negative_slope * x)

    def backward(self, dout):
        """Set dx = dout where the input was positive, negative_slope * dout elsewhere."""
        self.dx = np.where(self.cache, dout, self.negative_slope * dout)


class Sigmoid:
    """1 / (1 + exp(-x)), computed without overflow for inputs of any magnitude.

    Attributes:
    - dx: gradient set by ``backward``
    """

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x):
        """Apply to x of any shape; returns values in [0, 1] of the same shape."""
        # exp(-log(1 + exp(-x))), with logaddexp never forming exp of a large number.
        out = np.exp(-np.logaddexp(0, -x))
        self.cache = out
        return out

    def backward(self, dout):
        """Set dx = dout * s * (1 - s), s being the forward pass's output."""
        out = self.cache
        self.dx = dout * out * (1 - out)


class Tanh:
    """Hyperbolic tangent.

    Attributes:
    - dx: gradient set by ``backward``
    """

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x):
        """Apply to x of any shape; returns values in [-1, 1] of the same shape."""
        self.cache = np.tanh(x)
        return self.cache

    def backward(self, dout):
        """Set dx = dout * (1 - t ** 2), t being the forward pass's output."""
        self.dx = dout * (1 - self.cache ** 2)
