"""CS231n's "sandwich" layers: common sequences of ``layers`` / ``fast_layers`` as one
forward and one backward."""
from .fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                          max_pool_forward_fast)
from .layers import affine_backward, affine_forward, relu_backward, relu_forward

__all__ = ['affine_relu_forward', 'affine_relu_backward', 'conv_relu_forward',
           'conv_relu_backward', 'conv_relu_pool_forward', 'conv_relu_pool_backward']


def affine_relu_forward(x, w, b):
    """ReLU(x @ w + b) for x (N, d_1, ..., d_k), w (D, M), b (M,): (out (N, M), cache)."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Gradients (dx, dw, db) of ``affine_relu_forward``."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_forward(x, w, b, conv_param):
    """ReLU(convolution of x with w, b) (the fast convolution): (out, cache)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Gradients (dx, dw, db) of ``conv_relu_forward``."""
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Max pooling of ReLU(convolution): (out, cache)."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Gradients (dx, dw, db) of ``conv_relu_pool_forward``."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)
