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
        if self.training:
            x_hat, mean, var, inv_std = standardize(x, self.axes, self.eps)
            self.running_mean = (self.momentum * self.running_mean
                                 + (1 - self.momentum) * mean.ravel())
            self.running_var = (self.momentum * self.running_var
                                + (1 - self.momentum) * var.ravel())
        else:
            inv_std = self._per_feature(1.0 / np.sqrt(self.running_var + self.eps))
            x_hat = (x - self._per_feature(self.running_mean)) * inv_std
        self.cache = (x_hat, inv_std, self.training)
        return self._per_feature(self.weight) * x_hat + self._per_feature(self.bias)

    def backward(self, dout):
        """Set dx (the input's shape), dw and db (num_features,) from dout (the input's shape).

        In training mode the gradient flows through the batch statistics too
        (``normalization.standardize_backward``); in evaluation mode they are constants.
        """
        x_hat, inv_std, training = self.cache
        self.db = dout.sum(axis=self.axes)
        self.dw = (dout * x_hat).sum(axis=self.axes)
        dx_hat = dout * self._per_feature(self.weight)
        self.dx = (standardize_backward(dx_hat, x_hat, inv_std, self.axes) if training
                   else dx_hat * inv_std)

    def _per_feature(self, values):
        """values of shape (num_features,), shaped to broadcast against the input."""
        return values.reshape((-1,) + (1,) * (len(self.axes) - 1))


class SpatialBatchNorm(BatchNorm):
    """BatchNorm for images: one mean and variance per channel, over the batch and every pixel.

    Input and output have shape (N, num_features, H, W), num_features being the channel count;
    everything else is as in ``BatchNorm``.
    """
    axes = (0, 2, 3)
    expected_shape = "(N, {F}, H, W)"
