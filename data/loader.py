"""Device-resident batches: an ImageSet kept on the device as uint8, augmented and normalised per batch.

The random order and the augmentation parameters of an epoch are drawn up front, on the CPU, from a
generator seeded by ``(seed, epoch)`` alone, so a given (seed, epoch) always yields the same batches
(what makes a resumed run exact), whatever ran before.

Distributed data parallel: ``batch_size`` is the GLOBAL batch. Every rank draws the same global
order and parameters and takes its contiguous shard of ``batch_size // world_size`` images of each
global batch (rank r: positions [r * B/W, (r + 1) * B/W) of it), so the ranks' shards together are
exactly the single-process batch, and the augmentation of an image does not depend on world_size.
Each rank therefore keeps the whole set on its device (CIFAR-10: 150 MB as uint8).
"""
import math

import torch

from data.augment import crop_flip, normalize, sample_crop_flip
from data.samplers import STRATEGIES, epoch_indices
from data.seeding import make_generator
from engine.errors import UserError

PADDING = 4


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

    Iterating yields (images float32 (B, C, H, W) normalised, labels int64 (B,)) on ``device``,
    B = batch_size // world_size (the last batch may be smaller when drop_last is False).
    """

    def __init__(self, image_set, batch_size, *, device, mean, std, train, augment,
                 sampler="instance", sampler_epoch=0, seed=0, drop_last=False, rank=0,
                 world_size=1):
        if augment and not train:
            raise ValueError("augment applies to training loaders only")
        if batch_size < 1 or batch_size % world_size:
            raise ValueError(f"batch_size {batch_size} must be a positive multiple of world_size "
                             f"{world_size}")
        if world_size > 1 and not drop_last:
            raise ValueError("world_size > 1 needs drop_last=True so that every rank gets an "
                             "equal shard of every batch")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside [0, {world_size})")
        if sampler not in STRATEGIES:
            raise UserError(f"data.sampler: got {sampler!r}; expected one of "
                            f"{', '.join(STRATEGIES)}")
        self.device = torch.device(device)
        self.images = image_set.images.to(self.device)
        self.labels = image_set.labels.to(self.device)
        self.cpu_labels = image_set.labels.cpu()
        self.num_classes = int(self.cpu_labels.max()) + 1 if len(image_set) else 0
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
        if self.train:
            generator = make_generator(self.seed, "epoch", self.epoch)
            strategy = self.sampler if self.epoch >= self.sampler_epoch else "instance"
            order = epoch_indices(self.cpu_labels, strategy, generator, self.num_classes)
            params = sample_crop_flip(n, PADDING, generator, self.device) if self.augment else None
            order = order.to(self.device)
        else:
            order, params = torch.arange(n, device=self.device), None
        shard = self.batch_size // self.world_size
        for batch in range(len(self)):
            start = batch * self.batch_size + self.rank * shard
            stop = min(start + shard, n)
            indices = order[start:stop]
            images = self.images[indices]
            if params is not None:
                images = crop_flip(images, *(p[start:stop] for p in params), PADDING)
            yield normalize(images, self.mean, self.std), self.labels[indices]
