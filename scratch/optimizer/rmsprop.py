"""RMSProp: gradient steps divided by a running root mean square of the gradient."""
import numpy as np

from .parameters import gradients, zeros_per_parameter


class RMSProp:
    """Per-value step sizes: large where gradients have been small, small where they were large.

    Each step, for every parameter x with gradient g (dw + reg * weight for weights):
        cache = decay_rate * cache + (1 - decay_rate) * g ** 2     (cache starts at zero)
        x -= learning_rate * g / (sqrt(cache) + eps)
    the same steps as ``torch.optim.RMSprop(alpha=decay_rate)``.

    Attributes:
    - learning_rate, reg, decay_rate, eps: as given; a trainer may change learning_rate
    - caches: dict from (layer index, 'weight' or 'bias') to the running mean of g ** 2
    """

    def __init__(self, model, learning_rate=1e-2, reg=0.0, decay_rate=0.99, eps=1e-8):
        self.learning_rate = learning_rate
        self.reg = reg
        self.decay_rate = decay_rate
        self.eps = eps
        self.caches = zeros_per_parameter(model)

    def update(self, model):
        """Take one step on every parameter of model, from the gradients its backward set."""
        for key, parameter, grad in gradients(model, self.reg):
            rmsprop_step(parameter, grad, self.caches[key], self.learning_rate,
                         self.decay_rate, self.eps)


def rmsprop_step(parameter, grad, cache, learning_rate, decay_rate, eps):
    """One RMSProp step (the class docstring's formulas); parameter and cache (both grad's
    shape) are updated IN PLACE (fresh arrays the parameters' size on every step cost time)."""
    cache *= decay_rate
    cache += (1 - decay_rate) * grad ** 2
    parameter -= learning_rate * grad / (np.sqrt(cache) + eps)
