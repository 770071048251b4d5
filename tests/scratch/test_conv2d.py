import unittest

import numpy as np
import torch

from scratch.modules import Conv2D
from scratch.modules.loops import conv2d_backward_loops, conv2d_forward_loops
from scratch.modules.vectorized import conv2d_backward, conv2d_forward
from tests.scratch.gradcheck import numerical_gradient, torch_gradients

# (x shape, weight shape, stride, padding): stride 1-3, padding 0-2, kernels 1-5, non-square
# inputs, batch 1, and sizes where the last window does not reach the edge.
CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((1, 2, 7, 6), (3, 2, 5, 5), 2, 2),
    ((2, 1, 4, 6), (2, 1, 1, 1), 1, 0),
    ((3, 2, 6, 5), (2, 2, 2, 2), 2, 0),
    ((1, 3, 5, 8), (2, 3, 4, 4), 3, 1),
    ((2, 2, 6, 6), (3, 2, 5, 5), 1, 2),
]


def random_case(x_shape, w_shape, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(*x_shape), rng.randn(*w_shape), rng.randn(w_shape[0])


def output_shape(x_shape, w_shape, stride, padding):
    N, _, H, W = x_shape
    F, _, k, _ = w_shape
    return (N, F, 1 + (H + 2 * padding - k) // stride, 1 + (W + 2 * padding - k) // stride)


class ConvForwardByHandTest(unittest.TestCase):
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = np.array([0.5])

    def check(self, stride, padding, expected):
        for forward in (conv2d_forward_loops, lambda *args: conv2d_forward(*args)[0]):
            np.testing.assert_array_equal(forward(self.x, self.w, self.b, stride, padding),
                                          np.array(expected).reshape(1, 1, 2, 2))

    def test_no_padding(self):
        # e.g. top-left: 0*1 + 1*2 + 3*3 + 4*4 = 27
        self.check(1, 0, [[27.5, 37.5], [57.5, 67.5]])

    def test_padding_and_stride(self):
        # windows of the zero-padded 5x5 input at rows/columns 0 and 2
        self.check(2, 1, [[0.5, 11.5], [30.5, 67.5]])


class ConvLoopsAgreeTest(unittest.TestCase):
    def test_forward_and_backward_equal(self):
        for x_shape, w_shape, stride, padding in CASES:
            with self.subTest(x=x_shape, w=w_shape, stride=stride, padding=padding):
                x, w, b = random_case(x_shape, w_shape)
                dout = np.random.RandomState(1).randn(*output_shape(x_shape, w_shape, stride,
                                                                    padding))
                out, cache = conv2d_forward(x, w, b, stride, padding)
                np.testing.assert_allclose(out, conv2d_forward_loops(x, w, b, stride, padding),
                                           rtol=1e-12, atol=1e-12)
                for fast, loop in zip(conv2d_backward(dout, cache),
                                      conv2d_backward_loops(dout, x, w, stride, padding)):
                    np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=1e-12)


class ConvGradientTest(unittest.TestCase):
    def test_against_numerical_gradients(self):
        for x_shape, w_shape, stride, padding in CASES:
            with self.subTest(x=x_shape, w=w_shape, stride=stride, padding=padding):
                x, w, b = random_case(x_shape, w_shape)
                dout = np.random.RandomState(1).randn(*output_shape(x_shape, w_shape, stride,
                                                                    padding))
                layer = Conv2D(x_shape[1], w_shape[0], w_shape[2], stride, padding)
                layer.weight, layer.bias = w, b
                layer.forward(x)
                layer.backward(dout)
                forward = lambda: layer.forward(x)  # noqa: E731
                for analytic, array in ((layer.dx, x), (layer.dw, w), (layer.db, b)):
                    np.testing.assert_allclose(analytic, numerical_gradient(forward, array, dout),
                                               rtol=1e-6, atol=1e-8)

    def test_against_torch_autograd(self):
        for x_shape, w_shape, stride, padding in CASES + [((4, 3, 32, 32), (8, 3, 5, 5), 1, 2)]:
            with self.subTest(x=x_shape, w=w_shape, stride=stride, padding=padding):
                x, w, b = random_case(x_shape, w_shape, seed=2)
                dout = np.random.RandomState(3).randn(*output_shape(x_shape, w_shape, stride,
                                                                    padding))
                expected, grads = torch_gradients(
                    lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding),
                    (x, w, b), dout)
                layer = Conv2D(x_shape[1], w_shape[0], w_shape[2], stride, padding)
                layer.weight, layer.bias = w, b
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-10)
                layer.backward(dout)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


class ConvLayerTest(unittest.TestCase):
    def test_course_initialisation(self):
        layer = Conv2D(3, 32, kernel_size=5, stride=1, padding=2)
        np.random.seed(1024)
        np.testing.assert_array_equal(layer.weight, 1e-3 * np.random.randn(32, 3, 5, 5))
        np.testing.assert_array_equal(layer.bias, np.zeros(32))

    def test_leaves_global_random_state_alone(self):
        np.random.seed(7)
        expected = np.random.rand(3)
        np.random.seed(7)
        Conv2D(3, 4)
        np.testing.assert_array_equal(np.random.rand(3), expected)

    def test_outputs_survive_the_next_call(self):
        # The layer reuses its intermediate arrays; what it returns must not be among them.
        x, w, b = random_case((2, 3, 6, 6), (4, 3, 3, 3))
        layer = Conv2D(3, 4, 3, 1, 1)
        layer.weight, layer.bias = w, b
        first = layer.forward(x)
        layer.backward(np.ones_like(first))
        first_dx = layer.dx
        kept, kept_dx = first.copy(), first_dx.copy()
        layer.forward(-x)
        layer.backward(-np.ones_like(first))
        np.testing.assert_array_equal(first, kept)
        np.testing.assert_array_equal(first_dx, kept_dx)

    def test_wrong_channel_count_is_named(self):
        with self.assertRaisesRegex(ValueError, r"\(N, 3, H, W\)"):
            Conv2D(3, 4).forward(np.zeros((1, 2, 5, 5)))


if __name__ == '__main__':
    unittest.main()
