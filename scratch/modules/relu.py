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
        self.cache = x
        return np.maximum(x, 0)

    def backward(self, dout):
        """Set dx = dout where the input was positive, 0 elsewhere (same shape as the input)."""
        self.dx = dout * (self.cache > 0)
