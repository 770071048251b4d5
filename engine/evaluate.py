"""Evaluation of a model on a labelled set of images."""
import torch

from engine.metrics import confusion_matrix


@torch.no_grad()
def collect_logits(model, loader, autocast):
    """The model's logits for every image of ``loader``, in eval mode.

    Args:
        model: classifier returning logits (B, C).
        loader: yields (images float32 (B, C, H, W), labels int64 (B,)) on the model's device.
        autocast: a context-manager factory (e.g. bf16 autocast on CUDA, or a null context).

    Returns:
        (logits float32 (N, C), labels int64 (N,)) on the model's device, in loader order.
    """
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        with autocast():
            logits = model(images)
        all_logits.append(logits.float())
        all_labels.append(labels)
    model.train(was_training)
    return torch.cat(all_logits), torch.cat(all_labels)


def confusion_matrices(model, loader, num_classes, autocast, adjust=None):
    """Confusion matrices of ``model`` over every batch of ``loader``.

    Args:
        model: classifier returning logits (B, num_classes).
        loader: yields (images float32 (B, C, H, W), labels int64 (B,)) on the model's device.
        num_classes: C.
        autocast: a context-manager factory (e.g. bf16 autocast on CUDA, or a null context).
        adjust: optional function of fp32 logits (N, C) giving adjusted logits (N, C) for a
            second prediction, e.g. post-hoc logit adjustment.

    Returns:
        (confusion, adjusted) as int64 (C, C) tensors on the CPU, rows = true class;
        ``adjusted`` is None without ``adjust``.
    """
    logits, labels = collect_logits(model, loader, autocast)
    confusion = confusion_matrix(logits.argmax(1), labels, num_classes).cpu()
    if adjust is None:
        return confusion, None
    return confusion, confusion_matrix(adjust(logits).argmax(1), labels, num_classes).cpu()
