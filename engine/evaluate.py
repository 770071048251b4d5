"""Evaluation of a model on a labelled set of images."""
import torch

from engine.metrics import confusion_matrix


@torch.no_grad()
def confusion_matrices(model, loader, num_classes, autocast, logit_offsets=None):
    """Confusion matrices of ``model`` over every batch of ``loader``.

    Args:
        model: classifier returning logits (B, num_classes).
        loader: yields (images float32 (B, C, H, W), labels int64 (B,)) on the model's device.
        num_classes: C.
        autocast: a context-manager factory (e.g. bf16 autocast on CUDA, or a null context).
        logit_offsets: optional float tensor (C,) subtracted from the logits for a second,
            post-hoc adjusted prediction (e.g. tau * log prior for logit adjustment).

    Returns:
        (confusion, adjusted) as int64 (C, C) tensors on the CPU, rows = true class;
        ``adjusted`` is None without ``logit_offsets``.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    adjusted = confusion.clone() if logit_offsets is not None else None
    for images, labels in loader:
        with autocast():
            logits = model(images)
        logits = logits.float()
        confusion += confusion_matrix(logits.argmax(1), labels, num_classes)
        if adjusted is not None:
            shifted = logits - logit_offsets.to(device)
            adjusted += confusion_matrix(shifted.argmax(1), labels, num_classes)
    model.train(was_training)
    return confusion.cpu(), (adjusted.cpu() if adjusted is not None else None)
