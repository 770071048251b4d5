"""Classification metrics from a confusion matrix, with the groups long-tailed studies report.

All accuracies are fractions in [0, 1]. ``confusion[i, j]`` counts images of true class i
predicted as class j. Conventions for classes that are missing from the evaluated set:

- a class with no true images has recall (per-class accuracy) 0, and it still counts in the
  balanced accuracy; Longtail's test sets are balanced, so this only affects tiny validation
  splits, where it shifts every epoch's score by the same amount;
- a class with no true and no predicted images has F1 0 (precision and recall are both 0/0;
  scoring it 1 would reward a model for a class it never saw).
"""
import torch

from fileio import save_figure_atomic


def confusion_matrix(preds, targets, num_classes):
    """Confusion matrix of predictions, computed with one ``bincount`` on the inputs' device.

    Args:
        preds: int64 (N,) predicted classes in [0, num_classes).
        targets: int64 (N,) true classes in [0, num_classes).
        num_classes: C.

    Returns:
        int64 (C, C) on the inputs' device, rows = true class, columns = prediction.
    """
    flat = targets.long() * num_classes + preds.long()
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


def summarize(confusion, cls_num_list, many_shot=100, few_shot=20):
    """Every metric Longtail reports, as plain Python values (JSON-ready).

    Args:
        confusion: (C, C) counts, rows = true class, columns = prediction (any device).
        cls_num_list: C training-image counts (they define the shot groups and the thirds).
        many_shot: classes with more than this many training images are "many".
        few_shot: classes with fewer than this many are "few"; the rest are "medium".

    Returns:
        dict with
        ``accuracy``: correct / all;
        ``per_class``: list of C recalls;
        ``balanced_accuracy``: mean per-class recall;
        ``macro_f1``: mean F1 over the C classes;
        ``groups``: {"many", "medium", "few"}: mean per-class accuracy of the group's classes,
        None when the group has no class; ``group_classes``: their class indices;
        ``thirds``: {"head", "middle", "tail"}: the same for the classes sorted by training
        count (descending, ties by index) and cut into three near-equal parts, see
        ``thirds``; ``thirds_classes``: their class indices;
        ``confusion``: the matrix as a list of C lists of int.
    """
    num_classes = len(cls_num_list)
    if tuple(confusion.shape) != (num_classes, num_classes):
        raise ValueError(f"confusion has shape {tuple(confusion.shape)}; expected "
                         f"({num_classes}, {num_classes}) for {num_classes} class counts")
    counts = confusion.detach().cpu().to(torch.float64)
    true_counts = counts.sum(1)
    predicted_counts = counts.sum(0)
    hits = counts.diag()
    per_class = hits / true_counts.clamp(min=1)
    # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (true + predicted); 0 when both are empty.
    f1 = 2 * hits / (true_counts + predicted_counts).clamp(min=1)
    per_class_list = per_class.tolist()

    group_classes = {
        "many": [c for c, n in enumerate(cls_num_list) if n > many_shot],
        "medium": [c for c, n in enumerate(cls_num_list) if few_shot <= n <= many_shot],
        "few": [c for c, n in enumerate(cls_num_list) if n < few_shot],
    }
    thirds_classes = thirds(cls_num_list)
    return {
        "accuracy": (hits.sum() / counts.sum().clamp(min=1)).item(),
        "per_class": per_class_list,
        "balanced_accuracy": per_class.mean().item(),
        "macro_f1": f1.mean().item(),
        "groups": {name: _mean_of(per_class_list, members)
                   for name, members in group_classes.items()},
        "group_classes": group_classes,
        "thirds": {name: _mean_of(per_class_list, members)
                   for name, members in thirds_classes.items()},
        "thirds_classes": thirds_classes,
        "confusion": counts.to(torch.int64).tolist(),
    }


def thirds(cls_num_list):
    """Head, middle and tail classes: indices sorted by training count, cut into three.

    The classes are ordered by count, descending, ties by class index. The parts differ in
    size by at most one and are symmetric: one spare class goes to the middle, two spare
    classes go to the head and the tail (C = 10: 3/4/3, C = 11: 4/3/4, C = 2: 1/0/1).

    Returns:
        {"head": [index, ...], "middle": [...], "tail": [...]}.
    """
    order = sorted(range(len(cls_num_list)), key=lambda c: (-cls_num_list[c], c))
    base, spare = divmod(len(order), 3)
    outer = base + (spare == 2)
    return {"head": order[:outer], "middle": order[outer:len(order) - outer],
            "tail": order[len(order) - outer:]}


