"""Networks built from block descriptions: fully connected nets of any depth, and CNNs.

A block is a dict. A convolutional block is
    Conv2D -> [normalisation] -> activation -> [MaxPooling] -> [Dropout]
    dict(type='conv', out_channels=32, kernel_size=3, stride=1, padding=kernel_size // 2,
         norm=None | 'batch' | 'group' | 'layer', groups=4, activation='ReLU', pool=None | 2,
         dropout=0.0)
and a fully connected block is
    Linear -> [normalisation] -> activation -> [Dropout]
    dict(type='fc', out_dim=100, norm=None | 'batch' | 'layer', activation='ReLU', dropout=0.0)
(the values shown are the defaults; out_channels and out_dim are required). Convolutional
blocks come first; a final Linear layer maps to the class scores. ``build_network`` turns
blocks into a ``ConvNet`` with freshly drawn weights; ``network_specs`` gives the layer list
it builds from, to read or to pass to ``ConvNet`` yourself.
"""
import numpy as np

from .conv2d import Conv2D
from .conv_classifier import STATE_NAMES, ConvNet
from .linear import Linear

ACTIVATIONS = ('ReLU', 'LeakyReLU', 'Sigmoid', 'Tanh')
BLOCK_DEFAULTS = {
    'conv': dict(out_channels=None, kernel_size=3, stride=1, padding=None, norm=None, groups=4,
                 activation='ReLU', pool=None, dropout=0.0),
    'fc': dict(out_dim=None, norm=None, activation='ReLU', dropout=0.0),
}
NORMS = {'conv': ('batch', 'group', 'layer'), 'fc': ('batch', 'layer')}
CRITERION = dict(type='SoftmaxCrossEntropy')


def network_specs(input_shape, blocks, num_classes, seed=0):
    """The ``ConvNet`` layer list for blocks applied to inputs of input_shape.

    Inputs:
    - input_shape: (C, H, W) for images, or (D,) for flat vectors (fully connected blocks
      only); the batch axis is not included
    - blocks: list of block dicts (module docstring)
    - num_classes: outputs of the final Linear layer
    - seed: Dropout layer number i (counting from 0) gets seed + i

    Returns:
    - list of layer dicts for ``ConvNet``

    Raises:
    - ValueError naming the block: an unknown type, key, normalisation or activation, a
      missing size, a convolutional block after a fully connected one or on flat input, or a
      size that shrinks to nothing
    """
    shape = tuple(input_shape)
    specs = []
    dropouts = 0
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        kind, options = _options(block, where)
        if kind == 'conv':
            if len(shape) != 3:
                raise ValueError(f"{where}: a 'conv' block needs (C, H, W) input, and comes "
                                 f"before every 'fc' block; the input here has shape {shape}")
            layers, shape = _conv_layers(shape, options, where)
        else:
            layers, shape = _fc_layers(shape, options)
        specs += layers
        if options['dropout']:
            specs.append(dict(type='Dropout', p=options['dropout'], seed=seed + dropouts))
            dropouts += 1
    specs.append(dict(type='Linear', in_dim=int(np.prod(shape)), out_dim=num_classes))
    return specs


def build_network(input_shape, blocks, num_classes, weight_scale='kaiming', seed=0,
                  dtype=np.float64):
    """A ``ConvNet`` of ``network_specs(input_shape, blocks, num_classes, seed)`` with new weights.

    Inputs:
    - weight_scale: standard deviation of the Gaussian every Conv2D and Linear weight is drawn
      from, or 'kaiming' for sqrt(2 / fan_in) (fan_in: in_dim, or in_channels * k * k), the
      scale that keeps a ReLU network's activations from shrinking or growing with depth.
      Biases start at zero; normalisation layers at gamma 1, beta 0.
    - seed: seeds the weights (drawn layer after layer from one generator) and the Dropout
      layers
    - dtype: of every parameter and running statistic; with float32 inputs as well, float32
      trains about twice as fast as float64 (use float64 for gradient checks)

    Returns:
    - a ``ConvNet`` in training mode, with a softmax cross-entropy criterion
    """
    model = ConvNet(network_specs(input_shape, blocks, num_classes, seed), CRITERION)
    rng = np.random.RandomState(seed)
    for module in model.modules:
        if isinstance(module, (Conv2D, Linear)):
            fan_in = module.in_dim if isinstance(module, Linear) else module.weight[0].size
            scale = np.sqrt(2.0 / fan_in) if weight_scale == 'kaiming' else weight_scale
            module.weight = scale * rng.randn(*module.weight.shape)
        for name in STATE_NAMES:
            if hasattr(module, name):
                setattr(module, name, getattr(module, name).astype(dtype))
    return model


