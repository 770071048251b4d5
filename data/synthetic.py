"""A small generated dataset that a tiny model learns in a few epochs: for tests and smoke runs.

Class k has its own smooth template: a colour (a level per channel) plus a low-frequency wave
whose orientation, frequency and phase are the class's own. Every image is its class template
plus independent Gaussian pixel noise and a random brightness shift, clipped to 0..255.
"""
import math

import torch

from data.image_set import ImageSet
from data.memory import check_fits
from data.seeding import make_generator

NOISE = 0.15       # std of the per-pixel noise, in [0, 1] pixel units
BRIGHTNESS = 0.05  # std of the per-image brightness shift, in [0, 1] pixel units


def make_synthetic(num_classes=10, train_per_class=100, test_per_class=20, image_size=32,
                   channels=3, seed=0):
    """Generated training and test sets, identical for identical arguments.

    Returns:
        (train, test, classes): ImageSets of uint8 (num_classes * per_class, channels, image_size,
        image_size) images with int64 labels, class by class; names ``class0``, ``class1``, ...

    Raises:
        ValueError: the sets would not fit in the memory available now (from the arithmetic,
            before anything is allocated).
    """
    check_fits(peak_bytes(num_classes, train_per_class, test_per_class, image_size, channels),
               f"data.synthetic: {num_classes} classes x ({train_per_class} + {test_per_class}) "
               f"images of {channels}x{image_size}x{image_size}")
    generator = make_generator(seed, "synthetic")
    templates = _templates(num_classes, channels, image_size, generator)
    train = _draw(templates, train_per_class, generator)
    test = _draw(templates, test_per_class, generator)
    return train, test, [f"class{k}" for k in range(num_classes)]


def peak_bytes(num_classes, train_per_class, test_per_class, image_size, channels):
    """Bytes ``make_synthetic`` and ``build_data`` hold at their peak: the float32 templates, the
    uint8 sets, two float32 working copies of the larger set while it is drawn, and one uint8
    copy of the training set (its long-tailed subset)."""
    pixels = channels * image_size * image_size
    train, test = num_classes * train_per_class * pixels, num_classes * test_per_class * pixels
    return 4 * num_classes * pixels + 2 * train + test + 8 * max(train, test)


def _templates(num_classes, channels, size, generator):
    """float32 (num_classes, channels, size, size) in [0, 1] pixel units."""
    colours = 0.25 + 0.5 * torch.rand(num_classes, channels, 1, 1, generator=generator)
    angles = (torch.arange(num_classes) + torch.rand(num_classes, generator=generator)) \
        * math.pi / num_classes
    frequencies = 1.0 + 2.0 * torch.rand(num_classes, generator=generator)  # cycles per image
    phases = 2 * math.pi * torch.rand(num_classes, channels, generator=generator)
    coords = torch.arange(size, dtype=torch.float32) / size
    y, x = coords[:, None], coords[None, :]
    along = torch.cos(angles)[:, None, None] * x + torch.sin(angles)[:, None, None] * y
    wave = torch.sin(2 * math.pi * frequencies[:, None, None, None] * along[:, None]
                     + phases[:, :, None, None])
    return colours + 0.2 * wave


def _draw(templates, per_class, generator):
    num_classes, channels, size, _ = templates.shape
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    noise = torch.randn(len(labels), channels, size, size, generator=generator).mul_(NOISE)
    shift = BRIGHTNESS * torch.randn(len(labels), 1, 1, 1, generator=generator)
    pixels = templates[labels].add_(noise).add_(shift)  # in place: two float32 copies at most
    del noise
    return ImageSet(pixels.clamp_(0, 1).mul_(255).round_().to(torch.uint8), labels)
