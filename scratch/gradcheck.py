"""Numerical gradient checks for any layer or model: centred differences and relative error.

    from scratch.gradcheck import check_layer, check_model    # or, inside scratch/:
    from gradcheck import check_layer, check_model

    check_layer(BatchNorm(7), np.random.randn(5, 7))  # {'dx': 9e-11, 'dw': 2e-11, 'db': 2e-11}
    check_model(model, x, y)                          # {'modules[0].weight': 1e-10, ...}

Errors below 1e-7 in float64 mean the backward pass is right; 1e-3 or above, that it is wrong.
A parameter whose gradient is zero in exact arithmetic (the bias of a layer right before
BatchNorm, which the normalisation cancels) has nothing to be relative to: both gradients are
rounding noise and its error is near 1, whatever the code does. Layers that draw random
numbers in forward (Dropout in training mode) must be in evaluation mode, or have their
generator reset before every forward call, for the check to mean anything. NumPy only; each
check runs two forward passes per checked value, so keep the inputs small.
"""
import numpy as np

# (parameter, gradient) attribute names that layers use.
PARAMETERS = (('weight', 'dw'), ('bias', 'db'))


def numerical_gradient(f, x, dout, h=1e-6):
    """Central-difference gradient of sum(f() * dout) with respect to the array x.

    f takes no arguments and reads x, which is perturbed in place one entry at a time and
    restored afterwards. Each entry costs two calls of f; the error is of order h ** 2 from the
    difference formula plus (machine epsilon * |sum(f() * dout)| / h) from rounding.

    Inputs:
    - f: callable returning an array (or a float)
    - x: float array that f reads; any shape
    - dout: array of f()'s shape (or a float) weighting f's outputs
    - h: step, in x's units

    Returns:
    - grad: x's shape
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        original = x[index]
        x[index] = original + h
        plus = np.sum(f() * dout)
        x[index] = original - h
        minus = np.sum(f() * dout)
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||) with Euclidean norms over all entries: a float in [0, 1].

    Measured over the whole array rather than entry by entry, so that entries whose gradient
    happens to be close to zero (as many of BatchNorm's are) do not turn rounding noise into a
    large ratio. 0.0 when both arrays are zero.
    """
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def check_layer(layer, x, dout=None, h=1e-5, seed=0):
    """Relative errors of a layer's backward pass against centred differences.

    Runs ``layer.forward(x)`` and ``layer.backward(dout)`` once, then differentiates
    sum(layer.forward(x) * dout) numerically with respect to x and to each parameter the layer
    has (``weight`` with ``dw``, ``bias`` with ``db``).

    Inputs:
    - layer: has ``forward(x)`` returning an array and ``backward(dout)`` setting ``dx``
      (and ``dw``, ``db`` where it has ``weight``, ``bias``)
    - x: float64 input of the shape the layer expects; perturbed and restored
    - dout: upstream gradient of the output's shape; random normal (from seed) when None
    - h: finite-difference step; 1e-5 balances the difference formula's error against rounding
      for values of order 1
    - seed: seeds the random dout

    Returns:
    - dict from 'dx', 'dw', 'db' (those the layer has) to the relative error, a float
    """
    out = layer.forward(x)
    if dout is None:
        # A Generator rather than RandomState(seed), whose numbers inputs are often drawn from:
        # a dout equal to (a multiple of) x would have BatchNorm's gradient vanish.
        dout = np.random.default_rng(seed).standard_normal(out.shape)
    layer.backward(dout)
    analytic = {'dx': layer.dx}
    arrays = {'dx': x}
    for name, grad_name in PARAMETERS:
        if hasattr(layer, name):
            analytic[grad_name] = getattr(layer, grad_name)
            arrays[grad_name] = getattr(layer, name)
    return {name: relative_error(analytic[name],
                                 numerical_gradient(lambda: layer.forward(x), array, dout, h))
            for name, array in arrays.items()}


def check_model(model, x, y, h=1e-5):
    """Relative errors of a whole network's parameter gradients against centred differences.

    Runs ``model.forward(x, y)`` and ``model.backward()`` once, then differentiates the loss
    numerically with respect to every layer's weight and bias.

    Inputs:
    - model: has ``modules``, ``forward(x, y) -> (probs, loss)`` and ``backward()`` (a
      ``ConvNet``)
    - x: float64 input batch; y: integer labels of shape (N,)
    - h: finite-difference step

    Returns:
    - dict from 'modules[i].weight' / 'modules[i].bias' to the relative error, a float
    """
    model.forward(x, y)
    model.backward()
    analytic = {}
    for index, module in enumerate(model.modules):
        for name, grad_name in PARAMETERS:
            if hasattr(module, name):
                analytic[(index, name)] = getattr(module, grad_name).copy()
    return {f"modules[{index}].{name}": relative_error(
                grad, numerical_gradient(lambda: model.forward(x, y)[1],
                                         getattr(model.modules[index], name), 1.0, h))
            for (index, name), grad in analytic.items()}
