import unittest

import numpy as np
import torch

from scratch.modules import GroupNorm
from tests.scratch.gradcheck import check_layer, torch_gradients

# (x shape, groups): one group (layer norm over C, H, W), several, one channel per group.
CASES = [((3, 6, 5, 3), 1), ((3, 6, 5, 3), 2), ((3, 6, 5, 3), 3), ((2, 6, 3, 5), 6),
         ((1, 4, 3, 3), 2)]


def random_layer(groups, channels, seed):
    rng = np.random.RandomState(seed)
    layer = GroupNorm(groups, channels)
    layer.weight, layer.bias = rng.randn(channels), rng.randn(channels)
    return layer


class GroupNormTest(unittest.TestCase):
    def test_by_hand_two_groups(self):
        layer = GroupNorm(2, 4, eps=0.0)
        layer.weight, layer.bias = np.array([1.0, 2.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0, 3.0])
        # One pixel per channel: group 0 holds channels 0 and 1 (values 1 and 3), group 1
        # channels 2 and 3 (values 10 and 20); each group standardises to -1 and +1.
        x = np.array([1.0, 3.0, 10.0, 20.0]).reshape(1, 4, 1, 1)
        np.testing.assert_allclose(layer.forward(x).ravel(), [-1.0, 2.0, -1.0, 4.0])

    def test_against_numerical_gradients(self):
        for shape, groups in CASES:
            with self.subTest(shape=shape, groups=groups):
                layer = random_layer(groups, shape[1], seed=0)
                x = np.random.RandomState(1).randn(*shape) * 2 + 1
                for name, error in check_layer(layer, x).items():
                    self.assertLess(error, 1e-7, name)

    def test_against_torch_autograd(self):
        for shape, groups in CASES:
            with self.subTest(shape=shape, groups=groups):
                layer = random_layer(groups, shape[1], seed=2)
                x = np.random.RandomState(3).randn(*shape)
                dout = np.random.RandomState(4).randn(*shape)
                expected, grads = torch_gradients(
                    lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b, 1e-5),
                    (x, layer.weight, layer.bias), dout)
                np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)
                layer.backward(dout)
                for ours, theirs in zip((layer.dx, layer.dw, layer.db), grads):
                    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)

    def test_errors_are_named(self):
        with self.assertRaisesRegex(ValueError, r"num_channels \(6\).*num_groups \(4\)"):
            GroupNorm(4, 6)
        with self.assertRaisesRegex(ValueError, r"\(N, 6, H, W\)"):
            GroupNorm(3, 6).forward(np.zeros((2, 4, 3, 3)))


if __name__ == '__main__':
    unittest.main()
