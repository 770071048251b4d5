import unittest

import numpy as np
import torch

from scratch.modules import LayerNorm
from tests.scratch.gradcheck import check_layer, torch_gradients

SHAPES = [(5, 7), (3, 4), (1, 9)]


def random_layer(features, seed):
    rng = np.random.RandomState(seed)
    layer = LayerNorm(features)
    layer.weight, layer.bias = rng.randn(features), rng.randn(features)
    return layer


class LayerNormTest(unittest.TestCase):
    def test_by_hand_each_sample_on_its_own(self):
        layer = LayerNorm(4, eps=0.0)
        layer.weight, layer.bias = np.array([1.0, 1.0, 2.0, 2.0]), np.array([0.0, 0.0, 0.0, 1.0])
        # Row 0: mean 2.5, variance 1.25; row 1 is row 0 times 10 plus 5: same normalised row.
        x = np.array([[1.0, 2.0, 3.0, 4.0], [15.0, 25.0, 35.0, 45.0]])
        x_hat = np.array([-1.5, -0.5, 0.5, 1.5]) / np.sqrt(1.25)
        expected = x_hat * [1, 1, 2, 2] + [0, 0, 0, 1]
        np.testing.assert_allclose(layer.forward(x), [expected, expected])

    def test_against_numerical_gradients(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(shape[1], seed=0)
                x = np.random.RandomState(1).randn(*shape) * 2 + 1
                for name, error in check_layer(layer, x).items():
                    self.assertLess(error, 1e-7, name)

    def test_against_torch_autograd(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(shape[1], seed=2)
                x = np.random.RandomState(3).randn(*shape)
                dout = np.random.RandomState(4).randn(*shape)
                expected, grads = torch_gradients(
                    lambda x, w, b: torch.nn.functional.layer_norm(x, (shape[1],), w, b, 1e-5),
                    (x, layer.weight, layer.bias), dout)
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)
                layer.backward(dout)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)

    def test_wrong_shape_is_named(self):
        with self.assertRaisesRegex(ValueError, r"\(N, 3\)"):
            LayerNorm(3).forward(np.zeros((2, 3, 1)))


if __name__ == '__main__':
    unittest.main()
