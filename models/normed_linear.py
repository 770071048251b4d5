"""NormedLinear: the cosine classifier of LDAM (Cao et al. 2019)."""
import torch
import torch.nn.functional as F
from torch import nn


class NormedLinear(nn.Module):
    """Cosine similarity between each input row and each class weight: no bias, no scale.

    ``output[n, k] = <x_n / |x_n|, w_k / |w_k|>``, so every value lies in [-1, 1] (up to
    float rounding); the loss supplies the scale (LDAM's s = 30). The weight has nn.Linear's
    layout (out_features, in_features). The product is computed in float32 even under
    autocast: bf16's 8-bit mantissa would blur cosines that the loss multiplies by 30.

    Input (N, in_features); output float32 (N, out_features).
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self):
        """Uniform in [-1, 1]: only the direction of each class weight matters."""
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, x):
        """x (N, in_features) -> cosines float32 (N, out_features)."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            return F.linear(F.normalize(x.float(), dim=1), F.normalize(self.weight.float(), dim=1))

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"
