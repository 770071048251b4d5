"""Standardising over some axes and its backward pass, shared by every normalisation layer.

BatchNorm standardises each feature over the batch (axis 0), LayerNorm each sample over its
features, GroupNorm each (sample, group of channels) over the group's channels and pixels. All
three then scale and shift by a learnt gamma and beta, so the maths below is written once.

``batchnorm_backward_steps`` is BatchNorm's backward pass walked node by node through the
computational graph of the forward pass; ``standardize_backward`` is the same gradient
collapsed into one expression. Tests check that both agree with each other and with centred
differences.
"""
import numpy as np


def standardize(x, axis, eps):
    """(x - mean) / sqrt(var + eps), with mean and (biased) variance over `axis`.

    Inputs:
    - x: array of any shape
    - axis: int or tuple of ints, the axes the statistics are taken over
    - eps: added to the variance before the square root, for stability

    Returns a tuple of:
    - x_hat: the standardised array, x's shape
    - mean, var: the statistics, with the reduced axes kept as size 1
    - inv_std: 1 / sqrt(var + eps), the shape of mean
    """
    mean = x.mean(axis=axis, keepdims=True)
    x_hat = x - mean
    var = np.square(x_hat).mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, mean, var, inv_std


def standardize_backward(dx_hat, x_hat, inv_std, axis):
    """Gradient with respect to x of ``standardize`` as one expression.

    With M the number of values each statistic is taken over:
        dx = inv_std / M * (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
    where the sums run over `axis`. The second term is the path through the mean, the third
    the path through the variance. (Computed as inv_std * (dx_hat - mean(dx_hat)
    - x_hat * mean(dx_hat * x_hat)), which needs fewer temporary arrays.)

    Inputs:
    - dx_hat: upstream gradient with respect to x_hat, x_hat's shape
    - x_hat, inv_std: as returned by ``standardize``
    - axis: as given to ``standardize``

    Returns:
    - dx: gradient with respect to x, x_hat's shape
    """
    mean_dx_hat = dx_hat.mean(axis=axis, keepdims=True)
    mean_projection = (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    dx = dx_hat - mean_dx_hat
    dx -= x_hat * mean_projection
    dx *= inv_std
    return dx


def batchnorm_backward_steps(dout, x, gamma, eps):
    """BatchNorm's training-mode backward pass, one node of the forward graph at a time.

    The forward pass, written as the graph this function walks back through:
        mu = mean(x)            xmu = x - mu          sq = xmu ** 2
        var = mean(sq)          sqrtvar = sqrt(var + eps)
        ivar = 1 / sqrtvar      x_hat = xmu * ivar    out = gamma * x_hat + beta
    (means over the batch axis 0). Every line below is the local derivative of one node,
    applied to the gradient arriving from above.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - x: the forward pass's input, shape (N, D)
    - gamma: scale of shape (D,)
    - eps: as in the forward pass

    Returns a tuple of:
    - dx: shape (N, D)
    - dgamma, dbeta: shape (D,)
    """
    N = x.shape[0]
    mu = x.mean(axis=0)
    xmu = x - mu
    sq = xmu ** 2
    var = sq.mean(axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    x_hat = xmu * ivar

    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    divar = (dx_hat * xmu).sum(axis=0)
    dxmu = dx_hat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 / sqrtvar * dsqrtvar
    dsq = np.ones_like(sq) * dvar / N
    dxmu = dxmu + 2 * xmu * dsq
    dmu = -dxmu.sum(axis=0)
    dx = dxmu + np.ones_like(x) * dmu / N
    return dx, dgamma, dbeta
