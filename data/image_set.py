"""In-memory image sets: uint8 image tensors with int64 labels, and the bundle ``build_data`` returns."""
from dataclasses import dataclass

import torch


@dataclass
class ImageSet:
    """Images and their labels, held in memory.

    Attributes:
        images: uint8 (N, C, H, W), pixel values 0..255.
        labels: int64 (N,), class indices in [0, num_classes).
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W); got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"labels must be int64 ({self.images.shape[0]},); got "
                             f"{self.labels.dtype} {tuple(self.labels.shape)}")

    def __len__(self):
        return self.labels.shape[0]

    def subset(self, indices):
        """The images at ``indices`` (int64 (M,)), in that order, as a new ImageSet."""
        return ImageSet(self.images[indices], self.labels[indices])


@dataclass
class DataBundle:
    """Everything a run needs from its data.

    Attributes:
        train: the final training set (after the long-tail subset and the validation split).
        val: the validation set held out from it, or None when ``val_fraction`` is 0.
        test: the test set (never subsetted).
        classes: class names, index i naming label i.
        mean, std: per-channel normalisation values, tuples of C floats in [0, 1] pixel units.
    """

    train: ImageSet
    val: "ImageSet | None"
    test: ImageSet
    classes: list
    mean: tuple
    std: tuple

    @property
    def num_classes(self):
        """Number of classes, C = len(classes)."""
        return len(self.classes)

    @property
    def input_shape(self):
        """(C, H, W) of one image."""
        return tuple(self.train.images.shape[1:])

    @property
    def cls_num_list(self):
        """Training images per class (list of ``num_classes`` ints), from the final training set."""
        return torch.bincount(self.train.labels, minlength=self.num_classes).tolist()
