"""The config schema: the dataclasses of a run's configuration, with each key's documentation
and limits in its field's ``metadata``.

Metadata of a leaf field:
    meaning: one line for the key table (docs/configuration.md, ``main.py --keys``).
    test: ``value -> bool`` beyond the type (None = any value of the type).
    allowed: what ``test`` accepts, in words (``>= 1``, ``in [0, 1)``).
    normalise: applied to a string value before it is checked; the result is stored.
Choices are the field's ``Literal`` type; the other types are bool, int, float, str, a list of
ints, an optional list of floats and a mapping of names to ints.

The lists of model and loss names live here, not in ``models/`` or ``losses/``, so that a
config can be checked without importing torch; a test keeps them equal to the registries of
``engine.builders``.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, get_type_hints

# Models built from the block keys (model.channels ... model.bottleneck); the others ignore them.
BLOCK_MODEL_NAMES = ("cnn", "resnetbuilder")
# Models that end in global pooling, so that they take images of any size (data.downscale_size).
ANY_SIZE_MODEL_NAMES = ("mymodel", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
MODEL_NAMES = ("twolayernet", "vanillacnn", "mymodel",
               "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", *BLOCK_MODEL_NAMES)
# model.conv_params: the nn.Conv2d arguments it may give, each with its smallest value.
CONV_PARAM_LIMITS = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}
CONV_PARAMS_REQUIRED = ("kernel_size", "stride", "padding")
LOSS_NAMES = ("ce", "focal", "sigmoid", "sigmoid_focal", "ldam", "logit_adjusted",
              "balanced_softmax", "las")
# Losses that need a class index per image: they refuse mixup's and CutMix's mixed labels.
HARD_LABEL_LOSSES = ("sigmoid", "sigmoid_focal", "ldam")
# Largest seed + 1: torch.Generator.manual_seed takes an unsigned 64-bit integer.
SEED_LIMIT = 2 ** 64

TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
              List[int]: "a list of integers",
              Optional[List[float]]: "null or a list of numbers",
              Dict[str, int]: "a mapping of names to integers"}


def canonical_model_name(name):
    """``ResNet-32`` -> ``resnet32``: lowercase, without '-' and '_'."""
    return name.lower().replace("-", "").replace("_", "")


def key(default, meaning, test=None, allowed="", normalise=None, factory=None):
    """A schema field with its documentation and limits in ``metadata`` (see the module doc)."""
    metadata = {"meaning": meaning, "test": test, "allowed": allowed, "normalise": normalise}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def section(cls):
    """A field holding the sub-section ``cls`` with its defaults."""
    return field(default_factory=cls)


def _at_least(low, note=""):
    return lambda v: v >= low, f">= {low}{note}"


def _unit(v):
    return 0 <= v < 1


NON_EMPTY = (lambda v: v != "", "(a non-empty path)")


def _conv_params_ok(params):
    return set(CONV_PARAMS_REQUIRED) <= set(params) <= set(CONV_PARAM_LIMITS) and all(
        value >= CONV_PARAM_LIMITS[name] for name, value in params.items())


@dataclass
class ModelConfig:
    """The network."""
    name: Literal[MODEL_NAMES] = key(
        "resnet32", "the network (course spellings such as `ResNet-32` are accepted); cnn "
        "(plain) and resnetbuilder (residual, also spelt `resnet_builder`) are built from the "
        "keys below that name them",
        normalise=canonical_model_name)
    normed_classifier: bool = key(False, "cosine classifier as the last layer (LDAM's recipe)")
    width: int = key(16, "base channels of MyModel; 16 is the width of the graded MyModel() "
                     "(64 is a 16x costlier network for a GPU); other models ignore it",
                     *_at_least(4))
    classifier_scales: bool = key(False, "LWS: the logits of class c are multiplied by a "
                                  "learnable scale f_c (starting at 1): f_c (w_c·x + b_c)")
    channels: List[int] = key(
        None, "cnn, resnet_builder: output channels of each convolution, in order (N = its "
        "length)", lambda v: len(v) > 0 and min(v) >= 1, "(at least one, each >= 1)",
        factory=lambda: [32, 32, 64, 64])
    pool_every: int = key(2, "cnn, resnet_builder: convolutions per pooling layer P (each "
                          "group of P channels is one residual block in resnet_builder); a "
                          "last group of fewer is not pooled", *_at_least(1))
    hidden_dims: List[int] = key(
        None, "cnn, resnet_builder: widths of the hidden linear layers between the features "
        "and the logits; [] = one linear layer", lambda v: all(d >= 1 for d in v),
        "(each >= 1; may be empty)", factory=lambda: [100])
    conv_params: Dict[str, int] = key(
        None, "cnn: nn.Conv2d arguments of every convolution (resnet_builder: 3x3, stride 1, "
        "padding 1 only)", _conv_params_ok,
        "(kernel_size, stride, padding and optionally dilation; kernel_size, stride, "
        "dilation >= 1, padding >= 0)", factory=lambda: {"kernel_size": 3, "stride": 1,
                                                         "padding": 1})
    activation: Literal["relu", "lrelu"] = key(
        "relu", "cnn, resnet_builder: activation after each convolution and hidden layer "
        "(lrelu: LeakyReLU, slope 0.01)")
    pooling: Literal["max", "avg"] = key("max", "cnn, resnet_builder: 2x2 pooling (halves "
                                         "the feature maps, rounded down)")
    batchnorm: bool = key(False, "resnet_builder: BatchNorm after every convolution of a block "
                          "but its last")
    dropout: float = key(0.0, "resnet_builder: Dropout2d probability after every convolution "
                         "of a block but its last; 0 = none", _unit, "in [0, 1)")
    bottleneck: bool = key(False, "resnet_builder: a group of channels [c, c, ..., C_in] "
                           "(at least 3) becomes a bottleneck block (1x1, 3x3 ..., 1x1)")


@dataclass
class ImbalanceConfig:
    """Long-tailed subset of the training set."""
    profile: Literal["none", "exp", "step"] = key(
        "none", "exp: n_i = n_max (1/factor)^(i/(C-1)); step: the second half of the classes "
        "get n_max/factor")
    factor: float = key(1.0, "largest over smallest class size",
                        *_at_least(1, " (largest / smallest class size)"))


@dataclass
class SyntheticConfig:
    """Shape of the generated dataset used by tests and smoke runs (sizes in images, pixels)."""
    num_classes: int = key(10, "classes of the generated data", *_at_least(2))
    train_per_class: int = key(100, "generated training images per class", *_at_least(1))
    test_per_class: int = key(20, "generated test images per class", *_at_least(1))
    image_size: int = key(32, "side of the generated images in pixels", *_at_least(8))
    channels: int = key(3, "channels of the generated images", *_at_least(1))


@dataclass
class DataConfig:
    """Where images come from, how the training set is cut, split, augmented and sampled."""
    dataset: Literal["cifar10", "cifar100", "imagefolder", "synthetic"] = key(
        "cifar10", "where images come from")
    root: str = key("data", "CIFAR-10 / CIFAR-100 download folder, or the ImageFolder root",
                    *NON_EMPTY)
    download: bool = key(True, "download CIFAR-10 / CIFAR-100 when missing")
    imbalance: ImbalanceConfig = section(ImbalanceConfig)
    val_fraction: float = key(0.1, "stratified validation split held out of the training set; "
                              "0 = none, keep the last epoch", _unit, "in [0, 1)")
    augment: bool = key(True, "random crop (padding 4) and horizontal flip")
    mean: Optional[List[float]] = key(
        None, "per-channel mean (in [0, 1] pixel units) that normalises the images; null = "
        "the dataset's published values (CIFAR) or the training images' own",
        lambda v: v is None or (len(v) == 3 and all(0 <= x <= 1 for x in v)),
        "(3, each in [0, 1])")
    std: Optional[List[float]] = key(
        None, "per-channel standard deviation that normalises the images; null as for "
        "`data.mean`", lambda v: v is None or (len(v) == 3 and all(x > 0 for x in v)),
        "(3, each > 0)")
    sampler: Literal["instance", "class_balanced", "sqrt"] = key(
        "instance", "how training batches draw images")
    sampler_epoch: int = key(0, "the sampler applies from this epoch (deferred re-sampling); "
                             "instance before", *_at_least(0))
    mix: Literal["none", "mixup", "cutmix"] = key(
        "none", "mix each training batch with a permutation of itself, one λ per batch; needs "
        "a loss that takes soft targets (not ldam, sigmoid, sigmoid_focal)")
    mix_alpha: float = key(1.0, "λ ~ Beta(α, α)", lambda v: v > 0, "> 0")
    mix_until: int = key(0, "no mixing from this epoch on; 0 = every epoch",
                         *_at_least(0, " (0 = every epoch)"))
    cutout: int = key(0, "side in pixels of the square Cutout sets to the mean colour in "
                      "every training image; 0 = off", *_at_least(0, " (0 = off)"))
    randaugment_ops: int = key(0, "RandAugment's N operations per training image; 0 = off",
                               *_at_least(0, " (0 = off)"))
    randaugment_magnitude: int = key(9, "RandAugment's magnitude M (torchvision's scale)",
                                     lambda v: 0 <= v <= 30, "in [0, 30]")
    downscale_size: int = key(
        0, "side in pixels the training images are resized to (bilinear, antialiased) in "
        "the epochs before data.downscale_until (progressive resizing: cheaper early epochs, "
        "full-size images at the end and at test time); 0 = off; mymodel and resnet* only",
        lambda v: v == 0 or v >= 8, "0 (off) or >= 8")
    downscale_until: int = key(0, "the first epoch that trains on full-size images again "
                               "(with data.downscale_size)", *_at_least(0))
    synthetic: SyntheticConfig = section(SyntheticConfig)


@dataclass
class LossConfig:
    """The training loss and its class-balanced weighting."""
    name: Literal[LOSS_NAMES] = key(
        "ce", "the training loss: focal is the softmax focal loss, sigmoid_focal the sigmoid "
        "(one-vs-all) focal loss of Cui et al.")
    gamma: float = key(0.0, "focal exponent", *_at_least(0))
    beta: float = key(0.9999, "effective-number beta of class-balanced weights", _unit,
                      "in [0, 1)")
    reweight: Literal["none", "class_balanced"] = key(
        "none", "class-balanced weights (1-β)/(1-β^n), summing to C")
    reweight_epoch: int = key(0, "weights apply from this epoch: > 0 is deferred re-weighting "
                              "(DRW)", *_at_least(0))
    ldam_max_margin: float = key(0.5, "LDAM's largest margin", lambda v: v > 0, "> 0")
    ldam_scale: float = key(30.0, "LDAM's logit scale s", lambda v: v > 0, "> 0")
    tau: float = key(1.0, "logit-adjusted loss temperature", *_at_least(0))
    las_head: float = key(0.3, "label-aware smoothing ε of the largest class (MiSLAS: 0.3 on "
                          "CIFAR-10-LT, 0.4 on CIFAR-100-LT)", _unit, "in [0, 1)")
    las_tail: float = key(0.0, "ε of the smallest class (MiSLAS: 0.0 on CIFAR-10-LT, 0.1 on "
                          "CIFAR-100-LT)", _unit, "in [0, 1)")
    las_schedule: Literal["concave", "linear", "convex"] = key(
        "concave", "how ε grows from the smallest to the largest class")


@dataclass
class TrainConfig:
    """SGD, the learning-rate schedule (epochs are 0-based) and CUDA speed switches."""
    epochs: int = key(200, "training epochs", *_at_least(1))
    batch_size: int = key(128, "the global batch (split over processes under torchrun); the "
                          "last partial batch of an epoch is dropped", *_at_least(1))
    lr: float = key(0.1, "base learning rate", lambda v: v > 0, "> 0")
    momentum: float = key(0.9, "SGD momentum", _unit, "in [0, 1)")
    nesterov: bool = key(False, "Nesterov momentum")
    weight_decay: float = key(2e-4, "L2 on every parameter", *_at_least(0))
    schedule: Literal["step", "cosine", "constant"] = key("step", "after warm-up")
    warmup_epochs: int = key(5, "linear warm-up, per step (shortened to epochs - 1)",
                             *_at_least(0))
    milestones: List[int] = key(
        None, "step schedule: from 0-based epoch m on, lr is multiplied by `lr_decay` once "
        "more; strictly increasing; those at or after `train.epochs` are dropped",
        lambda v: all(m >= 1 for m in v), "(epochs >= 1)", factory=lambda: [160, 180])
    lr_decay: float = key(0.01, "factor per milestone", lambda v: 0 < v <= 1, "in (0, 1]")
    amp: bool = key(True, "bf16 autocast (CUDA only)")
    channels_last: bool = key(True, "channels-last memory format (CUDA and CPU)")
    compile: bool = key(False, "compile the whole training step (`torch.compile`): one CUDA "
                        "graph per step on CUDA")
    fused_optimizer: bool = key(True, "fused SGD kernel (CUDA only)")
    init_from: str = key("", "start from this checkpoint's weights (a stage-2 run); checked "
                         "when training starts: same model, class count and classes")
    freeze: Literal["none", "features", "features_and_classifier"] = key(
        "none", "features: only the classifier (and the LWS scales) trains; "
        "features_and_classifier: only the LWS scales train. Needs `train.init_from`")
    bn_stats: Literal["frozen", "update"] = key(
        "frozen", "with a frozen model, BatchNorm layers stay in eval mode (frozen); update "
        "re-estimates their running statistics (MiSLAS)")
    reinit_classifier: bool = key(False, "re-initialise the classifier after loading "
                                  "`train.init_from` (cRT)")
    maxnorm: float = key(0.0, "after every optimizer step, each classifier row longer than this "
                         "radius is scaled back onto it (weight balancing); 0 = off",
                         *_at_least(0, " (0 = off)"))
    maxnorm_relative: bool = key(False, "the radius is min + `maxnorm` × (max − min) of the "
                                 "classifier's row norms at the start of training")


@dataclass
class EvalConfig:
    """Evaluation extras: post-hoc logit adjustment and the shot-group thresholds (images)."""
    posthoc_tau: float = key(0.0, "also report post-hoc logit-adjusted accuracy (logits - τ "
                             "log prior); 0 = off", *_at_least(0))
    tau_norm: float = key(0.0, "also report the accuracy of the τ-normalised classifier (rows "
                          "w_c / ‖w_c‖^τ, bias dropped); 0 = off", *_at_least(0))
    tau_norm_search: bool = key(False, "choose τ in 0, 0.1, ..., 2 by the balanced accuracy on "
                                "the validation split")
    many_shot: int = key(100, "classes with more training images are many-shot",
                         *_at_least(0))
    few_shot: int = key(20, "classes with fewer are few-shot", *_at_least(0))


@dataclass
class RunConfig:
    """Where a run's outputs go: ``dir/name/`` and ``checkpoint_dir/<model>.pth``."""
    name: str = key("", "folder under `run.dir`; \"\" = the config file's name",
                    lambda v: not set(v) & {"/", "\\", "\0"} and v not in (".", ".."),
                    "(a folder name without '/' or NUL; '' = the config file's name)")
    dir: str = key("runs", "folder of the run folders", *NON_EMPTY)
    checkpoint_dir: str = key("checkpoints", "where `<model>.pth` (best weights) goes",
                              *NON_EMPTY)


@dataclass
class Config:
    """A whole run's configuration."""
    seed: int = key(0, "seeds the model's initialisation, the long-tailed subset, the split "
                    "and every batch", lambda v: 0 <= v < SEED_LIMIT,
                    "in [0, 2**64) (torch's generator range)")
    device: Literal["auto", "cpu", "cuda"] = key("auto", "auto takes CUDA when present")
    model: ModelConfig = section(ModelConfig)
    data: DataConfig = section(DataConfig)
    loss: LossConfig = section(LossConfig)
    train: TrainConfig = section(TrainConfig)
    eval: EvalConfig = section(EvalConfig)
    run: RunConfig = section(RunConfig)


def leaf_fields(cls=Config, prefix=""):
    """Yield ``(dotted key, dataclasses.Field, type)`` for every leaf key, in schema order."""
    hints = get_type_hints(cls)
    for item in dataclasses.fields(cls):
        kind = hints[item.name]
        if dataclasses.is_dataclass(kind):
            yield from leaf_fields(kind, f"{prefix}{item.name}.")
        else:
            yield prefix + item.name, item, kind
