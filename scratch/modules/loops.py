"""Plain-loop convolution and max pooling: the readable reference for the vectorised versions.

Every output value is computed on its own, straight from the definition. These functions are
slow (Python loops over every output element) and exist to be read and to check
``vectorized.py`` against; the layers use ``vectorized.py``.
"""
import numpy as np

from .vectorized import window_shape


def conv2d_forward_loops(x, weight, bias, stride, padding):
    """Forward pass of a convolution (cross-correlation) with zero padding.

    Inputs:
    - x: input of shape (N, C, H, W)
    - weight: filters of shape (F, C, k, k)
    - bias: biases of shape (F,)
    - stride: step between neighbouring windows, in pixels
    - padding: zeros added on every side of H and W

    Returns:
    - out: output of shape (N, F, H', W'), where H' = 1 + (H + 2 * padding - k) // stride and
      W' = 1 + (W + 2 * padding - k) // stride
    """
    N, _, H, W = x.shape
    F, _, k, _ = weight.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    H_out = 1 + (H + 2 * padding - k) // stride
    W_out = 1 + (W + 2 * padding - k) // stride
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, weight, bias))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_padded[n, :, top:top + k, left:left + k]
                    out[n, f, i, j] = np.sum(window * weight[f]) + bias[f]
    return out


def conv2d_backward_loops(dout, x, weight, stride, padding):
    """Backward pass of ``conv2d_forward_loops``.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - x, weight, stride, padding: as given to the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    - dw: gradient with respect to weight, of shape (F, C, k, k)
    - db: gradient with respect to bias, of shape (F,)
    """
    N, _, H, W = x.shape
    F, _, k, _ = weight.shape
    _, _, H_out, W_out = dout.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_padded = np.zeros(x_padded.shape, dtype=np.result_type(dout, weight))
    dw = np.zeros(weight.shape, dtype=np.result_type(dout, x))
    db = np.zeros(F, dtype=dout.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_padded[n, :, top:top + k, left:left + k]
                    dw[f] += dout[n, f, i, j] * window
                    dx_padded[n, :, top:top + k, left:left + k] += dout[n, f, i, j] * weight[f]
                    db[f] += dout[n, f, i, j]
    dx = dx_padded[:, :, padding:padding + H, padding:padding + W]
    return dx, dw, db


def max_pool_forward_loops(x, kernel_size, stride):
    """Forward pass of max pooling.

    Inputs:
    - x: input of shape (N, C, H, W)
    - kernel_size: side k of square windows, or (height, width) of rectangular ones
    - stride: step between neighbouring windows

    Returns:
    - out: maxima of shape (N, C, H', W'), where H' = 1 + (H - height) // stride and
      W' = 1 + (W - width) // stride
    """
    N, C, H, W = x.shape
    kh, kw = window_shape(kernel_size)
    H_out = 1 + (H - kh) // stride
    W_out = 1 + (W - kw) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    out[n, c, i, j] = np.max(x[n, c, top:top + kh, left:left + kw])
    return out


def max_pool_backward_loops(dout, x, kernel_size, stride):
    """Backward pass of ``max_pool_forward_loops``.

    Each window's gradient goes to its maximum (the first one in row-major order when several
    values tie); windows that overlap add their gradients.

    Inputs:
    - dout: upstream gradient of shape (N, C, H', W')
    - x, kernel_size, stride: as given to the forward pass

    Returns:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    """
    N, C, H_out, W_out = dout.shape
    kh, kw = window_shape(kernel_size)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top:top + kh, left:left + kw]
                    row, col = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + row, left + col] += dout[n, c, i, j]
    return dx
