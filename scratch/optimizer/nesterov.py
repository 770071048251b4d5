"""Stochastic gradient descent with Nesterov momentum."""
from .parameters import gradients, zeros_per_parameter


class NesterovSGD:
    """SGD that takes its gradient step from where momentum is about to carry the parameters.

    Each step, for every parameter x with gradient g (dw + reg * weight for weights):
        v_prev = v
        v = momentum * v - learning_rate * g       (v starts at zero)
        x += -momentum * v_prev + (1 + momentum) * v
    the course notes' form of Nesterov's update, written in terms of the parameters actually
    stored; for a constant learning rate it takes the same steps as
    ``torch.optim.SGD(nesterov=True)``.

    Attributes:
    - learning_rate, reg, momentum: as given; a trainer may change learning_rate between steps
    - velocities: dict from (layer index, 'weight' or 'bias') to the velocity array
    """

    def __init__(self, model, learning_rate=1e-2, reg=0.0, momentum=0.9):
        self.learning_rate = learning_rate
        self.reg = reg
        self.momentum = momentum
        self.velocities = zeros_per_parameter(model)

    def update(self, model):
        """Take one step on every parameter of model, from the gradients its backward set."""
        for key, parameter, grad in gradients(model, self.reg):
            previous = self.velocities[key]
            velocity = self.momentum * previous - self.learning_rate * grad
            self.velocities[key] = velocity
            parameter += -self.momentum * previous + (1 + self.momentum) * velocity
