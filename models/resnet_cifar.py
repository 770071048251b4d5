"""The CIFAR ResNets of He et al. 2016 ("Deep Residual Learning for Image Recognition", sec. 4.2).

A 3x3 convolution with 16 channels, then 3 stages of n basic blocks with 16, 32 and 64 channels
(the second and third stages halve the resolution in their first block), global average
pooling and a linear classifier: 6n + 2 weighted layers, so n = 3, 5, 7, 9, 18 give ResNet-20,
-32, -44, -56 and -110. Where a block changes resolution and width, its shortcut is the
paper's option A: subsample by 2 and append zero channels, which adds no parameters, so
ResNet-32 has 464,154 parameters for 10 classes.
"""
import torch.nn.functional as F
from torch import nn

STAGE_CHANNELS = (16, 32, 64)


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: keep every ``stride``-th pixel and zero-pad the channels.

    Input (N, in_planes, H, W); output (N, out_planes, ceil(H / stride), ceil(W / stride)),
    the input's channels in the middle, (out_planes - in_planes) // 2 zero channels before
    them and the rest after. No parameters.
    """

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.stride = stride
        self.pad_before = (out_planes - in_planes) // 2
        self.pad_after = out_planes - in_planes - self.pad_before

    def forward(self, x):
        """x (N, in_planes, H, W) -> (N, out_planes, ceil(H/stride), ceil(W/stride))."""
        subsampled = x[:, :, ::self.stride, ::self.stride]
        return F.pad(subsampled, (0, 0, 0, 0, self.pad_before, self.pad_after))

    def extra_repr(self):
        return f"stride={self.stride}, pad=({self.pad_before}, {self.pad_after})"


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU.

    Input (N, in_planes, H, W); output (N, planes, ceil(H / stride), ceil(W / stride)).
    The shortcut is the identity when shape is kept, else a ZeroPadShortcut.
    """

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = ZeroPadShortcut(in_planes, planes, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        """x (N, in_planes, H, W) -> (N, planes, ceil(H/stride), ceil(W/stride))."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """A CIFAR ResNet with ``blocks_per_stage`` basic blocks in each of its 3 stages.

    Args:
        blocks_per_stage: n; the network has 6n + 2 weighted layers.
        in_channels: image channels C.
        num_classes: number of logits.

    Input (N, C, H, W), any H, W >= 1; after the stages (N, 64, ceil(H/4), ceil(W/4));
    output logits (N, num_classes). Conv and linear weights: Kaiming-normal (fan-in, ReLU
    gain, He et al. 2015); BatchNorm: weight 1, bias 0; linear bias: PyTorch's default.
    """

    def __init__(self, blocks_per_stage, in_channels=3, num_classes=10):
        super().__init__()
        self.in_planes = STAGE_CHANNELS[0]
        self.conv1 = nn.Conv2d(in_channels, STAGE_CHANNELS[0], 3, stride=1, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(STAGE_CHANNELS[0])
        self.layer1 = self._make_layer(STAGE_CHANNELS[0], blocks_per_stage, stride=1)
        self.layer2 = self._make_layer(STAGE_CHANNELS[1], blocks_per_stage, stride=2)
        self.layer3 = self._make_layer(STAGE_CHANNELS[2], blocks_per_stage, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(STAGE_CHANNELS[2], num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")

    def _make_layer(self, planes, blocks, stride):
        """A stage: ``blocks`` BasicBlocks to ``planes`` channels, the first with ``stride``."""
        layers = []
        for block_stride in [stride] + [1] * (blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, block_stride))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, num_classes)."""
        out = F.relu(self.bn1(self.conv1(x)))      # (N, 16, H, W)
        out = self.layer1(out)                     # (N, 16, H, W)
        out = self.layer2(out)                     # (N, 32, ceil(H/2), ceil(W/2))
        out = self.layer3(out)                     # (N, 64, ceil(H/4), ceil(W/4))
        return self.fc(self.avgpool(out).flatten(1))


def resnet20(in_channels=3, num_classes=10):
    """ResNet-20 (n = 3): 272,474 parameters for 3 channels and 10 classes."""
    return CifarResNet(3, in_channels, num_classes)


def resnet32(in_channels=3, num_classes=10):
    """ResNet-32 (n = 5): 464,154 parameters for 3 channels and 10 classes."""
    return CifarResNet(5, in_channels, num_classes)


def resnet44(in_channels=3, num_classes=10):
    """ResNet-44 (n = 7): 658,650 parameters for 3 channels and 10 classes."""
    return CifarResNet(7, in_channels, num_classes)


def resnet56(in_channels=3, num_classes=10):
    """ResNet-56 (n = 9): 853,018 parameters for 3 channels and 10 classes."""
    return CifarResNet(9, in_channels, num_classes)


def resnet110(in_channels=3, num_classes=10):
    """ResNet-110 (n = 18): 1,730,714 parameters for 3 channels and 10 classes."""
    return CifarResNet(18, in_channels, num_classes)
