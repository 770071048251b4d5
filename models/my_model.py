"""MyModel: our fast-training CIFAR network, a ResNet-9 in the style of the DAWNBench entries."""
from torch import nn


class ConvBlock(nn.Sequential):
    """conv 3x3 (no bias) -> [max-pool 2/2] -> BatchNorm -> ReLU.

    Input (N, in_channels, H, W); output (N, out_channels, H, W), or (N, out_channels,
    H // 2, W // 2) with ``pool``. Pooling before BatchNorm and ReLU normalises a quarter of
    the values, which is cheaper and trains as well.
    """

    def __init__(self, in_channels, out_channels, pool=False):
        layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class Residual(nn.Module):
    """x + ConvBlock(ConvBlock(x)) at constant width and resolution: (N, C, H, W) -> same."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(ConvBlock(channels, channels), ConvBlock(channels, channels))

    def forward(self, x):
        """x (N, C, H, W) -> (N, C, H, W)."""
        return x + self.body(x)


class MyModel(nn.Module):
    """A ResNet-9 built to reach >= 90% CIFAR-10 test accuracy in about a minute on one GPU.

    Layout (w = ``width``, shapes for a 32x32 input):

        prep    ConvBlock(C -> w)                          w  x 32 x 32
        layer1  ConvBlock(w -> 2w, pool) + Residual(2w)   2w  x 16 x 16
        layer2  ConvBlock(2w -> 4w, pool)                 4w  x  8 x  8
        layer3  ConvBlock(4w -> 8w, pool) + Residual(8w)  8w  x  4 x  4
        head    global max-pool -> x * logit_scale -> Linear(8w -> num_classes)

    Design rationale:

    - Few, wide layers. On a modern GPU the time per epoch is set by how many sequential
      kernels run and how busy each one keeps the chip, not by the parameter count. Eight
      3x3 convolutions with 64-512 channels (multiples of 64 for the tensor cores under bf16
      and channels_last) fill an H100 where a 32-layer, 16-64-channel ResNet leaves it idle.
      This is the network with which Myrtle.ai (David Page, "How to train your ResNet",
      2018) took the DAWNBench CIFAR-10 record: 94% in 24 epochs.
    - Early, aggressive downsampling: only the first two convolutions run at full 32x32
      resolution (the second is pooled at once) and each stage doubles the width as it
      halves the resolution, so the deep residual layers cost little per image.
    - Two residual blocks, at constant width and resolution so their skips are plain
      identities without parameters, give the gradient a short path; the net then trains at
      the high learning rate (0.4, batch 512, Nesterov) of a short schedule.
    - Max-pooling directly after the convolution, before BatchNorm and ReLU (as in the later
      fast-CIFAR networks): a quarter of the normalisation work for nearly the same function.
    - Global max-pooling as the head, as in Page's network: any image size of at least 8x8
      (three halvings) works.
    - A scaled final layer: the pooled features are multiplied by ``logit_scale`` (1/8, Page's
      value) before the linear layer. This shrinks the initial logits, so the softmax does not
      start saturated, and slows the classifier's learning relative to the body's. It scales
      the features, not the bias, so a prior bias (the sigmoid losses' initialisation) keeps
      its meaning, and the linear layer stays the last module with parameters: the classifier
      that ``final_linear`` returns and ``normed_classifier`` replaces.
    - From scratch: PyTorch's default initialisation, no pretrained weights.

    Size: at the default ``width=64`` with 3x32x32 inputs and 10 classes, 6,573,130
    parameters and 379.3 M multiply-accumulates per image in the forward pass (convolutions
    and the linear layer, counted by torch.utils.flop_counter). ``width=16``, for CPU runs,
    gives 412,954 parameters and 24.0 M MACs; ``width=32`` 1,646,122 and 95.3 M.

    Args:
        in_channels: image channels C.
        num_classes: number of logits.
        width: channels of the first convolution; the stages have w, 2w, 4w and 8w.
        logit_scale: factor applied to the pooled features before the classifier.

    Input (N, C, H, W) with H, W >= ``min_image_size``; output logits (N, num_classes).
    """

    min_image_size = 8      # three 2x2 poolings must leave at least one pixel

    def __init__(self, in_channels=3, num_classes=10, width=64, logit_scale=0.125):
        super().__init__()
        self.logit_scale = logit_scale
        self.prep = ConvBlock(in_channels, width)
        self.layer1 = nn.Sequential(ConvBlock(width, 2 * width, pool=True), Residual(2 * width))
        self.layer2 = ConvBlock(2 * width, 4 * width, pool=True)
        self.layer3 = nn.Sequential(ConvBlock(4 * width, 8 * width, pool=True),
                                    Residual(8 * width))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(8 * width, num_classes)

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, num_classes)."""
        out = self.prep(x)                        # (N, w, H, W)
        out = self.layer1(out)                    # (N, 2w, H/2, W/2)
        out = self.layer2(out)                    # (N, 4w, H/4, W/4)
        out = self.layer3(out)                    # (N, 8w, H/8, W/8)
        features = self.pool(out).flatten(1)      # (N, 8w)
        return self.fc(features * self.logit_scale)
