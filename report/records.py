"""The finished runs as report records: each run's method, setting and study, plus the rows and
groupings the tables are made of."""
import os

from report.labels import dataset_name, method_name, recipe_text, setting_name
from tools import collect
from tools.runs import get, list_runs


# Two-stage method -> the stage-1 method its paper starts from (named only when another is used).
STAGE1_OF = {"cRT": "CE", "LWS": "CE", "WB": "CE", "MiSLAS": "CE + mixup"}


def load_records(runs_root):
    """Finished runs as records; also the names of the unfinished ones.

    Returns:
        (records, unfinished): records are dicts with ``run``, ``config``, ``metrics``,
        ``method``, ``setting``, ``seed``, ``study`` ((dataset, recipe) text; a two-stage
        run's is its stage-1 run's when that run is found), ``stage2`` (a two-stage run's own
        recipe text, else None), ``summary`` (the test summary; the post-hoc or tau-normalised
        one for "+ post-hoc LA" and "+ τ-norm" records, whose ``stage2`` is None).
    """
    records, unfinished = [], []
    runs = list_runs(runs_root)
    configs = {run["name"]: run["config"] for run in runs if run["finished"] and run["config"]}
    for run in runs:
        if not run["finished"] or run["config"] is None:
            unfinished.append(run["name"])
            continue
        config, metrics = run["config"], run["metrics"]
        method, study = method_name(config), (dataset_name(config), recipe_text(config))
        stage1 = configs.get(_stage1_run(config))
        if stage1 is not None:
            study = (dataset_name(stage1), recipe_text(stage1))
            if method_name(stage1) != STAGE1_OF.get(method):
                method += f" (from {method_name(stage1)})"
        base = {"run": run["name"], "config": config, "metrics": metrics,
                "method": method, "setting": setting_name(config),
                "seed": config.get("seed"), "study": study,
                "stage2": recipe_text(config) if _stage1_run(config) else None}
        records.append(dict(base, summary=metrics["test"]))
        if metrics.get("test_posthoc"):
            tau = get(config, "eval.posthoc_tau", 0)
            records.append(dict(base, method=f"{method} + post-hoc LA (τ={tau:g})",
                                summary=metrics["test_posthoc"], stage2=None))
        if metrics.get("test_tau_norm"):
            chosen = metrics.get("tau_norm") or {}
            tau = f"τ={chosen.get('tau', 0):g}" + (" on val." if chosen.get("searched") else "")
            records.append(dict(base, method=f"{method} + τ-norm ({tau})",
                                summary=metrics["test_tau_norm"], stage2=None))
    return records, unfinished


def _stage1_run(config):
    """The name of the run folder a two-stage run started from (None for one-stage runs)."""
    path = get(config, "train.init_from", "")
    return os.path.basename(os.path.dirname(os.path.normpath(path))) if path else None


def group(records, field):
    groups = {}
    for record in records:
        groups.setdefault(record[field], []).append(record)
    return groups


def rows(records):
    return [{"method": r["method"], "setting": r["setting"], **collect.metric_values(r["summary"])}
            for r in records]


def ordered(present, expected, key=str):
    return [*[e for e in expected if e in present],
            *sorted((p for p in present if p not in expected), key=key)]


def setting_key(setting):
    profile, _, factor = setting.rpartition(" ")
    return (profile, float(factor))
