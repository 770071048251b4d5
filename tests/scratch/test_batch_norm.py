import unittest

import numpy as np
import torch

from scratch.modules import BatchNorm, SpatialBatchNorm
from scratch.modules.normalization import batchnorm_backward_steps
from tests.scratch.gradcheck import check_layer, torch_gradients

# Odd shapes: batch and feature counts that are neither equal nor powers of two.
SHAPES = [(5, 7), (3, 4), (9, 2)]
SPATIAL_SHAPES = [(3, 4, 5, 3), (2, 3, 3, 5), (1, 5, 2, 3)]


def random_layer(layer, seed):
    rng = np.random.RandomState(seed)
    layer.weight = rng.randn(*layer.weight.shape)
    layer.bias = rng.randn(*layer.bias.shape)
    return layer


def torch_batch_norm(x, gamma, beta):
    return torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)


class BatchNormForwardTest(unittest.TestCase):
    def test_train_mode_by_hand(self):
        layer = BatchNorm(2, eps=0.0)
        layer.weight, layer.bias = np.array([2.0, 1.0]), np.array([0.0, -1.0])
        # Column 0: mean 2, variance 8/3; column 1: mean 0, variance 2/3.
        x = np.array([[0.0, 1.0], [2.0, 0.0], [4.0, -1.0]])
        out = layer.forward(x)
        np.testing.assert_allclose(out[:, 0], 2 * np.array([-2, 0, 2]) / np.sqrt(8 / 3))
        np.testing.assert_allclose(out[:, 1], np.array([1, 0, -1]) / np.sqrt(2 / 3) - 1)

    def test_running_statistics_by_hand(self):
        layer = BatchNorm(2, momentum=0.9)
        layer.forward(np.array([[0.0, 1.0], [2.0, 0.0], [4.0, -1.0]]))
        # 0.9 * start (0 and 1) + 0.1 * batch statistics (biased variance, as in the course)
        np.testing.assert_allclose(layer.running_mean, [0.2, 0.0])
        np.testing.assert_allclose(layer.running_var, [0.9 + 0.1 * 8 / 3, 0.9 + 0.1 * 2 / 3])
        layer.forward(np.array([[1.0, 3.0], [3.0, 3.0]]))
        np.testing.assert_allclose(layer.running_mean, [0.9 * 0.2 + 0.1 * 2, 0.3])
        np.testing.assert_allclose(layer.running_var,
                                   [0.9 * (0.9 + 0.8 / 3) + 0.1, 0.9 * (0.9 + 0.2 / 3)])

    def test_eval_mode_uses_running_statistics_and_keeps_them(self):
        layer = random_layer(BatchNorm(3), seed=0)
        rng = np.random.RandomState(1)
        for _ in range(5):
            layer.forward(rng.randn(6, 3) * [1.0, 2.0, 3.0] + [4.0, -1.0, 0.5])
        mean, var = layer.running_mean.copy(), layer.running_var.copy()
        layer.training = False
        x = rng.randn(4, 3)
        expected = layer.weight * (x - mean) / np.sqrt(var + layer.eps) + layer.bias
        np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
        # One sample at a time gives the same rows: nothing depends on the batch.
        np.testing.assert_allclose(layer.forward(x[1:2]), expected[1:2], rtol=1e-12)
        np.testing.assert_array_equal(layer.running_mean, mean)
        np.testing.assert_array_equal(layer.running_var, var)

    def test_wrong_shape_is_named(self):
        with self.assertRaisesRegex(ValueError, r"\(N, 3\)"):
            BatchNorm(3).forward(np.zeros((2, 4)))
        with self.assertRaisesRegex(ValueError, r"\(N, 3, H, W\)"):
            SpatialBatchNorm(3).forward(np.zeros((2, 3)))


class BatchNormGradientTest(unittest.TestCase):
    def test_train_mode_against_numerical_gradients(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(BatchNorm(shape[1]), seed=0)
                x = np.random.RandomState(1).randn(*shape) * 3 + 2
                for name, error in check_layer(layer, x).items():
                    self.assertLess(error, 1e-7, name)

    def test_eval_mode_against_numerical_gradients(self):
        layer = random_layer(BatchNorm(7), seed=0)
        layer.running_mean = np.random.RandomState(2).randn(7)
        layer.running_var = np.random.RandomState(3).rand(7) + 0.5
        layer.training = False
        for name, error in check_layer(layer, np.random.RandomState(1).randn(5, 7)).items():
            self.assertLess(error, 1e-7, name)

    def test_simplified_backward_equals_step_by_step(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(BatchNorm(shape[1]), seed=0)
                x = np.random.RandomState(1).randn(*shape)
                dout = np.random.RandomState(2).randn(*shape)
                layer.forward(x)
                layer.backward(dout)
                dx, dgamma, dbeta = batchnorm_backward_steps(dout, x, layer.weight, layer.eps)
                np.testing.assert_allclose(layer.dx, dx, rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(layer.dw, dgamma, rtol=1e-12)
                np.testing.assert_allclose(layer.db, dbeta, rtol=1e-12)

    def test_against_torch_autograd(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(BatchNorm(shape[1]), seed=4)
                x = np.random.RandomState(5).randn(*shape)
                dout = np.random.RandomState(6).randn(*shape)
                expected, grads = torch_gradients(torch_batch_norm,
                                                  (x, layer.weight, layer.bias), dout)
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)
                layer.backward(dout)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


class SpatialBatchNormTest(unittest.TestCase):
    def test_one_statistic_per_channel_against_torch(self):
        for shape in SPATIAL_SHAPES:
            with self.subTest(shape=shape):
                layer = random_layer(SpatialBatchNorm(shape[1]), seed=0)
                x = np.random.RandomState(1).randn(*shape) * 2 - 1
                dout = np.random.RandomState(2).randn(*shape)
                expected, grads = torch_gradients(torch_batch_norm,
                                                  (x, layer.weight, layer.bias), dout)
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)
                layer.backward(dout)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
                np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))

    def test_against_numerical_gradients(self):
        for shape in SPATIAL_SHAPES:
            for training in (True, False):
                with self.subTest(shape=shape, training=training):
                    layer = random_layer(SpatialBatchNorm(shape[1]), seed=0)
                    layer.running_var = np.random.RandomState(3).rand(shape[1]) + 0.5
                    layer.training = training
                    x = np.random.RandomState(1).randn(*shape)
                    for name, error in check_layer(layer, x).items():
                        self.assertLess(error, 1e-7, name)

    def test_eval_mode_uses_running_statistics(self):
        layer = SpatialBatchNorm(2)
        layer.running_mean, layer.running_var = np.array([1.0, -2.0]), np.array([4.0, 0.25])
        layer.eps = 0.0
        layer.training = False
        x = np.random.RandomState(0).randn(3, 2, 2, 3)
        out = layer.forward(x)
        np.testing.assert_allclose(out[:, 0], (x[:, 0] - 1.0) / 2.0)
        np.testing.assert_allclose(out[:, 1], (x[:, 1] + 2.0) / 0.5)


if __name__ == '__main__':
    unittest.main()
