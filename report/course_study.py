"""The class-balanced focal loss study (configs/sweeps/cb_focal_beta_gamma.yaml): a table and
figures of CB focal over beta x gamma against plain CE and plain focal loss.

    python -m report.course_study --runs report/course/results --out report/course

Writes into ``--out``: ``table.md`` (one row per finished run: overall and balanced accuracy,
head / middle / tail thirds, many / medium / few-shot groups, in percent), ``heatmap.png``
(overall and tail accuracy over beta x gamma, with CE and focal named in the title) and
``per_class.png`` (per-class test accuracy of CE, focal and the CB corners of the grid).
"""
import argparse
import math
import os
import sys

from engine.errors import INPUT_ERRORS, report
from fileio import atomic_path, write_text_atomic
from report.figures import _pyplot, plot_per_class
from report.labels import method_name
from tools import collect
from tools.folders import check_output_folder
from tools.runs import list_runs

COLUMNS = [("accuracy", "Acc."), ("balanced_accuracy", "Bal. acc."), ("head", "Head"),
           ("middle", "Middle"), ("tail", "Tail"), ("many", "Many"), ("medium", "Medium"),
           ("few", "Few")]


def study_rows(runs_root):
    """The finished runs under ``runs_root`` as table rows, CE and focal first, then CB focal by
    beta and gamma.

    Returns:
        A list of dicts: ``run``, ``label`` ("CE", "Focal (γ=1)", "CB focal (β=0.999, γ=2)"),
        ``beta`` (None without class-balanced weights), ``gamma`` (0 for CE), ``summary`` (the
        run's test summary) and the ``COLUMNS`` metrics as fractions (None for an empty group).
    """
    rows = []
    for run in list_runs(runs_root):
        if not run["finished"] or run["config"] is None or run["metrics"] is None:
            continue
        loss = run["config"]["loss"]
        gamma = loss.get("gamma", 0.0) if loss["name"] == "focal" else 0.0
        beta = loss.get("beta") if loss.get("reweight") == "class_balanced" else None
        if beta is not None and loss["name"] == "focal":
            label = f"CB focal (β={beta:g}, γ={gamma:g})"
        elif loss["name"] == "focal":
            label = f"Focal (γ={gamma:g})"
        else:
            label = method_name(run["config"])
        summary = run["metrics"]["test"]
        rows.append({"run": run["name"], "label": label, "beta": beta, "gamma": gamma,
                     "summary": summary, "classes": run["metrics"]["classes"],
                     "counts": run["metrics"]["cls_num_list"],
                     **collect.metric_values(summary)})
    return sorted(rows, key=lambda r: (r["beta"] is not None, r["beta"] or 0, r["gamma"],
                                       r["label"]))


def percent(value):
    """A fraction as a percentage with one decimal, or "—" for None (an empty class group)."""
    return "—" if value is None else f"{100 * value:.1f}"


def table_markdown(rows):
    """The rows as a Markdown table, accuracies in percent."""
    header = "| Loss | β | γ | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (3 + len(COLUMNS))]
    for row in rows:
        beta = "—" if row["beta"] is None else f"{row['beta']:g}"
        cells = [row["label"], beta, f"{row['gamma']:g}",
                 *(percent(row[key]) for key, _ in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_heatmap(rows, path, metrics=(("accuracy", "overall accuracy"), ("tail", "tail accuracy"))):
    """Accuracy (%) of the CB focal runs over beta (rows) x gamma (columns), one panel per metric;
    a missing cell is blank and marked "—". CE and focal are named in each panel's title."""
    plt = _pyplot()
    cb = [r for r in rows if r["beta"] is not None]
    betas = sorted({r["beta"] for r in cb})
    gammas = sorted({r["gamma"] for r in cb})
    baselines = [r for r in rows if r["beta"] is None]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.8), squeeze=False)
    for ax, (key, title) in zip(axes[0], metrics):
        grid = [[math.nan] * len(gammas) for _ in betas]
        for r in cb:
            if r[key] is not None:
                grid[betas.index(r["beta"])][gammas.index(r["gamma"])] = 100 * r[key]
        image = ax.imshow(grid, cmap="viridis", aspect="auto")
        for i, line in enumerate(grid):
            for j, value in enumerate(line):
                ax.text(j, i, "—" if math.isnan(value) else f"{value:.1f}", ha="center",
                        va="center", color="white", fontsize=9)
        ax.set_xticks(range(len(gammas)), [f"γ={g:g}" for g in gammas])
        ax.set_yticks(range(len(betas)), [f"β={b:g}" for b in betas])
        others = ", ".join(f"{r['label']} {percent(r[key])}" for r in baselines)
        ax.set_title(f"CB focal, {title} (%)" + (f"\n{others}" if others else ""), fontsize=9)
        fig.colorbar(image, ax=ax)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp_path:
        fig.savefig(tmp_path, format="png", dpi=120)
    plt.close(fig)


def per_class_labels(rows):
    """CE, focal, and the CB runs at the grid's corners of beta with the middle gamma."""
    cb = [r for r in rows if r["beta"] is not None]
    chosen = [r["label"] for r in rows if r["beta"] is None]
    if cb:
        gammas = sorted({r["gamma"] for r in cb})
        middle = gammas[len(gammas) // 2]
        betas = sorted({r["beta"] for r in cb})
        chosen += [r["label"] for r in cb if r["gamma"] == middle and r["beta"] in
                   (betas[0], betas[-1])]
    return chosen


def build(runs_root, out_dir):
    """Write table.md, heatmap.png and per_class.png into ``out_dir``; returns the table text.

    While no CB focal run has finished (a sweep part-way), there is no grid to draw: the
    heatmap is left out, and an earlier heatmap.png in ``out_dir`` is removed so that it cannot
    be mistaken for this table's.

    Raises:
        ValueError: no finished run under ``runs_root``.
    """
    rows = study_rows(runs_root)
    if not rows:
        raise ValueError(f"{runs_root}: no finished run (config.yaml + metrics.json) found")
    check_output_folder(out_dir, "--out")
    os.makedirs(out_dir, exist_ok=True)
    table = table_markdown(rows)
    write_text_atomic(table, os.path.join(out_dir, "table.md"))
    heatmap = os.path.join(out_dir, "heatmap.png")
    if any(r["beta"] is not None for r in rows):
        plot_heatmap(rows, heatmap)
    elif os.path.exists(heatmap):
        os.remove(heatmap)
    records = [{"method": r["label"], "summary": r["summary"]} for r in rows]
    plot_per_class(records, per_class_labels(rows), rows[0]["classes"], rows[0]["counts"],
                   os.path.join(out_dir, "per_class.png"))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="report/course/results",
                        help="folder of the study's run folders (config.yaml + metrics.json)")
    parser.add_argument("--out", default="report/course", help="where the table and figures go")
    args = parser.parse_args(argv)
    try:
        print(build(args.runs, args.out), end="")
    except INPUT_ERRORS as error:
        return report(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
