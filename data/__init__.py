"""Longtail's data: in-memory uint8 image sets, long-tailed subsets, the stratified validation
split, batched augmentation, samplers and the device-resident batch loader.

``build_data(cfg.data, seed)`` is the entry point; ``BatchLoader`` turns its sets into batches.
"""
import torch

from data.augment import crop_flip, cutout, normalize, sample_crop_flip, sample_cutout
from data.cifar import (CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, load_cifar10,
                        load_cifar100)
from data.image_folder import load_image_folder
from data.image_set import DataBundle, ImageSet
from data.imbalance import long_tail_counts, long_tail_indices
from data.loader import BatchLoader
from data.mix import MIX_MODES, cutmix_box, mix_batch, mixed_targets, sample_mix
from data.randaugment import OPS as RANDAUGMENT_OPS
from data.randaugment import randaugment, sample_randaugment
from data.samplers import STRATEGIES, epoch_indices
from data.seeding import make_generator
from data.split import stratified_split
from data.synthetic import make_synthetic

DATASETS = ("cifar10", "cifar100", "imagefolder", "synthetic")
# Published per-channel statistics of the datasets that have them: (mean, std).
PUBLISHED_STATS = {"cifar10": (CIFAR10_MEAN, CIFAR10_STD),
                   "cifar100": (CIFAR100_MEAN, CIFAR100_STD)}

__all__ = [
    "BatchLoader", "CIFAR10_MEAN", "CIFAR10_STD", "CIFAR100_MEAN", "CIFAR100_STD", "DATASETS",
    "DataBundle", "ImageSet", "MIX_MODES", "PUBLISHED_STATS", "RANDAUGMENT_OPS", "STRATEGIES",
    "build_data", "channel_stats", "crop_flip", "cutmix_box", "cutout", "epoch_indices",
    "load_cifar10", "load_cifar100", "load_image_folder", "long_tail_counts",
    "long_tail_indices", "make_synthetic", "mix_batch", "mixed_targets", "normalize",
    "randaugment", "sample_crop_flip", "sample_cutout", "sample_mix",
    "sample_randaugment", "stratified_split", "training_sample",
]


def build_data(data_cfg, seed):
    """Load the dataset ``data_cfg`` names and derive the run's training, validation and test sets.

    Steps: load the source (the synthetic set's content does not depend on ``seed``); keep a
    long-tailed subset of the training set (``long_tail_counts`` with n_max = the largest class,
    images chosen with ``seed``); hold out a stratified validation split from it (``seed``); the
    test set stays as loaded. mean/std: ``data_cfg.mean`` / ``std`` when given (a course-format
    config gives the course's), else the published values for ``cifar10`` and ``cifar100``,
    otherwise computed from the final training images.

    Args:
        data_cfg: has dataset, root, download, imbalance.profile, imbalance.factor, val_fraction,
            mean, std,
            synthetic.{num_classes, train_per_class, test_per_class, image_size, channels}.
        seed: int.

    Returns:
        DataBundle (val is None when val_fraction is 0).

    Raises:
        ValueError: one line: the dataset cannot be loaded, has fewer than 2 classes or would
            not fit in memory, or a class keeps no training image.
    """
    train, test, classes = _load_source(data_cfg)
    counts = long_tail_counts(int(torch.bincount(train.labels).max()), len(classes),
                              data_cfg.imbalance.profile, data_cfg.imbalance.factor)
    train = train.subset(long_tail_indices(train.labels, counts, seed))
    kept = torch.bincount(train.labels, minlength=len(classes))
    if not torch.all(kept > 0):
        empty = classes[int(torch.nonzero(kept == 0)[0])]
        raise ValueError(f"data.imbalance.factor: {data_cfg.imbalance.factor} leaves class "
                         f"{empty!r} without training images; expected at most the largest "
                         f"class's {counts[0]} images")
    val = None
    if data_cfg.val_fraction > 0:
        train_idx, val_idx = stratified_split(train.labels, data_cfg.val_fraction, seed)
        train, val = train.subset(train_idx), train.subset(val_idx)
    if data_cfg.mean is not None:
        mean, std = tuple(data_cfg.mean), tuple(data_cfg.std)
    elif data_cfg.dataset in PUBLISHED_STATS:
        mean, std = PUBLISHED_STATS[data_cfg.dataset]
    else:
        mean, std = channel_stats(train.images)
    return DataBundle(train, val, test, classes, mean, std)


def training_sample(image_set, mean, std, seed, count=5000):
    """A seeded random sample of ``count`` (or all, if fewer) images of ``image_set``,
    normalised with ``mean`` and ``std``: float32 (count, C, H, W), for data-dependent
    initialisation (MyModel's PCA stem). The draw depends on ``seed`` alone."""
    images = image_set.images
    order = torch.randperm(len(images), generator=make_generator(seed, "training sample"))
    return normalize(images[order[:count]], mean, std)


def channel_stats(images):
    """Per-channel mean and population standard deviation of uint8 (N, C, H, W) images.

    Returns:
        (mean, std): tuples of C floats in [0, 1] pixel units; a constant channel's std is
        reported as 1.0 so that normalising by it stays finite.
    """
    mean, std = [], []
    values = torch.arange(256, dtype=torch.float64) / 255
    for c in range(images.shape[1]):
        histogram = torch.bincount(images[:, c].flatten(), minlength=256).double()
        total = histogram.sum()
        m = float((histogram * values).sum() / total)
        var = float((histogram * (values - m) ** 2).sum() / total)
        mean.append(m)
        std.append(var ** 0.5 if var > 0 else 1.0)
    return tuple(mean), tuple(std)


def _load_source(data_cfg):
    """(train, test, classes) of the dataset ``data_cfg.dataset`` names, at least 2 classes."""
    if data_cfg.dataset == "cifar10":
        source = load_cifar10(data_cfg.root, data_cfg.download)
    elif data_cfg.dataset == "cifar100":
        source = load_cifar100(data_cfg.root, data_cfg.download)
    elif data_cfg.dataset == "imagefolder":
        source = load_image_folder(data_cfg.root)
    elif data_cfg.dataset == "synthetic":
        s = data_cfg.synthetic
        source = make_synthetic(s.num_classes, s.train_per_class, s.test_per_class, s.image_size,
                                s.channels)
    else:
        raise ValueError(f"unknown dataset {data_cfg.dataset!r}; expected one of "
                         f"{', '.join(DATASETS)}")
    if len(source[2]) < 2:
        raise ValueError(f"data.dataset: {data_cfg.dataset} has {len(source[2])} class(es); "
                         "a classifier needs at least 2")
    return source
