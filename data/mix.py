"""Mixup (Zhang et al., ICLR 2018) and CutMix (Yun et al., ICCV 2019) on whole batches.

One lambda per batch, as both papers' code draws it: lambda ~ Beta(alpha, alpha); every image i
of the batch is mixed with the image at partner[i], a random permutation of the batch, and its
target becomes lambda e_{y_i} + (1 - lambda) e_{y_partner[i]}.
- mixup: x_i <- lambda x_i + (1 - lambda) x_partner[i];
- CutMix: one box per batch, of sides round(H sqrt(1 - lambda)) x round(W sqrt(1 - lambda))
  centred at a uniform pixel and clipped at the borders, is pasted from the partner; lambda is
  then corrected to the fraction of the image left unpasted, 1 - box area / (H W).
Parameters are drawn up front for a whole epoch from an explicit CPU generator.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MIX_MODES = ("none", "mixup", "cutmix")


@dataclass
class MixPlan:
    """The mixing parameters of one epoch of ``n`` images in batches of ``batch_size``.

    Attributes:
        mode: ``mixup`` or ``cutmix``.
        lambdas: list of floats, one Beta(alpha, alpha) draw per batch.
        partners: int64 (n,) on the CPU: the epoch position whose image position p is mixed
            with, a random permutation within p's batch.
        centres: list of (row, column) pixel pairs, one per batch (CutMix's box centre).
    """

    mode: str
    lambdas: list
    partners: torch.Tensor
    centres: list


def sample_mix(mode, n, batch_size, alpha, image_size, generator):
    """Draw a MixPlan for ``n`` images cut into batches of ``batch_size`` (the last may be short).

    Args:
        mode: ``mixup`` or ``cutmix``.
        n, batch_size: images in the epoch and per (global) batch.
        alpha: Beta(alpha, alpha) parameter, > 0.
        image_size: (H, W) in pixels.
        generator: CPU ``torch.Generator``, the only source of randomness.
    """
    if mode not in MIX_MODES[1:]:
        raise ValueError(f"mix mode {mode!r} is not one of {', '.join(MIX_MODES[1:])}")
    starts = range(0, n, batch_size)
    beta_seed = int(torch.randint(0, 2 ** 62, (), generator=generator))
    lambdas = np.random.default_rng(beta_seed).beta(alpha, alpha, len(starts)).tolist()
    partners = torch.cat([start + torch.randperm(min(batch_size, n - start), generator=generator)
                          for start in starts]) if n else torch.zeros(0, dtype=torch.int64)
    height, width = image_size
    rows = torch.randint(0, height, (len(starts),), generator=generator).tolist()
    columns = torch.randint(0, width, (len(starts),), generator=generator).tolist()
    return MixPlan(mode, lambdas, partners, list(zip(rows, columns)))


def cutmix_box(lam, image_size, centre):
    """CutMix's box for ``lam`` and its corrected lambda.

    Args:
        lam: the drawn lambda in [0, 1].
        image_size: (H, W).
        centre: (row, column) of the box centre.

    Returns:
        ((top, bottom, left, right), corrected): the box is rows [top, bottom) and columns
        [left, right), sides round(H sqrt(1 - lam)) and round(W sqrt(1 - lam)) before clipping;
        corrected = 1 - (bottom - top)(right - left) / (H W).
    """
    height, width = image_size
    cut = (1.0 - lam) ** 0.5
    box_h, box_w = round(height * cut), round(width * cut)
    top, left = centre[0] - box_h // 2, centre[1] - box_w // 2
    top, bottom = max(top, 0), min(top + box_h, height)
    left, right = max(left, 0), min(left + box_w, width)
    area = max(bottom - top, 0) * max(right - left, 0)
    return (top, bottom, left, right), 1.0 - area / (height * width)


def mix_batch(mode, images, partner_images, lam, centre):
    """Mix a batch with its partners' images.

    Args:
        mode: ``mixup`` or ``cutmix``.
        images, partner_images: float (B, C, H, W); partner_images[i] is image i's partner.
        lam: the batch's drawn lambda.
        centre: (row, column) of CutMix's box (ignored by mixup).

    Returns:
        (mixed images (B, C, H, W), lambda): the weight of each image's own label, corrected
        to the unpasted area for CutMix.
    """
    if mode == "mixup":
        return lam * images + (1.0 - lam) * partner_images, lam
    (top, bottom, left, right), lam = cutmix_box(lam, images.shape[-2:], centre)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = partner_images[..., top:bottom, left:right]
    return mixed, lam


def mixed_targets(labels, partner_labels, lam, num_classes):
    """lam * one_hot(labels) + (1 - lam) * one_hot(partner_labels): float32 (B, num_classes)."""
    own = F.one_hot(labels, num_classes).float()
    return lam * own + (1.0 - lam) * F.one_hot(partner_labels, num_classes).float()
