"""Validation of a built Config: every value by its field's type and limits (the schema's
metadata), then the rules between keys. Normalises in place: ints given for floats become
floats, model names canonical, schedule keys past the end of a short run clipped."""
import dataclasses
import math
import os
from typing import Dict, List, Literal, Optional, get_args, get_origin

from engine.config.errors import ConfigError, ConfigTypeError
from engine.config.schema import (ANY_SIZE_MODEL_NAMES, BLOCK_MODEL_NAMES, HARD_LABEL_LOSSES,
                                  LOSS_NAMES, TYPE_NAMES, ModelConfig, leaf_fields)

# Bytes per generated pixel: the uint8 images kept, and the float32 template, noise and sum
# that generating the larger split holds at once (data/synthetic.py).
SYNTHETIC_KEPT_BYTES = 1
SYNTHETIC_PEAK_BYTES = 3 * 4


def validate(cfg, warn):
    """Check every value of ``cfg``, then the rules between keys; ``warn(line)`` is called
    for each schedule key clipped to a short run.

    Raises:
        ConfigError (ValueError): a value outside its limits or against another key;
        ConfigTypeError (TypeError): a value of the wrong type.
    """
    for dotted, item, kind in leaf_fields():
        parent, name = _parent(cfg, dotted)
        setattr(parent, name, check_value(dotted, getattr(parent, name), kind, item.metadata))
    for line in _relations(cfg):
        warn(line)


def _parent(cfg, dotted):
    *path, name = dotted.split(".")
    node = cfg
    for part in path:
        node = getattr(node, part)
    return node, name


def check_value(dotted, value, kind, metadata):
    """``value`` if it has type ``kind`` (an int is a float too) and passes the field's test;
    normalised as the metadata says, ints made floats for float fields."""
    if get_origin(kind) is Literal:
        return _check_choice(dotted, value, get_args(kind), metadata.get("normalise"))
    expected = f"{TYPE_NAMES[kind]} {metadata.get('allowed', '')}".rstrip()
    if not _has_type(value, kind):
        raise ConfigTypeError(dotted, value, expected)
    test = metadata.get("test")
    if test is not None and not test(value):
        raise ConfigError(dotted, value, expected)
    if kind is float:
        return float(value)
    if kind == Optional[List[float]] and value is not None:
        return [float(v) for v in value]
    return value


def _check_choice(dotted, value, choices, normalise):
    """``value`` (normalised when the schema says so) if it is one of ``choices``."""
    candidate = normalise(value) if normalise and isinstance(value, str) else value
    expected = f"one of {', '.join(choices)}"
    if not isinstance(candidate, str):
        raise ConfigTypeError(dotted, value, expected)
    if candidate not in choices:
        raise ConfigError(dotted, value, expected)
    return candidate


def _has_type(value, kind):
    """Whether ``value`` is a ``kind``: bools are never numbers, floats must be finite."""
    if kind == Optional[List[float]]:
        return value is None or (isinstance(value, list)
                                 and all(_has_type(v, float) for v in value))
    if kind == List[int]:
        return isinstance(value, list) and all(_has_type(v, int) for v in value)
    if kind == Dict[str, int]:
        return isinstance(value, dict) and all(
            isinstance(k, str) and _has_type(v, int) for k, v in value.items())
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)


def _relations(cfg):
    """Rules between keys; returns the warnings about a short run, one line each."""
    warnings = _schedule_rules(cfg)
    if cfg.eval.few_shot > cfg.eval.many_shot:
        raise ConfigError("eval.few_shot", cfg.eval.few_shot,
                          f"an integer <= eval.many_shot ({cfg.eval.many_shot})")
    warnings.extend(_mix_rules(cfg))
    warnings.extend(_downscale_rules(cfg))
    _classifier_rules(cfg)
    _block_model_rule(cfg.model)
    _normalisation_rule(cfg.data)
    _synthetic_size_rule(cfg.data)
    return warnings


# Block keys -> the models that use them (BLOCK_MODEL_NAMES when not listed).
BLOCK_KEYS = ("channels", "pool_every", "hidden_dims", "conv_params", "activation", "pooling",
              "batchnorm", "dropout", "bottleneck")
BLOCK_KEY_USERS = {"conv_params": ("cnn",), "batchnorm": ("resnetbuilder",),
                   "dropout": ("resnetbuilder",), "bottleneck": ("resnetbuilder",)}


