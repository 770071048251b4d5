"""Models by name: ``build_model`` for configs, ``final_linear`` and ``classifier_module`` for
the classifier, ``add_classifier_scales`` for LWS."""
from torch import nn

from engine.config import MODEL_NAMES
from engine.errors import UserError
from models.my_model import MyModel
from models.normed_linear import NormedLinear
from models.resnet_cifar import resnet20, resnet32, resnet44, resnet56, resnet110
from models.scaled_classifier import ScaledClassifier
from models.two_layer_net import TwoLayerNet
from models.vanilla_cnn import VanillaCNN

# canonical name -> builder(input_shape (C, H, W), num_classes, width) -> nn.Module
_BUILDERS = {
    "twolayernet": lambda shape, classes, width: TwoLayerNet(shape[0] * shape[1] * shape[2],
                                                             num_classes=classes),
    "vanillacnn": lambda shape, classes, width: VanillaCNN(shape[0], tuple(shape[1:]), classes),
    "mymodel": lambda shape, classes, width: MyModel(shape[0], classes, width=width),
    "resnet20": lambda shape, classes, width: resnet20(shape[0], classes),
    "resnet32": lambda shape, classes, width: resnet32(shape[0], classes),
    "resnet44": lambda shape, classes, width: resnet44(shape[0], classes),
    "resnet56": lambda shape, classes, width: resnet56(shape[0], classes),
    "resnet110": lambda shape, classes, width: resnet110(shape[0], classes),
}

# canonical name -> smallest image side the model accepts
_MIN_IMAGE_SIZE = {"vanillacnn": VanillaCNN.min_image_size, "mymodel": MyModel.min_image_size}


def canonical_name(name):
    """``ResNet-32`` -> ``resnet32``: lowercase, without '-' and '_' (as the config does)."""
    return name.lower().replace("-", "").replace("_", "")


def build_model(name, input_shape=(3, 32, 32), num_classes=10, normed_classifier=False,
                width=64, classifier_scales=False):
    """The model called ``name`` for images of ``input_shape`` (C, H, W) and ``num_classes``.

    Args:
        name: one of MODEL_NAMES, case-insensitive, '-' and '_' ignored (``ResNet-32``).
        input_shape: (C, H, W) of the input images; sets in_channels, input_dim, image_size.
        num_classes: number of logits.
        normed_classifier: replace the final nn.Linear by a NormedLinear of the same size
            (cosine classifier, for LDAM).
        width: base channels of MyModel; the other models have fixed widths.
        classifier_scales: wrap the classifier in a ScaledClassifier (learnable per-class
            scales of the logits, initialised to 1: LWS); see ``add_classifier_scales``.

    Returns:
        An nn.Module mapping float (N, C, H, W) to logits (N, num_classes), freshly
        initialised from torch's global generator.

    Raises:
        UserError: an unknown name, or images smaller than the model accepts.
    """
    key = canonical_name(name)
    if key not in _BUILDERS:
        raise UserError(f"model.name: unknown model {name!r}; expected one of "
                        f"{', '.join(MODEL_NAMES)}")
    channels, height, image_width = input_shape
    smallest = _MIN_IMAGE_SIZE.get(key, 1)
    if min(height, image_width) < smallest:
        raise UserError(f"model.name: {key} needs images of at least {smallest}x{smallest}; "
                        f"the data has {height}x{image_width}")
    model = _BUILDERS[key]((channels, height, image_width), num_classes, width)
    if normed_classifier:
        _replace_final_linear(model)
    if classifier_scales:
        add_classifier_scales(model)
    return model


def add_classifier_scales(model):
    """Wrap the classifier (``final_linear(model)``) in a ScaledClassifier, in place.

    Its parameters then appear as ``<path>.layer.weight`` (``.layer.bias``) and
    ``<path>.scales`` in the state dict; the outputs stay the same until the scales train.

    Returns:
        ``model``.
    """
    layer = final_linear(model)
    path = next(name for name, m in model.named_modules() if m is layer)
    _set_submodule(model, path, ScaledClassifier(layer))
    return model


def classifier_module(model):
    """The whole classifier: the ScaledClassifier around ``final_linear(model)`` when there
    is one, else that layer."""
    layer = final_linear(model)
    wrappers = [m for m in model.modules()
                if isinstance(m, ScaledClassifier) and m.layer is layer]
    return wrappers[0] if wrappers else layer


def final_linear(model):
    """The classifier: the last nn.Linear or NormedLinear in ``model.modules()``.

    Raises:
        ValueError: the model has no such layer.
    """
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, NormedLinear))]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no linear classifier layer")
    return layers[-1]


def _replace_final_linear(model):
    """Swap the last nn.Linear of ``model`` for a NormedLinear with the same sizes, in place."""
    path = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(path)
    _set_submodule(model, path, NormedLinear(old.in_features, old.out_features))


def _set_submodule(model, path, module):
    """Replace the submodule at the dotted ``path`` of ``model`` by ``module``."""
    parent_path, _, attribute = path.rpartition(".")
    setattr(model.get_submodule(parent_path), attribute, module)
