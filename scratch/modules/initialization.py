"""The course's weight initialisation, reproducible without NumPy's global random state."""
import numpy as np

COURSE_SEED = 1024
COURSE_WEIGHT_SCALE = 1e-3


def course_weights(shape):
    """Small Gaussian weights, the same numbers as ``np.random.seed(1024); 1e-3 * np.random.randn``.

    Every call draws from a fresh ``RandomState(1024)``, as the course re-seeds for every layer,
    so a layer's initial weights depend only on its shape.

    Inputs:
    - shape: tuple of ints, the weight array's shape.

    Returns:
    - float64 array of that shape.
    """
    return COURSE_WEIGHT_SCALE * np.random.RandomState(COURSE_SEED).randn(*shape)
