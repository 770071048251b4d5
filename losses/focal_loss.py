"""The softmax focal loss (Lin et al. 2017): ``loss.name: focal``; the sigmoid focal loss of
Cui et al. is ``sigmoid_focal`` (``losses/sigmoid.py``)."""
import torch
import torch.nn.functional as F

from losses._common import ClassWeightedLoss, float_logits, weighted_mean


def focal_loss(input, target, weight=None, gamma=0.0):
    """Softmax focal loss, reduced as a weighted mean; computed in float32 (or float64).

    loss = sum_i w_{y_i} (1 - p_i)^gamma (-log p_i) / sum_i w_{y_i}, with p_i = softmax(x_i)[y_i].
    The modulator is exp(gamma * log(1 - p_i)), log(1 - p_i) = logsumexp_{j != y_i} x_ij -
    logsumexp_j x_ij, so it stays exact (and its gradient finite) when p_i rounds to 1. With
    gamma = 0 this is ``F.cross_entropy(input, target, weight=weight)``.

    Soft targets (rows q_i of class probabilities, e.g. mixup's): each class's focal term is
    weighted by its probability, l_i = sum_c q_ic (1 - p_ic)^gamma (-log p_ic), and sample i
    by s_i = sum_c q_ic w_c (see ``weighted_mean``); a one-hot row gives exactly the loss of
    its class index.

    Args:
        input: logits (N, C), any float dtype (bf16 is promoted to float32).
        target: class indices int64 (N,), or float (N, C) rows summing to 1.
        weight: optional class weights (C,); None = all ones.
        gamma: focusing exponent >= 0.

    Returns:
        scalar loss, float32 (float64 for float64 logits).
    """
    logits = float_logits(input)
    if weight is not None:
        weight = weight.to(logits.dtype)
    if target.dim() == 2:
        return _soft_focal_loss(logits, target.to(logits.dtype), weight, gamma)
    if gamma == 0:
        return F.cross_entropy(logits, target, weight=weight)
    log_p = F.log_softmax(logits, dim=1)
    log_p_target = log_p.gather(1, target[:, None]).squeeze(1)
    is_target = F.one_hot(target, logits.shape[1]).bool()
    log_not_p = (logits.masked_fill(is_target, float("-inf")).logsumexp(1)
                 - logits.logsumexp(1))
    per_sample = -torch.exp(gamma * log_not_p) * log_p_target
    return weighted_mean(per_sample, target, weight)


def _soft_focal_loss(logits, target, weight, gamma):
    """``focal_loss`` for float (N, C) target rows; logits, target and weight in one dtype."""
    log_p = F.log_softmax(logits, dim=1)
    terms = -target * log_p
    if gamma != 0:
        terms = torch.exp(gamma * log_one_minus_softmax(logits, log_p)) * terms
    return weighted_mean(terms.sum(1), target, weight)


def log_one_minus_softmax(logits, log_p):
    """log(1 - p_ic) for every class, (N, C), exact where p_ic rounds to 1.

    Only a row's largest logit can have p > 1/2: there, log(1 - p) = logsumexp over the other
    classes - logsumexp over all (as ``focal_loss`` does for the target class); elsewhere
    log1p(-p) is accurate. The largest class is masked out of the log1p branch, so neither
    branch has an infinite gradient.

    Args:
        logits: (N, C) float.
        log_p: (N, C) ``log_softmax(logits, 1)``.
    """
    top = F.one_hot(logits.argmax(1), logits.shape[1]).bool()
    others = torch.log1p(-log_p.exp().masked_fill(top, 0.0))
    top_value = (logits.masked_fill(top, float("-inf")).logsumexp(1, keepdim=True)
                 - logits.logsumexp(1, keepdim=True))
    return torch.where(top, top_value, others)


class FocalLoss(ClassWeightedLoss):
    """Softmax focal loss with optional class weights, reduced as a weighted mean.

    ``FocalLoss(weight, gamma=0.)`` equals ``nn.CrossEntropyLoss(weight)``. See ``focal_loss``.

    Args:
        weight: optional class weights (C,) (e.g. ``class_balanced_weights(...)``); a float32
            buffer.
        gamma: focusing exponent >= 0.

    Shape:
        input (N, C) logits, target (N,) int64 class indices or (N, C) float class
        probabilities -> scalar, float32.
    """

    accepts_soft_targets = True

    def __init__(self, weight=None, gamma=0.0):
        super().__init__(weight)
        self.gamma = float(gamma)

    def forward(self, input, target):
        return focal_loss(input, target, self.weight, self.gamma)

    def extra_repr(self):
        return f"gamma={self.gamma}"
