"""Sigmoid (one-vs-all) losses: cross-entropy and the sigmoid focal loss of Cui et al. 2019
(the ``sigmoid_focal`` loss; ``FocalLoss`` in ``focal_loss.py`` is the softmax one), and the
prior bias their classifier starts from."""
import math

import torch
import torch.nn.functional as F

from losses._common import ClassWeightedLoss, float_logits, require_class_indices

SIGMOID_PRIOR = 0.1   # pi of Cui et al. 2019 / Lin et al. 2017: initial sigmoid output


def init_prior_bias(layer, prior=SIGMOID_PRIOR):
    """Set the classifier ``layer``'s bias (C,) to -log((1 - prior) / prior), in place.

    Every sigmoid output then starts near ``prior``, so the many negative outputs do not swamp
    the loss at the start of training (Cui et al. 2019).
    """
    with torch.no_grad():
        layer.bias.fill_(-math.log((1.0 - prior) / prior))


def _one_vs_all(input, target, weight, gamma):
    """Per-output weighted sigmoid focal terms (N, C), float32 (float64 for float64 logits).

    With y = one_hot(target) and s = 2y - 1, the binary cross-entropy with logits is
    softplus(-s z), and Cui et al.'s modulator exp(-gamma y z - gamma log(1 + exp(-z))) is
    exp(-gamma softplus(s z)) ((1 - sigmoid(z))^gamma where y = 1, sigmoid(z)^gamma where
    y = 0); both stay finite for any z. Row i is multiplied by w_{y_i} when weight is given.
    """
    require_class_indices(target, "the sigmoid losses")
    logits = float_logits(input)
    sign = 2.0 * F.one_hot(target, logits.shape[1]).to(logits.dtype) - 1.0
    terms = F.softplus(-sign * logits)
    if gamma != 0:
        terms = torch.exp(-gamma * F.softplus(sign * logits)) * terms
    if weight is not None:
        terms = terms * weight.to(logits.dtype)[target, None]
    return terms


def sigmoid_loss(input, target, weight=None):
    """One-vs-all sigmoid cross-entropy, averaged over all N * C outputs.

    loss = sum_{i,j} w_{y_i} BCE(x_ij, [j == y_i]) / (N C).

    Args:
        input: logits (N, C), any float dtype (computed in float32, or float64).
        target: class indices int64 (N,).
        weight: optional class weights (C,), applied to every output of a sample by its class.

    Returns:
        scalar loss, float32 (float64 for float64 logits).
    """
    return _one_vs_all(input, target, weight, 0.0).mean()


def sigmoid_focal_loss(input, target, weight=None, gamma=0.0):
    """Sigmoid focal loss of Cui et al. 2019, summed over classes and averaged over samples.

    loss = sum_{i,j} w_{y_i} m_ij BCE(x_ij, y_ij) / N, with y_ij = [j == y_i] and the modulator
    m_ij = exp(-gamma y_ij x_ij - gamma log(1 + exp(-x_ij))).

    Args:
        input: logits (N, C), any float dtype (computed in float32, or float64).
        target: class indices int64 (N,).
        weight: optional class weights (C,), applied to every output of a sample by its class.
        gamma: focusing exponent >= 0.

    Returns:
        scalar loss, float32 (float64 for float64 logits).
    """
    return _one_vs_all(input, target, weight, gamma).sum() / target.numel()


class SigmoidLoss(ClassWeightedLoss):
    """One-vs-all sigmoid cross-entropy with optional class weights; see ``sigmoid_loss``.

    Shape:
        input (N, C) logits, target (N,) int64 class indices -> scalar, float32.
    """

    def forward(self, input, target):
        return sigmoid_loss(input, target, self.weight)


class SigmoidFocalLoss(ClassWeightedLoss):
    """Sigmoid focal loss of Cui et al. 2019 with optional class weights; see
    ``sigmoid_focal_loss``. With class-balanced weights it is their class-balanced focal loss.

    Args:
        weight: optional class weights (C,); a float32 buffer.
        gamma: focusing exponent >= 0.

    Shape:
        input (N, C) logits, target (N,) int64 class indices -> scalar, float32.
    """

    def __init__(self, weight=None, gamma=0.0):
        super().__init__(weight)
        self.gamma = float(gamma)

    def forward(self, input, target):
        return sigmoid_focal_loss(input, target, self.weight, self.gamma)

    def extra_repr(self):
        return f"gamma={self.gamma}"
