"""Convolution layer."""
import numpy as np

from .initialization import course_weights
from .vectorized import conv2d_backward, conv2d_forward
from .workspace import Workspace


class Conv2D:
    """2-D convolution (cross-correlation, as in every deep-learning library) with zero padding.

    Attributes:
    - weight: filters of shape (out_channels, in_channels, k, k), the course's initialisation
    - bias: biases of shape (out_channels,), zeros
    - dx, dw, db: gradients set by ``backward``
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=0):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.weight = course_weights((out_channels, in_channels, kernel_size, kernel_size))
        self.bias = np.zeros(out_channels)
        self.cache = None
        self.dx = self.dw = self.db = None
        self._workspace = Workspace()

    def forward(self, x):
        """Convolve x of shape (N, in_channels, H, W); returns (N, out_channels, H', W').

        H' = 1 + (H + 2 * padding - kernel_size) // stride, and W' likewise.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects input of shape (N, {self.in_channels}, H, W), "
                             f"got {x.shape}")
        out, self.cache = conv2d_forward(x, self.weight, self.bias, self.stride, self.padding,
                                         self._workspace)
        return out

    def backward(self, dout):
        """Set dx (N, in_channels, H, W), dw and db from dout of shape (N, out_channels, H', W')."""
        self.dx, self.dw, self.db = conv2d_backward(dout, self.cache)
