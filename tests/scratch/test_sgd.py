import unittest

import numpy as np

from scratch.modules import ConvNet
from scratch.optimizer import SGD


class FakeLayer:
    """A layer whose gradients the test sets by hand."""

    def __init__(self, weight, bias):
        self.weight, self.bias = np.array(weight), np.array(bias)
        self.dw = self.db = None


class FakeModel:
    def __init__(self, modules):
        self.modules = modules


class SGDTest(unittest.TestCase):
    def test_two_steps_by_hand(self):
        layer = FakeLayer([1.0, -2.0], [0.5])
        model = FakeModel([object(), layer])  # layers without weights are skipped
        optimizer = SGD(model, learning_rate=0.1, reg=0.01, momentum=0.9)

        layer.dw, layer.db = np.array([0.1, 0.2]), np.array([0.3])
        optimizer.update(model)
        # grad_w = dw + 0.01 * w = [0.11, 0.18]; v_w = -0.1 * grad_w; v_b = -0.1 * 0.3
        np.testing.assert_allclose(layer.dw, [0.11, 0.18], rtol=1e-14)
        np.testing.assert_allclose(layer.weight, [0.989, -2.018], rtol=1e-14)
        np.testing.assert_allclose(layer.bias, [0.47], rtol=1e-14)

        layer.dw, layer.db = np.array([0.1, 0.2]), np.array([0.3])
        optimizer.update(model)
        # grad_w = [0.10989, 0.17982]; v_w = 0.9 * [-0.011, -0.018] - 0.1 * grad_w
        #        = [-0.020889, -0.034182]; v_b = 0.9 * -0.03 - 0.1 * 0.3 = -0.057
        np.testing.assert_allclose(layer.weight, [0.968111, -2.052182], rtol=1e-14)
        np.testing.assert_allclose(layer.bias, [0.413], rtol=1e-14)
        np.testing.assert_allclose(optimizer.velocities[(1, 'weight')], [-0.020889, -0.034182],
                                   rtol=1e-13)

    def test_defaults_and_one_velocity_per_parameter(self):
        model = ConvNet([dict(type='Conv2D', in_channels=1, out_channels=2), dict(type='ReLU'),
                         dict(type='Linear', in_dim=2, out_dim=3)],
                        dict(type='SoftmaxCrossEntropy'))
        optimizer = SGD(model)
        self.assertEqual((optimizer.learning_rate, optimizer.reg, optimizer.momentum),
                         (1e-4, 1e-3, 0.9))
        self.assertEqual(sorted(optimizer.velocities),
                         [(0, 'bias'), (0, 'weight'), (2, 'bias'), (2, 'weight')])
        self.assertEqual(optimizer.velocities[(0, 'weight')].shape, (2, 1, 3, 3))


if __name__ == '__main__':
    unittest.main()
