import unittest
import warnings

import numpy as np
import torch

from scratch.modules import SoftmaxCrossEntropy
from tests.scratch.gradcheck import numerical_gradient, torch_gradients


class SoftmaxCrossEntropyTest(unittest.TestCase):
    def test_by_hand(self):
        criterion = SoftmaxCrossEntropy()
        x = np.array([[0.0, np.log(3.0)], [np.log(4.0), 0.0]])
        probs, loss = criterion.forward(x, np.array([1, 1]))
        np.testing.assert_allclose(probs, [[0.25, 0.75], [0.8, 0.2]], rtol=1e-12)
        self.assertAlmostEqual(loss, -(np.log(0.75) + np.log(0.2)) / 2, places=12)
        criterion.backward()
        np.testing.assert_allclose(criterion.dx, [[0.125, -0.125], [0.4, -0.4]], rtol=1e-12)

    def test_large_logits_are_stable(self):
        criterion = SoftmaxCrossEntropy()
        x = np.array([[1000.0, 1000.0 + np.log(3.0)], [-1000.0, 5000.0]])
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            probs, loss = criterion.forward(x, np.array([0, 0]))
        np.testing.assert_allclose(probs, [[0.25, 0.75], [0.0, 1.0]], rtol=1e-12)
        self.assertAlmostEqual(loss, (np.log(4.0) + 6000.0) / 2, places=9)

    def test_gradients(self):
        for N, classes in [(4, 3), (1, 10), (6, 2)]:
            with self.subTest(N=N, classes=classes):
                rng = np.random.RandomState(0)
                x, y = rng.randn(N, classes) * 3, rng.randint(classes, size=N)
                criterion = SoftmaxCrossEntropy()
                _, loss = criterion.forward(x, y)
                criterion.backward()
                numeric = numerical_gradient(lambda: criterion.forward(x, y)[1], x, 1.0)
                np.testing.assert_allclose(criterion.dx, numeric, rtol=1e-6, atol=1e-9)
                expected, (dx,) = torch_gradients(
                    lambda x: torch.nn.functional.cross_entropy(x, torch.from_numpy(y)), (x,), 1.0)
                self.assertAlmostEqual(loss, float(expected), places=12)
                np.testing.assert_allclose(criterion.dx, dx, rtol=1e-12, atol=1e-14)


if __name__ == '__main__':
    unittest.main()
