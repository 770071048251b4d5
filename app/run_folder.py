"""The run folder: creating a new one safely and reading an old one back for ``--resume``."""
import os
import shutil

import torch

from engine import checkpoint as ckpt
from engine.config import config_to_dict, dump_config, load_config
from engine.errors import UserError

MIN_FREE_BYTES = 50 * 2**20


def count_parameters(model):
    """Number of scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def load_resume_state(resume_dir, cfg_from_flags):
    """The config and ``last.pt`` state of the run in ``resume_dir``.

    A config given with --config must resolve to the run's own config.
    """
    last_path = os.path.join(resume_dir, "last.pt")
    if not os.path.isdir(resume_dir):
        raise UserError(f"--resume: {resume_dir!r} is not a run folder")
    if not os.path.isfile(last_path):
        raise UserError(f"--resume: {resume_dir!r} holds no last.pt to continue from")
    cfg = load_config(os.path.join(resume_dir, "config.yaml"))
    if cfg_from_flags is not None:
        saved, given = flatten(config_to_dict(cfg)), flatten(config_to_dict(cfg_from_flags))
        differing = sorted(k for k in saved.keys() | given.keys() if saved.get(k) != given.get(k))
        if differing:
            key = differing[0]
            raise UserError(f"--resume: {key} is {saved.get(key)!r} in {resume_dir!r} but "
                            f"{given.get(key)!r} in the given config; drop --config to continue "
                            "the run as it was")
    return cfg, ckpt.load_checkpoint(last_path)



def new_run_dir(cfg, model, context):
    """Create ``run.dir/run.name`` (``-2``, ``-3``, ... if taken) after checking it is writable.

    Every process gets the same path; only the main process creates it and writes the config.
    """
    base = os.path.join(cfg.run.dir, cfg.run.name or "run")
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
    try:
        os.makedirs(path)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"run.dir: cannot write to {path!r} ({exc.strerror})") from None
    needed = MIN_FREE_BYTES + 6 * count_parameters(model) * 4
    free = shutil.disk_usage(path).free
    if free < needed:
        os.rmdir(path)
        raise UserError(f"run.dir: only {free / 2**20:.0f} MiB free under {path!r}; "
                        f"expected at least {needed / 2**20:.0f} MiB for checkpoints")
    dump_config(cfg, os.path.join(path, "config.yaml"))
    return path



def flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
