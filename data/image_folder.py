"""Image folders (``root/train/<class>/*``, ``root/test/<class>/*``) decoded once into uint8 tensors.

Classes are the sorted names of the folders under ``train/``; ``test/`` must hold the same ones.
Files whose names end in one of ``EXTENSIONS`` (any case) are images; other files are ignored.

Channels: every image is converted to the mode of the first training image (first class, first
file, in sorted order): grayscale -> 1 channel, grayscale with alpha -> 2, RGBA or a palette with
transparency -> 4, anything else -> RGB, 3. All images (train and test) must share one size.
"""
import contextlib
import os
import warnings

import numpy as np
import torch
from PIL import Image

from data.image_set import ImageSet
from engine.errors import UserError


@contextlib.contextmanager
def _quiet_torchvision_io():
    """Silence torchvision 0.29's notice, at import and at every decode, that its decoders move to
    torchcodec: the pinned version has them, and they decode JPEG/PNG/WebP about twice as fast as
    PIL (which decodes everything else)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TorchVision are deprecated",
                                category=DeprecationWarning)
        yield


with _quiet_torchvision_io():
    from torchvision.io import ImageReadMode, decode_image

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")
_FAST_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")  # decoded by torchvision, the rest by PIL


def load_image_folder(root):
    """The training and test sets under ``root``.

    Returns:
        (train, test, classes): ImageSets of uint8 (N, C, H, W) images with int64 labels in the
        order class by class, files sorted by name; and the class names.

    Raises:
        UserError: a missing folder, no class folders, a class without images, mismatched class
            lists, an image that cannot be decoded or whose size differs from the first one.
    """
    if not os.path.isdir(root):
        raise UserError(f"data.root: image folder {root!r} does not exist")
    for part in ("train", "test"):
        if not os.path.isdir(os.path.join(root, part)):
            raise UserError(f"data.root: {root!r} has no {part}/ folder; expected "
                            f"{part}/<class>/<image files>")
    classes = _class_names(os.path.join(root, "train"))
    test_classes = _class_names(os.path.join(root, "test"))
    if test_classes != classes:
        missing = sorted(set(classes) ^ set(test_classes))
        raise UserError(f"data.root: train/ and test/ under {root!r} hold different classes "
                        f"(not in both: {', '.join(missing)})")
    train_files = _image_files(os.path.join(root, "train"), classes)
    test_files = _image_files(os.path.join(root, "test"), classes)
    mode = _mode_of(train_files[0][0])
    decoder = _Decoder(mode)
    return decoder.image_set(train_files), decoder.image_set(test_files), classes


def _class_names(folder):
    names = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    if not names:
        raise UserError(f"data.root: {folder!r} has no class folders; expected "
                        f"{os.path.basename(folder)}/<class>/<image files>")
    return names


def _image_files(folder, classes):
    """[(path, label), ...] class by class, files sorted by name."""
    files = []
    for label, name in enumerate(classes):
        class_dir = os.path.join(folder, name)
        paths = sorted(e.path for e in os.scandir(class_dir)
                       if e.is_file() and e.name.lower().endswith(EXTENSIONS))
        if not paths:
            raise UserError(f"data.root: class folder {class_dir!r} holds no images "
                            f"({', '.join(EXTENSIONS)})")
        files.extend((path, label) for path in paths)
    return files


def _mode_of(path):
    """The PIL mode every image is converted to, from the image at ``path``."""
    try:
        with Image.open(path) as image:
            mode, has_transparency = image.mode, "transparency" in image.info
    except OSError as exc:
        raise UserError(f"data.root: cannot decode image {path!r} ({exc})") from None
    if mode in ("1", "L", "I", "I;16", "F"):
        return "L"
    if mode in ("LA", "La"):
        return "LA"
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and has_transparency):
        return "RGBA"
    return "RGB"


class _Decoder:
    """Decodes files into uint8 (C, H, W) tensors of one mode and one size."""

    def __init__(self, mode):
        self.mode = mode
        self.size = None

    def image_set(self, files):
        # One file after another: a thread pool was measured slower here (the GIL), at ~35 us per
        # CIFAR-sized JPEG.
        with _quiet_torchvision_io():
            images = torch.stack([self._decode(path) for path, _ in files])
        return ImageSet(images, torch.tensor([label for _, label in files], dtype=torch.int64))

    def _decode(self, path):
        image = self._decode_rgb(path) if self.mode == "RGB" else None
        if image is None:
            image = self._decode_pil(path)
        if self.size is None:
            self.size = image.shape[1:]
        elif image.shape[1:] != self.size:
            raise UserError(f"data.root: image {path!r} is {image.shape[2]}x{image.shape[1]} "
                            f"pixels; expected {self.size[1]}x{self.size[0]} like the first "
                            "image (all images must share one size)")
        return image

    @staticmethod
    def _decode_rgb(path):
        """torchvision's decoder for 8-bit JPEG, PNG and WebP; None for other files."""
        if not path.lower().endswith(_FAST_EXTENSIONS):
            return None
        with open(path, "rb") as f:
            encoded = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
        try:
            image = decode_image(encoded, mode=ImageReadMode.RGB)
        except RuntimeError:
            return None
        return image if image.dtype == torch.uint8 else None

    def _decode_pil(self, path):
        try:
            with Image.open(path) as image:
                array = np.asarray(image.convert(self.mode))
        except (OSError, ValueError) as exc:
            raise UserError(f"data.root: cannot decode image {path!r} ({exc})") from None
        tensor = torch.from_numpy(array.copy())
        return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()
