"""CS231n's gradient checks: centred differences (scratch.gradcheck's ``numerical_gradient``)
and CS231n's relative error."""
import numpy as np

from scratch.gradcheck import numerical_gradient

__all__ = ['eval_numerical_gradient', 'eval_numerical_gradient_array', 'rel_error']


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Centred-difference gradient of the scalar f(x) with respect to the array x (perturbed
    in place, restored). With verbose, prints every index and its gradient. Returns x's shape.
    """
    grad = numerical_gradient(lambda: f(x), x, 1.0, h)
    if verbose:
        for index in np.ndindex(*x.shape):
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Centred-difference gradient of sum(f(x) * df) with respect to x: the gradient a backward
    pass returns for upstream gradient df. Returns x's shape."""
    return numerical_gradient(lambda: f(x), x, df, h)


def rel_error(x, y):
    """CS231n's relative error: max over entries of |x - y| / max(1e-8, |x| + |y|)."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
