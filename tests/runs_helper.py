"""Shared helpers for tests that train as a user would, on synthetic data: ``main.py`` in a
subprocess, or the application's ``train`` in this process."""
import contextlib
import io
import json
import os
import subprocess
import sys
import types

import torch
import yaml
from PIL import Image

import app
import data
import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_image_folder(root, classes, per_class, size):
    """An ImageFolder of generated size x size RGB PNGs: root/{train,test}/<class>/NNN.png,
    ``per_class`` images of each of ``classes`` classes in each split (data.make_synthetic)."""
    train, test, names = data.make_synthetic(classes, per_class, per_class, size, 3)
    for split, image_set in (("train", train), ("test", test)):
        for index, (image, label) in enumerate(zip(image_set.images, image_set.labels)):
            folder = os.path.join(root, split, names[label])
            os.makedirs(folder, exist_ok=True)
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(
                os.path.join(folder, f"{index:03d}.png"))


def synthetic_config(folder, **sections):
    """A small, fast config on synthetic long-tailed data whose outputs all go under ``folder``.

    ``sections`` replace keys inside a section, e.g. ``train={"epochs": 4}``.
    """
    config = {
        "seed": 0,
        "device": "cpu",
        "model": {"name": "vanillacnn"},
        "data": {
            "dataset": "synthetic",
            "val_fraction": 0.2,
            "imbalance": {"profile": "exp", "factor": 4},
            "synthetic": {"num_classes": 4, "train_per_class": 60, "test_per_class": 10,
                          "image_size": 16, "channels": 3},
        },
        "loss": {"name": "focal", "gamma": 1.0, "reweight": "class_balanced", "beta": 0.99},
        "train": {"epochs": 3, "batch_size": 16, "lr": 0.05, "warmup_epochs": 1,
                  "milestones": [2], "lr_decay": 0.1},
        "run": {"name": "e2e", "dir": os.path.join(folder, "runs"),
                "checkpoint_dir": os.path.join(folder, "checkpoints")},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            config[section].update(values)
        else:
            config[section] = values
    path = os.path.join(folder, "config.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path


# One thread per run: the tiny test models gain nothing from more, and OpenMP threads that
# compete for busy cores can slow a run by an order of magnitude.
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def main_command(*args):
    """The argv that runs ``main.py`` with this interpreter."""
    return [sys.executable, os.path.join(REPO, "main.py"), *args]


def run_main(*args):
    """Run ``main.py`` to completion; returns the CompletedProcess (text output captured)."""
    return subprocess.run(main_command(*args), cwd=REPO, capture_output=True, text=True,
                          env=ENV)


def main_in_process(*args):
    """``main.main(args)`` in this process on one thread, shaped like ``run_main``'s
    CompletedProcess: returncode, stdout, stderr (text)."""
    torch.set_num_threads(1)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def train_quietly(cfg, resume_dir=None):
    """Train ``cfg`` (or resume ``resume_dir``) in this process on one thread, as ``main.py``
    would, with its output swallowed; returns (run folder, its metrics.json as a dict)."""
    torch.set_num_threads(1)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_dir = app.train(cfg, resume_dir=resume_dir)
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return run_dir, json.load(f)
