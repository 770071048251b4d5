"""Training losses for long-tailed classification, chosen by the ``loss:`` section of a config.

``build_loss(cfg.loss, cls_num_list)`` returns a module ``criterion(logits (N, C), target)
-> float32 scalar`` (float32 math even for bf16 logits under autocast) with
``criterion.set_epoch(epoch)``, which switches class-balanced weights on at
``cfg.loss.reweight_epoch`` (deferred re-weighting). ``target`` is int64 (N,) class indices,
or float (N, C) rows of class probabilities (mixup, CutMix) for the losses whose
``criterion.accepts_soft_targets`` is True (all but ``HARD_LABEL_LOSSES``).
``init_final_bias(model, cfg.loss)`` gives the sigmoid losses their prior bias.
"""
import math

import torch
from torch import nn

from engine.config import HARD_LABEL_LOSSES, LOSS_NAMES
from engine.errors import UserError
from losses.class_balanced import (CB_LOSS_TYPES, SigmoidFocalLoss, SigmoidLoss,
                                   class_balanced_loss, sigmoid_focal_loss, sigmoid_loss)
from losses.focal_loss import FocalLoss, focal_loss, reweight
from losses.label_aware_smoothing import (LAS_SCHEDULES, LabelAwareSmoothingLoss, las_smoothing,
                                          las_targets)
from losses.ldam import LDAMLoss
from losses.logit_adjusted import BalancedSoftmaxLoss, LogitAdjustedLoss, posthoc_adjust

__all__ = ["LOSS_NAMES", "HARD_LABEL_LOSSES", "CB_LOSS_TYPES", "LAS_SCHEDULES", "build_loss",
           "init_final_bias", "reweight", "FocalLoss", "focal_loss", "class_balanced_loss",
           "SigmoidLoss", "sigmoid_loss", "SigmoidFocalLoss", "sigmoid_focal_loss", "LDAMLoss",
           "LogitAdjustedLoss", "BalancedSoftmaxLoss", "posthoc_adjust",
           "LabelAwareSmoothingLoss", "las_smoothing", "las_targets"]

SIGMOID_PRIOR = 0.1   # pi of Cui et al. 2019 / Lin et al. 2017: initial sigmoid output

_BUILDERS = {
    "ce": lambda cfg, counts: FocalLoss(gamma=0.0),
    "focal": lambda cfg, counts: FocalLoss(gamma=cfg.gamma),
    "sigmoid": lambda cfg, counts: SigmoidLoss(),
    "sigmoid_focal": lambda cfg, counts: SigmoidFocalLoss(gamma=cfg.gamma),
    "ldam": lambda cfg, counts: LDAMLoss(counts, cfg.ldam_max_margin, cfg.ldam_scale),
    "logit_adjusted": lambda cfg, counts: LogitAdjustedLoss(counts, cfg.tau),
    "balanced_softmax": lambda cfg, counts: BalancedSoftmaxLoss(counts),
    "las": lambda cfg, counts: LabelAwareSmoothingLoss(counts, cfg.las_head, cfg.las_tail,
                                                       cfg.las_schedule),
}


def build_loss(loss_cfg, cls_num_list):
    """The training criterion described by ``loss_cfg``.

    ce: cross-entropy; focal: softmax focal (gamma); sigmoid: one-vs-all sigmoid CE (mean over
    N * C); sigmoid_focal: Cui et al.'s sigmoid focal (gamma); ldam: LDAM (ldam_max_margin,
    ldam_scale); logit_adjusted: tau * log prior added to the logits; balanced_softmax; las:
    cross-entropy against label-aware smoothed targets (las_head, las_tail, las_schedule). With
    ``reweight: class_balanced`` every loss weights each sample by its class's
    ``reweight(cls_num_list, beta)`` weight from epoch ``reweight_epoch`` (0-based) on, and by 1
    before it.

    Args:
        loss_cfg: an object with attributes name, gamma, beta, reweight, reweight_epoch,
            ldam_max_margin, ldam_scale, tau, las_head, las_tail and las_schedule
            (``engine.config.LossConfig``).
        cls_num_list: C training-image counts per class.

    Returns:
        an ``nn.Module`` on the CPU (move it with ``.to(device)``) with ``set_epoch(epoch)``.

    Raises:
        UserError: unknown name or reweight, or counts the loss cannot use (e.g. a class with
            no image for LDAM, the logit-adjusted losses or class-balanced weights).
    """
    if loss_cfg.name not in _BUILDERS:
        raise UserError(f"loss.name: got {loss_cfg.name!r}; expected one of "
                        f"{', '.join(LOSS_NAMES)}")
    if loss_cfg.reweight not in ("none", "class_balanced"):
        raise UserError(f"loss.reweight: got {loss_cfg.reweight!r}; "
                        "expected one of none, class_balanced")
    criterion = _BUILDERS[loss_cfg.name](loss_cfg, cls_num_list)
    if loss_cfg.reweight == "class_balanced":
        criterion.defer_weight(reweight(cls_num_list, loss_cfg.beta), loss_cfg.reweight_epoch)
    return criterion


def init_final_bias(model, loss_cfg):
    """For the sigmoid losses, set the classifier's bias to -log((1 - pi) / pi), pi = 0.1.

    Every sigmoid output then starts near pi, so the many negative outputs do not swamp the
    loss at the start of training (Cui et al. 2019). Other losses leave the model unchanged.
    The classifier is the last module of ``model.modules()`` that owns parameters; it must be an
    ``nn.Linear`` with a bias.

    Raises:
        UserError: a sigmoid loss and a model whose classifier is not such a layer (e.g. a
            cosine classifier).
    """
    if loss_cfg.name not in ("sigmoid", "sigmoid_focal"):
        return
    owners = [m for m in model.modules() if next(m.parameters(recurse=False), None) is not None]
    layer = owners[-1] if owners else None
    if not isinstance(layer, nn.Linear) or layer.bias is None:
        raise UserError(f"loss.name: {loss_cfg.name} needs a final linear layer with a bias to "
                        f"initialise; the model's last layer is {type(layer).__name__} "
                        "(use model.normed_classifier: false)")
    with torch.no_grad():
        layer.bias.fill_(-math.log((1.0 - SIGMOID_PRIOR) / SIGMOID_PRIOR))
