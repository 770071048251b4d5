import unittest

import numpy as np

from scratch.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from scratch.modules import Linear, ReLU, build_network


class ScaledBackward(Linear):
    """A Linear layer whose backward pass is off by a factor: a bug for the checks to find."""

    def __init__(self, in_dim, out_dim, dx_factor=1.0, dw_factor=1.0):
        super().__init__(in_dim, out_dim)
        self.dx_factor, self.dw_factor = dx_factor, dw_factor

    def backward(self, dout):
        super().backward(dout)
        self.dx, self.dw = self.dx * self.dx_factor, self.dw * self.dw_factor


class RelativeErrorTest(unittest.TestCase):
    def test_by_hand(self):
        self.assertEqual(relative_error([3.0, 4.0], [3.0, 4.0]), 0.0)
        # ||a - n|| = sqrt(2), ||a|| + ||n|| = 2
        self.assertAlmostEqual(relative_error([1.0, 0.0], [0.0, 1.0]), np.sqrt(2) / 2)
        # ||a - n|| = 0.5, ||a|| + ||n|| = 5 + 5.5
        self.assertAlmostEqual(relative_error([[3.0, 4.0]], [[3.0, 4.5]]),
                               0.5 / (5 + np.sqrt(9 + 20.25)))
        self.assertEqual(relative_error(np.zeros(3), np.zeros(3)), 0.0)


class NumericalGradientTest(unittest.TestCase):
    def test_cubic_by_hand_and_restores_x(self):
        x = np.array([[1.0, -2.0], [0.5, 3.0]])
        kept = x.copy()
        dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
        grad = numerical_gradient(lambda: x ** 3, x, dout)
        np.testing.assert_allclose(grad, 3 * kept ** 2 * dout, rtol=1e-8)
        np.testing.assert_array_equal(x, kept)


class CheckLayerTest(unittest.TestCase):
    def make(self, **factors):
        rng = np.random.RandomState(0)
        layer = ScaledBackward(5, 4, **factors)
        layer.weight, layer.bias = rng.randn(5, 4), rng.randn(4)
        return layer, rng.randn(3, 5)

    def test_a_correct_layer_passes(self):
        layer, x = self.make()
        kept = x.copy()
        errors = check_layer(layer, x)
        self.assertEqual(sorted(errors), ['db', 'dw', 'dx'])
        self.assertLess(max(errors.values()), 1e-9)
        np.testing.assert_array_equal(x, kept)
        self.assertEqual(list(check_layer(ReLU(), x + 0.1)), ['dx'])

    def test_finds_a_wrong_gradient(self):
        for factor, wrong in (({'dx_factor': 1.01}, 'dx'), ({'dw_factor': 0.99}, 'dw')):
            with self.subTest(wrong=wrong):
                layer, x = self.make(**factor)
                errors = check_layer(layer, x)
                self.assertGreater(errors[wrong], 1e-3)
                self.assertLess(max(e for name, e in errors.items() if name != wrong), 1e-9)

    def test_given_dout(self):
        layer, x = self.make()
        dout = np.zeros((3, 4))
        dout[1, 2] = 1.0
        self.assertLess(check_layer(layer, x, dout)['dx'], 1e-9)
        np.testing.assert_allclose(layer.dx[1], layer.weight[:, 2])
        np.testing.assert_array_equal(layer.dx[[0, 2]], 0.0)


class CheckModelTest(unittest.TestCase):
    BLOCKS = [dict(type='conv', out_channels=4, norm='group', groups=2, activation='Tanh',
                   pool=2),
              dict(type='fc', out_dim=6, norm='batch', activation='Tanh')]

    def test_every_parameter_of_a_network_with_normalisation(self):
        model = build_network((2, 6, 5), self.BLOCKS, 3)
        rng = np.random.RandomState(0)
        x, y = rng.randn(4, 2, 6, 5), np.array([0, 2, 1, 2])
        errors = check_model(model, x, y)
        self.assertEqual(sorted(errors), sorted(
            f"modules[{index}].{name}" for index in (0, 1, 4, 5, 7) for name in ('weight', 'bias')))
        # The Linear bias right before BatchNorm has no gradient at all: nothing to compare.
        del errors['modules[4].bias']
        self.assertLess(max(errors.values()), 1e-7)

    def test_finds_a_wrong_layer(self):
        model = build_network((6,), [dict(type='fc', out_dim=5, activation='Tanh')], 3)
        rng = np.random.RandomState(0)
        wrong = ScaledBackward(5, 3, dw_factor=1.02)
        wrong.weight, wrong.bias = rng.randn(5, 3), rng.randn(3)
        model.modules[-1] = wrong
        errors = check_model(model, rng.randn(4, 6), np.array([0, 1, 2, 0]))
        self.assertGreater(errors['modules[2].weight'], 1e-3)
        self.assertLess(errors['modules[0].weight'], 1e-7)


if __name__ == '__main__':
    unittest.main()
