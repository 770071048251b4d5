"""The typed configuration of a run: schema, defaults, loading, overrides and validation.

A config file is YAML in our schema (the dataclasses below, documented key by key in
DEVELOPERS.md and README.md) or in the course's format (sections ``Train``, ``network``,
``data``, ``loss``), which is translated into our schema on load. ``--set key.sub=value``
overrides any key. Every value is checked before any work starts; a bad one raises
``UserError`` with one line ``<dotted.key>: got <value>; expected <what is allowed>``.

The lists of model and loss names live here, not in ``models/`` or ``losses/``, so that a
config can be checked without importing torch.
"""
import dataclasses
import difflib
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import List, Literal, get_args, get_origin, get_type_hints

import yaml

from engine.errors import UserError

MODEL_NAMES = ("twolayernet", "vanillacnn", "mymodel",
               "resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
LOSS_NAMES = ("ce", "focal", "sigmoid", "sigmoid_focal", "ldam", "logit_adjusted",
              "balanced_softmax", "las")
# Losses that need a class index per image: they refuse mixup's and CutMix's mixed labels.
HARD_LABEL_LOSSES = ("sigmoid", "sigmoid_focal", "ldam")


@dataclass
class ModelConfig:
    """The network: one of MODEL_NAMES (course spellings such as ``ResNet-32`` are accepted)."""
    name: Literal[MODEL_NAMES] = "resnet32"
    normed_classifier: bool = False          # cosine classifier as the last layer (LDAM)
    width: int = 16                          # MyModel stem channels = its graded default
    classifier_scales: bool = False          # LWS: a learnable scale per class on the logits


@dataclass
class ImbalanceConfig:
    """Long-tailed subset of the training set; factor = largest / smallest class size."""
    profile: Literal["none", "exp", "step"] = "none"
    factor: float = 1.0


@dataclass
class SyntheticConfig:
    """Shape of the generated dataset used by tests and smoke runs (sizes in images, pixels)."""
    num_classes: int = 10
    train_per_class: int = 100
    test_per_class: int = 20
    image_size: int = 32
    channels: int = 3


@dataclass
class DataConfig:
    """Where images come from, how the training set is cut, split, augmented and sampled."""
    dataset: Literal["cifar10", "cifar100", "imagefolder", "synthetic"] = "cifar10"
    root: str = "data"
    download: bool = True
    imbalance: ImbalanceConfig = field(default_factory=ImbalanceConfig)
    val_fraction: float = 0.1                # 0 = no validation, keep the last epoch
    augment: bool = True                     # random crop (pad 4) + horizontal flip
    sampler: Literal["instance", "class_balanced", "sqrt"] = "instance"
    sampler_epoch: int = 0                   # the sampler applies from this epoch on
    mix: Literal["none", "mixup", "cutmix"] = "none"   # mixed images and labels, per batch
    mix_alpha: float = 1.0                   # lambda ~ Beta(alpha, alpha)
    mix_until: int = 0                       # no mixing from this epoch on; 0 = every epoch
    cutout: int = 0                          # side of the zeroed square in pixels; 0 = off
    randaugment_ops: int = 0                 # RandAugment's N ops per image; 0 = off
    randaugment_magnitude: int = 9           # RandAugment's M, 0..30
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass
class LossConfig:
    """The training loss and its class-balanced weighting."""
    name: Literal[LOSS_NAMES] = "ce"
    gamma: float = 0.0                       # focal exponent
    beta: float = 0.9999                     # effective-number beta of the class weights
    reweight: Literal["none", "class_balanced"] = "none"
    reweight_epoch: int = 0                  # weights switch on here (DRW when > 0)
    ldam_max_margin: float = 0.5
    ldam_scale: float = 30.0
    tau: float = 1.0                         # logit-adjusted loss temperature
    las_head: float = 0.3                    # label-aware smoothing of the largest class
    las_tail: float = 0.0                    # ... and of the smallest class
    las_schedule: Literal["concave", "linear", "convex"] = "concave"


@dataclass
class TrainConfig:
    """SGD, the learning-rate schedule (epochs are 0-based) and CUDA speed switches."""
    epochs: int = 200
    batch_size: int = 128                    # the global batch
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 2e-4
    schedule: Literal["step", "cosine", "constant"] = "step"
    warmup_epochs: int = 5
    milestones: List[int] = field(default_factory=lambda: [160, 180])
    lr_decay: float = 0.01                   # lr multiplied by this at each milestone
    amp: bool = True                         # bf16 autocast (CUDA only)
    channels_last: bool = True               # (CUDA only)
    compile: bool = False                    # the whole step compiled: one CUDA graph per step
    fused_optimizer: bool = True             # (CUDA only)
    init_from: str = ""                      # start from this checkpoint's weights (stage 2)
    freeze: Literal["none", "features", "features_and_classifier"] = "none"
    bn_stats: Literal["frozen", "update"] = "frozen"   # frozen BatchNorm's running statistics
    reinit_classifier: bool = False          # re-initialise the classifier after init_from (cRT)
    maxnorm: float = 0.0                     # radius of each classifier row after a step; 0 = off
    maxnorm_relative: bool = False           # radius = min + maxnorm (max - min) of row norms


@dataclass
class EvalConfig:
    """Evaluation extras: post-hoc logit adjustment and the shot-group thresholds (images)."""
    posthoc_tau: float = 0.0                 # 0 = off
    tau_norm: float = 0.0                    # tau-normalised classifier's accuracy too; 0 = off
    tau_norm_search: bool = False            # choose tau on the validation split
    many_shot: int = 100
    few_shot: int = 20


@dataclass
class RunConfig:
    """Where a run's outputs go: ``dir/name/`` and ``checkpoint_dir/<model>.pth``."""
    name: str = ""                           # "" = the config file's stem
    dir: str = "runs"
    checkpoint_dir: str = "checkpoints"


@dataclass
class Config:
    """A whole run's configuration."""
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run: RunConfig = field(default_factory=RunConfig)


def _canonical_model_name(name):
    """``ResNet-32`` -> ``resnet32``: lowercase, without '-' and '_'."""
    return name.lower().replace("-", "").replace("_", "")


# Applied to a string value before it is checked against its choices; the result is stored.
NORMALISE = {"model.name": _canonical_model_name}

# Range of single values, beyond their type: dotted key -> (test, what is allowed).
RANGES = {
    "seed": (lambda v: v >= 0, ">= 0"),
    "model.width": (lambda v: v >= 4, ">= 4"),
    "data.root": (lambda v: v != "", "(a non-empty path)"),
    "data.imbalance.factor": (lambda v: v >= 1, ">= 1 (largest / smallest class size)"),
    "data.val_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "data.sampler_epoch": (lambda v: v >= 0, ">= 0"),
    "data.mix_alpha": (lambda v: v > 0, "> 0"),
    "data.mix_until": (lambda v: v >= 0, ">= 0 (0 = every epoch)"),
    "data.cutout": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "data.randaugment_ops": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "data.randaugment_magnitude": (lambda v: 0 <= v <= 30, "in [0, 30]"),
    "data.synthetic.num_classes": (lambda v: v >= 2, ">= 2"),
    "data.synthetic.train_per_class": (lambda v: v >= 1, ">= 1"),
    "data.synthetic.test_per_class": (lambda v: v >= 1, ">= 1"),
    "data.synthetic.image_size": (lambda v: v >= 8, ">= 8"),
    "data.synthetic.channels": (lambda v: v >= 1, ">= 1"),
    "loss.gamma": (lambda v: v >= 0, ">= 0"),
    "loss.beta": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "loss.reweight_epoch": (lambda v: v >= 0, ">= 0"),
    "loss.ldam_max_margin": (lambda v: v > 0, "> 0"),
    "loss.ldam_scale": (lambda v: v > 0, "> 0"),
    "loss.tau": (lambda v: v >= 0, ">= 0"),
    "loss.las_head": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "loss.las_tail": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.epochs": (lambda v: v >= 1, ">= 1"),
    "train.batch_size": (lambda v: v >= 1, ">= 1"),
    "train.lr": (lambda v: v > 0, "> 0"),
    "train.momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.weight_decay": (lambda v: v >= 0, ">= 0"),
    "train.warmup_epochs": (lambda v: v >= 0, ">= 0"),
    "train.milestones": (lambda v: all(m >= 1 for m in v), "(epochs >= 1)"),
    "train.lr_decay": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "train.maxnorm": (lambda v: v >= 0, ">= 0 (0 = off)"),
    "eval.posthoc_tau": (lambda v: v >= 0, ">= 0"),
    "eval.tau_norm": (lambda v: v >= 0, ">= 0"),
    "eval.many_shot": (lambda v: v >= 0, ">= 0"),
    "eval.few_shot": (lambda v: v >= 0, ">= 0"),
    "run.name": (lambda v: "/" not in v and "\\" not in v and v not in (".", ".."),
                 "(a folder name without '/'; '' = the config file's name)"),
    "run.dir": (lambda v: v != "", "(a non-empty path)"),
    "run.checkpoint_dir": (lambda v: v != "", "(a non-empty path)"),
}

TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
              List[int]: "a list of integers"}

