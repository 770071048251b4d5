"""CS231n's ThreeLayerConvNet: conv - relu - 2x2 max pool - affine - relu - affine - softmax."""
import numpy as np

from ..layer_utils import (affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
                           conv_relu_pool_forward)
from ..layers import affine_backward, affine_forward, softmax_loss

__all__ = ['ThreeLayerConvNet']


class ThreeLayerConvNet:
    """A three-layer convolutional network, CS231n's interface.

    Inputs to the constructor:
    - input_dim: (C, H, W) of every image; H and W even
    - num_filters, filter_size: the convolution's F filters of filter_size x filter_size
      (odd), stride 1 and padding (filter_size - 1) // 2, so H and W are kept
    - hidden_dim: units of the hidden affine layer
    - weight_scale: standard deviation of the Gaussian weights (NumPy's global generator, as in
      CS231n); biases 0
    - reg: L2 strength; the loss gains 0.5 * reg * sum(W ** 2) over W1, W2, W3
    - dtype: of the parameters and of the inputs in ``loss``

    Attributes:
    - params: 'W1' (F, C, k, k), 'b1' (F,), 'W2' (F * H / 2 * W / 2, hidden_dim), 'b2',
      'W3' (hidden_dim, num_classes), 'b3'
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        shapes = {'W1': (num_filters, C, filter_size, filter_size),
                  'W2': (num_filters * (H // 2) * (W // 2), hidden_dim),
                  'W3': (hidden_dim, num_classes)}
        self.params = {}
        for layer, name in enumerate(shapes, start=1):
            self.params[name] = (weight_scale * np.random.randn(*shapes[name])).astype(dtype)
            self.params[f"b{layer}"] = np.zeros(shapes[name][0 if layer == 1 else 1], dtype)

    def loss(self, X, y=None):
        """Scores (N, num_classes) of X (N, C, H, W) when y is None, else (loss, grads) with
        grads keyed and shaped like ``params``."""
        X = X.astype(self.dtype)
        p = self.params
        filter_size = p['W1'].shape[2]
        conv_param = {'stride': 1, 'pad': (filter_size - 1) // 2}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
        pooled, conv_cache = conv_relu_pool_forward(X, p['W1'], p['b1'], conv_param, pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p['W2'], p['b2'])
        scores, scores_cache = affine_forward(hidden, p['W3'], p['b3'])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads['W3'], grads['b3'] = affine_backward(dscores, scores_cache)
        dpooled, grads['W2'], grads['b2'] = affine_relu_backward(dhidden, hidden_cache)
        _, grads['W1'], grads['b1'] = conv_relu_pool_backward(dpooled, conv_cache)
        for name in ('W1', 'W2', 'W3'):
            loss += 0.5 * self.reg * float(np.sum(p[name] * p[name]))
            grads[name] = grads[name] + self.reg * p[name]
        return loss, grads
