"""Pieces shared by the losses: checked class counts, switchable class weights and the weighted
mean over a batch of hard (class index) or soft (probability row) targets."""
import torch
from torch import nn


def class_counts(cls_num_list, what):
    """The training images per class as a float64 tensor (C,), every count checked to be >= 1.

    Args:
        cls_num_list: sequence (or 1-D tensor) of C >= 1 image counts, one per class.
        what: the loss or function that needs the counts, named in the error message.

    Raises:
        ValueError: the list is empty or not 1-D, or a count is not a positive finite number.
    """
    counts = torch.as_tensor(cls_num_list, dtype=torch.float64).detach().cpu()
    if counts.dim() != 1 or counts.numel() == 0:
        raise ValueError(f"{what}: got class counts of shape {tuple(counts.shape)}; "
                        "expected one count per class")
    bad = ~(torch.isfinite(counts) & (counts >= 1))
    if bad.any():
        index = int(bad.nonzero()[0])
        raise ValueError(f"{what}: class {index} has {counts[index].item():g} training images; "
                        "expected at least 1 in every class")
    return counts


def float_logits(input):
    """``input`` as float32 for the loss math (bf16/fp16 under autocast are promoted; float64,
    as used by gradient checks, is kept)."""
    return input if input.dtype == torch.float64 else input.float()


def weighted_mean(per_sample, target, weight):
    """The batch's loss: sum_i s_i l_i / sum_i s_i, or the plain mean when ``weight`` is None.

    A sample's weight s_i is w_{y_i} for a class index y_i and sum_c q_ic w_c for a row of
    class probabilities q_i (so a one-hot row gives exactly its class's weight, and a mixed
    row the mixture of its classes' weights).

    Args:
        per_sample: (N,) losses l_i.
        target: int64 (N,) class indices or float (N, C) rows summing to 1.
        weight: (C,) class weights in the dtype of ``per_sample``, or None.

    Returns:
        scalar in the dtype of ``per_sample``.
    """
    if weight is None:
        return per_sample.sum() / per_sample.numel()
    sample_weight = weight[target] if target.dim() == 1 else target.to(weight.dtype) @ weight
    return (per_sample * sample_weight).sum() / sample_weight.sum()


def require_class_indices(target, what):
    """Raise ValueError unless ``target`` is a 1-D tensor of class indices (no soft targets)."""
    if target.dim() != 1:
        raise ValueError(f"{what} takes class indices of shape (N,); got a target of shape "
                         f"{tuple(target.shape)} (mixed labels need a loss with soft targets)")


class ClassWeightedLoss(nn.Module):
    """Base of the losses: an optional class-weight buffer that can switch on at an epoch.

    ``weight`` is a float32 buffer (C,) or None (unweighted). ``defer_weight(weight, epoch)``
    gives deferred re-weighting (DRW, Cao et al. 2019): all-ones weights before ``epoch``,
    ``weight`` from ``epoch`` on. ``set_epoch`` switches by copying into the same buffer, so the
    module is never rebuilt and a captured (e.g. ``torch.compile``d) graph stays valid; all-ones
    weights give exactly the unweighted loss.

    ``accepts_soft_targets`` says whether ``forward`` also takes float (N, C) rows of class
    probabilities (mixup, CutMix) besides int64 (N,) class indices.
    """

    accepts_soft_targets = False

    def __init__(self, weight=None):
        super().__init__()
        self.register_buffer("weight", None if weight is None
                             else torch.as_tensor(weight, dtype=torch.float32).clone())
        self.register_buffer("deferred_weight", None)
        self.reweight_epoch = None

    def defer_weight(self, weight, epoch):
        """Use all-ones weights before ``epoch`` (0-based) and ``weight`` (C,) from it on.

        Called when the loss is built, before ``.to(device)``; returns the module.
        """
        self.deferred_weight = torch.as_tensor(weight, dtype=torch.float32).clone()
        self.weight = torch.ones_like(self.deferred_weight)
        self.reweight_epoch = int(epoch)
        self.set_epoch(0)
        return self

    def set_epoch(self, epoch):
        """Select the class weights of ``epoch`` (0-based); a no-op without deferred weights."""
        if self.deferred_weight is None:
            return
        with torch.no_grad():
            if epoch >= self.reweight_epoch:
                self.weight.copy_(self.deferred_weight)
            else:
                self.weight.fill_(1.0)
