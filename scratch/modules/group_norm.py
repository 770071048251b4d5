"""Group normalisation for images."""
import numpy as np

from .normalization import standardize, standardize_backward


class GroupNorm:
    """Split the channels into groups; standardise every (sample, group) over its channels and
    pixels; then scale and shift every channel by its own gamma and beta.

    num_groups = 1 is layer normalisation over (C, H, W); num_groups = num_channels normalises
    every channel of every sample on its own (instance normalisation). Like LayerNorm it does not
    depend on the batch, so training and evaluation behave the same.

    Attributes:
    - weight: gamma of shape (num_channels,), ones
    - bias: beta of shape (num_channels,), zeros
    - dx, dw, db: gradients set by ``backward``
    """

    def __init__(self, num_groups, num_channels, eps=1e-5):
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.weight = np.ones(num_channels)
        self.bias = np.zeros(num_channels)
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """Normalise x of shape (N, num_channels, H, W); returns the same shape."""
        if x.ndim != 4 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm expects input of shape (N, {self.num_channels}, H, W), "
                             f"got {x.shape}")
        x_hat, _, _, inv_std = standardize(self._grouped(x), 2, self.eps)
        x_hat = x_hat.reshape(x.shape)
        self.cache = (x_hat, inv_std)
        return self.weight[:, None, None] * x_hat + self.bias[:, None, None]

    def backward(self, dout):
        """Set dx (N, C, H, W), dw and db (C,) from dout of shape (N, C, H, W)."""
        x_hat, inv_std = self.cache
        self.db = dout.sum(axis=(0, 2, 3))
        self.dw = (dout * x_hat).sum(axis=(0, 2, 3))
        dx_hat = dout * self.weight[:, None, None]
        self.dx = standardize_backward(self._grouped(dx_hat), self._grouped(x_hat), inv_std,
                                       2).reshape(dout.shape)

    def _grouped(self, x):
        """(N, C, H, W) -> (N, num_groups, C // num_groups * H * W): one row per group."""
        return x.reshape(x.shape[0], self.num_groups, -1)
