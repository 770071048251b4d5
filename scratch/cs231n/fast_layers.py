"""CS231n's fast convolution and max pooling: the vectorised versions scratch/'s Conv2D and
MaxPooling layers run (``scratch.modules.vectorized``: im2col through a strided view, and max
pooling over strided slices), with CS231n's parameter dicts. They agree with the naive loops of
``layers`` to rounding (about 1e-15 relative).
"""
from scratch.modules.vectorized import (conv2d_backward, conv2d_forward, max_pool_backward,
                                        max_pool_forward)

__all__ = ['conv_forward_fast', 'conv_backward_fast', 'max_pool_forward_fast',
           'max_pool_backward_fast']


def conv_forward_fast(x, w, b, conv_param):
    """Convolution of x (N, C, H, W) with square filters w (F, C, k, k) and biases b (F,);
    conv_param: 'stride', 'pad'. Returns (out (N, F, H', W'), cache)."""
    return conv2d_forward(x, w, b, conv_param['stride'], conv_param['pad'])


def conv_backward_fast(dout, cache):
    """Gradients (dx, dw, db) of ``conv_forward_fast`` from dout (N, F, H', W')."""
    return conv2d_backward(dout, cache)


def max_pool_forward_fast(x, pool_param):
    """Max pooling of x (N, C, H, W); pool_param: 'pool_height', 'pool_width', 'stride'.
    Returns (out (N, C, H', W'), cache)."""
    window = (pool_param['pool_height'], pool_param['pool_width'])
    return max_pool_forward(x, window, pool_param['stride'])


def max_pool_backward_fast(dout, cache):
    """Gradient dx (N, C, H, W) of ``max_pool_forward_fast``."""
    return max_pool_backward(dout, cache)
