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
        x_hat, _, _, inv_std = standardize(x, 1, self.eps)
        self.cache = (x_hat, inv_std)
        return self.weight * x_hat + self.bias

    def backward(self, dout):
        """Set dx (N, num_features), dw and db (num_features,) from dout (N, num_features)."""
        x_hat, inv_std = self.cache
        self.db = dout.sum(axis=0)
        self.dw = (dout * x_hat).sum(axis=0)
        self.dx = standardize_backward(dout * self.weight, x_hat, inv_std, 1)