def format_summary(summary, classes, cls_num_list=None):
    """A table for the terminal: overall metrics, shot groups, thirds, one row per class.

    Args:
        summary: a ``summarize`` dict.
        classes: C class names.
        cls_num_list: C training-image counts shown beside each class (blank when None).
    """
    def show(value):
        return "n/a (no classes)" if value is None else f"{value:.4f}"

    lines = [f"accuracy {summary['accuracy']:.4f}   balanced (mean per-class) "
             f"{summary['balanced_accuracy']:.4f}   macro-F1 {summary['macro_f1']:.4f}",
             "shots:  " + "   ".join(f"{name} {show(value)}"
                                    for name, value in summary["groups"].items()),
             "thirds: " + "   ".join(f"{name} {show(value)}"
                                    for name, value in summary["thirds"].items()),
             f"{'class':<16}{'train images':>13}{'accuracy':>10}"]
    for index, (name, accuracy) in enumerate(zip(classes, summary["per_class"])):
        count = "" if cls_num_list is None else cls_num_list[index]
        lines.append(f"{name:<16}{count:>13}{accuracy:>10.4f}")
    return "\n".join(lines)


# Up to this many classes the console shows the whole confusion table and every cell of the
# heat map is labelled with its count; beyond it (CIFAR-100) the console lists the largest
# confusions, and the heat map's cells are colours only at a fixed figure size, since 10,000
# text labels would take a minute to draw.
LABELLED_CONFUSION_CLASSES = 20


def format_confusion(confusion, classes, max_table_classes=LABELLED_CONFUSION_CLASSES,
                     most_frequent=10):
    """The (C, C) confusion counts as text, rows = true class, columns = prediction.

    Up to ``max_table_classes`` classes this is the whole matrix as a table; beyond it (a
    100-column table is unreadable in a terminal) it lists the ``most_frequent`` largest
    off-diagonal cells, "true -> predicted: count", largest first.
    """
    counts = torch.as_tensor(confusion).detach().cpu().to(torch.int64)
    if len(classes) > max_table_classes:
        return _most_frequent_confusions(counts, classes, most_frequent)
    rows = counts.tolist()
    width = max(6, max(len(str(v)) for row in rows for v in row) + 1)
    lines = ["confusion (rows: true class, columns: predicted)",
             " " * 16 + "".join(f"{name[:width - 1]:>{width}}" for name in classes)]
    for name, row in zip(classes, rows):
        lines.append(f"{name:<16}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def _most_frequent_confusions(counts, classes, top):
    """The ``top`` largest off-diagonal cells of ``counts`` (C, C), one line each."""
    num_classes = len(classes)
    off_diagonal = counts.clone()
    off_diagonal.fill_diagonal_(-1)
    values, flat = off_diagonal.flatten().topk(min(top, num_classes * (num_classes - 1)))
    lines = [f"most frequent confusions ({num_classes} classes, too many for a table; a "
             f"training run saves the whole matrix in metrics.json and confusion.png):"]
    for value, index in zip(values.tolist(), flat.tolist()):
        if value <= 0:
            break
        true, predicted = divmod(index, num_classes)
        lines.append(f"  {classes[true]} -> {classes[predicted]}: {value}")
    return "\n".join(lines)


def save_confusion_png(confusion, classes, path):
    """Write a row-normalised confusion heat map, each cell labelled with its count when there
    are at most LABELLED_CONFUSION_CLASSES classes.

    Args:
        confusion: (C, C) counts, rows = true class.
        classes: C class names.
        path: the PNG to write; it is replaced atomically (temporary file + ``os.replace``),
            so a reader never sees a half-written image.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = torch.as_tensor(confusion).detach().cpu().to(torch.float64)
    rates = counts / counts.sum(1, keepdim=True).clamp(min=1)
    labelled = len(classes) <= LABELLED_CONFUSION_CLASSES
    size = max(4.0, 0.6 * len(classes) + 2) if labelled else 16.0
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
        tick_size = None if labelled else 4
        ax.set_xticks(range(len(classes)), classes, rotation=45 if labelled else 90,
                      ha="right" if labelled else "center", fontsize=tick_size)
        ax.set_yticks(range(len(classes)), classes, fontsize=tick_size)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("confusion (colour: fraction of the true class)")
        for i in range(len(classes) if labelled else 0):
            for j in range(len(classes)):
                ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.5 else "black")
        fig.tight_layout()
        savefig_atomic(fig, path)
    finally:
        plt.close(fig)


def savefig_atomic(fig, path):
    """Save a matplotlib figure as a PNG at ``path`` atomically (see fileio)."""
    save_figure_atomic(fig, path, format="png", dpi=120)


def _mean_of(values, members):
    return sum(values[c] for c in members) / len(members) if members else None
