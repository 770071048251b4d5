"""Models and losses by their config names: the registries behind ``model.name`` and
``loss.name``, and the config-facing checks where the data meets the model.

``models/`` and ``losses/`` import only torch, so that they stand alone (the course's grader
imports them with nothing else); the names, and the errors that name config keys, live here.
The config's own name lists (``engine.config.MODEL_NAMES``, ``LOSS_NAMES``) are checked
against these registries by a test.
"""
from torch import nn

import losses
import models
from engine.config import ModelConfig, canonical_model_name

# The model.* keys that shape a network, passed to every builder (each uses its own).
ARCHITECTURE_KEYS = ("width", "channels", "pool_every", "hidden_dims", "conv_params",
                     "activation", "pooling", "batchnorm", "dropout", "bottleneck")


def _block_builder(name):
    """The builder of ``models.build_block_model(name, ...)`` from the block keys."""
    return lambda shape, classes, o: models.build_block_model(
        name, shape, classes, o["channels"], o["pool_every"], o["hidden_dims"],
        o["conv_params"], o["activation"], o["pooling"], o["batchnorm"], o["dropout"],
        o["bottleneck"])


# name -> builder(input_shape (C, H, W), num_classes, {ARCHITECTURE_KEYS: value}) -> nn.Module
MODEL_BUILDERS = {
    "twolayernet": lambda shape, classes, o: models.TwoLayerNet(
        shape[0] * shape[1] * shape[2], num_classes=classes),
    "vanillacnn": lambda shape, classes, o: models.VanillaCNN(shape[0], tuple(shape[1:]),
                                                              classes),
    "mymodel": lambda shape, classes, o: models.MyModel(shape[0], classes, width=o["width"]),
    "resnet20": lambda shape, classes, o: models.resnet20(shape[0], classes),
    "resnet32": lambda shape, classes, o: models.resnet32(shape[0], classes),
    "resnet44": lambda shape, classes, o: models.resnet44(shape[0], classes),
    "resnet56": lambda shape, classes, o: models.resnet56(shape[0], classes),
    "resnet110": lambda shape, classes, o: models.resnet110(shape[0], classes),
    "cnn": _block_builder("cnn"),
    "resnetbuilder": _block_builder("resnet_builder"),
}

# name -> smallest image side the model accepts
MIN_IMAGE_SIZE = {"vanillacnn": models.VanillaCNN.min_image_size,
                  "mymodel": models.MyModel.min_image_size}

# name -> builder(loss_cfg, cls_num_list) -> ClassWeightedLoss
LOSS_BUILDERS = {
    "ce": lambda cfg, counts: losses.FocalLoss(gamma=0.0),
    "focal": lambda cfg, counts: losses.FocalLoss(gamma=cfg.gamma),
    "sigmoid": lambda cfg, counts: losses.SigmoidLoss(),
    "sigmoid_focal": lambda cfg, counts: losses.SigmoidFocalLoss(gamma=cfg.gamma),
    "ldam": lambda cfg, counts: losses.LDAMLoss(counts, cfg.ldam_max_margin, cfg.ldam_scale),
    "logit_adjusted": lambda cfg, counts: losses.LogitAdjustedLoss(counts, cfg.tau),
    "balanced_softmax": lambda cfg, counts: losses.BalancedSoftmaxLoss(counts),
    "las": lambda cfg, counts: losses.LabelAwareSmoothingLoss(counts, cfg.las_head,
                                                              cfg.las_tail, cfg.las_schedule),
}

SIGMOID_LOSSES = ("sigmoid", "sigmoid_focal")


def architecture_of(model_cfg):
    """The ARCHITECTURE_KEYS of a validated ``ModelConfig``, as keyword arguments of
    ``build_model``."""
    return {key: getattr(model_cfg, key) for key in ARCHITECTURE_KEYS}


