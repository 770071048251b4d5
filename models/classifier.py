"""The classifier layer of any model: ``final_linear`` finds it (the one rule every caller
uses), ``classifier_module`` returns it with its LWS scales, ``add_classifier_scales`` adds
them and ``use_normed_classifier`` swaps it for a cosine classifier."""
from torch import nn

from models.normed_linear import NormedLinear
from models.scaled_classifier import ScaledClassifier


def final_linear(model):
    """The classifier: the last module of ``model.modules()`` that owns parameters, which must
    be an nn.Linear or a NormedLinear (a ScaledClassifier's scales come before its layer).

    Raises:
        ValueError: the model ends in another layer, or has no parameters.
    """
    owners = [m for m in model.modules() if next(m.parameters(recurse=False), None) is not None]
    if not owners or not isinstance(owners[-1], (nn.Linear, NormedLinear)):
        last = type(owners[-1]).__name__ if owners else "nothing"
        raise ValueError(f"{type(model).__name__} has no linear classifier layer: its last "
                         f"layer with parameters is {last}")
    return owners[-1]


def use_normed_classifier(model):
    """Swap ``final_linear(model)`` (an nn.Linear) for a NormedLinear of the same sizes, in
    place (the cosine classifier of LDAM's recipe).

    Returns:
        ``model``.
    """
    old = final_linear(model)
    _set_submodule(model, _path(model, old), NormedLinear(old.in_features, old.out_features))
    return model


def add_classifier_scales(model):
    """Wrap the classifier (``final_linear(model)``) in a ScaledClassifier, in place.

    Its parameters then appear as ``<path>.layer.weight`` (``.layer.bias``) and
    ``<path>.scales`` in the state dict; the outputs stay the same until the scales train.

    Returns:
        ``model``.
    """
    layer = final_linear(model)
    _set_submodule(model, _path(model, layer), ScaledClassifier(layer))
    return model


def classifier_module(model):
    """The whole classifier: the ScaledClassifier around ``final_linear(model)`` when there
    is one, else that layer."""
    layer = final_linear(model)
    wrappers = [m for m in model.modules()
                if isinstance(m, ScaledClassifier) and m.layer is layer]
    return wrappers[0] if wrappers else layer


def _path(model, module):
    """The dotted name of ``module`` inside ``model``."""
    return next(name for name, m in model.named_modules() if m is module)


def _set_submodule(model, path, module):
    """Replace the submodule at the dotted ``path`` of ``model`` by ``module``."""
    parent_path, _, attribute = path.rpartition(".")
    setattr(model.get_submodule(parent_path), attribute, module)
