"""MyModel: our own small residual network for CIFAR-10, sized to train in under a quarter of an
hour on a 2-core CPU (configs/mymodel.yaml). Design: docs/mymodel.md; recipe search and
ablation: report/course/README.md."""
import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Sequential):
    """[max-pool 2/2] -> conv 3x3 (no bias) -> [max-pool 2/2] -> BatchNorm -> ReLU.

    Input (N, in_channels, H, W); output (N, out_channels, H, W), or (N, out_channels,
    H // 2, W // 2) with ``pool`` "before" (the convolution runs at half resolution) or
    "after" (the convolution runs at full resolution and its output is pooled before the
    normalisation, which then handles a quarter of the values).
    """

    def __init__(self, in_channels, out_channels, pool="none"):
        layers = [nn.MaxPool2d(2)] if pool == "before" else []
        layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False))
        if pool == "after":
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class Residual(nn.Module):
    """x + body(x), body = two ConvBlocks at constant width and resolution: (N, C, H, W) -> same.

    With ``skip`` False the block is the plain two-layer stack body(x) (the ablation's
    "no residual" variant). With ``zero_init`` and ``skip`` the last BatchNorm's scale starts
    at 0, so the block starts as the identity and the network as a shallow one; without the
    skip it is ignored (a zero branch would output zeros, and the ReLU would pass no gradient).
    """

    def __init__(self, channels, skip=True, zero_init=True):
        super().__init__()
        self.skip = skip
        self.body = nn.Sequential(ConvBlock(channels, channels), ConvBlock(channels, channels))
        if zero_init and skip:
            nn.init.zeros_(self.body[-1][1].weight)

    def forward(self, x):
        """x (N, C, H, W) -> (N, C, H, W)."""
        return x + self.body(x) if self.skip else self.body(x)