# The course's format: four sections, each of which may hold any course key (the course's own
# files put ``gamma`` in Train or loss, ``save_best`` in network or data, ...).
COURSE_SECTIONS = ("Train", "network", "data", "loss")
# Course key -> the key of our schema it sets.
COURSE_KEYS = {
    "batch_size": "train.batch_size", "learning_rate": "train.lr", "reg": "train.weight_decay",
    "epochs": "train.epochs", "steps": "train.milestones", "warmup": "train.warmup_epochs",
    "momentum": "train.momentum", "gamma": "loss.gamma", "model": "model.name",
    "imbalance": "data.imbalance", "save_best": "data.val_fraction",
    "reweight": "loss.reweight", "beta": "loss.beta", "loss_type": "loss.name",
}
# Course keys whose value is copied unchanged; the others are translated in
# translate_course_config.
COURSE_COPIED = ("batch_size", "learning_rate", "reg", "epochs", "steps", "warmup", "momentum",
                 "gamma", "model", "beta")


class ConfigError(UserError):
    """A bad config value: ``<key>: got <value!r>; expected <expected>``, on one line."""

    def __init__(self, key, value, expected):
        super().__init__(f"{key}: got {value!r}; expected {expected}")
        self.key, self.value, self.expected = key, value, expected


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that also reads ``5e-4`` (no dot) as a number, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper that writes lists inline: ``milestones: [160, 180]``."""


_Dumper.add_representer(
    list, lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items,
                                                          flow_style=True))


def print_warning(line):
    """Print ``warning: <line>`` to stderr, from the main process only under torchrun."""
    if os.environ.get("RANK", "0") == "0":
        print(f"warning: {line}", file=sys.stderr, flush=True)


def load_config(path, overrides=(), warn=print_warning):
    """Read, translate, override and validate a config file.

    Args:
        path: YAML file in our schema or the course's format.
        overrides: strings ``dotted.key=value`` applied in order after reading (and after
            translating a course file); the value is read as YAML: ``3``, ``0.1``, ``5e-4``,
            ``true``, ``[100, 150]``, ``focal``.
        warn: called with one line for each schedule key clipped to a short run.

    Returns:
        A validated Config. An empty ``run.name`` becomes the file's name without extension.

    Raises:
        UserError: unreadable file, bad YAML, bad override, unknown key, wrong type or value.
    """
    raw = _read_yaml(path)
    course_origins = {}
    if is_course_format(raw):
        raw, course_origins = translate_course_config(raw)
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(raw, key, value)
        course_origins.pop(key, None)
    try:
        cfg = _build(Config, raw, "")
        if not cfg.run.name:
            cfg.run.name = os.path.splitext(os.path.basename(path))[0]
        _validate(cfg, warn)
    except ConfigError as error:
        if error.key not in course_origins:
            raise
        raise ConfigError(course_origins[error.key], error.value, error.expected) from None
    return cfg


def parse_override(text):
    """``"train.lr=0.05"`` -> ``("train.lr", 0.05)``: the key must exist, the value is YAML.

    An empty value is the empty string. Raises UserError for a missing '=', an unknown key
    (naming the closest valid one) or a value that is not YAML.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("--set", text, "KEY=VALUE, e.g. train.epochs=10")
    _check_key(key)
    if not value.strip():
        return key, ""
    try:
        return key, yaml.load(value, Loader=_Loader)
    except yaml.YAMLError:
        raise ConfigError(key, value, "a YAML value, e.g. 3, 0.1, true, focal or [100, 150]") \
            from None


