"""A grid's summary: the test metrics of its finished runs, mean ± std over seeds, grouped by
every axis but the seed, as ``OUTDIR/<prefix>-summary.csv`` and ``.md``."""
import os

from fileio import write_text_atomic
from tools import collect
from tools.grid import SEED_KEY, expand, group_columns
from tools.runs import load_run


def summary_rows(runs, outdir):
    """One row per finished run of ``runs`` (``grid.expand`` runs): its axis labels and test
    metrics (fractions in [0, 1])."""
    rows = []
    for run in runs:
        folder = os.path.join(outdir, run["name"])
        state = load_run(folder) if os.path.isdir(folder) else None
        if state is not None and state["finished"]:
            rows.append({**run["labels"], **collect.metric_values(state["metrics"]["test"])})
    return rows


def write_summary(grid, outdir):
    """Write ``<outdir>/<prefix>-summary.csv`` and ``.md`` for the finished runs of the grid.

    Every group of the grid appears, in grid order; one without finished runs has n = 0.
    Nothing is written while no run of the grid has finished.

    Returns:
        (csv path, markdown path), or None when nothing was written.
    """
    runs = expand(grid)
    rows = summary_rows(runs, outdir)
    if not rows:
        return None
    by = group_columns(grid)
    keys = list(dict.fromkeys(tuple(run["labels"][c] for c in by) for run in runs))
    groups = collect.aggregate(rows, by, keys)
    stem = os.path.join(outdir, f"{grid['prefix']}-summary")
    write_text_atomic(collect.csv_text(groups, by), f"{stem}.csv")
    seeds = [label for axis in grid["axes"] if axis["key"] == SEED_KEY
             for label, _ in axis["values"]]
    note = (f"Test metrics of the runs `{grid['prefix']}-*` in `{outdir}` (base config "
            f"`{grid['base']}`), in percent: mean ± sample std over "
            f"{'seeds ' + ', '.join(seeds) if seeds else 'runs'}; n = finished runs; "
            f"{collect.MISSING} = no finished run or no class in the group.\n\n")
    write_text_atomic(f"# {grid['prefix']} summary\n\n{note}"
                      f"{collect.markdown_table(groups, by)}", f"{stem}.md")
    return f"{stem}.csv", f"{stem}.md"
