"""Optimizers that update a ConvNet's layers from their gradients: the course's momentum SGD,
SGD with Nesterov momentum, RMSProp and Adam. Each has ``update(model)`` and a
``learning_rate`` attribute, which ``Trainer``'s per-epoch decay multiplies."""
from .adam import Adam
from .nesterov import NesterovSGD
from .rmsprop import RMSProp
from .sgd import SGD

__all__ = ['Adam', 'NesterovSGD', 'RMSProp', 'SGD']
