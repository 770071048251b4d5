"""RandAugment (Cubuk et al., NeurIPS Workshops 2020) on whole batches of uint8 images.

Every image gets ``num_ops`` operations in turn, each drawn uniformly from OPS, all at one
magnitude M on torchvision's scale 0..30; the signed operations take the opposite direction
with probability 1/2. At M, with m = M / 30 (torchvision's RandAugment table):
    shear_x, shear_y: shear factor 0.3 m (about the top-left corner);
    translate_x, translate_y: int(150 / 331 * width (height) * m) pixels;
    rotate: 30 m degrees;
    brightness, color (saturation), contrast, sharpness: factor 1 + 0.9 m;
    posterize: keep round(8 - 4 m) bits;
    solarize: invert the pixels above 255 (1 - m) (none at m = 0; torchvision also inverts
        pure white there);
    autocontrast, equalize, identity: no magnitude.
Geometric operations use nearest-neighbour sampling and fill with zeros. Images that drew the
same operation and direction in a round are transformed together by one call of
``torchvision.transforms.v2.functional``, so a round costs one call per operation, not per
image, and needs no host-device synchronisation.
"""
import math

import torch
import torchvision.transforms.v2.functional as TF

OPS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness",
       "color", "contrast", "sharpness", "posterize", "solarize", "autocontrast", "equalize")
SIGNED = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
          "contrast", "sharpness")
MAX_MAGNITUDE = 30
NEAREST = TF.InterpolationMode.NEAREST


def sample_randaugment(n, num_ops, generator):
    """Operations and directions for ``n`` images.

    Returns:
        (ops, negate): int64 (n, num_ops) indices into OPS, uniform; bool (n, num_ops), True
        with p = 1/2 (used by the SIGNED operations only). Drawn in that order from
        ``generator`` (CPU) and left on the CPU.
    """
    ops = torch.randint(0, len(OPS), (n, num_ops), generator=generator)
    negate = torch.rand(n, num_ops, generator=generator) < 0.5
    return ops, negate


def op_value(op, magnitude, image_size):
    """The parameter of ``op`` at ``magnitude`` (0..30) for images of ``image_size`` (H, W),
    positive for the SIGNED operations (see the module docstring); None for the others."""
    m = magnitude / MAX_MAGNITUDE
    height, width = image_size
    values = {"shear_x": 0.3 * m, "shear_y": 0.3 * m, "translate_x": 150 / 331 * width * m,
              "translate_y": 150 / 331 * height * m, "rotate": 30.0 * m, "brightness": 0.9 * m,
              "color": 0.9 * m, "contrast": 0.9 * m, "sharpness": 0.9 * m,
              "posterize": round(8 - 4 * m), "solarize": 255 * (1 - m)}
    return values.get(op)


def apply_op(images, op, value):
    """Apply one operation with one parameter to a whole uint8 (B, C, H, W) batch.

    Args:
        images: uint8 (B, C, H, W), C in (1, 3), on any device.
        op: a name in OPS.
        value: ``op_value``'s parameter, negated for the opposite direction.

    Returns:
        uint8 (B, C, H, W) on the same device.
    """
    affine = dict(angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0],
                  interpolation=NEAREST)
    if op == "identity":
        return images
    if op in ("shear_x", "shear_y"):
        degrees = math.degrees(math.atan(value))
        affine["shear"] = [degrees, 0.0] if op == "shear_x" else [0.0, degrees]
        return TF.affine(images, **affine, center=[0, 0])
    if op in ("translate_x", "translate_y"):
        affine["translate"] = [int(value), 0] if op == "translate_x" else [0, int(value)]
        return TF.affine(images, **affine)
    if op == "rotate":
        return TF.rotate(images, value, interpolation=NEAREST)
    if op == "brightness":
        return TF.adjust_brightness(images, 1.0 + value)
    if op == "color":
        return TF.adjust_saturation(images, 1.0 + value)
    if op == "contrast":
        return TF.adjust_contrast(images, 1.0 + value)
    if op == "sharpness":
        return TF.adjust_sharpness(images, 1.0 + value)
    if op == "posterize":
        return TF.posterize(images, int(value))
    if op == "solarize":
        threshold = math.floor(value) + 1
        return TF.solarize(images, threshold) if threshold <= 255 else images
    if op == "autocontrast":
        return TF.autocontrast(images)
    if op == "equalize":
        return TF.equalize(images)
    raise ValueError(f"unknown RandAugment operation {op!r}; expected one of {', '.join(OPS)}")


def randaugment(images, ops, negate, magnitude):
    """RandAugment on a batch: round r applies OPS[ops[b, r]] to image b.

    Args:
        images: uint8 (B, C, H, W), C in (1, 3), on any device.
        ops, negate: CPU int64 and bool (B, N), as from ``sample_randaugment``.
        magnitude: M in 0..30.

    Returns:
        uint8 (B, C, H, W) on the device of ``images``.
    """
    if images.shape[1] not in (1, 3):
        raise ValueError(f"RandAugment takes images with 1 or 3 channels; got "
                         f"{images.shape[1]}")
    size = tuple(images.shape[-2:])
    signed = torch.tensor([op in SIGNED for op in OPS])
    keys = 2 * ops + (negate & signed[ops])
    for r in range(ops.shape[1]):
        order = torch.argsort(keys[:, r], stable=True)
        counts = torch.bincount(keys[:, r], minlength=2 * len(OPS)).tolist()
        order = order.to(images.device)
        pieces = []
        for key, piece in enumerate(images[order].split(counts)):
            if piece.shape[0]:
                op = OPS[key // 2]
                value = op_value(op, magnitude, size)
                piece = apply_op(piece, op, -value if key % 2 else value)
            pieces.append(piece)
        result = torch.empty_like(images)
        result[order] = torch.cat(pieces)
        images = result
    return images
