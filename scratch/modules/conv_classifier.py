"""A classifier network assembled from a list of layer descriptions."""
import inspect

from .conv2d import Conv2D
from .linear import Linear
from .max_pooling import MaxPooling
from .relu import ReLU
from .softmax_cross_entropy import SoftmaxCrossEntropy

LAYER_TYPES = {cls.__name__: cls for cls in (Conv2D, MaxPooling, ReLU, Linear)}
CRITERION_TYPES = {cls.__name__: cls for cls in (SoftmaxCrossEntropy,)}


class ConvNet:
    """Layers applied in order, then a criterion that turns scores into probabilities and a loss.

    Inputs to the constructor:
    - modules: list of dicts, each naming a layer and its arguments, for example
      ``dict(type='Conv2D', in_channels=3, out_channels=32, kernel_size=5, stride=1, padding=2)``,
      ``dict(type='ReLU')``, ``dict(type='MaxPooling', kernel_size=2, stride=2)``,
      ``dict(type='Linear', in_dim=8192, out_dim=10)``
    - criterion: a dict such as ``dict(type='SoftmaxCrossEntropy')``

    Attributes:
    - modules: the built layers, in order
    - criterion: the built criterion

    Raises:
    - ValueError: a description without 'type', of an unknown type, or with missing or
      unexpected arguments; the message names it
    """

    def __init__(self, modules, criterion):
        self.modules = [_build(spec, LAYER_TYPES, f"modules[{index}]")
                        for index, spec in enumerate(modules)]
        self.criterion = _build(criterion, CRITERION_TYPES, "criterion")

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
