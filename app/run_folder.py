"""The run folder: creating a new one safely and reading an old one back for ``--resume``."""
import os
import shutil
import sys

import torch

from engine import checkpoint as ckpt
from engine.config import config_to_dict, dump_config, load_config
from fileio import check_writable_folder

MIN_FREE_BYTES = 50 * 2**20
NAME_MAX = 255  # bytes in one folder name on Linux, macOS and Windows file systems
# Keys a resumed run may change in its config.yaml: where it writes, how it is scored, and
# speed settings that leave the arithmetic alone. ``train.epochs`` has its own rule.
RESUME_MAY_CHANGE = ("run.", "eval.", "device", "data.download", "train.compile",
                     "train.channels_last", "train.fused_optimizer")


def count_parameters(model):
    """Number of scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def load_resume_state(resume_dir, cfg_from_flags):
    """The config and ``last.pt`` state of the run in ``resume_dir``.

    A config given with --config must resolve to the run's own config. An edited
    ``config.yaml`` may change only RESUME_MAY_CHANGE and ``train.epochs`` (not below the
    epochs already trained; a change is announced on stderr).

    Raises:
        ValueError: one line naming the folder, file or key.
    """
    last_path = os.path.join(resume_dir, "last.pt")
    if not os.path.isdir(resume_dir):
        raise ValueError(f"--resume: {resume_dir!r} is not a run folder")
    if not os.path.isfile(last_path):
        raise ValueError(f"--resume: {resume_dir!r} holds no last.pt to continue from")
    cfg = load_config(os.path.join(resume_dir, "config.yaml"))
    if cfg_from_flags is not None:
        saved, given = flatten(config_to_dict(cfg)), flatten(config_to_dict(cfg_from_flags))
        differing = sorted(k for k in saved.keys() | given.keys() if saved.get(k) != given.get(k))
        if differing:
            key = differing[0]
            raise ValueError(f"--resume: {key} is {saved.get(key)!r} in {resume_dir!r} but "
                             f"{given.get(key)!r} in the given config; drop --config to "
                             "continue the run as it was")
    state = ckpt.load_checkpoint(last_path, required=ckpt.RESUME_KEYS)
    _check_edits(flatten(state["config"]), flatten(config_to_dict(cfg)), state["position"],
                 resume_dir)
    return cfg, state


def _check_edits(saved, edited, position, resume_dir):
    """Refuse an edit of config.yaml that would change the run; allow more (or fewer, not
    below the work done) epochs with a warning."""
    where = os.path.join(resume_dir, "config.yaml")
    for key in sorted(saved.keys() | edited.keys()):
        if saved.get(key) == edited.get(key) or key.startswith(RESUME_MAY_CHANGE):
            continue
        if key != "train.epochs":
            raise ValueError(f"--resume: {key} is {edited.get(key)!r} in {where!r} but the run "
                             f"was trained with {saved.get(key)!r}; restore it to continue, or "
                             "start a new run")
        done = position[0] + (1 if position[1] else 0)
        if edited[key] < done:
            raise ValueError(f"--resume: train.epochs is {edited[key]} in {where!r}, fewer than "
                             f"the {done} epochs the run has reached; expected at least {done}")
        print(f"warning: train.epochs changed from {saved[key]} to {edited[key]} in {where!r}; "
              "the learning-rate schedule follows the new count", file=sys.stderr, flush=True)


def new_run_dir(cfg, model, context):
    """Create ``run.dir/run.name`` (``-2``, ``-3``, ... if taken) after checking it is writable.

    Every process gets the same path; only the main process creates it and writes the config.

    Raises:
        ValueError: naming ``run.name`` (too long, a NUL byte) or ``run.dir`` (a file,
            unwritable, too little free space).
    """
    name = cfg.run.name or "run"
    if "\0" in name or os.sep in name:
        raise ValueError(f"run.name: got {name!r}; expected a folder name (no NUL byte or "
                         f"{os.sep!r})")
    base = os.path.join(cfg.run.dir, name)
    path, suffix = base, 1
    while os.path.exists(path):
        suffix += 1
        path = f"{base}-{suffix}"
    if context.distributed:
        holder = [path]
        torch.distributed.broadcast_object_list(holder, src=0)
        path = holder[0]
    if not context.is_main:
        return path
    length = len(os.fsencode(os.path.basename(path)))
    if length > NAME_MAX:
        raise ValueError(f"run.name: {len(os.fsencode(name))} bytes is too long; expected a "
                         f"folder name of at most {NAME_MAX} bytes with its -N suffix")
    try:
        check_writable_folder(cfg.run.dir)
        os.makedirs(path)
    except OSError as exc:
        raise ValueError(f"run.dir: cannot write to {path!r} ({exc.strerror})") from None
    needed = MIN_FREE_BYTES + 6 * count_parameters(model) * 4
    free = shutil.disk_usage(path).free
    if free < needed:
        os.rmdir(path)
        raise ValueError(f"run.dir: only {free / 2**20:.0f} MiB free under {path!r}; "
                         f"expected at least {needed / 2**20:.0f} MiB for checkpoints")
    dump_config(cfg, os.path.join(path, "config.yaml"))
    return path


def flatten(tree, prefix=""):
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
