"""CS231n's layer functions: every forward returns (out, cache), every backward takes
(dout, cache) and returns the gradients of the forward's inputs, in the forward's order.

The mathematics is scratch/'s own (``scratch.modules``): the classes call the same functions.
Differences from the classes that follow CS231n: ``dropout_param['p']`` is the probability of
KEEPING a value (``Dropout(p)`` takes the probability of dropping it); ``bn_param`` starts
its running mean and variance at zeros and keeps them in the dict, updated in place.
"""
import numpy as np

from scratch.modules.batch_norm import batch_norm_backward, batch_norm_forward
from scratch.modules.dropout import dropout_backward as _dropout_backward
from scratch.modules.dropout import dropout_forward as _dropout_forward
from scratch.modules.group_norm import group_norm_backward, group_norm_forward
from scratch.modules.layer_norm import layer_norm_backward, layer_norm_forward
from scratch.modules.linear import affine_backward, affine_forward
from scratch.modules.loops import (conv2d_backward_loops, conv2d_forward_loops,
                                   max_pool_backward_loops, max_pool_forward_loops)
from scratch.modules.normalization import batchnorm_backward_steps
from scratch.modules.relu import relu_backward, relu_forward
from scratch.modules.softmax_cross_entropy import (softmax_cross_entropy,
                                                   softmax_cross_entropy_backward)

__all__ = ['affine_forward', 'affine_backward', 'relu_forward', 'relu_backward',
           'softmax_loss', 'svm_loss', 'batchnorm_forward', 'batchnorm_backward',
           'batchnorm_backward_alt', 'layernorm_forward', 'layernorm_backward',
           'dropout_forward', 'dropout_backward', 'conv_forward_naive', 'conv_backward_naive',
           'max_pool_forward_naive', 'max_pool_backward_naive', 'spatial_batchnorm_forward',
           'spatial_batchnorm_backward', 'spatial_groupnorm_forward',
           'spatial_groupnorm_backward']


def softmax_loss(x, y):
    """Softmax cross-entropy of scores x (N, C) against labels y (N,) in [0, C).

    Returns a tuple of:
    - loss: mean over N of -log softmax(x)[n, y[n]], a float
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    probs, loss = softmax_cross_entropy(x, y)
    return loss, softmax_cross_entropy_backward(probs, y)


def svm_loss(x, y):
    """Multiclass hinge loss: mean over N of sum over j != y[n] of max(0, x[n, j] - x[n, y[n]] + 1).

    Returns a tuple of:
    - loss: a float
    - dx: gradient with respect to x (N, C): +1 / N for every class with a positive margin,
      minus their count / N at the correct class
    """
    N = len(y)
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    positive = (margins > 0).astype(x.dtype)
    dx = positive.copy()
    dx[rows, y] -= positive.sum(axis=1)
    return float(margins.sum() / N), dx / N


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of x (N, D) with gamma, beta (D,).

    bn_param: 'mode' 'train' (the batch's mean and biased variance) or 'test' (the running
    ones); 'eps' (1e-5); 'momentum' (0.9); 'running_mean', 'running_var' (D,), zeros when
    absent, updated in place in train mode:
        running = momentum * running + (1 - momentum) * batch statistic
    Returns (out (N, D), cache).
    """
    return _batchnorm(x, gamma, beta, bn_param, (0,))


def batchnorm_backward(dout, cache):
    """Gradients (dx, dgamma, dbeta) of ``batchnorm_forward``, walked node by node through its
    computational graph (``normalization.batchnorm_backward_steps``)."""
    x, _, _, gamma, axes, eps, training = cache
    if axes != (0,) or not training:
        return batch_norm_backward(dout, cache)
    return batchnorm_backward_steps(dout, x, gamma, eps)


