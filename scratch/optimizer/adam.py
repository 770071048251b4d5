"""Adam: momentum and RMSProp together, with bias correction."""
import numpy as np

from .parameters import gradients, zeros_per_parameter


class Adam:
    """Steps along a running mean of the gradient, scaled by a running root mean square.

    Each step t = 1, 2, ..., for every parameter x with gradient g (dw + reg * weight for
    weights):
        m = beta1 * m + (1 - beta1) * g           (m and v start at zero)
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)              (bias correction: early m and v lean
        v_hat = v / (1 - beta2 ** t)               towards their zero start)
        x -= learning_rate * m_hat / (sqrt(v_hat) + eps)
    the same steps as ``torch.optim.Adam``.

    Attributes:
    - learning_rate, reg, beta1, beta2, eps: as given; a trainer may change learning_rate
    - t: steps taken so far
    - m, v: dicts from (layer index, 'weight' or 'bias') to the running means of g and g ** 2
    """

    def __init__(self, model, learning_rate=1e-3, reg=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
        self.learning_rate = learning_rate
        self.reg = reg
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0
        self.m = zeros_per_parameter(model)
        self.v = zeros_per_parameter(model)

    def update(self, model):
        """Take one step on every parameter of model, from the gradients its backward set."""
        self.t += 1
        for key, parameter, grad in gradients(model, self.reg):
            adam_step(parameter, grad, self.m[key], self.v[key], self.t, self.learning_rate,
                      self.beta1, self.beta2, self.eps)


def adam_step(parameter, grad, m, v, t, learning_rate, beta1, beta2, eps):
    """Step number t (from 1) of Adam (the class docstring's formulas); parameter, m and v
    (all grad's shape) are updated IN PLACE: they are as large as the parameters, and fresh
    arrays of that size on every step cost time."""
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    parameter -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
