"""Batched CIFAR augmentation (random crop with zero padding, horizontal flip, Cutout) and
normalisation.

Everything works on whole batches with tensor operations, on whatever device the batch is on;
random parameters come from an explicit CPU ``torch.Generator`` and are then moved to that device.
"""
import torch
import torch.nn.functional as F


def sample_crop_flip(n, padding, generator, device="cpu"):
    """Random crop-and-flip parameters for ``n`` images.

    Returns:
        (offsets_y, offsets_x, flips): int64 (n,) window offsets, each uniform in
        [0, 2 * padding], in pixels of the zero-padded image; bool (n,) flips, True with p = 0.5.
        Drawn in that order from ``generator`` (CPU), returned on ``device``.
    """
    offsets_y = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    offsets_x = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    return offsets_y.to(device), offsets_x.to(device), flips.to(device)


def crop_flip(images, offsets_y, offsets_x, flips, padding):
    """Crop each image from its zero-padded copy at the given offsets, then flip it if asked.

    Args:
        images: (B, C, H, W), any dtype (uint8 in the training path).
        offsets_y, offsets_x: int64 (B,) top-left corner of each H x W window in the image padded
            by ``padding`` zeros on every side, each in [0, 2 * padding].
        flips: bool (B,); True mirrors that image left-right after cropping.
        padding: zero pixels added on each side.

    Returns:
        (B, C, H, W), same dtype and device: out[b] = padded[b, :, oy:oy+H, ox:ox+W], mirrored
        along W where flips[b].
    """
    b, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    width = w + 2 * padding
    device = images.device
    rows = offsets_y[:, None] + torch.arange(h, device=device)
    columns = torch.arange(w, device=device).expand(b, w)
    columns = torch.where(flips[:, None], w - 1 - columns, columns) + offsets_x[:, None]
    flat = (rows[:, :, None] * width + columns[:, None, :]).reshape(b, 1, h * w)
    return padded.reshape(b, c, -1).gather(2, flat.expand(b, c, h * w)).reshape(b, c, h, w)


def sample_cutout(n, image_size, generator, device="cpu"):
    """Cutout centres for ``n`` images of ``image_size`` (H, W): each pixel equally likely.

    Returns:
        (rows, columns): int64 (n,) each, in [0, H) and [0, W); drawn in that order from
        ``generator`` (CPU) and returned on ``device``.
    """
    height, width = image_size
    rows = torch.randint(0, height, (n,), generator=generator)
    columns = torch.randint(0, width, (n,), generator=generator)
    return rows.to(device), columns.to(device)


def cutout(images, rows, columns, size, fill=0):
    """Cutout (DeVries & Taylor 2017): set a size x size square of each image to ``fill``.

    Image b's square covers rows [rows[b] - size // 2, rows[b] - size // 2 + size) and the same
    span of columns around columns[b], clipped at the borders (a centre near an edge leaves a
    smaller rectangle), in every channel.

    Args:
        images: (B, C, H, W), any dtype.
        rows, columns: int64 (B,) centres.
        size: side of the square in pixels, >= 0 (0 changes nothing).
        fill: the value written (0; on normalised images, the mean colour).

    Returns:
        (B, C, H, W), same dtype and device.
    """
    height, width = images.shape[-2:]
    device = images.device
    top = (rows - size // 2)[:, None]
    left = (columns - size // 2)[:, None]
    y = torch.arange(height, device=device)
    x = torch.arange(width, device=device)
    in_rows = (y >= top) & (y < top + size)
    in_columns = (x >= left) & (x < left + size)
    square = in_rows[:, :, None] & in_columns[:, None, :]
    return images.masked_fill(square[:, None], fill)


def normalize(images, mean, std):
    """(images / 255 - mean) / std per channel.

    Args:
        images: uint8 (B, C, H, W).
        mean, std: C floats each (sequence or tensor), in [0, 1] pixel units.

    Returns:
        float32 (B, C, H, W) on the device of ``images``.
    """
    mean = torch.as_tensor(mean, dtype=torch.float32, device=images.device).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=images.device).view(-1, 1, 1)
    return (images.float() / 255 - mean) / std