def fully_connected(input_dim, hidden_dims, num_classes, norm=None, dropout=0.0,
                    activation='ReLU', weight_scale='kaiming', seed=0, dtype=np.float64):
    """A fully connected net: one 'fc' block per entry of hidden_dims, then the classifier.

    Inputs:
    - input_dim: features per sample (inputs of shape (N, d_1, ..., d_m) are flattened)
    - hidden_dims: list of hidden layer widths; [] gives a linear classifier
    - norm, dropout, activation: the same for every hidden block (module docstring)
    - weight_scale, seed, dtype: as in ``build_network``

    Returns:
    - a ``ConvNet``
    """
    blocks = [dict(type='fc', out_dim=width, norm=norm, dropout=dropout, activation=activation)
              for width in hidden_dims]
    return build_network((input_dim,), blocks, num_classes, weight_scale, seed, dtype)


def count_parameters(model):
    """Number of learnt values (every weight and bias; not BatchNorm's running statistics)."""
    return sum(getattr(module, name).size for module in model.modules
               for name in ('weight', 'bias') if hasattr(module, name))


def _options(block, where):
    """(kind, options with the defaults filled in) of one block dict."""
    if not isinstance(block, dict) or block.get('type') not in BLOCK_DEFAULTS:
        raise ValueError(f"{where} must be a dict with type 'conv' or 'fc', got {block!r}")
    kind = block['type']
    unknown = sorted(set(block) - set(BLOCK_DEFAULTS[kind]) - {'type'})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for a "
                         f"{kind!r} block; known: {', '.join(BLOCK_DEFAULTS[kind])}")
    options = {**BLOCK_DEFAULTS[kind], **block}
    size_key = 'out_channels' if kind == 'conv' else 'out_dim'
    if options[size_key] is None:
        raise ValueError(f"{where}: a {kind!r} block needs {size_key}")
    if options['norm'] not in (None,) + NORMS[kind]:
        raise ValueError(f"{where}: norm {options['norm']!r} is not one of None, "
                         f"{', '.join(map(repr, NORMS[kind]))}")
    if options['activation'] not in ACTIVATIONS:
        raise ValueError(f"{where}: activation {options['activation']!r} is not one of "
                         f"{', '.join(ACTIVATIONS)}")
    return kind, options


def _conv_layers(shape, options, where):
    """Layer dicts of a 'conv' block on (C, H, W) input, and the block's output shape."""
    channels, height, width = shape
    out_channels, k, stride = options['out_channels'], options['kernel_size'], options['stride']
    padding = k // 2 if options['padding'] is None else options['padding']
    layers = [dict(type='Conv2D', in_channels=channels, out_channels=out_channels,
                   kernel_size=k, stride=stride, padding=padding)]
    height, width = (1 + (size + 2 * padding - k) // stride for size in (height, width))
    norm = options['norm']
    if norm == 'batch':
        layers.append(dict(type='SpatialBatchNorm', num_features=out_channels))
    elif norm is not None:
        groups = options['groups'] if norm == 'group' else 1
        layers.append(dict(type='GroupNorm', num_groups=groups, num_channels=out_channels))
    layers.append(dict(type=options['activation']))
    if options['pool']:
        pool = options['pool']
        layers.append(dict(type='MaxPooling', kernel_size=pool, stride=pool))
        height, width = height // pool, width // pool
    if height < 1 or width < 1:
        raise ValueError(f"{where}: the feature maps shrink to {height} x {width}")
    return layers, (out_channels, height, width)


def _fc_layers(shape, options):
    """Layer dicts of an 'fc' block on input of the given shape, and its output shape."""
    out_dim = options['out_dim']
    layers = [dict(type='Linear', in_dim=int(np.prod(shape)), out_dim=out_dim)]
    if options['norm'] == 'batch':
        layers.append(dict(type='BatchNorm', num_features=out_dim))
    elif options['norm'] == 'layer':
        layers.append(dict(type='LayerNorm', num_features=out_dim))
    layers.append(dict(type=options['activation']))
    return layers, (out_dim,)
