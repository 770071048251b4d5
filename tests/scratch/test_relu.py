import unittest

import numpy as np
import torch

from scratch.modules import ReLU
from tests.scratch.gradcheck import numerical_gradient, torch_gradients


class ReLUTest(unittest.TestCase):
    def test_by_hand(self):
        layer = ReLU()
        x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 4.0]])
        np.testing.assert_array_equal(layer.forward(x), [[0, 0, 3], [1.5, 0, 4]])
        layer.backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
        np.testing.assert_array_equal(layer.dx, [[0, 0, 3], [4, 0, 6]])

    def test_gradients(self):
        for shape in [(3, 4), (2, 3, 5, 4), (1, 7)]:
            with self.subTest(shape=shape):
                x = np.random.RandomState(0).randn(*shape)
                dout = np.random.RandomState(1).randn(*shape)
                layer = ReLU()
                layer.forward(x)
                layer.backward(dout)
                np.testing.assert_allclose(
                    layer.dx, numerical_gradient(lambda: layer.forward(x), x, dout),
                    rtol=1e-6, atol=1e-8)
                _, (dx,) = torch_gradients(torch.relu, (x,), dout)
                np.testing.assert_array_equal(layer.dx, dx)


if __name__ == '__main__':
    unittest.main()
