"""The run folder: what one ``python main.py`` training run leaves on disk, and its loader.

Every training run writes ``<run.dir>/<run.name>/`` (``runs/<name>/`` by default):

``config.yaml``
    The resolved config (every key of the schema in DEVELOPERS.md, defaults filled in), written
    when the run starts; ``main.py --resume`` reads it back.
``metrics.json``
    Written atomically once, when the run has finished::

        {"run": str,                          # the folder's name
         "finished": true,
         "dataset": str,                      # data.dataset: cifar10 | imagefolder | synthetic
         "classes": [str, ...],               # C class names
         "cls_num_list": [int, ...],          # C training images per class (after subset/split)
         "best_epoch": int | null,            # 1-based epoch whose weights were tested
         "best_val_balanced_accuracy": float | null,   # null without a validation split
         "epochs": int,                       # train.epochs
         "wall_time_s": float,                # training + testing time, seconds
         "device": str,                       # e.g. "cuda:0", "cpu"
         "test": <summary>,                   # engine.metrics.summarize on the test set
         "test_posthoc": <summary> | null,    # the same after post-hoc logit adjustment
         "test_tau_norm": <summary> | null,   # ... with the tau-normalised classifier
         "tau_norm": {"tau": float, "searched": bool,
                      "val_balanced_accuracy": float | null} | null,
         "init_from": {"path": str, "run": str | null,      # a two-stage run's stage 1
                       "epoch": int | null} | null,
         "history": [{"epoch": int, "lr": float, "train_loss": float,
                      "train_accuracy": float, "val_accuracy": float | null,
                      "val_balanced_accuracy": float | null, ...}, ...]}

    A summary holds ``accuracy``, ``per_class``, ``balanced_accuracy``, ``macro_f1``,
    ``groups`` / ``group_classes`` (many, medium, few), ``thirds`` / ``thirds_classes``
    (head, middle, tail) and ``confusion`` (rows = true class); accuracies are fractions in
    [0, 1]. History records may carry more keys (e.g. ``seconds``).
``confusion.png``
    The test confusion matrix, row-normalised, with counts.
``best.pt``, ``last.pt``
    The tested weights, and everything needed to continue (``main.py --resume RUN_DIR``).
``events.out.tfevents.*``
    TensorBoard logs.

A run is *finished* iff ``metrics.json`` exists and holds ``"finished": true``. A folder with
``last.pt`` but no finished ``metrics.json`` was interrupted and can be resumed.
"""
import json
import os

import yaml


def load_run(path):
    """Read one run folder.

    Args:
        path: the run's folder.

    Returns:
        dict with ``name`` (the folder's name), ``path``, ``config`` (the parsed config.yaml,
        or None when absent), ``metrics`` (the parsed metrics.json, or None when absent),
        ``finished`` (bool, see the module docstring) and ``resumable`` (``last.pt`` exists
        and the run has not finished).

    Raises:
        ValueError: config.yaml or metrics.json exists but cannot be parsed.
    """
    config = _read(os.path.join(path, "config.yaml"), yaml.safe_load)
    metrics = _read(os.path.join(path, "metrics.json"), json.load)
    finished = isinstance(metrics, dict) and metrics.get("finished") is True
    return {
        "name": os.path.basename(os.path.normpath(path)),
        "path": path,
        "config": config,
        "metrics": metrics,
        "finished": finished,
        "resumable": not finished and os.path.isfile(os.path.join(path, "last.pt")),
    }


def list_runs(root):
    """Every run folder directly under ``root`` (those holding config.yaml), sorted by name.

    Returns:
        A list of ``load_run`` dicts; empty when ``root`` does not exist.
    """
    if not os.path.isdir(root):
        return []
    folders = sorted(entry for entry in os.listdir(root)
                     if os.path.isfile(os.path.join(root, entry, "config.yaml")))
    return [load_run(os.path.join(root, entry)) for entry in folders]


def get(config, dotted, default=None):
    """``config["a"]["b"]`` for ``dotted == "a.b"``; ``default`` when a key is missing."""
    node = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _read(path, parse):
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        try:
            return parse(f)
        except (ValueError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: cannot be parsed ({error})") from None
