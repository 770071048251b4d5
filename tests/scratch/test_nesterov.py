import unittest

import numpy as np
import torch

from scratch.optimizer import NesterovSGD
from tests.scratch.fake_model import FakeLayer, FakeModel, run_ours, run_torch


class NesterovSGDTest(unittest.TestCase):
    def test_two_steps_by_hand(self):
        layer = FakeLayer([1.0, -2.0], [0.5])
        model = FakeModel([object(), layer])
        optimizer = NesterovSGD(model, learning_rate=0.1, reg=0.01, momentum=0.9)

        layer.dw, layer.db = np.array([0.1, 0.2]), np.array([0.3])
        optimizer.update(model)
        # g = [0.11, 0.18]; v = -0.1 g = [-0.011, -0.018]; step = -0.9 * 0 + 1.9 v
        np.testing.assert_array_equal(layer.dw, [0.1, 0.2])
        np.testing.assert_allclose(layer.weight, [0.9791, -2.0342], rtol=1e-14)
        np.testing.assert_allclose(layer.bias, [0.443], rtol=1e-14)  # 0.5 + 1.9 * -0.03

        optimizer.update(model)
        # g = [0.1 + 0.009791, 0.2 - 0.020342] = [0.109791, 0.179658]
        # v = 0.9 * [-0.011, -0.018] - 0.1 g = [-0.0208791, -0.0341658]
        # step = -0.9 * [-0.011, -0.018] + 1.9 v = [-0.02977029, -0.04871502]
        np.testing.assert_allclose(optimizer.velocities[(1, 'weight')], [-0.0208791, -0.0341658],
                                   rtol=1e-13)
        np.testing.assert_allclose(layer.weight, [0.94932971, -2.08291502], rtol=1e-14)
        # bias: v = 0.9 * -0.03 - 0.03 = -0.057; step = 0.027 + 1.9 * -0.057 = -0.0813
        np.testing.assert_allclose(layer.bias, [0.3617], rtol=1e-13)

    def test_matches_torch_nesterov_sgd(self):
        for reg in (0.0, 0.05):
            with self.subTest(reg=reg):
                ours = run_ours(lambda model: NesterovSGD(model, learning_rate=0.05, reg=reg,
                                                          momentum=0.8), 6)
                theirs = run_torch(lambda groups: torch.optim.SGD(groups, lr=0.05, momentum=0.8,
                                                                  nesterov=True), 6, reg)
                for mine, reference in zip(ours, theirs):
                    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


if __name__ == '__main__':
    unittest.main()
