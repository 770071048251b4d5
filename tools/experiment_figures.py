"""What the depth x width study's JSON files (``tools/experiments.py`` writes them) show: one
PNG per experiment (train/test loss and accuracy vs epoch, a line per run) and ``summary.md``
(a row per run)."""
import json
import os

from fileio import atomic_path, write_text_atomic

LINE_STYLES = ("-", "--", ":", "-.")


def load_results(results_dir):
    """{experiment: its runs' results, by K then L} from the run JSON files of ``results_dir``.

    Raises:
        ValueError: the folder holds no run JSON file.
    """
    runs = {}
    for entry in sorted(os.scandir(results_dir), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            with open(entry.path, encoding="utf-8") as f:
                result = json.load(f)
            if "config" in result and "epochs" in result:
                runs.setdefault(result["config"]["experiment"], []).append(result)
    if not runs:
        raise ValueError(f"--results: no run JSON files in {results_dir!r}")
    for results in runs.values():
        results.sort(key=lambda r: (r["config"]["filters_per_layer"],
                                    r["config"]["layers_per_block"]))
    return dict(sorted(runs.items()))


def plot(runs, out_dir, log):
    """One PNG per experiment of ``runs`` (``load_results``): train/test loss and accuracy vs
    epoch, one line per run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    os.makedirs(out_dir, exist_ok=True)
    for experiment, results in runs.items():
        figure, axes = plt.subplots(2, 2, figsize=(11, 8.5), sharex=True, layout="constrained")
        # a colour per depth L, a line style per width K: runs of one L or one K stand out
        depths = sorted({r["config"]["layers_per_block"] for r in results})
        widths = sorted({tuple(r["config"]["filters_per_layer"]) for r in results})
        for result in results:
            config, epochs = result["config"], result["epochs"]
            label = f"L={config['layers_per_block']} K={config['filters_per_layer']}"
            style = dict(color=f"C{depths.index(config['layers_per_block']) % 10}",
                         linestyle=LINE_STYLES[widths.index(tuple(config['filters_per_layer']))
                                               % len(LINE_STYLES)])
            x = [e["epoch"] for e in epochs]
            for ax, key in zip(axes.flat, ("train_loss", "test_loss", "train_acc", "test_acc")):
                ax.plot(x, [e[key] for e in epochs], marker="o", label=label, **style)
        for ax, key in zip(axes.flat, ("train loss", "test loss", "train accuracy",
                                       "test accuracy")):
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        # legend: a column per depth, a row per width (columns fill first)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        order = sorted(range(len(results)), key=lambda i: (
            results[i]["config"]["layers_per_block"], results[i]["config"]["filters_per_layer"]))
        figure.legend([handles[i] for i in order], [labels[i] for i in order],
                      loc="outside lower center", ncol=len(depths), fontsize=9)
        figure.suptitle(f"{experiment} ({results[0]['config']['model']})")
        path = os.path.join(out_dir, f"{experiment}.png")
        with atomic_path(path, suffix=".png") as tmp_path:
            figure.savefig(tmp_path, dpi=90)
        plt.close(figure)
        log(f"wrote {path} ({len(results)} runs)")


def write_summary(runs, out_dir, log):
    """``summary.md`` in ``out_dir``: per experiment of ``runs`` (``load_results``), a row per
    run: its size (parameters, forward multiply-accumulates per image), the epochs it ran, its
    best test accuracy and its mean seconds per epoch with what timed them (CPU threads or
    the GPU)."""
    lines = ["# The depth x width study: every run's result", "",
             "Written by `python -m tools.experiments plot` from the JSON files beside it.", ""]
    for experiment, results in runs.items():
        lines += [f"## {experiment} ({results[0]['config']['model']})", "",
                  "| run | parameters | M MACs / image | epochs run | best test accuracy "
                  "| s / epoch | timed on |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for result in results:
            config, epochs = result["config"], result["epochs"]
            seconds = sum(e["seconds"] for e in epochs) / len(epochs) if epochs else 0
            state = "" if result.get("finished") else " (unfinished)"
            copied = f" (= {result['same_as']})" if "same_as" in result else ""
            lines.append(
                f"| {config['run']}{copied}{state} | {config['parameters']:,} | "
                f"{result['macs_per_image'] / 1e6:.1f} | {len(epochs)} | "
                f"{100 * result['best_test_acc']:.2f}% (epoch {result['best_epoch']}) | "
                f"{seconds:.0f} | {_timed_on(result)} |")
        lines.append("")
    path = os.path.join(out_dir, "summary.md")
    write_text_atomic("\n".join(lines), path)
    log(f"wrote {path} ({sum(len(r) for r in runs.values())} runs)")


def _timed_on(result):
    """"2 CPU threads", or the GPU's name."""
    device = result.get("device", "cpu")
    if device != "cpu":
        return device
    return f"{result['threads']} CPU thread{'s' if result['threads'] > 1 else ''}"
