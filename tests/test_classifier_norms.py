"""The classifier's row norms and scales: MaxNorm projection, tau-normalisation, LWS."""
import math
import unittest

import torch
from torch import nn

import models
from app import tau_norm
from engine import builders
from models.classifier_norms import maxnorm_, relative_radius, tau_normalised_logits


class MaxNormTest(unittest.TestCase):
    def test_rows_inside_the_ball_are_untouched_and_the_others_projected_onto_it(self):
        weight = torch.tensor([[3.0, 4.0],      # norm 5: projected onto radius 2
                               [0.6, 0.8],      # norm 1: inside
                               [0.0, 2.0],      # norm 2: on the ball, untouched
                               [-6.0, 8.0]])    # norm 10: projected
        original = weight.clone()
        maxnorm_(weight, 2.0)
        expected = torch.tensor([[1.2, 1.6], [0.6, 0.8], [0.0, 2.0], [-1.2, 1.6]])
        self.assertTrue(torch.allclose(weight, expected, rtol=0, atol=1e-6), weight)
        self.assertTrue(torch.equal(weight[1:3], original[1:3]))
        norms = weight.norm(dim=1)
        self.assertAlmostEqual(norms[0].item(), 2.0, places=6)
        self.assertAlmostEqual(norms[3].item(), 2.0, places=6)

    def test_projection_keeps_each_direction(self):
        torch.manual_seed(0)
        weight = torch.randn(10, 64) * torch.linspace(0.1, 3.0, 10)[:, None]
        original = weight.clone()
        maxnorm_(weight, 1.0)
        cosines = torch.nn.functional.cosine_similarity(weight, original, dim=1)
        self.assertTrue(torch.allclose(cosines, torch.ones(10), atol=1e-6))
        self.assertLessEqual(weight.norm(dim=1).max().item(), 1.0 + 1e-6)

    def test_relative_radius_is_min_plus_fraction_of_the_range(self):
        weight = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 2.0]])   # norms 5, 1, 2
        self.assertAlmostEqual(relative_radius(weight, 0.1), 1 + 0.1 * 4, places=6)
        self.assertAlmostEqual(relative_radius(weight, 0.0), 1.0, places=6)
        self.assertAlmostEqual(relative_radius(weight, 1.0), 5.0, places=6)


class TauNormTest(unittest.TestCase):
    # Two classes: w_0 = (3, 4) (norm 5), w_1 = (1, 0) (norm 1); biases 1 and -2.
    WEIGHT = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    BIAS = torch.tensor([1.0, -2.0])
    FEATURES = torch.tensor([[1.0, 1.0], [2.0, -1.0]])

    def logits(self):
        return self.FEATURES @ self.WEIGHT.T + self.BIAS     # [[8, -1], [3, 0]]

    def test_against_hand_computed_logits(self):
        # x . w_c / ||w_c||^tau, no bias:
        # tau = 1: [[7/5, 1/1], [2/5, 2/1]]; tau = 0.5: [[7/sqrt5, 1], [2/sqrt5, 2]].
        out = tau_normalised_logits(self.logits(), self.WEIGHT, self.BIAS, 1.0)
        self.assertTrue(torch.allclose(out, torch.tensor([[1.4, 1.0], [0.4, 2.0]]), atol=1e-6))
        out = tau_normalised_logits(self.logits(), self.WEIGHT, self.BIAS, 0.5)
        root5 = math.sqrt(5)
        self.assertTrue(torch.allclose(out, torch.tensor([[7 / root5, 1.0], [2 / root5, 2.0]]),
                                       atol=1e-6))
        out = tau_normalised_logits(self.logits(), self.WEIGHT, self.BIAS, 0.0)
        self.assertTrue(torch.allclose(out, self.FEATURES @ self.WEIGHT.T, atol=1e-6))

    def test_changes_the_prediction_towards_the_short_rows(self):
        plain = self.logits().argmax(1)
        normalised = tau_normalised_logits(self.logits(), self.WEIGHT, self.BIAS, 1.0).argmax(1)
        self.assertEqual(plain.tolist(), [0, 0])
        self.assertEqual(normalised.tolist(), [0, 1])

    def test_adjust_for_uses_the_models_final_layer(self):
        layer = nn.Linear(2, 2)
        with torch.no_grad():
            layer.weight.copy_(self.WEIGHT)
            layer.bias.copy_(self.BIAS)
        adjusted = tau_norm.adjust_for(nn.Sequential(layer), 1.0)(layer(self.FEATURES))
        self.assertTrue(torch.allclose(adjusted, torch.tensor([[1.4, 1.0], [0.4, 2.0]]),
                                       atol=1e-6))

    def test_search_returns_the_grid_tau_with_the_best_balanced_accuracy(self):
        layer = nn.Linear(2, 2)
        with torch.no_grad():
            layer.weight.copy_(self.WEIGHT)
            layer.bias.copy_(self.BIAS)
        # Sample 1 (class 1) is right only once tau makes 2/5^tau < 2, i.e. tau > 0;
        # sample 0 (class 0) stays right while 7/5^tau > 1, i.e. tau < log 7 / log 5 = 1.21.
        labels = torch.tensor([0, 1])
        tau, accuracy = tau_norm.search_tau(nn.Sequential(layer), layer(self.FEATURES), labels,
                                            [10, 1])
        self.assertEqual(tau, 0.1)      # the smallest tau that gets both right
        self.assertEqual(accuracy, 1.0)
        self.assertEqual(len(tau_norm.TAU_GRID), 21)
        self.assertEqual((tau_norm.TAU_GRID[0], tau_norm.TAU_GRID[-1]), (0.0, 2.0))


class ScaledClassifierTest(unittest.TestCase):
    def test_logits_are_the_scales_times_the_linear_outputs(self):
        layer = nn.Linear(2, 3)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]))
            layer.bias.copy_(torch.tensor([0.5, 1.0, -1.0]))
        scaled = models.ScaledClassifier(layer)
        x = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
        self.assertTrue(torch.equal(scaled(x), layer(x)))       # scales start at 1
        with torch.no_grad():
            scaled.scales.copy_(torch.tensor([2.0, -1.0, 0.5]))
        # f_c (w_c . x + b_c): row 0: [2 * 3.5, -1 * 0, 0.5 * 3]; row 1: [2 * 2.5, -1 * 1, 0.5 * 5]
        expected = torch.tensor([[7.0, 0.0, 1.5], [5.0, -1.0, 2.5]])
        self.assertTrue(torch.allclose(scaled(x), expected, atol=1e-6))

    def test_build_model_wraps_the_final_layer(self):
        torch.manual_seed(0)
        plain = builders.build_model("resnet20", (3, 16, 16), 5)
        torch.manual_seed(0)
        scaled = builders.build_model("resnet20", (3, 16, 16), 5, classifier_scales=True)
        self.assertIsInstance(scaled.fc, models.ScaledClassifier)
        self.assertIs(models.final_linear(scaled), scaled.fc.layer)
        self.assertIs(models.classifier_module(scaled), scaled.fc)
        self.assertIs(models.classifier_module(plain), plain.fc)
        self.assertEqual(set(scaled.state_dict()) - set(plain.state_dict()),
                         {"fc.scales", "fc.layer.weight", "fc.layer.bias"})
        x = torch.randn(2, 3, 16, 16)
        plain.eval()
        scaled.eval()
        self.assertTrue(torch.allclose(plain(x), scaled(x)))


if __name__ == "__main__":
    unittest.main()
