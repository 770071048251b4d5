"""Label-distribution-aware margin loss (Cao et al. 2019)."""
import torch.nn.functional as F

from losses._common import ClassWeightedLoss, class_counts, float_logits, require_class_indices


class LDAMLoss(ClassWeightedLoss):
    """LDAM loss: cross-entropy with a larger margin for rarer classes.

    Class j gets the margin Delta_j = max_margin * (n_j / n_min)^(-1/4) (proportional to
    n_j^(-1/4); the rarest class gets max_margin). The margin of the true class is subtracted
    from its logit, every logit is multiplied by ``scale``, then
    loss = sum_i w_{y_i} CE(s (x_i - Delta_{y_i} e_{y_i}), y_i) / sum_i w_{y_i}
    (``F.cross_entropy`` with ``weight``; the weights are those of DRW).

    Args:
        cls_num_list: C training-image counts, each >= 1.
        max_margin: the largest margin, > 0 (0.5 in the paper).
        scale: logit scale s, > 0 (30 in the paper, meant for cosine logits in [-1, 1]).
        weight: optional class weights (C,); a float32 buffer.

    Attributes:
        margins: float32 buffer (C,), Delta_j.

    Shape:
        input (N, C) logits, target (N,) int64 class indices -> scalar, float32.
    """

    def __init__(self, cls_num_list, max_margin=0.5, scale=30.0, weight=None):
        super().__init__(weight)
        counts = class_counts(cls_num_list, "ldam loss")
        margins = counts.pow(-0.25)
        self.register_buffer("margins", (margins * (max_margin / margins.max())).float())
        self.max_margin = float(max_margin)
        self.scale = float(scale)

    def forward(self, input, target):
        require_class_indices(target, "LDAM loss")
        logits = float_logits(input)
        margin = self.margins.to(logits.dtype)[target]
        is_target = F.one_hot(target, logits.shape[1]).to(logits.dtype)
        shifted = logits - is_target * margin[:, None]
        weight = None if self.weight is None else self.weight.to(logits.dtype)
        return F.cross_entropy(self.scale * shifted, target, weight=weight)

    def extra_repr(self):
        return f"max_margin={self.max_margin}, scale={self.scale}"
