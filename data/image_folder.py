"""Image folders (``root/train/<class>/*``, ``root/test/<class>/*``) decoded once into uint8 tensors.

Classes are the sorted names of the folders under ``train/`` (at least 2); ``test/`` must hold
the same ones. ``data.image_files`` says which files are images, ``data.image_decode`` how each
is decoded (16-bit scaled to 8 bits, alpha dropped, palette and CMYK to RGB).

Channels are chosen from the whole folder, train and test: 3 (RGB) when any image has colour,
grayscale ones then copied into R, G and B; 1 when every image is grayscale. The choice is
printed once. All images must share one size.
"""
import os

import torch

from data.image_decode import decode_file
from data.image_files import EXTENSIONS, class_names, image_files
from data.image_set import ImageSet
from data.memory import check_fits

__all__ = ["EXTENSIONS", "load_image_folder"]


def load_image_folder(root):
    """The training and test sets under ``root``.

    Returns:
        (train, test, classes): ImageSets of uint8 (N, C, H, W) images, C = 1 or 3, with int64
        labels in the order class by class, files sorted by name; and the class names.

    Raises:
        ValueError: one line: a missing folder, fewer than 2 class folders, a class without
            images, mismatched class lists, an unreadable entry (a symbolic-link loop), an empty,
            corrupt or truncated image, a size that differs from the first image's, or images
            that would not fit in memory.
    """
    if not os.path.isdir(root):
        raise ValueError(f"data.root: image folder {root!r} does not exist")
    for part in ("train", "test"):
        if not os.path.isdir(os.path.join(root, part)):
            raise ValueError(f"data.root: {root!r} has no {part}/ folder; expected "
                             f"{part}/<class>/<image files>")
    classes = class_names(os.path.join(root, "train"))
    test_classes = class_names(os.path.join(root, "test"))
    if test_classes != classes:
        missing = sorted(set(classes) ^ set(test_classes))
        raise ValueError(f"data.root: train/ and test/ under {root!r} hold different classes "
                         f"(not in both: {', '.join(missing)})")
    train_files = image_files(os.path.join(root, "train"), classes)
    files = train_files + image_files(os.path.join(root, "test"), classes)
    decoded = _decode_all(root, [path for path, _ in files])
    channels = 3 if any(d.pixels.shape[0] == 3 for d in decoded) else 1
    print(describe_channels(root, decoded, channels), flush=True)
    images = torch.stack([d.pixels.expand(channels, -1, -1) for d in decoded])
    del decoded
    labels = torch.tensor([label for _, label in files], dtype=torch.int64)
    n = len(train_files)
    return ImageSet(images[:n], labels[:n]), ImageSet(images[n:], labels[n:]), classes


def describe_channels(root, decoded, channels):
    """The one line that says which channel count the folder gets and what was converted."""
    total = len(decoded)
    gray = sum(d.pixels.shape[0] == 1 for d in decoded)
    if channels == 1:
        line = f"data: all {total} images in {root!r} are grayscale: 1 channel"
    elif gray:
        line = (f"data: {gray} of {total} images in {root!r} are grayscale; converting all to "
                "RGB (3 channels)")
    else:
        line = f"data: all {total} images in {root!r} are colour: 3 channels (RGB)"
    alpha, deep = sum(d.alpha for d in decoded), sum(d.deep for d in decoded)
    if alpha:
        line += f"; {alpha} had an alpha channel or transparency (dropped)"
    if deep:
        line += f"; {deep} had 16 bits per channel (scaled to 8)"
    return line


def _decode_all(root, paths):
    """Decoded images of ``paths``, in order, all of the first one's size."""
    # One file after another: a thread pool was measured slower here (the GIL), at ~35 us per
    # CIFAR-sized JPEG.
    decoded = []
    for path in paths:
        image = decode_file(path)
        size = tuple(image.pixels.shape[1:])
        if not decoded:
            first = size
            # Decoded images and their stacked copy, 3 channels at most.
            check_fits(2 * len(paths) * 3 * size[0] * size[1],
                       f"data.root: {len(paths)} images of {size[1]}x{size[0]} pixels in {root!r}")
        elif size != first:
            raise ValueError(f"data.root: image {path!r} is {size[1]}x{size[0]} pixels; expected "
                             f"{first[1]}x{first[0]} like the first image (all images must share "
                             "one size)")
        decoded.append(image)
    return decoded