class MyModel(nn.Module):
    """Three residual stages behind a PCA-initialised stem, with an average-and-max pooled,
    scaled head that averages each image with its mirror image at evaluation.

    Layout (w = ``width``, shapes for a 32x32 input):

        stem    ConvBlock(C -> w)                                    w  x 32 x 32
        stage1  ConvBlock(w -> 2w, pool before) + Residual(2w)      2w  x 16 x 16
        stage2  ConvBlock(2w -> 4w, pool after) + Residual(4w)      4w  x  8 x  8
        stage3  ConvBlock(4w -> 8w, pool after) + Residual(8w)      8w  x  4 x  4
        head    [global avg-pool, global max-pool] -> x * logit_scale -> Linear(16w -> classes)

    The choices, each switched off by one argument in tools/mymodel_ablation.py (numbers,
    and what each bought, in report/course/README.md):

    - A stem whose filters start as the principal components of the training images' 3x3
      patches, each with both signs (``pca_stem``; set by ``init_from_data``, which the
      application calls before training): the first layer starts out separating what
      varies most in real images, instead of random directions, and so do the ReLUs after it.
    - Only the stem runs at full resolution. Stage 1 pools *before* its widening convolution
      (``pool_first``), so that layer, the costliest in memory traffic on a CPU, works on a
      quarter of the pixels; the later stages pool after the convolution, where the maps are
      small and the richer pooling input is cheap.
    - A residual block (two 3x3 ConvBlocks and an identity skip, ``residual``) in every
      stage, at constant width and resolution, so the skips need no parameters. Each stage
      doubles the channels as it halves the resolution, so every stage costs about the same
      multiply-accumulates per image.
    - Batch norm after every convolution, and the last BatchNorm scale of each residual
      branch set to zero at the start (``zero_init``): each block begins as the identity,
      which lets a short, high-learning-rate schedule start without a loss spike.
    - Global average *and* max pooling, concatenated (``head_pool`` "avgmax"; "max" keeps
      the max only): the average reports how much of an object is there, the max where it
      is most evident.
    - A scaled classifier: the pooled features are multiplied by ``logit_scale`` (1/8)
      before the linear layer. The initial logits are small, so the softmax does not start
      saturated, and the classifier learns more slowly than the body. The scale multiplies
      the features, not the bias, and the linear layer stays the last module with
      parameters (``final_linear``, ``normed_classifier``).
    - Mirror averaging at evaluation (``mirror_average``): in eval mode the logits are the
      mean of those of the image and of its left-right mirror, which the training's random
      flips taught the network to classify alike. It doubles the cost of inference only.
    - From scratch: PyTorch's default initialisation apart from the stem and the zeroed
      scales.

    Size: at the default ``width=16`` with 3x32x32 inputs and 10 classes, 488,218 parameters
    and 25.2 M multiply-accumulates per image in a training forward pass (convolutions and
    the linear layer, counted by torch.utils.flop_counter; evaluation with mirror averaging
    does twice that); ``width=64`` (for a GPU) gives 7,758,922 parameters and 398.1 M.

    Args:
        in_channels: image channels C.
        num_classes: number of logits.
        width: channels of the stem; the stages have 2w, 4w and 8w. The default is the width
            of the graded checkpoint (configs/mymodel.yaml).
        logit_scale: factor applied to the pooled features before the classifier.
        residual: identity skips in the residual blocks (False: plain stacks).
        zero_init: residual branches start at zero (False: PyTorch's BatchNorm scale 1);
            only with ``residual``.
        pool_first: stage 1 pools before its convolution (False: after, like the others).
        head_pool: "avgmax" or "max": the global pooling in front of the classifier.
        pca_stem: ``init_from_data`` sets the stem's filters (False: it leaves them as built).
        mirror_average: in eval mode, average the logits of x and of x mirrored left-right.

    Input (N, C, H, W) with H, W >= ``min_image_size``; output logits (N, num_classes).
    """

    min_image_size = 8      # three 2x2 poolings must leave at least one pixel

    def __init__(self, in_channels=3, num_classes=10, width=16, logit_scale=0.5,
                 residual=True, zero_init=True, pool_first=True, head_pool="avgmax",
                 pca_stem=True, mirror_average=True):
        super().__init__()
        if head_pool not in ("avgmax", "max"):
            raise ValueError(f"head_pool: got {head_pool!r}; expected avgmax or max")
        self.logit_scale = logit_scale
        self.head_pool = head_pool
        self.pca_stem = pca_stem
        self.mirror_average = mirror_average
        block = lambda channels: Residual(channels, skip=residual, zero_init=zero_init)
        self.stem = ConvBlock(in_channels, width)
        self.stage1 = nn.Sequential(
            ConvBlock(width, 2 * width, pool="before" if pool_first else "after"),
            block(2 * width))
        self.stage2 = nn.Sequential(ConvBlock(2 * width, 4 * width, pool="after"),
                                    block(4 * width))
        self.stage3 = nn.Sequential(ConvBlock(4 * width, 8 * width, pool="after"),
                                    block(8 * width))
        pooled = 16 * width if head_pool == "avgmax" else 8 * width
        self.fc = nn.Linear(pooled, num_classes)

    def features(self, x):
        """x (N, C, H, W) -> pooled features (N, 16w) for "avgmax", (N, 8w) for "max"."""
        out = self.stem(x)                        # (N, w, H, W)
        out = self.stage1(out)                    # (N, 2w, H/2, W/2)
        out = self.stage2(out)                    # (N, 4w, H/4, W/4)
        out = self.stage3(out)                    # (N, 8w, H/8, W/8)
        peak = out.amax(dim=(2, 3))
        if self.head_pool == "max":
            return peak
        return torch.cat([out.mean(dim=(2, 3)), peak], dim=1)

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, num_classes); in eval mode with ``mirror_average``,
        the mean of the logits of x and of x.flip(3), computed as one batch of 2N."""
        if self.training or not self.mirror_average:
            return self.fc(self.features(x) * self.logit_scale)
        logits = self.fc(self.features(torch.cat([x, x.flip(3)])) * self.logit_scale)
        return (logits[:len(x)] + logits[len(x):]) / 2

    @torch.no_grad()
    def init_from_data(self, images, chunk=500):
        """Set the stem's filters to the principal components of the 3x3 patches of ``images``.

        Filters 2i and 2i + 1 are component i (unit length, largest variance first) and its
        negative, for i < min(width // 2, 9 C); with more filters than that, the rest keep
        their initialisation. A no-op when the model was built with ``pca_stem=False``.

        Args:
            images: float (N, C, H, W), normalised as the training batches are (a few thousand
                training images are plenty; they are read ``chunk`` at a time).
        """
        if not self.pca_stem:
            return
        weight = self.stem[0].weight                   # (w, C, 3, 3)
        dims = weight[0].numel()
        covariance = torch.zeros(dims, dims, dtype=torch.float64)
        total = torch.zeros(dims, dtype=torch.float64)
        count = 0
        for start in range(0, len(images), chunk):
            patches = F.unfold(images[start:start + chunk].double().cpu(), 3)  # (n, 9C, L)
            patches = patches.transpose(1, 2).reshape(-1, dims)
            covariance += patches.T @ patches
            total += patches.sum(0)
            count += len(patches)
        mean = total / count
        covariance = covariance / count - torch.outer(mean, mean)
        _, vectors = torch.linalg.eigh(covariance)     # ascending eigenvalues
        kept = min(weight.shape[0] // 2, dims)
        components = vectors.flip(1)[:, :kept].T.reshape(kept, *weight.shape[1:])
        signed = torch.stack([components, -components], dim=1).flatten(0, 1)
        weight[:2 * kept] = signed.to(weight.dtype)
