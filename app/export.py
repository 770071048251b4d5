"""The course-style export: ``checkpoints/<name>.pth`` (the best weights as a plain state dict,
what the course's grader loads into its freshly built model) and ``checkpoints/<name>.json``
(where they came from). A run that replaces an earlier export says which file and run it
replaced; that run's own ``best.pt`` still holds the earlier weights."""
import json
import os
import re

from engine import checkpoint as ckpt
from fileio import check_writable_folder, torch_save_atomic, write_json_atomic


def course_name(model_name):
    """The course's file name for a model: ``resnet32`` -> ``resnet-32``; others unchanged
    (``twolayernet``, ``vanillacnn``, ``mymodel``)."""
    match = re.fullmatch(r"resnet(\d+)", model_name)
    return f"resnet-{match.group(1)}" if match else model_name


def export_paths(checkpoint_dir, model_name):
    """(``<dir>/<name>.pth``, ``<dir>/<name>.json``) for ``model_name``."""
    stem = os.path.join(checkpoint_dir, course_name(model_name))
    return f"{stem}.pth", f"{stem}.json"


def check_checkpoint_dir(checkpoint_dir):
    """Raise a one-line ValueError naming ``run.checkpoint_dir`` unless it can be written."""
    try:
        check_writable_folder(checkpoint_dir)
    except OSError as exc:
        where = f"{exc.filename!r} " if exc.filename != os.path.abspath(checkpoint_dir) else ""
        raise ValueError(f"run.checkpoint_dir: cannot write to {checkpoint_dir!r} ({where}"
                         f"{exc.strerror or exc})") from None


def export_best(model, model_name, checkpoint_dir, record):
    """Write ``model``'s weights and ``record`` (plain data: run, run_dir, config, epoch,
    test_accuracy, classes) as the export of ``model_name``, each file atomically.

    Returns:
        Lines for the console: what was written, and what it replaced (file and run).
    """
    weights_path, record_path = export_paths(checkpoint_dir, model_name)
    previous = _previous(weights_path, record_path)
    os.makedirs(checkpoint_dir, exist_ok=True)
    torch_save_atomic(ckpt.plain_state_dict(model.state_dict()), weights_path)
    write_json_atomic(record, record_path)
    lines = [f"exported the best weights (epoch {record['epoch']}) to {weights_path} "
             f"(a plain state_dict) and {record_path}"]
    if previous is not None:
        lines.append(f"replaced the earlier {weights_path}, {previous}")
    return lines


def classes_beside(weights_path):
    """The class list in the ``.json`` beside an exported ``.pth``, or None."""
    record_path = os.path.splitext(weights_path)[0] + ".json"
    try:
        with open(record_path, encoding="utf-8") as f:
            classes = json.load(f).get("classes")
    except (OSError, ValueError, AttributeError):
        return None
    return classes if isinstance(classes, list) else None


def _previous(weights_path, record_path):
    """Where the file about to be replaced came from (for the console), or None if new."""
    if not os.path.exists(weights_path):
        return None
    try:
        with open(record_path, encoding="utf-8") as f:
            old = json.load(f)
        run_dir, epoch = old["run_dir"], old["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"whose run is unknown (no readable {os.path.basename(record_path)} beside it)"
    accuracy = old.get("test_accuracy")
    scored = f", test accuracy {accuracy:.4f}" if isinstance(accuracy, float) else ""
    return (f"which came from run {run_dir} (epoch {epoch}{scored}); its best.pt still holds "
            "those weights")
