"""Logit-adjusted loss (Menon et al. 2021), balanced softmax (Ren et al. 2020) and post-hoc
logit adjustment."""
import torch
import torch.nn.functional as F

from losses._common import ClassWeightedLoss, class_counts, float_logits, weighted_mean


def log_prior(cls_num_list, what="log prior"):
    """log pi_j = log(n_j / sum_k n_k) as a float32 tensor (C,); counts must be >= 1."""
    counts = class_counts(cls_num_list, what)
    return torch.log(counts / counts.sum()).float()


def posthoc_adjust(logits, cls_num_list, tau):
    """Post-hoc logit adjustment for evaluation: logits - tau * log pi (Menon et al. 2021).

    Args:
        logits: (N, C), any float dtype.
        cls_num_list: C training-image counts, each >= 1.
        tau: temperature >= 0; 0 returns the logits unchanged (in the result dtype).

    Returns:
        (N, C) adjusted logits, float32 (float64 for float64 logits), on the logits' device.
    """
    dtype = torch.promote_types(logits.dtype, torch.float32)
    offsets = tau * log_prior(cls_num_list, "post-hoc logit adjustment")
    return logits.to(dtype) - offsets.to(logits.device, dtype)


class LogitAdjustedLoss(ClassWeightedLoss):
    """Logit-adjusted cross-entropy (Menon et al. 2021): CE on x + tau * log pi.

    loss = sum_i w_{y_i} CE(x_i + tau log pi, y_i) / sum_i w_{y_i}, pi_j = n_j / sum_k n_k.
    Fisher-consistent for the balanced error at tau = 1.

    Args:
        cls_num_list: C training-image counts, each >= 1.
        tau: temperature >= 0.
        weight: optional class weights (C,) (DRW); a float32 buffer.

    Attributes:
        offsets: float32 buffer (C,), tau * log pi.

    Soft targets (float (N, C) rows q_i of class probabilities): l_i = -sum_c q_ic log
    softmax(x_i + tau log pi)_c, sample i weighted by sum_c q_ic w_c.

    Shape:
        input (N, C) logits, target (N,) int64 class indices or (N, C) float class
        probabilities -> scalar, float32.
    """

    accepts_soft_targets = True

    def __init__(self, cls_num_list, tau=1.0, weight=None):
        super().__init__(weight)
        self.tau = float(tau)
        self.register_buffer("offsets", self.tau * log_prior(cls_num_list,
                                                             type(self).__name__))

    def forward(self, input, target):
        logits = float_logits(input)
        weight = None if self.weight is None else self.weight.to(logits.dtype)
        adjusted = logits + self.offsets.to(logits.dtype)
        if target.dim() == 2:
            per_sample = -(target.to(logits.dtype) * F.log_softmax(adjusted, dim=1)).sum(1)
            return weighted_mean(per_sample, target, weight)
        return F.cross_entropy(adjusted, target, weight=weight)

    def extra_repr(self):
        return f"tau={self.tau}"


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced softmax (Ren et al. 2020): CE on x + log n_j, i.e. the logit-adjusted loss at
    tau = 1 (log n_j and log pi_j differ by a constant, which cross-entropy ignores).

    Args:
        cls_num_list: C training-image counts, each >= 1.
        weight: optional class weights (C,) (DRW); a float32 buffer.

    Shape:
        input (N, C) logits, target (N,) int64 class indices or (N, C) float class
        probabilities -> scalar, float32.
    """

    def __init__(self, cls_num_list, weight=None):
        super().__init__(cls_num_list, tau=1.0, weight=weight)

    def extra_repr(self):
        return ""