def config_from_dict(raw, warn=print_warning):
    """Build and validate a Config from plain data (as ``config_to_dict`` gives or YAML holds).

    Raises:
        UserError: unknown key, wrong type or value.
    """
    cfg = _build(Config, raw, "")
    _validate(cfg, warn)
    return cfg


def config_to_dict(cfg):
    """Plain nested dicts, lists and scalars of a Config (``config.yaml``, checkpoints)."""
    return dataclasses.asdict(cfg)


def format_config(cfg):
    """The config as readable YAML, keys in schema order; ``load_config`` reads it back."""
    return yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False)


def dump_config(cfg, path):
    """Write ``format_config(cfg)`` to the file ``path``."""
    with open(path, "w") as f:
        f.write(format_config(cfg))


def is_course_format(raw):
    """Whether a YAML document is in the course's format (a ``Train`` or ``network`` section)."""
    return isinstance(raw, dict) and ("Train" in raw or "network" in raw)


def translate_course_config(raw):
    """Translate a course config into our schema (plain dicts, to be validated by the caller).

    Any course key may sit in any of the four sections (``Train``, ``network``, ``data``,
    ``loss``). The mapping: learning_rate -> train.lr, reg -> train.weight_decay, steps ->
    train.milestones with train.lr_decay 0.1 and the step schedule (the course multiplies the
    rate by 0.1 from its first step and by 0.01 from its second), warmup ->
    train.warmup_epochs, gamma -> loss.gamma, model -> model.name, imbalance ``regular`` -> no
    imbalance and ``imbalance`` -> the exponential profile with factor 100, save_best false ->
    data.val_fraction 0 (keep the last epoch; true keeps our validation split, on which the
    best checkpoint is chosen), reweight true -> loss.reweight class_balanced, loss_type
    ``CE`` -> ce and ``Focal`` -> focal.

    Returns:
        (raw, origins): the config in our schema, and for each copied key of our schema the
        place it came from (``"Train.gamma"``), so that errors name the user's own key.

    Raises:
        UserError: unknown section or key (naming the closest valid one), a key given in two
            sections with different values, or a value of imbalance, save_best, reweight or
            loss_type outside the course's choices.
    """
    values = _course_values(raw)
    out = {"train": {"schedule": "step", "lr_decay": 0.1}}
    origins = {}
    for key in COURSE_COPIED:
        if key in values:
            value, place = values[key]
            _set_dotted(out, COURSE_KEYS[key], value)
            origins[COURSE_KEYS[key]] = place
    translated = {
        "imbalance": {"regular": {"profile": "none", "factor": 1.0},
                      "imbalance": {"profile": "exp", "factor": 100.0}},
        "save_best": {True: None, False: 0.0},
        "reweight": {True: "class_balanced", False: "none"},
        "loss_type": {"CE": "ce", "Focal": "focal"},
    }
    for key, mapping in translated.items():
        if key in values:
            value, place = values[key]
            result = _course_choice(place, value, mapping)
            if result is not None:
                _set_dotted(out, COURSE_KEYS[key], result)
    return out, origins


