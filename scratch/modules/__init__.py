"""Layers with forward and backward passes, and ConvNet, which chains them."""
from .conv2d import Conv2D
from .conv_classifier import ConvNet
from .linear import Linear
from .max_pooling import MaxPooling
from .relu import ReLU
from .softmax_cross_entropy import SoftmaxCrossEntropy

__all__ = ['Conv2D', 'ConvNet', 'Linear', 'MaxPooling', 'ReLU', 'SoftmaxCrossEntropy']
