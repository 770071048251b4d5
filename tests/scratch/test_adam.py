import unittest

import numpy as np
import torch

from scratch.optimizer import Adam
from tests.scratch.fake_model import FakeLayer, FakeModel, run_ours, run_torch


class AdamTest(unittest.TestCase):
    def test_two_steps_by_hand(self):
        layer = FakeLayer([1.0, -2.0], [0.5])
        model = FakeModel([object(), layer])
        optimizer = Adam(model, learning_rate=0.1, reg=0.01, beta1=0.9, beta2=0.999, eps=0.0)

        layer.dw, layer.db = np.array([0.1, 0.2]), np.array([0.3])
        optimizer.update(model)
        # g = [0.11, 0.18]; m = 0.1 g, v = 0.001 g ** 2; bias correction gives m_hat = g and
        # v_hat = g ** 2, so the first step is exactly 0.1 against the sign of g.
        np.testing.assert_array_equal(layer.dw, [0.1, 0.2])
        np.testing.assert_allclose(optimizer.m[(1, 'weight')], [0.011, 0.018], rtol=1e-14)
        np.testing.assert_allclose(optimizer.v[(1, 'weight')], [1.21e-5, 3.24e-5], rtol=1e-14)
        np.testing.assert_allclose(layer.weight, [0.9, -2.1], rtol=1e-14)
        np.testing.assert_allclose(layer.bias, [0.4], rtol=1e-14)
        self.assertEqual(optimizer.t, 1)

        optimizer.update(model)
        # g = [0.1 + 0.009, 0.2 - 0.021] = [0.109, 0.179]
        m = np.array([0.9 * 0.011 + 0.1 * 0.109, 0.9 * 0.018 + 0.1 * 0.179])  # [0.0208, 0.0341]
        v = np.array([0.999 * 1.21e-5 + 0.001 * 0.109 ** 2, 0.999 * 3.24e-5 + 0.001 * 0.179 ** 2])
        step = 0.1 * (m / (1 - 0.81)) / np.sqrt(v / (1 - 0.999 ** 2))
        np.testing.assert_allclose(layer.weight, np.array([0.9, -2.1]) - step, rtol=1e-14)
        # bias: the same gradient twice, so m_hat = 0.3 and v_hat = 0.09: another step of 0.1
        np.testing.assert_allclose(layer.bias, [0.3], rtol=1e-14)

    def test_matches_torch_adam(self):
        for reg in (0.0, 0.05):
            with self.subTest(reg=reg):
                ours = run_ours(lambda model: Adam(model, learning_rate=0.05, reg=reg,
                                                   beta1=0.8, beta2=0.99, eps=1e-6), 6)
                theirs = run_torch(lambda groups: torch.optim.Adam(groups, lr=0.05,
                                                                   betas=(0.8, 0.99), eps=1e-6),
                                   6, reg)
                for mine, reference in zip(ours, theirs):
                    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


if __name__ == '__main__':
    unittest.main()
