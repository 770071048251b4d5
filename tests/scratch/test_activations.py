import unittest
import warnings

import numpy as np
import torch

from scratch.modules import LeakyReLU, Sigmoid, Tanh
from tests.scratch.gradcheck import check_layer, torch_gradients

SHAPES = [(3, 5), (2, 3, 5, 3), (1, 7)]


class ByHandTest(unittest.TestCase):
    def test_leaky_relu(self):
        layer = LeakyReLU(negative_slope=0.1)
        np.testing.assert_allclose(layer.forward(np.array([[-2.0, 0.0, 3.0]])), [[-0.2, 0.0, 3.0]])
        layer.backward(np.array([[1.0, 2.0, 3.0]]))
        np.testing.assert_allclose(layer.dx, [[0.1, 0.2, 3.0]])

    def test_sigmoid(self):
        layer = Sigmoid()
        x = np.array([0.0, np.log(3.0), -np.log(3.0)])
        np.testing.assert_allclose(layer.forward(x), [0.5, 0.75, 0.25], rtol=1e-14)
        layer.backward(np.array([4.0, 1.0, 2.0]))
        np.testing.assert_allclose(layer.dx, [1.0, 0.1875, 0.375], rtol=1e-14)

    def test_sigmoid_is_stable_for_large_inputs(self):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            out = Sigmoid().forward(np.array([-1000.0, 1000.0, -40.0]))
        np.testing.assert_allclose(out, [0.0, 1.0, 1 / (1 + np.exp(40.0))], rtol=1e-12)

    def test_tanh(self):
        layer = Tanh()
        x = np.array([0.0, np.log(2.0)])  # tanh(log 2) = (2 - 1/2) / (2 + 1/2) = 0.6
        np.testing.assert_allclose(layer.forward(x), [0.0, 0.6], atol=1e-15)
        layer.backward(np.array([2.0, 1.0]))
        np.testing.assert_allclose(layer.dx, [2.0, 0.64], rtol=1e-14)


class GradientTest(unittest.TestCase):
    LAYERS = [
        (lambda: LeakyReLU(0.03), lambda x: torch.nn.functional.leaky_relu(x, 0.03)),
        (Sigmoid, torch.sigmoid),
        (Tanh, torch.tanh),
    ]

    def test_against_numerical_gradients_and_torch(self):
        for make, reference in self.LAYERS:
            for shape in SHAPES:
                layer = make()
                with self.subTest(layer=type(layer).__name__, shape=shape):
                    x = np.random.RandomState(0).randn(*shape) * 2
                    dout = np.random.RandomState(1).randn(*shape)
                    self.assertLess(check_layer(layer, x, dout)['dx'], 1e-7)
                    expected, (dx,) = torch_gradients(reference, (x,), dout)
                    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12,
                                               atol=1e-15)
                    layer.backward(dout)
                    np.testing.assert_allclose(layer.dx, dx, rtol=1e-12, atol=1e-15)


if __name__ == '__main__':
    unittest.main()
