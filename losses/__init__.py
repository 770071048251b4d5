"""Training losses for long-tailed classification.

Every loss is a module ``criterion(logits (N, C), target) -> float32 scalar`` (float32 math
even for bf16 logits under autocast) with ``criterion.set_epoch(epoch)``, which switches
deferred class weights on (``defer_weight``). ``target`` is int64 (N,) class indices, or float
(N, C) rows of class probabilities (mixup, CutMix) where ``criterion.accepts_soft_targets``.
Two focal losses: ``FocalLoss`` is the softmax focal loss (Lin et al.; ``loss.name: focal``),
``SigmoidFocalLoss`` the one-vs-all sigmoid focal loss of Cui et al. (``sigmoid_focal``).
``class_balanced_weights`` (also under the course's name ``reweight``) gives the
class-balanced weights. This package imports only torch and the standard library; losses are
built by config name in ``engine.builders``.
"""
from losses.class_balanced import class_balanced_weights
from losses.focal_loss import FocalLoss, focal_loss
from losses.label_aware_smoothing import (LAS_SCHEDULES, LabelAwareSmoothingLoss, las_smoothing,
                                          las_targets)
from losses.ldam import LDAMLoss
from losses.logit_adjusted import BalancedSoftmaxLoss, LogitAdjustedLoss, posthoc_adjust
from losses.sigmoid import (SIGMOID_PRIOR, SigmoidFocalLoss, SigmoidLoss, init_prior_bias,
                            sigmoid_focal_loss, sigmoid_loss)

reweight = class_balanced_weights   # the course's name for the class-balanced weights

__all__ = ["LAS_SCHEDULES", "SIGMOID_PRIOR", "class_balanced_weights", "reweight", "FocalLoss",
           "focal_loss", "SigmoidLoss", "sigmoid_loss", "SigmoidFocalLoss",
           "sigmoid_focal_loss", "init_prior_bias", "LDAMLoss", "LogitAdjustedLoss",
           "BalancedSoftmaxLoss", "posthoc_adjust", "LabelAwareSmoothingLoss", "las_smoothing",
           "las_targets"]
