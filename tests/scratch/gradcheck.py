"""Shared helpers for the scratch/ tests: numerical gradients and torch references."""
import numpy as np
import torch


def numerical_gradient(f, x, dout, h=1e-6):
    """Central-difference gradient of sum(f() * dout) with respect to the array x.

    f takes no arguments and reads x, which is perturbed in place one entry at a time and
    restored afterwards.
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        original = x[index]
        x[index] = original + h
        plus = np.sum(f() * dout)
        x[index] = original - h
        minus = np.sum(f() * dout)
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def torch_gradients(f, arrays, dout):
    """Output of f on float64 torch copies of arrays, and the gradients of sum(output * dout).

    Returns (output, [gradient of each array]) as NumPy arrays.
    """
    tensors = [torch.tensor(array, dtype=torch.float64, requires_grad=True) for array in arrays]
    output = f(*tensors)
    output.backward(torch.tensor(dout, dtype=torch.float64))
    return output.detach().numpy(), [tensor.grad.numpy() for tensor in tensors]
