"""The parameters an optimizer updates, and their gradients with L2 regularisation."""
import numpy as np

# (parameter, gradient) attribute names of every layer that learns something.
PARAMETERS = (('weight', 'dw'), ('bias', 'db'))


def zeros_per_parameter(model):
    """A zero array shaped like every parameter: a dict from (layer index, 'weight' or 'bias').

    Layers without a ``weight`` attribute are skipped, as in ``SGD``.
    """
    return {(index, name): np.zeros_like(getattr(module, name))
            for index, module in enumerate(model.modules) if hasattr(module, 'weight')
            for name, _ in PARAMETERS}


def gradients(model, reg):
    """Every parameter of model with its gradient from the last backward pass.

    Yields (key, parameter, gradient): key is (layer index, 'weight' or 'bias'); parameter is
    the layer's own array, for the optimizer to update in place; gradient is dw + reg * weight
    for weights (L2 regularisation, on weights only, as in ``SGD``) and db for biases. The
    layers' dw and db are left as they are.
    """
    for index, module in enumerate(model.modules):
        if not hasattr(module, 'weight'):
            continue
        for name, grad_name in PARAMETERS:
            parameter = getattr(module, name)
            grad = getattr(module, grad_name)
            if name == 'weight' and reg:
                grad = grad + reg * parameter
            yield (index, name), parameter, grad
