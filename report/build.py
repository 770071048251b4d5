"""Build report/README.md and its figures from the training runs on disk.

    python -m report.build --runs runs --out report

Each finished run (see tools/runs.py) is classified from its config.yaml: the *method* from the
loss section (and the sampler), the *setting* from data.imbalance ("1" = balanced, "100" =
exponential profile at factor 100, "step 100"), and the *study* from the dataset and the
training recipe, so that numbers from different data or recipes never share a table. A run
evaluated with post-hoc logit adjustment contributes a second method, "<method> + post-hoc LA",
and one scored with the tau-normalised classifier "<method> + τ-norm". A two-stage run
(``train.init_from``: cRT, LWS, weight balancing, MiSLAS) joins the study of its stage-1 run
when that run is among the runs, since its features were learnt with that recipe; the study
section names each two-stage method's stage-2 recipe. MyModel runs get their own section.

The prose lives in report/template.md; its ``{{name}}`` placeholders are filled by
report/prose.py, from the records of report/records.py (names: report/labels.py) and the
figures of report/figures.py.
"""
import argparse
import os
import re
import sys

from engine.errors import INPUT_ERRORS, report
from fileio import write_text_atomic
from report import prose
from report.labels import MYMODEL
from report.records import group, load_records
from tools.folders import check_output_folder


TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.md")


def build(runs_root, out_dir):
    """Write ``out_dir``/README.md and ``out_dir``/figures/*.png from the runs in ``runs_root``.

    Returns:
        The README's path.

    Raises:
        ValueError: ``out_dir`` is a file or cannot be written; ``runs_root`` is no folder,
            holds no run, or holds no finished run while ``out_dir`` already has a report
            (which an empty one would replace).
    """
    check_output_folder(out_dir, "--out")
    if not os.path.isdir(runs_root):
        raise ValueError(f"--runs: {runs_root!r} is not a folder; expected the folder that "
                         "holds the run folders (e.g. runs)")
    records, unfinished = load_records(runs_root)
    path = os.path.join(out_dir, "README.md")
    if not records and not unfinished:
        raise ValueError(f"--runs: {runs_root!r} holds no run (no folder with a config.yaml); "
                         "nothing to report")
    if not records and os.path.exists(path):
        raise ValueError(f"--runs: {runs_root!r} holds no finished run; {path} is kept rather "
                         "than replaced with an empty report")
    figures_dir = os.path.join(out_dir, prose.FIGURES)
    os.makedirs(figures_dir, exist_ok=True)
    all_studies = group(records, "study")
    studies, models = {}, []
    # CIFAR-10 studies first: the comparison with published numbers uses the first study.
    for study, rows in sorted(all_studies.items(), key=lambda item: _is_cifar100(item[0])):
        if _compares_losses(rows):
            studies[study] = rows
        else:
            models += rows
    values = {
        "source": prose.source_text(runs_root, records, unfinished),
        "data_and_recipes": prose.recipes_text(all_studies),
        "jpeg_note": prose.jpeg_note(records),
        "results": "\n".join(prose.study_section(index, study, rows, figures_dir)
                             for index, (study, rows) in enumerate(studies.items(), 1))
                   or f"No finished runs of the methods were found under `{runs_root}`.",
        "key_numbers": prose.key_numbers(studies),
        "observations": prose.observations(studies),
        "models": prose.models_section(models),
    }
    with open(TEMPLATE, encoding="utf-8") as f:
        text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], f.read())
    write_text_atomic(text, path)
    return path


def _is_cifar100(study):
    return study[0].startswith("CIFAR-100")


def _compares_losses(records):
    """Whether a study's runs compare losses on imbalanced data; MyModel runs and studies
    of balanced runs only go to the models section instead."""
    return (records[0]["config"]["model"]["name"] != MYMODEL
            and any(r["setting"] != "1" for r in records))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m report.build",
        description="Build the report (README.md and figures/*.png) from the finished "
                    "training runs: results tables with mean ± std over seeds, per-class "
                    "accuracy, learning curves, confusion matrices and class counts.",
        epilog="Prose comes from report/template.md. Unfinished runs are left out and named.")
    parser.add_argument("--runs", default="runs", help="folder of run folders (default: runs)")
    parser.add_argument("--out", default="report", help="where README.md and figures/ go "
                                                        "(default: report)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        path = build(args.runs, args.out)
    except INPUT_ERRORS as error:
        return report(error)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
