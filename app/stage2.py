"""Two-stage runs: start from a finished run's weights, then train only part of the model.

Decoupled training (Kang et al. 2020) learns features in a first run and re-balances the
classifier in a second, short one. A stage-2 config names the first run's checkpoint in
``train.init_from``; this module loads it (``start_from``), optionally re-initialises the
classifier (cRT) and adds the LWS scales, freezes the features (``freeze``) and builds the
per-class MaxNorm projection of weight balancing (``maxnorm_step``).
"""
import os

import yaml
from torch import nn

import models
from engine import builders
from app.export import classes_beside
from engine import checkpoint as ckpt
from engine.config import config_to_dict
from models.classifier_norms import maxnorm_, relative_radius

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
# The keys that decide which images a run trains on: stage 2 must share them with stage 1.
SAME_IMAGES = ("seed", "data.dataset", "data.imbalance.profile", "data.imbalance.factor",
               "data.val_fraction", "data.synthetic")


def start_from(cfg, bundle, model):
    """Load ``train.init_from`` into ``model``, re-initialise its classifier and add the LWS
    scales as the config says.

    Args:
        cfg: the validated Config, with a non-empty ``train.init_from``.
        bundle: the run's data.DataBundle (its classes must be the checkpoint's).
        model: the model built for ``cfg`` WITHOUT classifier scales (the checkpoint of a
            one-stage run has none); changed in place.

    Returns:
        The record of where the run started (for metrics.json): {"path": the checkpoint,
        "run": the name of the run folder holding it (None when the folder holds no
        config.yaml, e.g. checkpoints/), "epoch": the 1-based epoch its weights come from
        (None if it does not say)}.

    Raises:
        ValueError: one line prefixed ``train.init_from:`` when the file is missing or not a
            Longtail checkpoint, or holds another model, class count or class list, or when
            its run folder's config.yaml shows that stage 1 trained on other images (another
            seed or other ``SAME_IMAGES`` data keys: another long-tailed subset or split).
    """
    path = cfg.train.init_from
    try:
        state = ckpt.load_weights(path)
        ckpt.check_compatible(state, path, cfg.model.name, bundle.num_classes, model)
    except ValueError as error:
        raise ValueError(f"train.init_from: {error}") from None
    classes = state["classes"] if state["model_name"] is not None else classes_beside(path)
    if classes is not None and list(classes) != list(bundle.classes):
        raise ValueError(f"train.init_from: checkpoint {path!r} was trained on the classes "
                        f"{', '.join(map(str, classes))}; this data has "
                        f"{', '.join(map(str, bundle.classes))}")
    _check_same_images(cfg, path)
    model.load_state_dict(state["model"])
    if cfg.train.reinit_classifier:
        models.final_linear(model).reset_parameters()
        builders.init_final_bias(model, cfg.loss)
    if cfg.model.classifier_scales:
        models.add_classifier_scales(model)
    return {"path": path, "run": _run_name(path), "epoch": _epoch(state)}


def describe(record):
    """One line for the console: ``init_from runs/ce/best.pt (run ce, epoch 200)``."""
    where = [f"run {record['run']}" if record["run"] else None,
             f"epoch {record['epoch']}" if record["epoch"] is not None else None]
    details = ", ".join(w for w in where if w)
    return f"init_from {record['path']}" + (f" ({details})" if details else "")


def freeze(model, train_cfg):
    """Freeze the model as ``train.freeze`` says; the BatchNorm layers to keep in eval mode.

    ``features``: every parameter but the classifier's (``models.classifier_module``: the
    final layer and its LWS scales) gets ``requires_grad = False``;
    ``features_and_classifier``: only the LWS scales keep training. Frozen parameters must be
    left out of the optimizer (so weight decay leaves them alone too).

    Returns:
        The BatchNorm modules that must stay in eval mode while training (running statistics
        frozen too): all of them with ``train.bn_stats: frozen`` and a frozen model, none
        otherwise (with ``update`` they normalise with batch statistics and re-estimate their
        running ones, while their affine parameters stay fixed).
    """
    if train_cfg.freeze == "none":
        return []
    classifier = models.classifier_module(model)
    trainable = (list(classifier.parameters()) if train_cfg.freeze == "features"
                 else [classifier.scales])
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in trainable:
        parameter.requires_grad_(True)
    if train_cfg.bn_stats == "update":
        return []
    return [m for m in model.modules() if isinstance(m, BATCH_NORMS)]


def maxnorm_step(model, train_cfg):
    """The per-class MaxNorm projection to run after every optimizer step, or None (off).

    The radius is ``train.maxnorm``, or with ``train.maxnorm_relative`` min + maxnorm * (max -
    min) of the classifier's row norms now, before training (Alshammari et al.'s threshold,
    fixed once: a resumed run calls this before restoring its weights, so it gets the same).
    """
    if train_cfg.maxnorm == 0:
        return None
    layer = models.final_linear(model)
    radius = train_cfg.maxnorm
    if train_cfg.maxnorm_relative:
        radius = relative_radius(layer.weight, radius)
    return MaxNormProjection(layer, radius)


class MaxNormProjection:
    """``projection(model)`` projects each row of the classifier ``layer``'s weight onto the
    L2 ball of ``radius`` (``models.classifier_norms.maxnorm_``); the bias is not constrained,
    as in Alshammari et al. The Trainer calls it after every optimizer step."""

    def __init__(self, layer, radius):
        self.layer = layer
        self.radius = radius

    def __call__(self, model):
        maxnorm_(self.layer.weight, self.radius)


def _check_same_images(cfg, path):
    """Refuse a stage-1 run (known by the config.yaml beside ``path``) whose training images
    differ from this config's."""
    config_path = os.path.join(os.path.dirname(os.path.abspath(path)), "config.yaml")
    if not os.path.isfile(config_path):
        return
    with open(config_path) as f:
        stage1 = yaml.safe_load(f)
    here = config_to_dict(cfg)
    for key in SAME_IMAGES:
        theirs, ours = _get(stage1, key), _get(here, key)
        if theirs != ours:
            raise ValueError(f"train.init_from: {path!r} was trained with {key} {theirs!r}, this "
                            f"config has {ours!r}; stage 2 must train on stage 1's images "
                            "(same seed and data settings)")


def _get(tree, dotted):
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def _run_name(path):
    folder = os.path.dirname(os.path.abspath(path))
    return (os.path.basename(folder) if os.path.isfile(os.path.join(folder, "config.yaml"))
            else None)


def _epoch(state):
    if state.get("epoch") is not None:
        return int(state["epoch"])
    if "position" in state:
        return int(state["position"][0])
    return None

