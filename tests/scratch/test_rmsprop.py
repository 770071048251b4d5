import unittest

import numpy as np
import torch

from scratch.optimizer import RMSProp
from tests.scratch.fake_model import FakeLayer, FakeModel, run_ours, run_torch


class RMSPropTest(unittest.TestCase):
    def test_two_steps_by_hand(self):
        layer = FakeLayer([1.0, -2.0], [0.5])
        model = FakeModel([object(), layer])
        optimizer = RMSProp(model, learning_rate=0.1, reg=0.01, decay_rate=0.9, eps=0.0)

        layer.dw, layer.db = np.array([0.1, 0.2]), np.array([0.3])
        optimizer.update(model)
        # g = dw + 0.01 * w = [0.11, 0.18]; cache = 0.1 * g ** 2, so the first step is
        # 0.1 * g / (sqrt(0.1) |g|) = 0.1 / sqrt(0.1) = 0.316227766... against the sign of g.
        np.testing.assert_array_equal(layer.dw, [0.1, 0.2])  # gradients are left alone
        np.testing.assert_allclose(optimizer.caches[(1, 'weight')], [0.00121, 0.00324])
        np.testing.assert_allclose(layer.weight, [1 - np.sqrt(0.1), -2 - np.sqrt(0.1)],
                                   rtol=1e-14)
        np.testing.assert_allclose(layer.bias, [0.5 - np.sqrt(0.1)], rtol=1e-14)

        optimizer.update(model)
        w0, w1, b = 1 - np.sqrt(0.1), -2 - np.sqrt(0.1), 0.5 - np.sqrt(0.1)
        g0, g1 = 0.1 + 0.01 * w0, 0.2 + 0.01 * w1
        cache0, cache1 = 0.9 * 0.00121 + 0.1 * g0 ** 2, 0.9 * 0.00324 + 0.1 * g1 ** 2
        np.testing.assert_allclose(layer.weight, [w0 - 0.1 * g0 / np.sqrt(cache0),
                                                  w1 - 0.1 * g1 / np.sqrt(cache1)], rtol=1e-14)
        # bias: the same gradient twice, cache = 0.9 * 0.009 + 0.1 * 0.09 = 0.0171
        np.testing.assert_allclose(layer.bias, [b - 0.1 * 0.3 / np.sqrt(0.0171)], rtol=1e-14)

    def test_matches_torch_rmsprop(self):
        for reg in (0.0, 0.05):
            with self.subTest(reg=reg):
                ours = run_ours(lambda model: RMSProp(model, learning_rate=0.05, reg=reg,
                                                      decay_rate=0.95, eps=1e-6), 6)
                theirs = run_torch(lambda groups: torch.optim.RMSprop(groups, lr=0.05,
                                                                      alpha=0.95, eps=1e-6),
                                   6, reg)
                for mine, reference in zip(ours, theirs):
                    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


if __name__ == '__main__':
    unittest.main()
