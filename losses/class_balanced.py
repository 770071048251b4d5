"""Class-balanced weights from the effective number of samples (Cui et al. 2019)."""
import math

import torch

from losses._common import class_counts


def class_balanced_weights(cls_num_list, beta=0.9999):
    """Class-balanced weights from the effective number of samples (Cui et al. 2019).

    w_i = (1 - beta) / (1 - beta^n_i), normalised so that sum_i w_i = C. beta = 0 gives all
    ones; beta -> 1 approaches inverse class frequency.

    Args:
        cls_num_list: C training-image counts, each >= 1.
        beta: in [0, 1) (the config checks ``loss.beta``).

    Returns:
        float32 tensor (C,) on the CPU.

    Raises:
        ValueError: an empty list, or a count below 1.
    """
    counts = class_counts(cls_num_list, "class-balanced weights")
    # 1 - beta^n, accurate for beta close to 1; 0^n = 0 for counts >= 1.
    one_minus_power = (-torch.expm1(counts * math.log(beta)) if beta > 0
                       else torch.ones_like(counts))
    weights = (1.0 - beta) / one_minus_power
    return (weights * (counts.numel() / weights.sum())).float()