def batchnorm_backward_alt(dout, cache):
    """The same gradients as ``batchnorm_backward`` from the simplified closed form (what the
    BatchNorm class runs)."""
    return batch_norm_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation of every row of x (N, D) with gamma, beta (D,); ln_param: 'eps'
    (1e-5). Returns (out (N, D), cache)."""
    return layer_norm_forward(x, gamma, beta, ln_param.get('eps', 1e-5))


def layernorm_backward(dout, cache):
    """Gradients (dx (N, D), dgamma (D,), dbeta (D,)) of ``layernorm_forward``."""
    return layer_norm_backward(dout, cache)


def dropout_forward(x, dropout_param):
    """Inverted dropout of x (any shape).

    dropout_param: 'p', the probability of KEEPING each value, in (0, 1]; 'mode' 'train' or
    'test' (identity); 'seed', when given, makes the mask depend on it alone (else NumPy's
    global generator draws it). Kept values are divided by p, so the expectation is x.
    Returns (out, cache).
    """
    _check_mode(dropout_param, 'dropout_param')
    keep = dropout_param['p']
    if not 0 < keep <= 1:
        raise ValueError(f"dropout_param['p'] is the keep probability, in (0, 1]; got {keep}")
    seed = dropout_param.get('seed')
    rng = np.random if seed is None else np.random.RandomState(seed)
    out, mask = _dropout_forward(x, 1 - keep, rng, dropout_param['mode'] == 'train')
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Gradient of ``dropout_forward``: dout times the mask in train mode, dout in test mode."""
    return _dropout_backward(dout, cache[1])


def conv_forward_naive(x, w, b, conv_param):
    """Convolution of x (N, C, H, W) with filters w (F, C, HH, WW) and biases b (F,), written
    as loops; conv_param: 'stride', 'pad' (zeros on every side). Square filters.

    Returns (out (N, F, H', W'), cache), H' = 1 + (H + 2 * pad - HH) // stride.
    """
    out = conv2d_forward_loops(x, w, b, conv_param['stride'], conv_param['pad'])
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients (dx, dw, db) of ``conv_forward_naive`` from dout (N, F, H', W'), as loops."""
    x, w, _, conv_param = cache
    return conv2d_backward_loops(dout, x, w, conv_param['stride'], conv_param['pad'])


def max_pool_forward_naive(x, pool_param):
    """Max pooling of x (N, C, H, W), as loops; pool_param: 'pool_height', 'pool_width',
    'stride'. Returns (out (N, C, H', W'), cache)."""
    out = max_pool_forward_loops(x, _window(pool_param), pool_param['stride'])
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Gradient dx (N, C, H, W) of ``max_pool_forward_naive``: each window's gradient goes to
    its (first) maximum."""
    x, pool_param = cache
    return max_pool_backward_loops(dout, x, _window(pool_param), pool_param['stride'])


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of images x (N, C, H, W): one mean and variance per channel over
    the batch and every pixel; gamma, beta and the running statistics have shape (C,);
    bn_param as in ``batchnorm_forward``. Returns (out, cache)."""
    return _batchnorm(x, gamma, beta, bn_param, (0, 2, 3))


def spatial_batchnorm_backward(dout, cache):
    """Gradients (dx (N, C, H, W), dgamma (C,), dbeta (C,)) of ``spatial_batchnorm_forward``."""
    return batch_norm_backward(dout, cache)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalisation of x (N, C, H, W) in G groups of C // G channels; gamma, beta of
    shape (1, C, 1, 1) (or (C,)); gn_param: 'eps' (1e-5). Returns (out, cache)."""
    return group_norm_forward(x, gamma, beta, G, gn_param.get('eps', 1e-5))


def spatial_groupnorm_backward(dout, cache):
    """Gradients (dx, dgamma, dbeta) of ``spatial_groupnorm_forward``, dgamma and dbeta in
    gamma's shape."""
    return group_norm_backward(dout, cache)


def _batchnorm(x, gamma, beta, bn_param, axes):
    """batchnorm_forward over `axes`, the running statistics kept in bn_param."""
    _check_mode(bn_param, 'bn_param')
    features = x.shape[1]
    running_mean = bn_param.setdefault('running_mean', np.zeros(features, dtype=x.dtype))
    running_var = bn_param.setdefault('running_var', np.zeros(features, dtype=x.dtype))
    return batch_norm_forward(x, gamma, beta, running_mean, running_var, axes,
                              bn_param.get('eps', 1e-5), bn_param.get('momentum', 0.9),
                              bn_param['mode'] == 'train')


def _check_mode(param, name):
    """Raise ValueError unless param['mode'] is 'train' or 'test'."""
    if param.get('mode') not in ('train', 'test'):
        raise ValueError(f"{name}['mode'] must be 'train' or 'test', got {param.get('mode')!r}")


def _window(pool_param):
    """(height, width) of a pool_param's window."""
    return pool_param['pool_height'], pool_param['pool_width']
