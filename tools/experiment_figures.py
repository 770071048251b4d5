"""Figures of the depth x width study: one PNG per experiment from the runs' JSON files
(``tools/experiments.py`` writes them): train/test loss and accuracy vs epoch, a line per run."""
import json
import os

from fileio import atomic_path


def plot(results_dir, out_dir, log):
    """One PNG per experiment: train/test loss and accuracy vs epoch, one line per run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs = {}
    for entry in sorted(os.scandir(results_dir), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            with open(entry.path, encoding="utf-8") as f:
                result = json.load(f)
            if "config" in result and "epochs" in result:
                runs.setdefault(result["config"]["experiment"], []).append(result)
    if not runs:
        raise ValueError(f"--results: no run JSON files in {results_dir!r}")
    os.makedirs(out_dir, exist_ok=True)
    for experiment, results in sorted(runs.items()):
        results.sort(key=lambda r: (r["config"]["filters_per_layer"],
                                    r["config"]["layers_per_block"]))
        figure, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
        for result in results:
            config, epochs = result["config"], result["epochs"]
            label = f"L={config['layers_per_block']} K={config['filters_per_layer']}"
            x = [e["epoch"] for e in epochs]
            for ax, key in zip(axes.flat, ("train_loss", "test_loss", "train_acc", "test_acc")):
                ax.plot(x, [e[key] for e in epochs], marker="o", label=label)
        for ax, key in zip(axes.flat, ("train loss", "test loss", "train accuracy",
                                       "test accuracy")):
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=8)
        figure.suptitle(f"{experiment} ({results[0]['config']['model']})")
        figure.tight_layout()
        path = os.path.join(out_dir, f"{experiment}.png")
        with atomic_path(path, suffix=".png") as tmp_path:
            figure.savefig(tmp_path, dpi=90)
        plt.close(figure)
        log(f"wrote {path} ({len(results)} runs)")
