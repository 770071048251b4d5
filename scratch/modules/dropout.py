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
        if not self.training:
            self.mask = None
            return x
        keep = self.rng.random_sample(x.shape) >= self.p
        self.mask = keep * x.dtype.type(1 / (1 - self.p))
        return x * self.mask

    def backward(self, dout):
        """Set dx = dout * mask (dout itself in evaluation mode), the input's shape."""
        self.dx = dout if self.mask is None else dout * self.mask
