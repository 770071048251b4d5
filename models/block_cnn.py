"""Networks built from a few hyperparameters: a block CNN, residual blocks and a block ResNet.

``CNN``: ``[(CONV -> ACT) * P -> POOL] * (N / P) -> (FC -> ACT) * M -> FC`` with
N = len(channels), P = pool_every, M = len(hidden_dims). A trailing group of fewer than P
convolutions gets no pooling. The classifier's input size is computed from ``in_size`` with
the convolution / pooling size arithmetic (``feature_shape``); a configuration whose feature
maps shrink below 1x1 raises ValueError before any layer is used.

``ResNet``: the same layout with every group of ``pool_every`` channels one residual block
(3x3 convolutions, stride 1, padding 1, so each block keeps the spatial size) followed by
pooling; see ``ResNet`` for when a group becomes a bottleneck block.
"""
import math

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "lrelu": nn.LeakyReLU}
POOLINGS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def check_choice(key, value, choices):
    """ValueError naming ``key``, ``value`` and the allowed values unless value is one."""
    if value not in choices:
        raise ValueError(f"{key}: got {value!r}; expected one of {', '.join(choices)}")


def make_activation(activation_type, activation_params=None):
    """A fresh activation module: ``relu`` or ``lrelu`` with keyword ``activation_params``."""
    check_choice("activation_type", activation_type, ACTIVATIONS)
    return ACTIVATIONS[activation_type](**(activation_params or {}))


