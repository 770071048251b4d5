"""Label-aware smoothing (Zhong et al., "Improving Calibration for Long-Tailed Recognition",
CVPR 2021, the LAS of MiSLAS): cross-entropy against smoothed targets whose smoothing grows
with the class's training count."""
import math

import torch
import torch.nn.functional as F

from losses._common import ClassWeightedLoss, class_counts, float_logits, weighted_mean

# schedule -> eps_y from r in [0, 1] (0 for the smallest class, 1 for the largest), head, tail
LAS_SCHEDULES = {
    "concave": lambda r, head, tail: tail + (head - tail) * torch.sin(math.pi / 2 * r),
    "linear": lambda r, head, tail: tail + (head - tail) * r,
    "convex": lambda r, head, tail: head + (head - tail) * torch.sin(3 * math.pi / 2
                                                                     + math.pi / 2 * r),
}


def las_smoothing(cls_num_list, head=0.3, tail=0.0, schedule="concave"):
    """The smoothing factor eps_y of every class, MiSLAS's f(N_y).

    With N_1 the largest and N_K the smallest training count and r = (N_y - N_K) / (N_1 - N_K)
    in [0, 1] (r = 1 for every class when all counts are equal):
        concave: eps_y = tail + (head - tail) sin(pi r / 2)
        linear:  eps_y = tail + (head - tail) r
        convex:  eps_y = head + (head - tail) sin(3 pi / 2 + pi r / 2)
    so the largest class gets ``head`` and the smallest ``tail`` under every schedule.

    Args:
        cls_num_list: C >= 2 training-image counts, each >= 1.
        head, tail: smoothing of the largest and of the smallest class, each in [0, 1).
        schedule: one of LAS_SCHEDULES.

    Returns:
        float64 tensor (C,) on the CPU.

    Raises:
        ValueError: fewer than 2 classes or a count below 1 (head, tail and schedule are
            checked by the config, ``loss.las_*``).
    """
    counts = class_counts(cls_num_list, "label-aware smoothing")
    if counts.numel() < 2:
        raise ValueError("label-aware smoothing: got 1 class; expected at least 2")
    spread = counts.max() - counts.min()
    r = (counts - counts.min()) / spread if spread > 0 else torch.ones_like(counts)
    return LAS_SCHEDULES[schedule](r, head, tail)


def las_targets(smoothing):
    """Row y: the smoothed target of class y, 1 - eps_y on y and eps_y / (C - 1) elsewhere.

    This is MiSLAS's Eq. 5. (The authors' code spreads eps_y over all C classes instead, leaving
    1 - eps_y + eps_y / C on y: the same targets for eps_y scaled by (C - 1) / C.)

    Args:
        smoothing: (C,) factors eps_y in [0, 1).

    Returns:
        (C, C) in the dtype of ``smoothing``; every row sums to 1.
    """
    c = smoothing.numel()
    off = (smoothing / (c - 1))[:, None].expand(c, c)
    return torch.where(torch.eye(c, dtype=torch.bool), (1 - smoothing)[:, None], off)


class LabelAwareSmoothingLoss(ClassWeightedLoss):
    """Cross-entropy against label-aware smoothed targets (MiSLAS, Zhong et al. 2021).

    loss = sum_i s_i (-sum_c t_ic log softmax(x_i)_c) / sum_i s_i, with t_i = T[y_i] the
    smoothed target of ``las_targets`` (for a soft target row q_i: t_i = q_i T, the mixture of
    its classes' smoothed targets) and s_i = w_{y_i} (soft: sum_c q_ic w_c), all ones without
    class weights. Head classes, whose predictions are over-confident, are smoothed most.

    Args:
        cls_num_list: C >= 2 training-image counts, each >= 1.
        head, tail, schedule: see ``las_smoothing``.
        weight: optional class weights (C,) (DRW); a float32 buffer.

    Attributes:
        smoothing: float32 buffer (C,), eps_y.
        targets: float32 buffer (C, C), T.

    Shape:
        input (N, C) logits, target (N,) int64 class indices or (N, C) float class
        probabilities -> scalar, float32.
    """

    accepts_soft_targets = True

    def __init__(self, cls_num_list, head=0.3, tail=0.0, schedule="concave", weight=None):
        super().__init__(weight)
        smoothing = las_smoothing(cls_num_list, head, tail, schedule)
        self.register_buffer("smoothing", smoothing.float())
        self.register_buffer("targets", las_targets(smoothing).float())
        self.head, self.tail, self.schedule = float(head), float(tail), schedule

    def forward(self, input, target):
        logits = float_logits(input)
        targets = self.targets.to(logits.dtype)
        smoothed = targets[target] if target.dim() == 1 else target.to(logits.dtype) @ targets
        per_sample = -(smoothed * F.log_softmax(logits, dim=1)).sum(1)
        weight = None if self.weight is None else self.weight.to(logits.dtype)
        return weighted_mean(per_sample, target, weight)

    def extra_repr(self):
        return f"head={self.head}, tail={self.tail}, schedule={self.schedule!r}"
