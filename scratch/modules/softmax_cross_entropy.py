"""Softmax followed by the cross-entropy loss."""
import numpy as np


class SoftmaxCrossEntropy:
    """Softmax probabilities and the mean cross-entropy loss against integer labels.

    Attributes:
    - dx: gradient of the loss with respect to the scores, set by ``backward``
    """

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x, y):
        """Probabilities and loss.

        Inputs:
        - x: scores of shape (N, num_classes); any magnitude (the maximum is subtracted first)
        - y: labels of shape (N,), integers in [0, num_classes)

        Returns a tuple of:
        - probs: softmax probabilities of shape (N, num_classes)
        - loss: mean over N of -log probs[n, y[n]], a float
        """
        probs, loss = softmax_cross_entropy(x, y)
        self.cache = (probs, y)
        return probs, loss

    def backward(self):
        """Set dx = (probs - onehot(y)) / N, of shape (N, num_classes)."""
        self.dx = softmax_cross_entropy_backward(*self.cache)


def softmax_cross_entropy(x, y):
    """(probs (N, num_classes), mean loss as a float) of scores x (N, num_classes) against
    labels y (N,); see ``SoftmaxCrossEntropy.forward``."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    return probs, float(-log_probs[np.arange(len(y)), y].mean())


def softmax_cross_entropy_backward(probs, y):
    """Gradient of the mean loss with respect to the scores: (probs - onehot(y)) / N."""
    dx = probs.copy()
    dx[np.arange(len(y)), y] -= 1
    return dx / len(y)