def build_model(name, input_shape=(3, 32, 32), num_classes=10, normed_classifier=False,
                classifier_scales=False, **architecture):
    """The model called ``name`` for images of ``input_shape`` (C, H, W) and ``num_classes``.

    Args:
        name: a key of MODEL_BUILDERS, case-insensitive, '-' and '_' ignored (``ResNet-32``).
        input_shape: (C, H, W) of the input images; sets in_channels, input_dim, image_size.
        num_classes: number of logits.
        normed_classifier: replace the final nn.Linear by a NormedLinear of the same size
            (cosine classifier, for LDAM).
        classifier_scales: wrap the classifier in a ScaledClassifier (learnable per-class
            scales of the logits, initialised to 1: LWS); see ``models.add_classifier_scales``.
        **architecture: ARCHITECTURE_KEYS of ``model.*`` (docs/configuration.md), each
            defaulting to the config's default: ``width`` is MyModel's base channels,
            ``channels`` ... ``bottleneck`` build ``cnn`` and ``resnetbuilder``
            (``models.build_block_model``); the other models ignore them.

    Returns:
        An nn.Module mapping float (N, C, H, W) to logits (N, num_classes), freshly
        initialised from torch's global generator.

    Raises:
        ValueError: an unknown name, images smaller than the model accepts, or block keys
            whose feature maps shrink below 1x1 on these images (the message names the
            configuration).
        TypeError: an unknown architecture key.
    """
    unknown = sorted(set(architecture) - set(ARCHITECTURE_KEYS))
    if unknown:
        raise TypeError(f"build_model: unknown argument {unknown[0]!r}; expected one of "
                        f"{', '.join(ARCHITECTURE_KEYS)}")
    key = canonical_model_name(name)
    if key not in MODEL_BUILDERS:
        raise ValueError(f"model.name: unknown model {name!r}; expected one of "
                         f"{', '.join(MODEL_BUILDERS)}")
    channels, height, image_width = input_shape
    smallest = MIN_IMAGE_SIZE.get(key, 1)
    if min(height, image_width) < smallest:
        raise ValueError(f"model.name: {key} needs images of at least {smallest}x{smallest}; "
                         f"the data has {height}x{image_width}")
    options = {**architecture_of(ModelConfig()), **architecture}
    model = MODEL_BUILDERS[key]((channels, height, image_width), num_classes, options)
    if normed_classifier:
        models.use_normed_classifier(model)
    if classifier_scales:
        models.add_classifier_scales(model)
    return model


def build_loss(loss_cfg, cls_num_list):
    """The training criterion described by ``loss_cfg`` (a validated ``LossConfig``).

    ce: cross-entropy; focal: softmax focal (gamma); sigmoid: one-vs-all sigmoid CE (mean over
    N * C); sigmoid_focal: Cui et al.'s sigmoid focal (gamma); ldam: LDAM (ldam_max_margin,
    ldam_scale); logit_adjusted: tau * log prior added to the logits; balanced_softmax; las:
    cross-entropy against label-aware smoothed targets (las_head, las_tail, las_schedule). With
    ``reweight: class_balanced`` every loss weights each sample by its class's
    ``class_balanced_weights(cls_num_list, beta)`` weight from epoch ``reweight_epoch``
    (0-based) on, and by 1 before it.

    Args:
        loss_cfg: an object with attributes name, gamma, beta, reweight, reweight_epoch,
            ldam_max_margin, ldam_scale, tau, las_head, las_tail and las_schedule.
        cls_num_list: C training-image counts per class.

    Returns:
        an ``nn.Module`` on the CPU (move it with ``.to(device)``) with ``set_epoch(epoch)``.

    Raises:
        ValueError: an unknown name, or counts the loss cannot use (e.g. a class with no
            image for LDAM, the logit-adjusted losses or class-balanced weights).
    """
    if loss_cfg.name not in LOSS_BUILDERS:
        raise ValueError(f"loss.name: got {loss_cfg.name!r}; expected one of "
                         f"{', '.join(LOSS_BUILDERS)}")
    criterion = LOSS_BUILDERS[loss_cfg.name](loss_cfg, cls_num_list)
    if loss_cfg.reweight == "class_balanced":
        criterion.defer_weight(losses.class_balanced_weights(cls_num_list, loss_cfg.beta),
                               loss_cfg.reweight_epoch)
    return criterion


def init_final_bias(model, loss_cfg):
    """For the sigmoid losses, give the classifier (``models.final_linear``) the prior bias
    -log((1 - pi) / pi), pi = ``losses.SIGMOID_PRIOR``; other losses leave the model unchanged.

    Raises:
        ValueError: a sigmoid loss and a classifier without a bias or that is not an
            nn.Linear (e.g. a cosine classifier), or a model without a classifier layer.
    """
    if loss_cfg.name not in SIGMOID_LOSSES:
        return
    layer = models.final_linear(model)
    if type(layer) is not nn.Linear or layer.bias is None:
        raise ValueError(f"loss.name: {loss_cfg.name} needs a final linear layer with a bias "
                         f"to initialise; the model's classifier is {type(layer).__name__}"
                         f"{'' if type(layer) is not nn.Linear else ' without a bias'} (use "
                         "model.normed_classifier: false)")
    losses.init_prior_bias(layer)
