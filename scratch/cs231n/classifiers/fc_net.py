"""CS231n's FullyConnectedNet: {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) -
affine - softmax, with its parameters in a dict and ``loss(X, y=None)``."""
import numpy as np

from ..layers import (affine_backward, affine_forward, batchnorm_backward_alt,
                      batchnorm_forward, dropout_backward, dropout_forward, layernorm_backward,
                      layernorm_forward, relu_backward, relu_forward, softmax_loss)

__all__ = ['FullyConnectedNet']

NORMALIZATIONS = (None, 'batchnorm', 'layernorm')


class FullyConnectedNet:
    """A fully connected net of any depth, CS231n's interface.

    Inputs to the constructor:
    - hidden_dims: list of hidden layer widths
    - input_dim: features per sample (inputs of shape (N, d_1, ..., d_k) are flattened)
    - dropout_keep_ratio: probability of KEEPING a hidden unit; 1 means no dropout
    - normalization: None, 'batchnorm' or 'layernorm', after every hidden affine layer
    - reg: L2 strength; the loss gains 0.5 * reg * sum(W ** 2) over every weight matrix
    - weight_scale: standard deviation of the Gaussian weights (drawn from NumPy's global
      generator, as in CS231n; seed it for repeatable nets); biases 0, gammas 1, betas 0
    - dtype: of every parameter and of the inputs in ``loss`` (float64 for gradient checks)
    - seed: seeds the dropout masks (each forward then draws the same mask)

    Attributes:
    - params: dict 'W1', 'b1', ..., 'W{L}', 'b{L}', and 'gamma{i}', 'beta{i}' for the
      normalised hidden layers i = 1 .. L - 1
    - num_layers: L = len(hidden_dims) + 1
    - bn_params: one dict per hidden layer for the normalisation layers (running statistics)
    - dropout_param: the dropout layers' dict
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=None):
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got "
                             f"{normalization!r}")
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for layer in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[layer - 1], dims[layer]
            self.params[f"W{layer}"] = weight_scale * np.random.randn(fan_in, fan_out)
            self.params[f"b{layer}"] = np.zeros(fan_out)
            if normalization is not None and layer < self.num_layers:
                self.params[f"gamma{layer}"] = np.ones(fan_out)
                self.params[f"beta{layer}"] = np.zeros(fan_out)
        self.params = {name: value.astype(dtype) for name, value in self.params.items()}
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': dropout_keep_ratio}
            if seed is not None:
                self.dropout_param['seed'] = seed
        self.bn_params = ([{'mode': 'train'} for _ in hidden_dims]
                          if normalization is not None else [])

    def loss(self, X, y=None):
        """Scores, or loss and gradients, for a minibatch.

        Inputs:
        - X: shape (N, d_1, ..., d_k); y: labels (N,) or None

        Returns:
        - with y None: scores (N, num_classes), computed in test mode
        - else (loss, grads): the training-mode loss (a float, regularisation included) and a
          dict of gradients with the keys and shapes of ``params``
        """
        X = X.astype(self.dtype)
        mode = 'test' if y is None else 'train'
        self.dropout_param['mode'] = mode
        for bn_param in self.bn_params:
            bn_param['mode'] = mode
        caches = []
        out = X
        for layer in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, layer)
            caches.append(cache)
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for layer in range(L - 1, 0, -1):
            dout = self._hidden_backward(dout, caches[layer - 1], layer, grads)
        for layer in range(1, L + 1):
            weight = self.params[f"W{layer}"]
            loss += 0.5 * self.reg * float(np.sum(weight * weight))
            grads[f"W{layer}"] = grads[f"W{layer}"] + self.reg * weight
        return loss, grads

    def _hidden_forward(self, x, layer):
        """affine - [norm] - relu - [dropout] of hidden layer `layer` (from 1): (out, cache)."""
        out, affine_cache = affine_forward(x, self.params[f"W{layer}"], self.params[f"b{layer}"])
        norm_cache = dropout_cache = None
        if self.normalization is not None:
            gamma, beta = self.params[f"gamma{layer}"], self.params[f"beta{layer}"]
            forward = batchnorm_forward if self.normalization == 'batchnorm' else layernorm_forward
            out, norm_cache = forward(out, gamma, beta, self.bn_params[layer - 1])
        out, relu_cache = relu_forward(out)
        if self.use_dropout:
            out, dropout_cache = dropout_forward(out, self.dropout_param)
        return out, (affine_cache, norm_cache, relu_cache, dropout_cache)

    def _hidden_backward(self, dout, cache, layer, grads):
        """Backward of ``_hidden_forward``: fills grads for the layer, returns dx."""
        affine_cache, norm_cache, relu_cache, dropout_cache = cache
        if self.use_dropout:
            dout = dropout_backward(dout, dropout_cache)
        dout = relu_backward(dout, relu_cache)
        if self.normalization is not None:
            backward = (batchnorm_backward_alt if self.normalization == 'batchnorm'
                        else layernorm_backward)
            dout, grads[f"gamma{layer}"], grads[f"beta{layer}"] = backward(dout, norm_cache)
        dout, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(dout, affine_cache)
        return dout
