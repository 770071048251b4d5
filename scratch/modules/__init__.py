"""Layers with forward and backward passes, ConvNet, which chains them, and a builder of
networks from block descriptions."""
from .activations import LeakyReLU, Sigmoid, Tanh
from .batch_norm import BatchNorm, SpatialBatchNorm
from .builder import build_network, count_parameters, fully_connected, network_specs
from .conv2d import Conv2D
from .conv_classifier import ConvNet
from .dropout import Dropout
from .group_norm import GroupNorm
from .layer_norm import LayerNorm
from .linear import Linear
from .max_pooling import MaxPooling
from .relu import ReLU
from .softmax_cross_entropy import SoftmaxCrossEntropy

__all__ = ['BatchNorm', 'Conv2D', 'ConvNet', 'Dropout', 'GroupNorm', 'LayerNorm', 'LeakyReLU',
           'Linear', 'MaxPooling', 'ReLU', 'Sigmoid', 'SoftmaxCrossEntropy', 'SpatialBatchNorm',
           'Tanh', 'build_network', 'count_parameters', 'fully_connected', 'network_specs']
