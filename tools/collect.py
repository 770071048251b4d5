"""Aggregate finished runs into tables: mean ± sample std over seeds, as CSV and Markdown.

A *row* is one run: a dict holding the grouping columns (e.g. ``method``, ``factor``) and the
metric columns of ``METRICS`` (fractions in [0, 1], or None where a metric does not exist, such
as the few-shot accuracy when no class is few-shot). ``aggregate`` groups rows and summarises
each metric as a ``Stat``.
"""
import csv
import io
import math
import statistics
from collections import namedtuple

# (column, label): the metrics every table reports, in order.
METRICS = [("accuracy", "accuracy"), ("balanced_accuracy", "balanced acc."),
           ("macro_f1", "macro-F1"), ("many", "many"), ("medium", "medium"), ("few", "few"),
           ("head", "head"), ("middle", "middle"), ("tail", "tail")]
MISSING = "—"

Stat = namedtuple("Stat", "mean std n")
Stat.__doc__ = """One metric over a group's runs: mean and sample std (fractions; None when
n < 1 resp. n < 2) of the n runs where the metric exists."""


def metric_values(summary):
    """The ``METRICS`` columns of one ``engine.metrics.summarize`` dict (floats or None)."""
    return {"accuracy": summary["accuracy"],
            "balanced_accuracy": summary["balanced_accuracy"],
            "macro_f1": summary["macro_f1"],
            **summary["groups"], **summary["thirds"]}


def aggregate(rows, by, keys=None):
    """Group rows by the ``by`` columns and summarise every metric.

    Args:
        rows: dicts with the ``by`` columns and the ``METRICS`` columns.
        by: the grouping column names (every other varying column, such as the seed, is
            averaged over).
        keys: optional list of value tuples (one value per ``by`` column) giving the groups
            and their order; groups without rows are kept with n = 0. Default: the groups
            present, in order of first appearance.

    Returns:
        A list of dicts: the ``by`` columns, ``n`` (runs in the group) and one ``Stat`` per
        metric column.
    """
    members = {}
    for row in rows:
        members.setdefault(tuple(row[column] for column in by), []).append(row)
    groups = []
    for key in (keys if keys is not None else list(members)):
        group_rows = members.get(tuple(key), [])
        group = dict(zip(by, key))
        group["n"] = len(group_rows)
        for column, _ in METRICS:
            group[column] = _stat([row[column] for row in group_rows
                                   if row.get(column) is not None])
        groups.append(group)
    return groups


def format_stat(stat, digits=2):
    """``"74.57 ± 0.31"`` in percent; the mean alone for one run; ``MISSING`` for none."""
    if stat.n == 0:
        return MISSING
    text = f"{100 * stat.mean:.{digits}f}"
    return text if stat.std is None else f"{text} ± {100 * stat.std:.{digits}f}"


def csv_text(groups, by):
    """CSV of ``aggregate`` output: the ``by`` columns, n, then ``<metric>_mean`` and
    ``<metric>_std`` per metric as fractions (empty where missing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*by, "n", *(f"{column}_{part}" for column, _ in METRICS
                                 for part in ("mean", "std"))])
    for group in groups:
        values = []
        for column, _ in METRICS:
            stat = group[column]
            values += ["" if v is None else repr(v) for v in (stat.mean, stat.std)]
        writer.writerow([*(group[column] for column in by), group["n"], *values])
    return out.getvalue()


def markdown_table(groups, by, metrics=METRICS):
    """Markdown table of ``aggregate`` output: the ``by`` columns, n, then each metric as
    mean ± std in percent."""
    header = [*by, "n", *(label for _, label in metrics)]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    for group in groups:
        cells = [*(str(group[column]) for column in by), str(group["n"]),
                 *(format_stat(group[column]) for column, _ in metrics)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _stat(values):
    if not values:
        return Stat(None, None, 0)
    std = statistics.stdev(values) if len(values) > 1 else None
    mean = math.fsum(values) / len(values)
    return Stat(mean, std, len(values))
