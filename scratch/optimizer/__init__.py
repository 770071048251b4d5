"""Optimizers that update a ConvNet's layers from their gradients."""
from .sgd import SGD

__all__ = ['SGD']