def make_pooling(pooling_type, pooling_params=None):
    """A pooling module: ``max`` or ``avg`` with keyword ``pooling_params`` (kernel_size, ...)."""
    check_choice("pooling_type", pooling_type, POOLINGS)
    return POOLINGS[pooling_type](**(pooling_params or {}))


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def layer_output_size(layer, height, width):
    """(H_out, W_out) of a Conv2d, MaxPool2d or AvgPool2d for an (H, W) input; other layers
    (activations, BatchNorm, dropout, residual blocks) keep the size. Formula of the PyTorch
    docs: floor((H + 2p - d(k - 1) - 1) / s) + 1, rounded up with ceil_mode, where a last
    window that would start in the right padding is dropped."""
    if not isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        return height, width
    kernel, stride = _pair(layer.kernel_size), _pair(layer.stride or layer.kernel_size)
    dilation = _pair(getattr(layer, "dilation", 1))
    if layer.padding == "same":
        return height, width
    padding = (0, 0) if layer.padding == "valid" else _pair(layer.padding)
    ceil_mode = getattr(layer, "ceil_mode", False)
    sizes = []
    for size, k, s, p, d in zip((height, width), kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        out = (math.ceil(span / s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        sizes.append(out)
    return tuple(sizes)


class CNN(nn.Module):
    """``[(CONV -> ACT) * P -> POOL] * (N / P) -> (FC -> ACT) * M -> FC``.

    Args:
        in_size: (C, H, W) of the input images.
        out_classes: number of logits.
        channels: output channels of each of the N convolutions.
        pool_every: P, convolutions per pooling layer.
        hidden_dims: widths of the M hidden linear layers.
        conv_params: keyword arguments of every nn.Conv2d (default kernel_size 3, stride 1,
            padding 1: size kept).
        activation_type, activation_params: ``relu`` or ``lrelu`` and its keyword arguments.
        pooling_type, pooling_params: ``max`` or ``avg`` and its keyword arguments (default
            kernel_size 2: size halved, rounded down).

    Input float (B, C, H, W); output logits (B, out_classes). ``feature_shape`` is the
    (C', H', W') the feature extractor returns; the first linear layer takes C' * H' * W'.

    Raises:
        ValueError: bad sizes, an unknown activation or pooling type, or feature maps that
            shrink below 1x1 (the message names the configuration and the layer).
    """

    def __init__(self, in_size, out_classes, channels, pool_every, hidden_dims,
                 conv_params=None, activation_type="relu", activation_params=None,
                 pooling_type="max", pooling_params=None):
        super().__init__()
        _check_sizes(in_size, out_classes, channels, pool_every, hidden_dims)
        check_choice("activation_type", activation_type, ACTIVATIONS)
        check_choice("pooling_type", pooling_type, POOLINGS)
        self.in_size, self.out_classes = tuple(in_size), out_classes
        self.channels, self.pool_every = list(channels), pool_every
        self.hidden_dims = list(hidden_dims)
        self.conv_params = dict(kernel_size=3, stride=1, padding=1) if conv_params is None \
            else dict(conv_params)
        self.activation_type, self.activation_params = activation_type, activation_params or {}
        self.pooling_type = pooling_type
        self.pooling_params = dict(kernel_size=2) if pooling_params is None \
            else dict(pooling_params)
        self.feature_extractor = self._make_feature_extractor()
        self.feature_shape = self._feature_shape()
        self.classifier = self._make_classifier()

    def groups(self):
        """The channel lists of the pooling groups: P channels each, the last maybe fewer."""
        p = self.pool_every
        return [self.channels[i:i + p] for i in range(0, len(self.channels), p)]

    def _make_feature_extractor(self):
        layers, in_channels = [], self.in_size[0]
        for group in self.groups():
            for out_channels in group:
                layers += [nn.Conv2d(in_channels, out_channels, **self.conv_params),
                           make_activation(self.activation_type, self.activation_params)]
                in_channels = out_channels
            if len(group) == self.pool_every:
                layers.append(make_pooling(self.pooling_type, self.pooling_params))
        return nn.Sequential(*layers)

    def _feature_shape(self):
        """(C', H', W') after the feature extractor, layer by layer; ValueError below 1x1."""
        height, width = self.in_size[1:]
        for index, layer in enumerate(self.feature_extractor):
            height, width = layer_output_size(layer, height, width)
            if height < 1 or width < 1:
                raise ValueError(
                    f"{self.describe()}: the feature maps shrink to {height}x{width} at layer "
                    f"{index} ({type(layer).__name__}); expected at least 1x1: use fewer "
                    "convolutions per input size, a larger pool_every or smaller strides")
        return self.channels[-1], height, width

    def _make_classifier(self):
        layers, in_features = [], math.prod(self.feature_shape)
        for dim in self.hidden_dims:
            layers += [nn.Linear(in_features, dim),
                       make_activation(self.activation_type, self.activation_params)]
            in_features = dim
        layers.append(nn.Linear(in_features, self.out_classes))
        return nn.Sequential(*layers)

    def describe(self):
        """One line naming the configuration, for error messages."""
        c, h, w = self.in_size
        runs = []  # [32, 32, 64] -> [32]*2 + [64]
        for value in self.channels:
            if runs and runs[-1][0] == value:
                runs[-1][1] += 1
            else:
                runs.append([value, 1])
        channels = " + ".join(f"[{v}]*{n}" if n > 1 else f"[{v}]" for v, n in runs)
        return (f"{type(self).__name__}(channels={channels}, pool_every={self.pool_every}, "
                f"conv_params={self.conv_params}, pooling={self.pooling_type} "
                f"{self.pooling_params}) on {c}x{h}x{w} images")

    def forward(self, x):
        """x float (B, C, H, W) -> logits (B, out_classes)."""
        return self.classifier(self.feature_extractor(x).flatten(1))


def _check_sizes(in_size, out_classes, channels, pool_every, hidden_dims):
    if len(in_size) != 3 or min(in_size) < 1:
        raise ValueError(f"in_size: got {in_size!r}; expected (C, H, W) of positive ints")
    if out_classes < 1:
        raise ValueError(f"out_classes: got {out_classes!r}; expected an int >= 1")
    if not channels or min(channels) < 1:
        raise ValueError(f"channels: got {channels!r}; expected a non-empty list of ints >= 1")
    if pool_every < 1:
        raise ValueError(f"pool_every: got {pool_every!r}; expected an int >= 1")
    if any(d < 1 for d in hidden_dims):
        raise ValueError(f"hidden_dims: got {hidden_dims!r}; expected ints >= 1")


class ResidualBlock(nn.Module):
    """``act(main(x) + shortcut(x))``: the main path is conv -> [dropout] -> [batchnorm] -> act
    for every convolution but the last, which is the bare conv; the shortcut is the identity
    when ``in_channels == channels[-1]``, else a bias-free 1x1 convolution.

    Args:
        in_channels: C_in.
        channels: output channels of each convolution of the main path.
        kernel_sizes: their (odd) kernel sizes; padding k // 2 and stride 1 keep the size.
        batchnorm: BatchNorm2d after every convolution but the last.
        dropout: probability of nn.Dropout2d (whole channels) after every convolution but the
            last; 0 = none.
        activation_type, activation_params: as for ``make_activation``.

    Input (B, C_in, H, W) -> output (B, channels[-1], H, W).
    """

    def __init__(self, in_channels, channels, kernel_sizes, batchnorm=False, dropout=0.0,
                 activation_type="relu", activation_params=None):
        super().__init__()
        if not channels or len(channels) != len(kernel_sizes):
            raise ValueError(f"channels {channels!r} and kernel_sizes {kernel_sizes!r}: "
                             "expected two non-empty lists of the same length")
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes: got {kernel_sizes!r}; expected odd sizes (the "
                             "sum with the shortcut needs the size kept)")
        layers, previous = [], in_channels
        for index, (out_channels, kernel) in enumerate(zip(channels, kernel_sizes)):
            layers.append(nn.Conv2d(previous, out_channels, kernel, padding=kernel // 2))
            if index < len(channels) - 1:
                if dropout > 0:
                    layers.append(nn.Dropout2d(dropout))
                if batchnorm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(make_activation(activation_type, activation_params))
            previous = out_channels
        self.main_path = nn.Sequential(*layers)
        self.shortcut_path = nn.Identity() if in_channels == channels[-1] else \
            nn.Conv2d(in_channels, channels[-1], 1, bias=False)
        self.activation = make_activation(activation_type, activation_params)

    def forward(self, x):
        """x (B, C_in, H, W) -> (B, channels[-1], H, W)."""
        return self.activation(self.main_path(x) + self.shortcut_path(x))


class ResidualBottleneckBlock(ResidualBlock):
    """A ResidualBlock 1x1 (in_out -> inner[0]) -> inner convs -> 1x1 (inner[-1] -> in_out),
    with an identity shortcut: 256 -> 64 -> 64 -> 256 is ``(256, [64], [3])``.

    Args:
        in_out_channels: channels of the input and the output.
        inner_channels: output channels of the inner convolutions (at least one).
        inner_kernel_sizes: their odd kernel sizes, as many as ``inner_channels``.
        **kwargs: batchnorm, dropout, activation_type, activation_params of ResidualBlock.
    """

    def __init__(self, in_out_channels, inner_channels, inner_kernel_sizes, **kwargs):
        if not inner_channels or len(inner_channels) != len(inner_kernel_sizes):
            raise ValueError(f"inner_channels {inner_channels!r} and inner_kernel_sizes "
                             f"{inner_kernel_sizes!r}: expected two non-empty lists of the "
                             "same length")
        super().__init__(in_out_channels, [inner_channels[0], *inner_channels, in_out_channels],
                         [1, *inner_kernel_sizes, 1], **kwargs)


class ResNet(CNN):
    """``[ResidualBlock(P convs) -> POOL] * (N / P) -> (FC -> ACT) * M -> FC``.

    Each group of ``pool_every`` channels (the last may be shorter and is then not pooled)
    is one block of 3x3 convolutions. With ``bottleneck``, a group g whose input has C_in
    channels becomes a ResidualBottleneckBlock when its channels fit that shape exactly:
    len(g) >= 3, g[-1] == C_in (identity shortcut) and g[0] == g[1] (the first 1x1 projects
    to the inner width): 1x1 C_in -> g[1], 3x3 convs through g[1..-2], 1x1 back to C_in. Every
    other group is a plain ResidualBlock, so the convolution count and channels are always
    those of ``channels``.

    Args: as CNN (without conv_params), plus ``batchnorm``, ``dropout`` (of the blocks) and
    ``bottleneck``. Input float (B, C, H, W); output logits (B, out_classes).
    """

    def __init__(self, in_size, out_classes, channels, pool_every, hidden_dims,
                 batchnorm=False, dropout=0.0, bottleneck=False, activation_type="relu",
                 activation_params=None, pooling_type="max", pooling_params=None):
        self.batchnorm, self.dropout, self.bottleneck = batchnorm, dropout, bottleneck
        super().__init__(in_size, out_classes, channels, pool_every, hidden_dims,
                         dict(kernel_size=3, stride=1, padding=1), activation_type,
                         activation_params, pooling_type, pooling_params)

    def _make_feature_extractor(self):
        layers, in_channels = [], self.in_size[0]
        options = dict(batchnorm=self.batchnorm, dropout=self.dropout,
                       activation_type=self.activation_type,
                       activation_params=self.activation_params)
        for group in self.groups():
            if self.bottleneck and len(group) >= 3 and group[-1] == in_channels \
                    and group[0] == group[1]:
                layers.append(ResidualBottleneckBlock(in_channels, group[1:-1],
                                                      [3] * (len(group) - 2), **options))
            else:
                layers.append(ResidualBlock(in_channels, group, [3] * len(group), **options))
            if len(group) == self.pool_every:
                layers.append(make_pooling(self.pooling_type, self.pooling_params))
            in_channels = group[-1]
        return nn.Sequential(*layers)


def build_block_model(name, input_shape, num_classes, channels, pool_every, hidden_dims,
                      conv_params=None, activation="relu", pooling="max", batchnorm=False,
                      dropout=0.0, bottleneck=False):
    """The config's ``model.name: cnn`` (CNN) or ``resnet_builder`` (ResNet) from the other
    ``model.*`` keys; ``input_shape`` is (C, H, W). Keys the chosen model has no use for must
    keep their defaults (ValueError naming the key otherwise)."""
    check_choice("model.name", name.replace("_", ""), ("cnn", "resnetbuilder"))
    if name == "cnn":
        for key, value, default in (("batchnorm", batchnorm, False), ("dropout", dropout, 0.0),
                                    ("bottleneck", bottleneck, False)):
            if value != default:
                raise ValueError(f"model.{key}: got {value!r}; the plain cnn has no residual "
                                 f"blocks, expected {default!r} (or model.name "
                                 "resnet_builder)")
        return CNN(input_shape, num_classes, channels, pool_every, hidden_dims, conv_params,
                   activation, pooling_type=pooling)
    if conv_params not in (None, dict(kernel_size=3, stride=1, padding=1)):
        raise ValueError(f"model.conv_params: got {conv_params!r}; resnet_builder's blocks "
                         "use 3x3 convolutions with stride 1 and padding 1")
    return ResNet(input_shape, num_classes, channels, pool_every, hidden_dims, batchnorm,
                  dropout, bottleneck, activation, pooling_type=pooling)
