"""Scoring a trained model with its tau-normalised classifier (Kang et al. 2020), with tau
given or chosen on the validation split."""
import functools

import models
from engine.metrics import confusion_matrix, summarize
from models.classifier_norms import tau_normalised_logits

# The grid of Kang et al.'s search: 0, 0.1, ..., 2.
TAU_GRID = tuple(round(0.1 * i, 1) for i in range(21))


def adjust_for(model, tau):
    """``adjust(logits (N, C)) -> logits (N, C)`` of ``model``'s classifier with every row
    w_c rescaled to w_c / ||w_c||^tau and no bias (``models.final_linear(model)`` must be an
    nn.Linear)."""
    layer = models.final_linear(model)
    return functools.partial(tau_normalised_logits, weight=layer.weight, bias=layer.bias,
                             tau=tau)


def search_tau(model, logits, labels, cls_num_list):
    """The tau of TAU_GRID whose tau-normalised classifier has the best balanced accuracy.

    Args:
        model: the trained model (its classifier's weights rescale the logits).
        logits: float (N, C) plain logits of the validation images; labels: int64 (N,).
        cls_num_list: C training-image counts.

    Returns:
        (tau, balanced accuracy on these images); ties go to the smaller tau.
    """
    best = None
    for tau in TAU_GRID:
        adjusted = adjust_for(model, tau)(logits)
        confusion = confusion_matrix(adjusted.argmax(1), labels, len(cls_num_list))
        score = summarize(confusion, cls_num_list)["balanced_accuracy"]
        if best is None or score > best[1]:
            best = (tau, score)
    return best
