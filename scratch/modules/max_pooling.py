"""Max-pooling layer."""
from .vectorized import max_pool_backward, max_pool_forward


class MaxPooling:
    """Max pooling over kernel_size x kernel_size windows taken every `stride` pixels.

    Attributes:
    - dx: gradient set by ``backward``
    """

    def __init__(self, kernel_size, stride):
        self.kernel_size = kernel_size
        self.stride = stride
        self.cache = None
        self.dx = None

    def forward(self, x):
        """Pool x of shape (N, C, H, W); returns (N, C, H', W').

        H' = 1 + (H - kernel_size) // stride, and W' likewise.
        """
        out, self.cache = max_pool_forward(x, self.kernel_size, self.stride)
        return out

    def backward(self, dout):
        """Set dx (N, C, H, W) from dout (N, C, H', W'): each window's gradient goes to its
        maximum, and overlapping windows add up."""
        self.dx = max_pool_backward(dout, self.cache)
