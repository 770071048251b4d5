"""Device-resident batches: an ImageSet kept on the device as uint8, augmented and normalised per batch.

The random order and the augmentation parameters of an epoch are drawn up front, on the CPU, from a
generator seeded by ``(seed, epoch)`` alone, so a given (seed, epoch) always yields the same batches
(what makes a resumed run exact), whatever ran before.

A training batch goes through, in this order: random crop and flip (uint8), RandAugment (uint8),
normalisation (float32), Cutout (zeros after normalisation: the mean colour, as DeVries & Taylor
apply it), mixup or CutMix with a partner permutation of the global batch, then, in the epochs
before ``downscale_until``, a bilinear, antialiased resize to ``downscale_size`` pixels.

Distributed data parallel: ``batch_size`` is the GLOBAL batch. Every rank draws the same global
order and parameters and takes its contiguous shard of ``batch_size // world_size`` images of each
global batch (rank r: positions [r * B/W, (r + 1) * B/W) of it), so the ranks' shards together are
exactly the single-process batch, and the augmentation of an image does not depend on world_size.
Each rank therefore keeps the whole set on its device (CIFAR-10: 150 MB as uint8), which also lets
it build a mixing partner that falls in another rank's shard.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from data.augment import crop_flip, cutout, normalize, sample_crop_flip, sample_cutout
from data.mix import MixPlan, mix_batch, mixed_targets, sample_mix
from data.randaugment import randaugment, sample_randaugment
from data.samplers import epoch_indices
from data.seeding import make_generator

PADDING = 4


@dataclass
class EpochPlan:
    """Everything random about one training epoch, indexed by position in the epoch.

    Attributes:
        order: int64 (n,) on the device: the image at each position.
        crop_flip: ``sample_crop_flip``'s tensors on the device, or None.
        randaugment: ``sample_randaugment``'s CPU tensors, or None.
        cutout: ``sample_cutout``'s tensors on the device, or None.
        mix: a ``data.mix.MixPlan``, or None (no mixing in this epoch).
    """

    order: torch.Tensor
    crop_flip: "tuple | None"
    randaugment: "tuple | None"
    cutout: "tuple | None"
    mix: "MixPlan | None"


class BatchLoader:
    """Batches of one ImageSet on one device.

    Args:
        image_set: ImageSet (uint8 (N, C, H, W) images, int64 (N,) labels); copied to ``device`` once.
        batch_size: images per global batch (see the module docstring for world_size > 1).
        device: torch.device or string where the data and the batches live.
        mean, std: per-channel normalisation values in [0, 1] pixel units (C floats each).
        train: True: a new random order every epoch; False: the set's own order every time.
        augment: random crop (zero padding 4) and horizontal flip; training only.
        sampler: order of training epochs from ``sampler_epoch`` on (``instance``,
            ``class_balanced``, ``sqrt``; see ``data.samplers``); earlier epochs use ``instance``.
        sampler_epoch: first epoch (0-based) that uses ``sampler``.
        seed: int; with the epoch, the only source of randomness.
        drop_last: drop a last batch smaller than ``batch_size``; required when world_size > 1.
        rank, world_size: this process's place in data-parallel training.
        num_classes: C, the width of mixed targets; None = the largest label + 1.
        mix: ``none``, ``mixup`` or ``cutmix`` (see ``data.mix``; one lambda per batch).
        mix_alpha: lambda ~ Beta(mix_alpha, mix_alpha).
        mix_until: no mixing from this epoch (0-based) on; 0 = every epoch.
        cutout: side in pixels of the square Cutout zeroes in every image; 0 = off.
        randaugment_ops: RandAugment's operations per image; 0 = off (images with 1 or 3
            channels only).
        randaugment_magnitude: RandAugment's magnitude, 0..30.
        downscale_size: side in pixels of the training batches of the epochs (0-based) before
            ``downscale_until``, smaller than the images; 0 = off.
        downscale_until: the first epoch of full-size batches.

    Iterating yields (images float32 (B, C, H, W) normalised, targets) on ``device``,
    B = batch_size // world_size (the last batch may be smaller when drop_last is False);
    targets are int64 (B,) labels, or, with ``mix``, float32 (B, C) label weights in every
    epoch (one-hot rows in the epochs from ``mix_until`` on), so their type never changes.
    """

    def __init__(self, image_set, batch_size, *, device, mean, std, train, augment,
                 sampler="instance", sampler_epoch=0, seed=0, drop_last=False, rank=0,
                 world_size=1, num_classes=None, mix="none", mix_alpha=1.0, mix_until=0,
                 cutout=0, randaugment_ops=0, randaugment_magnitude=9, downscale_size=0,
                 downscale_until=0):
        if not train and (augment or mix != "none" or cutout or randaugment_ops
                          or downscale_size):
            raise ValueError("augmentation and mixing apply to training loaders only")
        if batch_size < 1 or batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} must be a positive multiple of world_size "
                             f"{world_size}")
        if world_size > 1 and not drop_last:
            raise ValueError("world_size > 1 needs drop_last=True so that every rank gets an "
                             "equal shard of every batch")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside [0, {world_size})")
        self.device = torch.device(device)
        self.images = image_set.images.to(self.device)
        self.labels = image_set.labels.to(self.device)
        self.cpu_labels = image_set.labels.cpu()
        if num_classes is None:
            num_classes = int(self.cpu_labels.max()) + 1 if len(image_set) else 0
        self.num_classes = num_classes
        channels = image_set.images.shape[1]
        if randaugment_ops and channels not in (1, 3):
            raise ValueError(f"data.randaugment_ops: got {randaugment_ops}; expected 0 for images "
                             f"with {channels} channels (RandAugment's colour operations take 1 "
                             "or 3)")
        side = min(image_set.images.shape[-2:])
        if downscale_size and not downscale_size < side:
            raise ValueError(f"data.downscale_size: got {downscale_size}; expected a side "
                             f"smaller than the {side}-pixel images")
        self.downscale_size, self.downscale_until = downscale_size, downscale_until
        self.mix, self.mix_alpha, self.mix_until = mix, mix_alpha, mix_until
        self.cutout = cutout
        self.randaugment_ops, self.randaugment_magnitude = randaugment_ops, randaugment_magnitude
        self.batch_size = batch_size
        self.mean = torch.as_tensor(mean, dtype=torch.float32).to(self.device)
        self.std = torch.as_tensor(std, dtype=torch.float32).to(self.device)
        self.train, self.augment = train, augment
        self.sampler, self.sampler_epoch = sampler, sampler_epoch
        self.seed, self.drop_last = seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch):
        """Choose the epoch (0-based) whose order and augmentation the next iteration uses."""
        self.epoch = epoch

    def __len__(self):
        n = self.labels.numel()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = self.labels.numel()
        plan = self._epoch_plan(n) if self.train else EpochPlan(
            torch.arange(n, device=self.device), None, None, None, None)
        shard = self.batch_size // self.world_size
        for batch in range(len(self)):
            begin = batch * self.batch_size
            start = begin + self.rank * shard
            stop = min(start + shard, n)
            own = slice(start, stop)
            images = self._images(plan, own, own)
            labels = self.labels[plan.order[own]]
            if self.mix == "none":
                targets = labels
            elif plan.mix is None:
                targets = mixed_targets(labels, labels, 1.0, self.num_classes)
            else:
                images, targets = self._mixed(plan, batch, begin, own, images, labels)
            yield self._downscaled(images), targets

    def _downscaled(self, images):
        """``images`` resized to ``downscale_size`` in the epochs before ``downscale_until``."""
        if not self.downscale_size or self.epoch >= self.downscale_until:
            return images
        return F.interpolate(images, size=self.downscale_size, mode="bilinear",
                             align_corners=False, antialias=True)

    def _epoch_plan(self, n):
        """Draw the epoch's order and parameters from the (seed, epoch) generator, in a fixed
        order: order, crop/flip, RandAugment, Cutout, mixing."""
        generator = make_generator(self.seed, "epoch", self.epoch)
        strategy = self.sampler if self.epoch >= self.sampler_epoch else "instance"
        order = epoch_indices(self.cpu_labels, strategy, generator, self.num_classes)
        size = tuple(self.images.shape[-2:])
        crop = sample_crop_flip(n, PADDING, generator, self.device) if self.augment else None
        policy = (sample_randaugment(n, self.randaugment_ops, generator)
                  if self.randaugment_ops else None)
        square = sample_cutout(n, size, generator, self.device) if self.cutout else None
        mixing = self.mix != "none" and (self.mix_until == 0 or self.epoch < self.mix_until)
        mix = (sample_mix(self.mix, n, self.batch_size, self.mix_alpha, size, generator)
               if mixing else None)
        return EpochPlan(order.to(self.device), crop, policy, square, mix)

    def _images(self, plan, cpu_index, device_index):
        """The augmented, normalised images at the epoch positions ``cpu_index`` /
        ``device_index`` (the same positions, as a slice or a CPU and a device tensor)."""
        images = self.images[plan.order[device_index]]
        if plan.crop_flip is not None:
            images = crop_flip(images, *(p[device_index] for p in plan.crop_flip), PADDING)
        if plan.randaugment is not None:
            images = randaugment(images, *(p[cpu_index] for p in plan.randaugment),
                                 self.randaugment_magnitude)
        images = normalize(images, self.mean, self.std)
        if plan.cutout is not None:
            images = cutout(images, *(p[device_index] for p in plan.cutout), self.cutout)
        return images

    def _mixed(self, plan, batch, begin, own, images, labels):
        """(mixed images, float32 (B, C) targets) of global batch ``batch`` (first position
        ``begin``) for this rank's positions ``own``."""
        partners = plan.mix.partners[own]
        if self.world_size == 1:   # the partners are this batch's own images
            within = (partners - begin).to(self.device)
            partner_images, partner_labels = images[within], labels[within]
        else:
            device_partners = partners.to(self.device)
            partner_images = self._images(plan, partners, device_partners)
            partner_labels = self.labels[plan.order[device_partners]]
        mixed, lam = mix_batch(plan.mix.mode, images, partner_images, plan.mix.lambdas[batch],
                               plan.mix.centres[batch])
        return mixed, mixed_targets(labels, partner_labels, lam, self.num_classes)