def _block_model_rule(model):
    """A block key (model.channels ... model.bottleneck) keeps its default unless the chosen
    model uses it: every block key is refused with a fixed network, batchnorm, dropout and
    bottleneck with the plain cnn, conv_params with resnetbuilder (3x3 blocks only)."""
    defaults = ModelConfig()
    for name in BLOCK_KEYS:
        users = BLOCK_KEY_USERS.get(name, BLOCK_MODEL_NAMES)
        value, default = getattr(model, name), getattr(defaults, name)
        if model.name not in users and value != default:
            raise ConfigError(f"model.{name}", value, f"its default {_yaml(default)} with "
                              f"model.name {model.name} (only {' and '.join(users)} "
                              f"{'use' if len(users) > 1 else 'uses'} it)")


def _yaml(value):
    """A default as a config file writes it: false, 0.0, [32, 64], {kernel_size: 3}."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _normalisation_rule(data):
    """``data.mean`` and ``data.std`` come together, one value per channel."""
    if (data.mean is None) != (data.std is None):
        key, other = ("data.std", "data.mean") if data.mean is not None else \
            ("data.mean", "data.std")
        raise ConfigError(key, getattr(data, key.split(".")[1]),
                          f"3 numbers when {other} is given (or null for both)")
    if data.mean is not None and data.dataset == "synthetic" and data.synthetic.channels != 3:
        raise ConfigError("data.mean", data.mean, f"null with data.synthetic.channels "
                          f"{data.synthetic.channels} (one value per channel)")


def _schedule_rules(cfg):
    """The schedule fits in the epochs. A key that falls past the end of a short run (a
    one-epoch trial of a 200-epoch config, say) is clipped or has no effect, with a warning;
    a value that is wrong at any run length raises ConfigError."""
    train = cfg.train
    warnings = []
    milestones = train.milestones
    if any(later <= earlier for earlier, later in zip(milestones, milestones[1:])):
        raise ConfigError("train.milestones", milestones, "strictly increasing epochs")
    if train.warmup_epochs >= train.epochs:
        warnings.append(f"train.warmup_epochs: {train.warmup_epochs} is not below train.epochs "
                        f"({train.epochs}); the warm-up is shortened to {train.epochs - 1} "
                        "epoch(s)")
        train.warmup_epochs = train.epochs - 1
    late = [m for m in milestones if m >= train.epochs]
    if train.schedule == "step" and late:
        train.milestones = [m for m in milestones if m < train.epochs]
        warnings.append(f"train.milestones: {', '.join(map(str, late))} fall at or after the "
                        f"end of the run (train.epochs {train.epochs}); dropped, so the learning "
                        f"rate decays at {train.milestones or 'no epoch'} in this run")
    deferred = (("loss.reweight_epoch", cfg.loss.reweight_epoch,
                 cfg.loss.reweight != "none", "deferred re-weighting"),
                ("data.sampler_epoch", cfg.data.sampler_epoch,
                 cfg.data.sampler != "instance", "deferred re-sampling"))
    for key, value, active, what in deferred:
        if active and value >= train.epochs:
            warnings.append(f"{key}: {value} is not below train.epochs ({train.epochs}); "
                            f"{what} never switches on in this run")
    return warnings


def _classifier_rules(cfg):
    """Rules of the two-stage and classifier keys (train.init_from, freeze, bn_stats,
    reinit_classifier, maxnorm, model.classifier_scales, eval.tau_norm): a key that would have
    no effect, or a nonsensical effect, with the others raises ConfigError. Whether the
    init_from file exists is checked when training starts (a sweep's stage-2 runs name
    checkpoints that their stage-1 runs have not written yet)."""
    train, model, evaluation = cfg.train, cfg.model, cfg.eval
    if train.freeze != "none" and not train.init_from:
        raise ConfigError("train.freeze", train.freeze,
                          "none without train.init_from (frozen layers would stay random)")
    if train.freeze == "features_and_classifier" and not model.classifier_scales:
        raise ConfigError("train.freeze", train.freeze, "features or none without "
                          "model.classifier_scales (nothing would be left to train)")
    if train.bn_stats != "frozen" and train.freeze == "none":
        raise ConfigError("train.bn_stats", train.bn_stats, "frozen unless train.freeze is "
                          "features or features_and_classifier (trained BatchNorm layers "
                          "always update their statistics)")
    if train.reinit_classifier and not train.init_from:
        raise ConfigError("train.reinit_classifier", True, "false without train.init_from "
                          "(a new model's classifier is freshly initialised anyway)")
    if train.reinit_classifier and train.freeze == "features_and_classifier":
        raise ConfigError("train.reinit_classifier", True, "false with train.freeze "
                          "features_and_classifier (the classifier would stay random)")
    if train.maxnorm_relative and train.maxnorm == 0:
        raise ConfigError("train.maxnorm_relative", True, "false while train.maxnorm is 0 (off)")
    if model.normed_classifier and train.maxnorm > 0:
        raise ConfigError("train.maxnorm", train.maxnorm, "0 with model.normed_classifier "
                          "(a cosine classifier ignores the norms of its rows)")
    tau_norm_on = evaluation.tau_norm > 0 or evaluation.tau_norm_search
    if tau_norm_on and (model.normed_classifier or model.classifier_scales):
        key = "model.normed_classifier" if model.normed_classifier else \
            "model.classifier_scales"
        raise ConfigError("eval.tau_norm", evaluation.tau_norm, f"0 and eval.tau_norm_search "
                          f"false with {key} (tau-normalisation rescales a plain linear "
                          "classifier)")
    if evaluation.tau_norm_search and evaluation.tau_norm > 0:
        raise ConfigError("eval.tau_norm", evaluation.tau_norm,
                          "0 with eval.tau_norm_search (the search chooses tau)")
    if evaluation.tau_norm_search and cfg.data.val_fraction == 0:
        raise ConfigError("eval.tau_norm_search", True, "false while data.val_fraction is 0 "
                          "(tau is chosen on the validation split; give eval.tau_norm instead)")


def _mix_rules(cfg):
    """Mixed labels need a loss that takes soft targets; a mixing stop past the end of the run
    has no effect (a warning, like the other deferred switches)."""
    data = cfg.data
    if data.mix == "none":
        return []
    if cfg.loss.name in HARD_LABEL_LOSSES:
        soft = ", ".join(name for name in LOSS_NAMES if name not in HARD_LABEL_LOSSES)
        raise ConfigError("data.mix", data.mix, f"none with loss.name {cfg.loss.name} (it needs "
                          f"one class per image; mixed labels work with {soft})")
    if data.mix_until >= cfg.train.epochs:
        return [f"data.mix_until: {data.mix_until} is not below train.epochs "
                f"({cfg.train.epochs}); {data.mix} runs in every epoch of this run"]
    return []


def _downscale_rules(cfg):
    """Downscaled epochs need a model that takes any image size and a last downscaled epoch;
    without data.downscale_size, data.downscale_until must stay 0 (it would do nothing)."""
    data = cfg.data
    if not data.downscale_size:
        if data.downscale_until:
            raise ConfigError("data.downscale_until", data.downscale_until,
                              "0 without data.downscale_size (nothing is downscaled)")
        return []
    if cfg.model.name not in ANY_SIZE_MODEL_NAMES:
        raise ConfigError("data.downscale_size", data.downscale_size,
                          f"0 with model.name {cfg.model.name} (its classifier expects one "
                          f"image size; {', '.join(ANY_SIZE_MODEL_NAMES)} take any)")
    if not data.downscale_until:
        raise ConfigError("data.downscale_until", 0, "the first full-size epoch (>= 1) with "
                          "data.downscale_size")
    if data.downscale_until >= cfg.train.epochs:
        return [f"data.downscale_until: {data.downscale_until} is not below train.epochs "
                f"({cfg.train.epochs}); no epoch of this run trains on full-size images"]
    return []


def memory_limit():
    """Bytes a generated dataset may take: half of the physical memory (8 GiB when the system
    does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        return 8 * 2 ** 30


def _synthetic_size_rule(data, limit=None):
    """Refuse a synthetic dataset whose images cannot fit in memory, from their arithmetic:
    classes x (train + test) images x channels x side^2 bytes kept, plus the float32 working
    copies of the larger split while it is generated."""
    if data.dataset != "synthetic":
        return
    s = data.synthetic
    pixels = s.num_classes * s.channels * s.image_size ** 2
    need = (pixels * (s.train_per_class + s.test_per_class) * SYNTHETIC_KEPT_BYTES
            + pixels * max(s.train_per_class, s.test_per_class) * SYNTHETIC_PEAK_BYTES)
    limit = memory_limit() if limit is None else limit
    if need > limit:
        raise ConfigError("data.synthetic", dataclasses.asdict(s),
                          f"sizes whose images fit in memory (these need {need / 2 ** 30:.1f} "
                          f"GiB; the limit is half the machine's memory, "
                          f"{limit / 2 ** 30:.1f} GiB)")
