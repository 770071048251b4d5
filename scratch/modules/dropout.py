"""Inverted dropout."""
import numpy as np


class Dropout:
    """Zero each value with probability p in training mode, and scale the survivors by
    1 / (1 - p), so that the expected output equals the input; evaluation mode passes the input
    through unchanged. (p is the probability of dropping, as in torch; the course's notes use the
    probability of keeping, 1 - p.)

    Inputs to the constructor:
    - p: drop probability, in [0, 1)
    - seed: seeds the layer's own generator, so the masks repeat from run to run; None draws
      fresh entropy from the system

    Attributes:
    - training: True in training mode; ``ConvNet.train()`` / ``eval()`` set it
    - mask: the last training-mode mask, the input's shape: 0 where dropped, 1 / (1 - p) where
      kept (None in evaluation mode)
    - dx: gradient set by ``backward``
    """

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.RandomState(seed)
        self.training = True
        self.mask = None
        self.dx = None

    def forward(self, x):
        """Return x (any shape) times a fresh mask in training mode, x itself in evaluation."""
        out, self.mask = dropout_forward(x, self.p, self.rng, self.training)
        return out

    def backward(self, dout):
        """Set dx = dout * mask (dout itself in evaluation mode), the input's shape."""
        self.dx = dropout_backward(dout, self.mask)


def dropout_forward(x, p, rng, training=True):
    """Inverted dropout of x (any shape) with drop probability p in [0, 1).

    Inputs:
    - rng: draws the mask through ``random_sample(shape)`` (a ``RandomState``, or the
      ``np.random`` module itself)
    - training: False passes x through

    Returns a tuple of:
    - out: x's shape and dtype
    - mask: 0 where dropped, 1 / (1 - p) where kept (a value is kept where its uniform draw is
      >= p); None when not training
    """
    if not training:
        return x, None
    keep = rng.random_sample(x.shape) >= p
    mask = keep * x.dtype.type(1 / (1 - p))
    return x * mask, mask


def dropout_backward(dout, mask):
    """dout * mask, or dout itself when the mask is None (evaluation mode)."""
    return dout if mask is None else dout * mask
