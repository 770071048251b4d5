"""A classifier network assembled from a list of layer descriptions."""
import inspect

from .activations import LeakyReLU, Sigmoid, Tanh
from .batch_norm import BatchNorm, SpatialBatchNorm
from .conv2d import Conv2D
from .dropout import Dropout
from .group_norm import GroupNorm
from .layer_norm import LayerNorm
from .linear import Linear
from .max_pooling import MaxPooling
from .relu import ReLU
from .softmax_cross_entropy import SoftmaxCrossEntropy

LAYER_TYPES = {cls.__name__: cls for cls in (
    Conv2D, MaxPooling, ReLU, Linear, BatchNorm, SpatialBatchNorm, LayerNorm, GroupNorm, Dropout,
    LeakyReLU, Sigmoid, Tanh)}
CRITERION_TYPES = {cls.__name__: cls for cls in (SoftmaxCrossEntropy,)}
# Arrays that make up a trained model: the learnt parameters and BatchNorm's running statistics.
STATE_NAMES = ('weight', 'bias', 'running_mean', 'running_var')


class ConvNet:
    """Layers applied in order, then a criterion that turns scores into probabilities and a loss.

    Inputs to the constructor:
    - modules: list of dicts, each naming a layer and its arguments, for example
      ``dict(type='Conv2D', in_channels=3, out_channels=32, kernel_size=5, stride=1, padding=2)``,
      ``dict(type='ReLU')``, ``dict(type='MaxPooling', kernel_size=2, stride=2)``,
      ``dict(type='Linear', in_dim=8192, out_dim=10)``; every name in ``LAYER_TYPES`` may
      appear, ``dict(type='BatchNorm', num_features=100)`` and ``dict(type='Dropout', p=0.5)``
      among them
    - criterion: a dict such as ``dict(type='SoftmaxCrossEntropy')``

    Attributes:
    - modules: the built layers, in order
    - criterion: the built criterion
    - training: True in training mode (the default); layers that behave differently in
      evaluation (BatchNorm, Dropout) follow ``train()`` and ``eval()``

    Raises:
    - ValueError: a description without 'type', of an unknown type, or with missing or
      unexpected arguments; the message names it
    """

    def __init__(self, modules, criterion):
        self.modules = [_build(spec, LAYER_TYPES, f"modules[{index}]")
                        for index, spec in enumerate(modules)]
        self.criterion = _build(criterion, CRITERION_TYPES, "criterion")
        self.training = True

    def forward(self, x, y):
        """Run x of shape (N, ...) through every layer; returns (probs (N, classes), loss)."""
        for module in self.modules:
            x = module.forward(x)
        return self.criterion.forward(x, y)

    def backward(self):
        """Backpropagate the last forward pass's loss, setting every layer's gradients."""
        self.criterion.backward()
        dout = self.criterion.dx
        for module in reversed(self.modules):
            module.backward(dout)
            dout = module.dx

    def train(self, mode=True):
        """Put every layer in training mode (mode True) or evaluation mode (mode False)."""
        self.training = mode
        for module in self.modules:
            if hasattr(module, 'training'):
                module.training = mode

    def eval(self):
        """Put every layer in evaluation mode: BatchNorm uses its running statistics, Dropout
        passes its input through."""
        self.train(False)

    def state_dict(self):
        """Copies of every layer's arrays named in ``STATE_NAMES``.

        Returns a dict from (layer index, name) to a new array, e.g. (0, 'weight').
        """
        return {(index, name): getattr(module, name).copy()
                for index, module in enumerate(self.modules)
                for name in STATE_NAMES if hasattr(module, name)}

    def load_state_dict(self, state):
        """Copy the arrays of a ``state_dict()`` of this network back into its layers."""
        for (index, name), array in state.items():
            getattr(self.modules[index], name)[...] = array


def _build(spec, types, where):
    """Instantiate the class that spec['type'] names with the rest of spec as arguments."""
    if not isinstance(spec, dict) or 'type' not in spec:
        raise ValueError(f"{where} must be a dict with a 'type' key, got {spec!r}")
    arguments = {key: value for key, value in spec.items() if key != 'type'}
    name = spec['type']
    if name not in types:
        raise ValueError(f"{where}: unknown type {name!r}; known types: {', '.join(types)}")
    cls = types[name]
    try:
        inspect.signature(cls).bind(**arguments)
    except TypeError as error:
        raise ValueError(f"{where} ({name}): {error}") from None
    return cls(**arguments)
