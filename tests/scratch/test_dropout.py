import unittest

import numpy as np

from scratch.modules import Dropout
from tests.scratch.gradcheck import numerical_gradient, relative_error


class DropoutTest(unittest.TestCase):
    def test_expectation_equals_input(self):
        x = np.linspace(-3.0, 5.0, 12).reshape(3, 4)
        for p in (0.2, 0.5, 0.8):
            with self.subTest(p=p):
                layer = Dropout(p, seed=0)
                draws = 4000
                outputs = np.stack([layer.forward(x) for _ in range(draws)])
                # Each value is x / (1 - p) with probability 1 - p, else 0: mean x, standard
                # deviation |x| sqrt(p / (1 - p)); allow 4 standard errors.
                tolerance = 4 * np.abs(x) * np.sqrt(p / (1 - p) / draws)
                np.testing.assert_array_less(np.abs(outputs.mean(axis=0) - x), tolerance + 1e-12)
                self.assertAlmostEqual(np.mean(outputs == 0), p, delta=0.01)
                np.testing.assert_allclose(np.unique(outputs[:, 0, 0]), [x[0, 0] / (1 - p), 0])

    def test_backward_applies_the_forward_mask(self):
        layer = Dropout(0.4, seed=3)
        x = np.random.RandomState(0).rand(5, 6) + 1.0  # never zero, so a zero output is a drop
        out = layer.forward(x)
        dout = np.random.RandomState(1).randn(5, 6)
        layer.backward(dout)
        dropped = out == 0
        self.assertTrue(dropped.any() and not dropped.all())
        np.testing.assert_array_equal(layer.dx[dropped], 0.0)
        np.testing.assert_allclose(layer.dx[~dropped], dout[~dropped] / 0.6, rtol=1e-15)
        np.testing.assert_array_equal(layer.dx, dout * layer.mask)

    def test_gradient_with_the_mask_held_fixed(self):
        layer = Dropout(0.3)
        x = np.random.RandomState(0).randn(4, 7)
        dout = np.random.RandomState(1).randn(4, 7)

        def forward():
            layer.rng = np.random.RandomState(5)  # the same mask on every call
            return layer.forward(x)

        forward()
        layer.backward(dout)
        self.assertLess(relative_error(layer.dx, numerical_gradient(forward, x, dout, 1e-5)),
                        1e-7)

    def test_eval_mode_is_the_identity(self):
        layer = Dropout(0.5, seed=0)
        layer.training = False
        x = np.random.RandomState(0).randn(3, 4)
        np.testing.assert_array_equal(layer.forward(x), x)
        dout = np.random.RandomState(1).randn(3, 4)
        layer.backward(dout)
        np.testing.assert_array_equal(layer.dx, dout)

    def test_seeded_masks_repeat(self):
        x = np.ones((4, 5))
        first, second, other = Dropout(0.5, seed=7), Dropout(0.5, seed=7), Dropout(0.5, seed=8)
        for _ in range(3):
            a, b, c = first.forward(x), second.forward(x), other.forward(x)
            np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))

    def test_keeps_float32(self):
        out = Dropout(0.5, seed=0).forward(np.ones((2, 3), dtype=np.float32))
        self.assertEqual(out.dtype, np.float32)

    def test_bad_probability_is_named(self):
        for p in (-0.1, 1.0):
            with self.assertRaisesRegex(ValueError, r"p must be in \[0, 1\)"):
                Dropout(p)


if __name__ == '__main__':
    unittest.main()
