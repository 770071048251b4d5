"""ScaledClassifier: learnable weight scaling (LWS) of Kang et al. 2020, "Decoupling
Representation and Classifier for Long-Tailed Recognition"."""
import torch
from torch import nn


class ScaledClassifier(nn.Module):
    """A classifier layer whose logits are multiplied by a learnable scale per class.

    ``logits[n, c] = scales[c] * layer(x)[n, c]``; for an nn.Linear layer that is
    f_c (w_c . x + b_c), the bias scaled too, as in Kang et al.'s code. The scales start at 1,
    so wrapping a trained layer changes no output until they are trained; with the layer
    frozen they re-balance the classes' logit magnitudes (LWS).

    Args:
        layer: the classifier (nn.Linear or NormedLinear) with ``out_features`` classes.

    Input (N, in_features); output (N, out_features) in the layer's dtype promoted with the
    float32 scales (float32 under bf16 autocast).
    """

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.scales = nn.Parameter(torch.ones(layer.out_features))

    def forward(self, x):
        """x (N, in_features) -> scaled logits (N, out_features)."""
        return self.layer(x) * self.scales

    def extra_repr(self):
        return f"classes={self.scales.numel()}"
