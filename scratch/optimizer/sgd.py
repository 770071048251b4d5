"""Stochastic gradient descent with momentum and L2 regularisation."""
import numpy as np

PARAMETERS = (('weight', 'dw'), ('bias', 'db'))


class SGD:
    """Momentum SGD over every layer of a model that has a ``weight`` (and a ``bias``).

    Each step, for every such layer:
        dw += reg * weight                      (L2 on weights only, not on biases)
        v = momentum * v - learning_rate * grad (one velocity per parameter, starting at zero)
        param += v                              (for weight with dw, and bias with db)

    Attributes:
    - learning_rate, reg, momentum: as given; a trainer may change learning_rate between steps
    - velocities: dict from (layer index, 'weight' or 'bias') to the velocity array
    """

    def __init__(self, model, learning_rate=1e-4, reg=1e-3, momentum=0.9):
        self.learning_rate = learning_rate
        self.reg = reg
        self.momentum = momentum
        self.velocities = {
            (index, name): np.zeros_like(getattr(module, name))
            for index, module in enumerate(model.modules) if hasattr(module, 'weight')
            for name, _ in PARAMETERS}

    def update(self, model):
        """Take one step on every parameter of model, from the gradients its backward set."""
        for index, module in enumerate(model.modules):
            if not hasattr(module, 'weight'):
                continue
            module.dw += self.reg * module.weight
            for name, grad_name in PARAMETERS:
                momentum_step(getattr(module, name), getattr(module, grad_name),
                              self.velocities[(index, name)], self.learning_rate,
                              self.momentum)


def momentum_step(parameter, grad, velocity, learning_rate, momentum):
    """One momentum step, parameter and velocity (both grad's shape) updated IN PLACE:
        velocity = momentum * velocity - learning_rate * grad
        parameter += velocity
    (momentum 0 is plain gradient descent)."""
    velocity *= momentum
    velocity -= learning_rate * grad
    parameter += velocity
