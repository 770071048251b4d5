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
    # Axes the statistics are taken over, and the input's shape for error messages.
    axes = (0,)
    expected_shape = "(N, {F})"

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
        """Normalise x of shape (N, num_features) (SpatialBatchNorm: (N, num_features, H, W));
        returns the same shape."""
        if x.ndim != len(self.axes) + 1 or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__} expects input of shape "
                             f"{self.expected_shape.format(F=self.num_features)}, got {x.shape}")
        out, self.cache = batch_norm_forward(
            x, self.weight, self.bias, self.running_mean, self.running_var, self.axes,
            self.eps, self.momentum, self.training)
        return out

    def backward(self, dout):
        """Set dx (the input's shape), dw and db (num_features,) from dout (the input's shape).

        In training mode the gradient flows through the batch statistics too
        (``normalization.standardize_backward``); in evaluation mode they are constants.
        """
        self.dx, self.dw, self.db = batch_norm_backward(dout, self.cache)


def batch_norm_forward(x, gamma, beta, running_mean, running_var, axes=(0,), eps=1e-5,
                       momentum=0.9, training=True):
    """Batch normalisation of x over `axes` (feature axis 1), as ``BatchNorm`` describes.

    Inputs:
    - x: shape (N, D) with axes (0,), or (N, C, H, W) with axes (0, 2, 3)
    - gamma, beta: scale and shift, D (or C) values of any shape
    - running_mean, running_var: shape (D,) or (C,); in training mode updated IN PLACE,
      running = momentum * running + (1 - momentum) * batch statistic
    - training: True for the batch's statistics, False for the running ones

    Returns a tuple of:
    - out: x's shape
    - cache: for ``batch_norm_backward`` (and ``batchnorm_backward_steps``)
    """
    if training:
        x_hat, mean, var, inv_std = standardize(x, axes, eps)
        running_mean *= momentum
        running_mean += (1 - momentum) * mean.ravel()
        running_var *= momentum
        running_var += (1 - momentum) * var.ravel()
    else:
        inv_std = _per_feature(1.0 / np.sqrt(running_var + eps), axes)
        x_hat = (x - _per_feature(running_mean, axes)) * inv_std
    out = _per_feature(gamma, axes) * x_hat + _per_feature(beta, axes)
    return out, (x, x_hat, inv_std, gamma, axes, eps, training)


def batch_norm_backward(dout, cache):
    """Gradients of ``batch_norm_forward``: (dx (x's shape), dgamma, dbeta (gamma's shape)),
    through the batch statistics in training mode, with them constant in evaluation mode."""
    _, x_hat, inv_std, gamma, axes, _, training = cache
    dbeta = dout.sum(axis=axes).reshape(np.shape(gamma))
    dgamma = (dout * x_hat).sum(axis=axes).reshape(np.shape(gamma))
    dx_hat = dout * _per_feature(gamma, axes)
    dx = standardize_backward(dx_hat, x_hat, inv_std, axes) if training else dx_hat * inv_std
    return dx, dgamma, dbeta


def _per_feature(values, axes):
    """values with one entry per feature, shaped to broadcast against the input."""
    return np.reshape(values, (-1,) + (1,) * (len(axes) - 1))


class SpatialBatchNorm(BatchNorm):
    """BatchNorm for images: one mean and variance per channel, over the batch and every pixel.

    Input and output have shape (N, num_features, H, W), num_features being the channel count;
    everything else is as in ``BatchNorm``.
    """
    axes = (0, 2, 3)
    expected_shape = "(N, {F}, H, W)"
