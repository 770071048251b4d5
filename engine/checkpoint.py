"""Saving and loading checkpoints safely.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)``: a file from elsewhere can carry weights but never code.
Writes go through ``fileio`` (a temporary file renamed over the target), so a crash or a full
disk mid-write leaves the previous file intact.

Two forms are read:
- a Longtail record (``best.pt``, ``last.pt``). Keys: ``format`` (FORMAT), ``model_name``,
  ``num_classes``, ``input_shape`` [C, H, W], ``classes``, ``model`` (state dict), and in
  ``last.pt`` everything needed to continue: ``config``, ``position`` (epoch and step to
  continue from), ``optimizer``, ``train_stats``, ``best``, ``history``, ``rng`` and
  ``wall_time_s``;
- a plain state dict (``checkpoints/<name>.pth``, what the course's grader loads), whose
  model comes from the config.
"""
import os
import pickle

import torch

from fileio import torch_save_atomic

FORMAT = "longtail-checkpoint/1"
# The keys without which a record cannot be evaluated, or a run continued.
WEIGHTS_KEYS = ("model_name", "num_classes", "classes", "model")
RESUME_KEYS = WEIGHTS_KEYS + ("config", "position", "optimizer", "train_stats", "best",
                              "history", "rng", "wall_time_s")


def atomic_save(obj, path):
    """``torch.save`` ``obj`` to ``path`` atomically (see fileio)."""
    torch_save_atomic(obj, path)


def load_checkpoint(path, required=WEIGHTS_KEYS):
    """Load a Longtail record on the CPU with ``weights_only=True``.

    Raises:
        ValueError: one line naming ``path``: missing, a folder, not a checkpoint, holding
            anything but data, or lacking one of the ``required`` keys.
    """
    checkpoint = safe_load(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path!r} is not a Longtail checkpoint ({FORMAT})")
    _check_keys(checkpoint, path, required)
    return checkpoint


def load_weights(path):
    """A Longtail record, or a plain state dict wrapped as ``{"model": state_dict,
    "model_name": None, "classes": None}`` (its model and classes come from the config).

    Raises:
        ValueError: as ``load_checkpoint``, or a file that is neither form.
    """
    checkpoint = safe_load(path)
    if isinstance(checkpoint, dict) and checkpoint.get("format") == FORMAT:
        _check_keys(checkpoint, path, WEIGHTS_KEYS)
        return checkpoint
    if (isinstance(checkpoint, dict) and checkpoint
            and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                    for k, v in checkpoint.items())):
        return {"model": checkpoint, "model_name": None, "classes": None}
    raise ValueError(f"checkpoint {path!r} is neither a Longtail checkpoint ({FORMAT}) nor a "
                     "state dict of tensors")


def check_compatible(checkpoint, path, model_name, num_classes, model):
    """Raise a one-line ValueError unless ``checkpoint`` fits ``model``.

    Args:
        checkpoint: dict from ``load_checkpoint`` or ``load_weights`` (a plain state dict
            is checked by its tensors alone).
        path: where it came from, for the message.
        model_name: canonical name of the model the config builds.
        num_classes: number of classes of the data in use.
        model: the built model, whose parameter names and shapes must match.
    """
    if checkpoint.get("model_name") is not None:
        saved = f"{checkpoint['model_name']} with {checkpoint['num_classes']} classes"
        wanted = f"{model_name} with {num_classes} classes"
        if saved != wanted:
            raise ValueError(f"checkpoint {path!r} holds {saved}; this config builds {wanted}")
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in checkpoint["model"].items()}
    if expected != found:
        differing = sorted(set(expected.items()) ^ set(found.items()))[0][0]
        raise ValueError(
            f"checkpoint {path!r} does not fit the model {model_name}: parameter {differing!r} "
            "differs (was it saved with other model settings?)")


def check_classes(checkpoint_classes, path, classes):
    """Raise a one-line ValueError naming the first difference unless the class lists match
    (``checkpoint_classes`` None: unknown, not checked)."""
    if checkpoint_classes is None or list(checkpoint_classes) == list(classes):
        return
    saved, here = list(map(str, checkpoint_classes)), list(map(str, classes))
    index = next((i for i, (a, b) in enumerate(zip(saved, here)) if a != b),
                 min(len(saved), len(here)))
    first = (f"class {index} is {saved[index]!r} there, {here[index]!r} here"
             if index < min(len(saved), len(here))
             else f"{len(saved)} classes there, {len(here)} here")
    raise ValueError(f"checkpoint {path!r} was trained on other classes than this data's "
                     f"({first})")


def model_record(model_name, num_classes, input_shape, classes, state_dict):
    """The part of a checkpoint that describes and holds the weights."""
    return {
        "format": FORMAT,
        "model_name": model_name,
        "num_classes": num_classes,
        "input_shape": list(input_shape),
        "classes": list(classes),
        "model": plain_state_dict(state_dict),
    }


def plain_state_dict(state_dict):
    """``state_dict`` as contiguous CPU tensors, detached (what ``load_state_dict`` takes)."""
    return {name: t.detach().cpu().contiguous() for name, t in state_dict.items()}


def rng_state():
    """The global random-number states of torch (CPU and, when present, CUDA)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state):
    """Inverse of ``rng_state``."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def safe_load(path):
    """``torch.load(path, map_location="cpu", weights_only=True)``: tensors and plain data only.

    Raises:
        ValueError: one line naming ``path``: missing, a folder, unreadable, or holding
            anything but data.
    """
    if os.path.isdir(path):
        raise ValueError(f"checkpoint {path!r} is a folder; expected a checkpoint file "
                         "(e.g. best.pt inside it)")
    if not os.path.exists(path):
        raise ValueError(f"checkpoint {path!r} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"checkpoint {path!r} cannot be loaded safely: it holds objects other "
                         "than tensors and plain data, which weights_only loading refuses") \
            from None
    except Exception as exc:
        raise ValueError(f"checkpoint {path!r} is not a readable PyTorch checkpoint "
                         f"({type(exc).__name__})") from None


def _check_keys(checkpoint, path, required):
    missing = [key for key in required if key not in checkpoint]
    if missing:
        raise ValueError(f"checkpoint {path!r} has no {missing[0]!r} key; expected a complete "
                         f"{FORMAT} record")
