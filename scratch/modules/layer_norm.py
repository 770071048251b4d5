"""Layer normalisation."""
import numpy as np

from .normalization import standardize, standardize_backward


class LayerNorm:
    """Standardise every sample over its own features, then scale by gamma and shift by beta.

    The statistics come from the sample alone, so training and evaluation behave the same and
    the batch size does not matter.

    Attributes:
    - weight: gamma of shape (num_features,), ones
    - bias: beta of shape (num_features,), zeros
    - dx, dw, db: gradients set by ``backward``
    """

    def __init__(self, num_features, eps=1e-5):
        self.num_features = num_features
        self.eps = eps
        self.weight = np.ones(num_features)
        self.bias = np.zeros(num_features)
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """Normalise x of shape (N, num_features); returns the same shape."""
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"LayerNorm expects input of shape (N, {self.num_features}), "
                             f"got {x.shape}")
        out, self.cache = layer_norm_forward(x, self.weight, self.bias, self.eps)
        return out

    def backward(self, dout):
        """Set dx (N, num_features), dw and db (num_features,) from dout (N, num_features)."""
        self.dx, self.dw, self.db = layer_norm_backward(dout, self.cache)


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalisation of x (N, D) with gamma, beta (D,): (out (N, D), cache)."""
    x_hat, _, _, inv_std = standardize(x, 1, eps)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def layer_norm_backward(dout, cache):
    """Gradients of ``layer_norm_forward``: (dx (N, D), dgamma (D,), dbeta (D,))."""
    x_hat, inv_std, gamma = cache
    dx = standardize_backward(dout * gamma, x_hat, inv_std, 1)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
