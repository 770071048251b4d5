"""Shared helpers for the scratch/ tests: the numerical gradients of ``scratch.gradcheck``
and torch references."""
import torch

from scratch.gradcheck import check_layer, numerical_gradient, relative_error

__all__ = ['check_layer', 'numerical_gradient', 'relative_error', 'torch_gradients']


def torch_gradients(f, arrays, dout):
    """Output of f on float64 torch copies of arrays, and the gradients of sum(output * dout).

    Returns (output, [gradient of each array]) as NumPy arrays.
    """
    tensors = [torch.tensor(array, dtype=torch.float64, requires_grad=True) for array in arrays]
    output = f(*tensors)
    output.backward(torch.tensor(dout, dtype=torch.float64))
    return output.detach().numpy(), [tensor.grad.numpy() for tensor in tensors]
