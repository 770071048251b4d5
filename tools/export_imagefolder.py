"""Write CIFAR-10 as an ImageFolder copy of image files, e.g. JPEG at quality 75.

    python -m tools.export_imagefolder --out data/cifar10-jpeg                 # JPEG, quality 75
    python -m tools.export_imagefolder --out data/cifar10-png --format png     # lossless

The copy holds ``train/<class>/<index>.<ext>`` (50,000 images) and ``test/<class>/...``
(10,000), and trains with ``--set data.dataset=imagefolder --set data.root=OUT``. The report's
CPU numbers come from such a JPEG (quality 75) copy: JPEG drops fine texture, so accuracies on
it sit a little below those on torchvision's original images.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

import data
from engine.errors import INPUT_ERRORS, report

EXTENSIONS = {"jpeg": "jpg", "png": "png"}


def export(image_set, classes, folder, image_format="jpeg", quality=75):
    """Save every image of ``image_set`` as ``folder/<class>/<index>.<ext>``.

    Args:
        image_set: data.ImageSet of uint8 (N, 3, H, W) images and int64 (N,) labels.
        classes: class names, indexed by label.
        folder: the split's folder (``.../train`` or ``.../test``); created if missing.
        image_format: "jpeg" or "png".
        quality: JPEG quality, 1..95 (ignored for PNG).
    """
    for name in classes:
        os.makedirs(os.path.join(folder, name), exist_ok=True)
    pixels = image_set.images.permute(0, 2, 3, 1).numpy()
    for index, (image, label) in enumerate(zip(pixels, image_set.labels.tolist())):
        path = os.path.join(folder, classes[label], f"{index:05d}.{EXTENSIONS[image_format]}")
        options = {"quality": quality} if image_format == "jpeg" else {}
        Image.fromarray(np.ascontiguousarray(image)).save(path, format=image_format.upper(),
                                                          **options)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.export_imagefolder",
        description="Write CIFAR-10 (downloaded by torchvision into --root when missing) as an "
                    "ImageFolder copy: OUT/train/<class>/*.jpg and OUT/test/<class>/*.jpg.")
    parser.add_argument("--out", required=True, help="folder to create; must not exist yet")
    parser.add_argument("--root", default="data", help="CIFAR-10 download folder (default: data)")
    parser.add_argument("--format", choices=sorted(EXTENSIONS), default="jpeg")
    parser.add_argument("--quality", type=int, default=75, help="JPEG quality (default: 75)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if not 1 <= args.quality <= 95:
            raise ValueError(f"--quality: got {args.quality}; expected an integer in 1..95")
        if os.path.exists(args.out):
            raise ValueError(f"--out: {args.out!r} exists already; expected a new folder")
        train, test, classes = data.load_cifar10(args.root, download=True)
        for split, image_set in (("train", train), ("test", test)):
            export(image_set, classes, os.path.join(args.out, split), args.format, args.quality)
            print(f"wrote {len(image_set)} images to {os.path.join(args.out, split)}")
    except INPUT_ERRORS as error:
        return report(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
