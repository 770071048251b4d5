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
        out, self.cache = group_norm_forward(x, self.weight, self.bias, self.num_groups,
                                             self.eps)
        return out

    def backward(self, dout):
        """Set dx (N, C, H, W), dw and db (C,) from dout of shape (N, C, H, W)."""
        self.dx, self.dw, self.db = group_norm_backward(dout, self.cache)


def group_norm_forward(x, gamma, beta, num_groups, eps=1e-5):
    """Group normalisation of x (N, C, H, W), as ``GroupNorm`` describes.

    Inputs:
    - gamma, beta: C values each, of any shape ((C,), or (1, C, 1, 1))
    - num_groups: divides C

    Returns a tuple of:
    - out: x's shape
    - cache: for ``group_norm_backward``
    """
    x_hat, _, _, inv_std = standardize(_grouped(x, num_groups), 2, eps)
    x_hat = x_hat.reshape(x.shape)
    out = np.reshape(gamma, (-1, 1, 1)) * x_hat + np.reshape(beta, (-1, 1, 1))
    return out, (x_hat, inv_std, gamma, num_groups)


def group_norm_backward(dout, cache):
    """Gradients of ``group_norm_forward``: (dx (N, C, H, W), dgamma and dbeta in gamma's
    shape)."""
    x_hat, inv_std, gamma, num_groups = cache
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dx_hat = dout * np.reshape(gamma, (-1, 1, 1))
    dx = standardize_backward(_grouped(dx_hat, num_groups), _grouped(x_hat, num_groups),
                              inv_std, 2)
    return dx.reshape(dout.shape), dgamma, dbeta


def _grouped(x, num_groups):
    """(N, C, H, W) -> (N, num_groups, C // num_groups * H * W): one row per group."""
    return x.reshape(x.shape[0], num_groups, -1)
