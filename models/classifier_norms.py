"""The norms of a linear classifier's rows: MaxNorm projection (weight balancing,
Alshammari et al. 2022) and tau-normalisation (Kang et al. 2020).

Row c of the weight (C, D) is class c's weight vector w_c; on long-tailed data the head
classes' rows grow longer, which tilts every prediction towards them.
"""
import torch


@torch.no_grad()
def maxnorm_(weight, radius):
    """Project every row of ``weight`` (C, D) onto the L2 ball of ``radius``, in place.

    A row with ||w_c||_2 <= radius is left exactly as it is; a longer one becomes
    w_c * radius / ||w_c||_2, of norm ``radius`` (the projection step of projected gradient
    descent under the per-class MaxNorm constraint of Alshammari et al. 2022).
    Traceable by torch.compile (no data-dependent Python branches).

    Returns:
        ``weight``.
    """
    norms = torch.linalg.vector_norm(weight, dim=1, keepdim=True)
    scale = torch.where(norms > radius, radius / norms.clamp_min(torch.finfo(norms.dtype).tiny),
                        torch.ones_like(norms))
    return weight.mul_(scale)


def relative_radius(weight, fraction):
    """min + fraction * (max - min) of the row norms of ``weight`` (C, D), a float.

    Alshammari et al.'s threshold: 0 = the shortest row's norm, 1 = the longest's.
    """
    norms = torch.linalg.vector_norm(weight.detach().float(), dim=1)
    return float(norms.min() + fraction * (norms.max() - norms.min()))


def tau_normalised_logits(logits, weight, bias, tau):
    """Logits of the tau-normalised classifier, computed from the plain classifier's logits.

    Kang et al. replace each row w_c by w_c / ||w_c||^tau and drop the bias (their
    tau-normalisation script scores features with the rescaled weights alone). Since
    logits[:, c] = x . w_c + b_c, the new logits are (logits[:, c] - b_c) / ||w_c||^tau,
    so the features are not needed. tau = 0 gives the plain logits without the bias; tau = 1
    a cosine-like classifier that ignores the rows' lengths.

    Args:
        logits: float (N, C), the layer's outputs.
        weight: (C, D) weight of the nn.Linear that produced them.
        bias: (C,) its bias, or None.
        tau: >= 0.

    Returns:
        float32 (N, C).
    """
    logits = logits.float()
    if bias is not None:
        logits = logits - bias.detach().float()
    norms = torch.linalg.vector_norm(weight.detach().float(), dim=1)
    return logits / norms.pow(tau)
