import unittest

import numpy as np
import torch

from scratch.modules import MaxPooling
from scratch.modules.loops import max_pool_backward_loops, max_pool_forward_loops
from scratch.modules.vectorized import max_pool_backward, max_pool_forward
from tests.scratch.gradcheck import numerical_gradient, torch_gradients

# (x shape, kernel size, stride): disjoint and overlapping windows, non-square inputs, batch 1,
# and windows that do not reach the edge.
CASES = [
    ((2, 3, 4, 4), 2, 2),
    ((1, 2, 5, 7), 3, 2),
    ((2, 1, 6, 5), 2, 1),
    ((1, 1, 7, 7), 3, 3),
    ((3, 2, 8, 6), 4, 2),
]


def distinct_values(shape, seed=0):
    """Values at least 0.1 apart, so a tiny perturbation never changes which one is largest."""
    return np.random.RandomState(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1


def output_shape(x_shape, kernel_size, stride):
    N, C, H, W = x_shape
    return (N, C, 1 + (H - kernel_size) // stride, 1 + (W - kernel_size) // stride)


class PoolByHandTest(unittest.TestCase):
    def test_forward_and_backward(self):
        x = np.arange(16.0).reshape(1, 1, 4, 4)
        layer = MaxPooling(kernel_size=2, stride=2)
        np.testing.assert_array_equal(layer.forward(x), [[[[5, 7], [13, 15]]]])
        layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
        expected = np.zeros((4, 4))
        expected[1, 1], expected[1, 3], expected[3, 1], expected[3, 3] = 1, 2, 3, 4
        np.testing.assert_array_equal(layer.dx[0, 0], expected)

    def test_overlapping_windows_accumulate(self):
        # The centre value 9 is the maximum of all four 2x2 windows (stride 1).
        x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
        layer = MaxPooling(kernel_size=2, stride=1)
        np.testing.assert_array_equal(layer.forward(x), np.full((1, 1, 2, 2), 9.0))
        layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
        expected = np.zeros((3, 3))
        expected[1, 1] = 10
        np.testing.assert_array_equal(layer.dx[0, 0], expected)


class PoolLoopsAgreeTest(unittest.TestCase):
    def check(self, x, kernel_size, stride):
        dout = np.random.RandomState(1).randn(*output_shape(x.shape, kernel_size, stride))
        out, cache = max_pool_forward(x, kernel_size, stride)
        np.testing.assert_array_equal(out, max_pool_forward_loops(x, kernel_size, stride))
        np.testing.assert_allclose(max_pool_backward(dout, cache),
                                   max_pool_backward_loops(dout, x, kernel_size, stride),
                                   rtol=1e-14, atol=1e-14)

    def test_forward_and_backward_equal(self):
        for x_shape, kernel_size, stride in CASES:
            with self.subTest(x=x_shape, kernel_size=kernel_size, stride=stride):
                self.check(np.random.RandomState(0).randn(*x_shape), kernel_size, stride)

    def test_ties_go_to_the_first_maximum(self):
        # Rounded values tie often, like the zeros a ReLU produces.
        for x_shape, kernel_size, stride in CASES:
            with self.subTest(x=x_shape, kernel_size=kernel_size, stride=stride):
                x = np.maximum(np.round(np.random.RandomState(0).randn(*x_shape)), 0)
                self.check(x, kernel_size, stride)


class PoolGradientTest(unittest.TestCase):
    def test_against_numerical_gradients(self):
        for x_shape, kernel_size, stride in CASES:
            with self.subTest(x=x_shape, kernel_size=kernel_size, stride=stride):
                x = distinct_values(x_shape)
                dout = np.random.RandomState(1).randn(*output_shape(x_shape, kernel_size, stride))
                layer = MaxPooling(kernel_size, stride)
                layer.forward(x)
                layer.backward(dout)
                numeric = numerical_gradient(lambda: layer.forward(x), x, dout)
                np.testing.assert_allclose(layer.dx, numeric, rtol=1e-6, atol=1e-8)

    def test_against_torch_autograd(self):
        for x_shape, kernel_size, stride in CASES + [((4, 8, 32, 32), 2, 2)]:
            with self.subTest(x=x_shape, kernel_size=kernel_size, stride=stride):
                x = np.random.RandomState(2).randn(*x_shape)
                dout = np.random.RandomState(3).randn(*output_shape(x_shape, kernel_size, stride))
                expected, (dx,) = torch_gradients(
                    lambda x: torch.nn.functional.max_pool2d(x, kernel_size, stride), (x,), dout)
                layer = MaxPooling(kernel_size, stride)
                np.testing.assert_array_equal(layer.forward(x), expected)
                layer.backward(dout)
                np.testing.assert_allclose(layer.dx, dx, rtol=1e-14, atol=1e-14)


if __name__ == '__main__':
    unittest.main()
