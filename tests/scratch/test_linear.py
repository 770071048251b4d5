import unittest

import numpy as np

from scratch.modules import Linear
from tests.scratch.gradcheck import numerical_gradient, torch_gradients


class LinearTest(unittest.TestCase):
    def test_by_hand_flattens_trailing_axes(self):
        layer = Linear(4, 2)
        layer.weight = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
        layer.bias = np.array([0.5, -0.5])
        x = np.array([[[1.0, 2.0], [3.0, 4.0]]])  # (1, 2, 2): features 1, 2, 3, 4
        np.testing.assert_array_equal(layer.forward(x), [[12.5, 0.5]])
        layer.backward(np.array([[1.0, 2.0]]))
        np.testing.assert_array_equal(layer.dx, [[[1.0, 2.0], [3.0, 0.0]]])
        np.testing.assert_array_equal(layer.dw, [[1, 2], [2, 4], [3, 6], [4, 8]])
        np.testing.assert_array_equal(layer.db, [1, 2])

    def test_course_initialisation(self):
        layer = Linear(8192, 10)
        np.testing.assert_array_equal(layer.weight,
                                      1e-3 * np.random.RandomState(1024).randn(8192, 10))
        np.testing.assert_array_equal(layer.bias, np.zeros(10))

    def test_gradients(self):
        for x_shape, out_dim in [((3, 5), 4), ((2, 3, 2, 2), 6), ((1, 4, 3), 2)]:
            with self.subTest(x=x_shape, out_dim=out_dim):
                rng = np.random.RandomState(0)
                in_dim = int(np.prod(x_shape[1:]))
                layer = Linear(in_dim, out_dim)
                x, layer.weight, layer.bias = (rng.randn(*x_shape), rng.randn(in_dim, out_dim),
                                               rng.randn(out_dim))
                dout = rng.randn(x_shape[0], out_dim)
                layer.forward(x)
                layer.backward(dout)
                forward = lambda: layer.forward(x)  # noqa: E731
                for analytic, array in ((layer.dx, x), (layer.dw, layer.weight),
                                        (layer.db, layer.bias)):
                    np.testing.assert_allclose(analytic, numerical_gradient(forward, array, dout),
                                               rtol=1e-6, atol=1e-8)
                expected, grads = torch_gradients(
                    lambda x, w, b: x.flatten(1) @ w + b, (x, layer.weight, layer.bias), dout)
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)

    def test_wrong_feature_count_is_named(self):
        with self.assertRaisesRegex(ValueError, "expects 4 features"):
            Linear(4, 2).forward(np.zeros((2, 5)))


if __name__ == '__main__':
    unittest.main()
