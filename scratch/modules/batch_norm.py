"""Batch normalisation, for fully connected (N, D) and convolutional (N, C, H, W) inputs."""
import numpy as np

from .normalization import standardize, standardize_backward


class BatchNorm:
    """Standardise every feature over the batch, then scale by gamma and shift by beta.

    Training mode (the default) uses the batch's mean and (biased) variance and updates the
    running statistics, the course's way round:
        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
    and likewise running_var (momentum 0.9 keeps 90% of the old value; torch's momentum 0.1
    means the same). Evaluation mode uses the running statistics and changes nothing.

    Attributes:
    - weight: gamma of shape (num_features,), ones (named as in torch, so the optimizers
      update it like any other weight)
    - bias: beta of shape (num_features,), zeros
    - running_mean, running_var: shape (num_features,), zeros and ones to start with
    - training: True in training mode; ``ConvNet.train()`` / ``eval()`` set it
    - dx, dw, db: gradients set by ``backward``
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.9):
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = np.ones(num_features)
        self.bias = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.training = True
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """Normalise x of shape (N, num_features); returns the same shape."""
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__} expects input of shape "
                             f"(N, {self.num_features}), got {x.shape}")
        if self.training:
            x_hat, mean, var, inv_std = standardize(x, 0, self.eps)
            self.running_mean = (self.momentum * self.running_mean
                                 + (1 - self.momentum) * mean[0])
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var[0]
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            x_hat = (x - self.running_mean) * inv_std
        self.cache = (x_hat, inv_std, self.training)
        return self.weight * x_hat + self.bias

    def backward(self, dout):
        """Set dx (N, num_features), dw and db (num_features,) from dout (N, num_features).

        In training mode the gradient flows through the batch statistics too
        (``normalization.standardize_backward``); in evaluation mode they are constants.
        """
        x_hat, inv_std, training = self.cache
        self.db = dout.sum(axis=0)
        self.dw = (dout * x_hat).sum(axis=0)
        dx_hat = dout * self.weight
        self.dx = standardize_backward(dx_hat, x_hat, inv_std, 0) if training else dx_hat * inv_std


class SpatialBatchNorm(BatchNorm):
    """BatchNorm for images: one mean and variance per channel, over the batch and every pixel.

    Input and output have shape (N, num_features, H, W), num_features being the channel count;
    everything else is as in ``BatchNorm``, which runs on the (N * H * W, num_features) matrix of
    pixels.
    """

    def forward(self, x):
        """Normalise x of shape (N, C, H, W), C = num_features; returns the same shape."""
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"SpatialBatchNorm expects input of shape "
                             f"(N, {self.num_features}, H, W), got {x.shape}")
        return _from_rows(super().forward(_to_rows(x)), x.shape)

    def backward(self, dout):
        """Set dx (N, C, H, W), dw and db (C,) from dout of shape (N, C, H, W)."""
        super().backward(_to_rows(dout))
        self.dx = _from_rows(self.dx, dout.shape)


def _to_rows(x):
    """(N, C, H, W) -> (N * H * W, C): one row per pixel."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _from_rows(rows, shape):
    """Inverse of ``_to_rows`` for an array of the given (N, C, H, W) shape."""
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
