"""Vectorised convolution and max pooling: the versions the layers run.

Convolution is im2col: a strided view of the padded input lists every k x k window without
copying, one copy lays the windows out as columns, and a single matrix product with the
flattened filters gives the output. Backward reuses the cached columns: dw is one product,
and dx is one product back to columns followed by a scatter that adds each of the k * k
kernel offsets into the padded input with a strided slice (no index arrays).

Max pooling walks the k * k offsets of the window the same way: a running maximum over strided
slices, remembering which offset won, and backward sends each gradient to that offset.

``loops.py`` holds the plain-loop versions of the same functions; tests check that both agree.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .workspace import Workspace


def conv2d_forward(x, weight, bias, stride, padding, workspace=None):
    """Forward pass of a convolution (cross-correlation) with zero padding, through im2col.

    Inputs:
    - x: input of shape (N, C, H, W)
    - weight: filters of shape (F, C, k, k)
    - bias: biases of shape (F,)
    - stride: step between neighbouring windows, in pixels
    - padding: zeros added on every side of H and W
    - workspace: a ``Workspace`` to keep the intermediate arrays in between calls; a new one
      when None

    Returns a tuple of:
    - out: a new array of shape (N, F, H', W'), where H' = 1 + (H + 2 * padding - k) // stride
      and W' = 1 + (W + 2 * padding - k) // stride
    - cache: what ``conv2d_backward`` needs, the columns (C * k * k, N * H' * W') included;
      it lives in the workspace, so it is valid until the next call with the same workspace
    """
    if workspace is None:
        workspace = Workspace()
    N, C, H, W = x.shape
    F, _, k, _ = weight.shape
    dtype = np.result_type(x, weight, bias)
    x_padded = _pad(x, padding, workspace, 'x_padded', dtype)
    windows = sliding_window_view(x_padded, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    _, _, H_out, W_out, _, _ = windows.shape
    # Row (c, di, dj) of the columns holds pixel (c, top + di, left + dj) of every window, with
    # the windows ordered (n, i, j).
    columns = workspace.empty('columns', (C, k, k, N, H_out, W_out), dtype)
    np.copyto(columns, windows.transpose(1, 4, 5, 0, 2, 3))
    columns = columns.reshape(C * k * k, N * H_out * W_out)
    out_rows = workspace.empty('out_rows', (F, N * H_out * W_out), dtype)
    np.matmul(weight.reshape(F, -1), columns, out=out_rows)
    out_rows += bias[:, None]
    out = out_rows.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3).copy()
    cache = (x.shape, weight, stride, padding, columns, workspace)
    return out, cache


def conv2d_backward(dout, cache):
    """Backward pass of ``conv2d_forward``.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: as returned by ``conv2d_forward``

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    - dw: gradient with respect to weight, of shape (F, C, k, k)
    - db: gradient with respect to bias, of shape (F,)
    """
    (N, C, H, W), weight, stride, padding, columns, workspace = cache
    F, _, k, _ = weight.shape
    _, _, H_out, W_out = dout.shape
    dtype = np.result_type(dout, weight)
    dout_rows = workspace.empty('dout_rows', (F, N, H_out, W_out), dout.dtype)
    np.copyto(dout_rows, dout.transpose(1, 0, 2, 3))
    dout_rows = dout_rows.reshape(F, N * H_out * W_out)
    dw = (dout_rows @ columns.T).reshape(weight.shape)
    db = dout_rows.sum(axis=1)
    dcolumns = workspace.empty('dcolumns', (C * k * k, N * H_out * W_out), dtype)
    np.matmul(weight.reshape(F, -1).T, dout_rows, out=dcolumns)
    dcolumns = dcolumns.reshape(C, k, k, N, H_out, W_out)
    dx_padded = workspace.zeros('dx_padded', (N, C, H + 2 * padding, W + 2 * padding), dtype)
    for di in range(k):
        for dj in range(k):
            dx_padded[_offset_slices(di, dj, stride, H_out, W_out)] += (
                dcolumns[:, di, dj].transpose(1, 0, 2, 3))
    dx = dx_padded[:, :, padding:padding + H, padding:padding + W].copy()
    return dx, dw, db


def max_pool_forward(x, kernel_size, stride):
    """Forward pass of max pooling.

    Inputs:
    - x: input of shape (N, C, H, W)
    - kernel_size: side k of square windows, or (height, width) of rectangular ones
    - stride: step between neighbouring windows

    Returns a tuple of:
    - out: maxima of shape (N, C, H', W'), where H' = 1 + (H - height) // stride and
      W' = 1 + (W - width) // stride
    - cache: what ``max_pool_backward`` needs, among it the winning offset of every window
      (di * width + dj, the first one in row-major order when values tie)
    """
    N, C, H, W = x.shape
    kh, kw = window_shape(kernel_size)
    H_out = 1 + (H - kh) // stride
    W_out = 1 + (W - kw) // stride
    out = x[_offset_slices(0, 0, stride, H_out, W_out)].copy()
    winner = np.zeros(out.shape, dtype=np.int32)
    for offset in range(1, kh * kw):
        candidate = x[_offset_slices(*divmod(offset, kw), stride, H_out, W_out)]
        larger = candidate > out
        np.maximum(out, candidate, out=out)
        # Set winner to offset where larger, in arithmetic (much faster than masked assignment).
        winner += larger * (offset - winner)
    cache = (x.shape, x.dtype, (kh, kw), stride, winner)
    return out, cache


def max_pool_backward(dout, cache):
    """Backward pass of ``max_pool_forward``: each window's gradient goes to its maximum.

    Inputs:
    - dout: upstream gradient of shape (N, C, H', W')
    - cache: as returned by ``max_pool_forward``

    Returns:
    - dx: gradient with respect to x, of shape (N, C, H, W); overlapping windows add up
    """
    x_shape, x_dtype, (kh, kw), stride, winner = cache
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(x_shape, dtype=np.result_type(dout, x_dtype))
    for offset in range(kh * kw):
        dx[_offset_slices(*divmod(offset, kw), stride, H_out, W_out)] += dout * (winner == offset)
    return dx


def window_shape(kernel_size):
    """(height, width) of a pooling window given as one int (square) or a pair."""
    return (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else tuple(kernel_size)


def _pad(x, padding, workspace, name, dtype):
    """x (N, C, H, W) with `padding` zeros on every side of H and W, kept in the workspace."""
    if padding == 0:
        return x
    N, C, H, W = x.shape
    x_padded = workspace.zeros(name, (N, C, H + 2 * padding, W + 2 * padding), dtype)
    x_padded[:, :, padding:padding + H, padding:padding + W] = x
    return x_padded


def _offset_slices(di, dj, stride, H_out, W_out):
    """Index of pixel (di, dj) of every window: a strided (N, C, H_out, W_out) view."""
    return (slice(None), slice(None),
            slice(di, di + stride * (H_out - 1) + 1, stride),
            slice(dj, dj + stride * (W_out - 1) + 1, stride))
