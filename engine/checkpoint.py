"""Saving and loading checkpoints safely.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)``: a file from elsewhere can carry weights but never code.
Writes go to a temporary file in the same folder that is then renamed over the target, so a
crash or a full disk mid-write leaves the previous file intact.

Keys: ``format`` (FORMAT), ``model_name``, ``num_classes``, ``input_shape`` [C, H, W],
``classes``, ``model`` (state dict), and in ``last.pt`` everything needed to continue: ``config``,
``position`` (epoch and step to continue from), ``optimizer``, ``train_stats``, ``best``,
``history``, ``rng`` and ``wall_time_s``.
"""
import os
import pickle

import torch

from engine.errors import UserError
from engine.files import atomic_path

FORMAT = "longtail-checkpoint/1"


def atomic_save(obj, path):
    """``torch.save`` ``obj`` to ``path`` atomically (see engine.files)."""
    with atomic_path(path, suffix=".pt") as tmp_path:
        torch.save(obj, tmp_path)


def load_checkpoint(path):
    """Load a Longtail checkpoint on the CPU with ``weights_only=True``.

    Raises:
        UserError: the file is missing, is not a checkpoint, or holds anything but data.
    """
    if not os.path.isfile(path):
        raise UserError(f"checkpoint {path!r} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"checkpoint {path!r} cannot be loaded safely: it holds objects other "
                        "than tensors and plain data, which weights_only loading refuses") from None
    except Exception as exc:
        raise UserError(f"checkpoint {path!r} is not a readable PyTorch checkpoint "
                        f"({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise UserError(f"checkpoint {path!r} is not a Longtail checkpoint ({FORMAT})")
    return checkpoint


def check_compatible(checkpoint, path, model_name, num_classes, model):
    """Raise a one-line UserError unless ``checkpoint`` fits ``model``.

    Args:
        checkpoint: dict from ``load_checkpoint``.
        path: where it came from, for the message.
        model_name: canonical name of the model the config builds.
        num_classes: number of classes of the data in use.
        model: the built model, whose parameter names and shapes must match.
    """
    saved = f"{checkpoint['model_name']} with {checkpoint['num_classes']} classes"
    wanted = f"{model_name} with {num_classes} classes"
    if saved != wanted:
        raise UserError(f"checkpoint {path!r} holds {saved}; this config builds {wanted}")
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in checkpoint["model"].items()}
    if expected != found:
        differing = sorted(set(expected.items()) ^ set(found.items()))[0][0]
        raise UserError(
            f"checkpoint {path!r} does not fit the model {model_name}: parameter {differing!r} "
            "differs (was it saved with other model settings?)")


def model_record(model_name, num_classes, input_shape, classes, state_dict):
    """The part of a checkpoint that describes and holds the weights."""
    return {
        "format": FORMAT,
        "model_name": model_name,
        "num_classes": num_classes,
        "input_shape": list(input_shape),
        "classes": list(classes),
        "model": {name: t.detach().cpu() for name, t in state_dict.items()},
    }


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
