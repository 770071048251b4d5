"""CS231n's update rules: ``next_w, config = rule(w, dw, config=None)``.

config holds the hyperparameters (defaults filled in on the first call) and the rule's state
(velocity, cache, m, v, t), which the caller passes back on the next step. The steps are the
ones scratch/'s optimizer classes take (``scratch.optimizer``); w and the arrays given in
config are never modified: the rule works on copies.
"""
import numpy as np

from scratch.optimizer.adam import adam_step
from scratch.optimizer.rmsprop import rmsprop_step
from scratch.optimizer.sgd import momentum_step

__all__ = ['sgd', 'sgd_momentum', 'rmsprop', 'adam']


def sgd(w, dw, config=None):
    """Vanilla gradient descent, next_w = w - learning_rate * dw; config: learning_rate 1e-2."""
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    next_w = w.copy()
    momentum_step(next_w, dw, np.zeros_like(w), config['learning_rate'], 0.0)
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """Momentum SGD: v = momentum * v - learning_rate * dw; next_w = w + v.

    config: learning_rate 1e-2, momentum 0.9, velocity (zeros like w at first).
    """
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    velocity = _state(config, 'velocity', w)
    next_w = w.copy()
    momentum_step(next_w, dw, velocity, config['learning_rate'], config['momentum'])
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: cache = decay_rate * cache + (1 - decay_rate) * dw ** 2;
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon).

    config: learning_rate 1e-2, decay_rate 0.99, epsilon 1e-8, cache (zeros at first).
    """
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    cache = _state(config, 'cache', w)
    next_w = w.copy()
    rmsprop_step(next_w, dw, cache, config['learning_rate'], config['decay_rate'],
                 config['epsilon'])
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction: t += 1; m and v the running means of dw and dw ** 2;
    next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1 - beta1 ** t),
    v_hat = v / (1 - beta2 ** t).

    config: learning_rate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8, m and v (zeros at
    first), t (0 at first; the step count).
    """
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('t', 0)
    m, v = _state(config, 'm', w), _state(config, 'v', w)
    config['t'] += 1
    next_w = w.copy()
    adam_step(next_w, dw, m, v, config['t'], config['learning_rate'], config['beta1'],
              config['beta2'], config['epsilon'])
    return next_w, config


def _state(config, name, w):
    """A copy of config[name] (zeros like w when absent), stored back into config."""
    config[name] = np.array(config[name], copy=True) if name in config else np.zeros_like(w)
    return config[name]
