"""The report's figures (PNG, written atomically): per-class accuracy, learning curves,
confusion matrices and class counts."""
import re


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_per_class(records, methods, classes, counts, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    order = sorted(range(len(classes)), key=lambda c: (-counts[c], c))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(classes) * max(1, len(methods) / 3)), 4))
    for i, method in enumerate(methods):
        runs = [r["summary"]["per_class"] for r in records if r["method"] == method]
        means = [100 * sum(run[c] for run in runs) / len(runs) for c in order]
        ax.bar([x + (i - (len(methods) - 1) / 2) * width for x in range(len(order))], means,
               width, label=method)
    ax.set_xticks(range(len(order)), [f"{classes[c]}\n{counts[c]}" for c in order])
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)


def plot_learning_curves(records, methods, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for method in methods:
        run = min((r for r in records if r["method"] == method),
                  key=lambda r: (r["seed"] is None, r["seed"] or 0))
        history = run["metrics"]["history"]
        epochs = [h["epoch"] for h in history]
        loss_ax.plot(epochs, [h["train_loss"] for h in history], label=method)
        has_val = all(h.get("val_balanced_accuracy") is not None for h in history)
        accuracy = [100 * (h["val_balanced_accuracy"] if has_val else h["train_accuracy"])
                    for h in history]
        acc_ax.plot(epochs, accuracy, label=f"{method} ({'val bal.' if has_val else 'train'})")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy (%)")
    acc_ax.legend(fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)


def plot_confusion(records, classes, path):
    import torch
    from engine.metrics import save_confusion_png
    total = sum(torch.tensor(r["summary"]["confusion"]) for r in records)
    save_confusion_png(total, classes, path)


def plot_class_counts(profiles, classes, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(profiles), figsize=(2.6 * len(profiles) + 1, 3),
                             squeeze=False, sharey=True)
    for ax, (setting, counts) in zip(axes[0], profiles):
        ax.bar(range(len(counts)), counts)
        ax.set_yscale("log")
        ax.set_title(f"factor {setting}", fontsize=9)
        ax.set_xticks(range(len(counts)), classes, rotation=90, fontsize=7)
    axes[0][0].set_ylabel("training images")
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)