def _course_values(raw):
    """{course key: (value, "Section.key")} over all sections of a course config.

    Raises:
        UserError: unknown section or key, a section that is no mapping, or one key given
            twice with different values.
    """
    found = {}
    for section, values in raw.items():
        if section not in COURSE_SECTIONS:
            raise _unknown_key(str(section), str(section), list(COURSE_SECTIONS))
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(section, values, f"a section with keys {', '.join(COURSE_KEYS)}")
        for key, value in values.items():
            place = f"{section}.{key}"
            if key not in COURSE_KEYS:
                raise _unknown_key(place, str(key), list(COURSE_KEYS), prefix=f"{section}.")
            if key in found and not _same_value(found[key][0], value):
                first_value, first_place = found[key]
                raise UserError(f"{place}: got {value!r}, but {first_place} is {first_value!r}; "
                                "expected the key once, or the same value in both places")
            found.setdefault(key, (value, place))
    return found


def _same_value(a, b):
    """Equal values of the same type (``True`` and ``1`` differ)."""
    return type(a) is type(b) and a == b


def _course_choice(key, value, mapping):
    """``mapping[value]`` for a course key whose values are a fixed set (bools must be bools)."""
    for choice, result in mapping.items():
        if _same_value(value, choice):
            return result
    raise ConfigError(key, value, " or ".join(str(choice) for choice in mapping))


def _read_yaml(path):
    """The YAML document in ``path`` (an empty file is ``{}``); UserError names the path."""
    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise UserError(f"config file {path!r} cannot be read ({reason})") from None
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"config file {path!r} is not valid YAML{where}: {problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"config file {path!r}: got a {type(raw).__name__}; expected a mapping "
                        "of keys and sections such as train: {epochs: 10}")
    return raw


def _check_key(dotted):
    """Raise a UserError naming the closest valid key unless ``dotted`` is in the schema."""
    cls, prefix = Config, ""
    for part in dotted.split("."):
        if cls is None:
            raise UserError(f"{dotted}: got an unknown key; expected no key under "
                            f"{prefix.rstrip('.')}, which holds a value")
        hints = get_type_hints(cls)
        if part not in hints:
            raise _unknown_key(prefix + part, part, list(hints), prefix=prefix)
        cls = hints[part] if dataclasses.is_dataclass(hints[part]) else None
        prefix += part + "."


