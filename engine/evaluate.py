"""Evaluation of a model on a labelled set of images."""
import torch

from engine.metrics import confusion_matrix


@torch.no_grad()
def confusion_matrices(model, loader, num_classes, autocast, adjust=None):
    """Confusion matrices of ``model`` over every batch of ``loader``.

    Args:
        model: classifier returning logits (B, num_classes).
        loader: yields (images float32 (B, C, H, W), labels int64 (B,)) on the model's device.
        num_classes: C.
        autocast: a context-manager factory (e.g. bf16 autocast on CUDA, or a null context).
        adjust: optional function of fp32 logits (B, C) giving adjusted logits (B, C) for a
            second prediction, e.g. post-hoc logit adjustment.

    Returns:
        (confusion, adjusted) as int64 (C, C) tensors on the CPU, rows = true class;
        ``adjusted`` is None without ``adjust``.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    adjusted = confusion.clone() if adjust is not None else None
    for images, labels in loader:
        with autocast():
            logits = model(images)
        logits = logits.float()
        confusion += confusion_matrix(logits.argmax(1), labels, num_classes)
        if adjusted is not None:
            adjusted += confusion_matrix(adjust(logits).argmax(1), labels, num_classes)
    model.train(was_training)
    return confusion.cpu(), (adjusted.cpu() if adjusted is not None else None)