def _unknown_key(dotted, key, valid, prefix=""):
    """The error for an unknown key, suggesting the closest of ``valid`` (keys under prefix)."""
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean {prefix}{close[0]}?" if close else ""
    return UserError(f"{dotted}: got an unknown key; expected one of "
                     f"{', '.join(valid)}{hint}")


def _set_dotted(raw, key, value):
    """Set ``raw[a][b][c] = value`` for key ``a.b.c``, creating missing sections."""
    node, parts = raw, key.split(".")
    for depth, part in enumerate(parts[:-1]):
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(".".join(parts[:depth + 1]), node, "a section of keys")
    node[parts[-1]] = value


def _build(cls, raw, prefix):
    """Dataclass ``cls`` from the mapping ``raw`` (None = all defaults), checking the keys.

    Values are stored as given; ``_validate`` checks them.
    """
    hints = get_type_hints(cls)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(prefix.rstrip("."), raw, f"a section with keys {', '.join(hints)}")
    values = {}
    for key, value in raw.items():
        if key not in hints:
            raise _unknown_key(f"{prefix}{key}", str(key), list(hints), prefix=prefix)
        if dataclasses.is_dataclass(hints[key]):
            value = _build(hints[key], value, f"{prefix}{key}.")
        values[key] = value
    return cls(**values)


def _validate(cfg, warn):
    """Check every value of ``cfg`` against its type, choices and range, then across keys.

    Normalises in place: ints given for floats become floats, model names canonical, schedule
    keys past the end of the run clipped (each clipping reported through ``warn(line)``).
    """
    _validate_fields(cfg, "")
    for line in _validate_relations(cfg):
        warn(line)



def _validate_fields(node, prefix):
    """Walk the dataclass ``node``, checking each value by its annotation and RANGES."""
    for name, kind in get_type_hints(type(node)).items():
        dotted, value = prefix + name, getattr(node, name)
        if dataclasses.is_dataclass(kind):
            _validate_fields(value, dotted + ".")
        elif get_origin(kind) is Literal:
            setattr(node, name, _check_choice(dotted, value, get_args(kind)))
        else:
            setattr(node, name, _check_typed(dotted, value, kind))


def _check_choice(dotted, value, choices):
    """``value`` (normalised when NORMALISE says so) if it is one of ``choices``."""
    normalise = NORMALISE.get(dotted)
    candidate = normalise(value) if normalise and isinstance(value, str) else value
    if not isinstance(candidate, str) or candidate not in choices:
        raise ConfigError(dotted, value, f"one of {', '.join(choices)}")
    return candidate


def _check_typed(dotted, value, kind):
    """``value`` if it has type ``kind`` (an int is a float too) and lies in its range."""
    test, allowed = RANGES.get(dotted, (lambda v: True, ""))
    expected = f"{TYPE_NAMES[kind]} {allowed}".rstrip()
    if not _has_type(value, kind) or not test(value):
        raise ConfigError(dotted, value, expected)
    return float(value) if kind is float else value


def _has_type(value, kind):
    """Whether ``value`` is a ``kind``: bools are never numbers, floats must be finite."""
    if kind == List[int]:
        return isinstance(value, list) and all(_has_type(v, int) for v in value)
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)


def _validate_relations(cfg):
    """Rules between keys: the schedule fits in the epochs, shot thresholds are ordered.

    A schedule key that falls past the end of a short run (a one-epoch trial of a 200-epoch
    config, say) is clipped or has no effect, and a warning says so; a value that is wrong at
    any run length raises ConfigError.

    Returns:
        The warnings, one line each.
    """
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
    if cfg.eval.few_shot > cfg.eval.many_shot:
        raise ConfigError("eval.few_shot", cfg.eval.few_shot,
                          f"an integer <= eval.many_shot ({cfg.eval.many_shot})")
    warnings.extend(_check_mix_keys(cfg))
    _check_classifier_keys(cfg)
    return warnings


def _check_classifier_keys(cfg):
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


def _check_mix_keys(cfg):
    """Mixed labels need a loss that takes soft targets; a mixing stop past the end of the run
    has no effect (a warning, like the other deferred switches).

    Returns:
        The warnings, one line each.
    """
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
