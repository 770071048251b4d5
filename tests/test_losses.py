"""Tests of losses/: every loss against an independent float64 computation on hand-made inputs."""
import math
import os
import tempfile
import types
import unittest

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import losses
from engine import builders
from engine.config import HARD_LABEL_LOSSES, LOSS_NAMES, load_config

CIFAR_LT_100 = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def loss_cfg(name, **changes):
    """A loss section with the documented defaults, as the engine's LossConfig has them."""
    values = dict(name=name, gamma=0.0, beta=0.9999, reweight="none", reweight_epoch=0,
                  ldam_max_margin=0.5, ldam_scale=30.0, tau=1.0, las_head=0.3, las_tail=0.0,
                  las_schedule="concave")
    values.update(changes)
    return types.SimpleNamespace(**values)


def cb_loss(logits, target, counts, loss_type, beta=0.9999, gamma=1.0):
    """The class-balanced loss of Cui et al. through the public API: ``class_balanced_weights``
    with the sigmoid focal, sigmoid, softmax or softmax focal loss."""
    weight = losses.class_balanced_weights(counts, beta)
    criteria = {"sigmoid_focal": lambda: losses.SigmoidFocalLoss(weight, gamma),
                "sigmoid": lambda: losses.SigmoidLoss(weight),
                "softmax": lambda: losses.FocalLoss(weight, 0.0),
                "softmax_focal": lambda: losses.FocalLoss(weight, gamma)}
    return criteria[loss_type]()(logits, target)


def assert_config_refuses(test, override):
    """``load_config`` refuses ``override`` with a one-line ValueError naming its key."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.yaml")
        with open(path, "w") as f:
            f.write("seed: 0\n")
        with test.assertRaises(ValueError) as caught:
            load_config(path, [override])
    test.assertTrue(str(caught.exception).startswith(override.split("=")[0] + ": got"))
    test.assertNotIn("\n", str(caught.exception))


def sample_batch(num_classes=4, n=6, seed=0, spread=3.0):
    """Logits float32 (n, C) and targets int64 (n,) covering every class."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, num_classes, generator=generator) * spread
    target = torch.arange(n) % num_classes
    return logits, target


def np_log_softmax(row):
    row = np.asarray(row, dtype=np.float64)
    top = row.max()
    return row - top - math.log(np.exp(row - top).sum())


def np_cb_weights(counts, beta):
    """(1 - beta) / (1 - beta^n), normalised to sum to C, written out term by term."""
    raw = [(1.0 - beta) / (1.0 - beta ** n) for n in counts]
    return [w * len(counts) / sum(raw) for w in raw]


def np_softmax_focal(logits, target, weight, gamma):
    """sum_i -w_y (1 - p_y)^gamma log p_y / sum_i w_y, one sample at a time."""
    total, norm = 0.0, 0.0
    for row, y in zip(np.asarray(logits, dtype=np.float64), np.asarray(target)):
        log_p = np_log_softmax(row)[y]
        w = 1.0 if weight is None else float(weight[y])
        total += -w * (1.0 - math.exp(log_p)) ** gamma * log_p
        norm += w
    return total / norm


def np_las_smoothing(counts, head, tail, schedule):
    """MiSLAS's f(N_y), one class at a time with math.sin."""
    n_1, n_k = max(counts), min(counts)
    out = []
    for n in counts:
        r = (n - n_k) / (n_1 - n_k)
        if schedule == "concave":
            out.append(tail + (head - tail) * math.sin(math.pi * r / 2))
        elif schedule == "linear":
            out.append(tail + (head - tail) * r)
        else:
            out.append(head + (head - tail) * math.sin(1.5 * math.pi + math.pi * r / 2))
    return out


def np_las_loss(logits, target, counts, head, tail, schedule, weight=None):
    """sum_i w_y H(t_y, softmax(x_i)) / sum_i w_y with t_y: 1 - eps_y on y, eps_y / (C-1) off."""
    eps = np_las_smoothing(counts, head, tail, schedule)
    total, norm = 0.0, 0.0
    for row, y in zip(np.asarray(logits, dtype=np.float64), np.asarray(target)):
        c = len(row)
        t = np.full(c, eps[y] / (c - 1))
        t[y] = 1.0 - eps[y]
        w = 1.0 if weight is None else float(weight[y])
        total += -w * float((t * np_log_softmax(row)).sum())
        norm += w
    return total / norm


def np_soft_focal(logits, probs, weight, gamma):
    """sum_i s_i sum_c -q_ic (1 - p_ic)^gamma log p_ic / sum_i s_i, s_i = sum_c q_ic w_c."""
    total, norm = 0.0, 0.0
    for row, q in zip(np.asarray(logits, dtype=np.float64), np.asarray(probs, dtype=np.float64)):
        log_p = np_log_softmax(row)
        per_sample = float((-q * (1.0 - np.exp(log_p)) ** gamma * log_p).sum())
        s = 1.0 if weight is None else float(q @ np.asarray(weight, dtype=np.float64))
        total += s * per_sample
        norm += s
    return total / norm


def mixed_targets(target, num_classes, seed=1):
    """lambda e_y + (1 - lambda) e_y' rows: each sample mixed with another (rolled) sample."""
    lam = torch.rand(target.numel(), generator=torch.Generator().manual_seed(seed))[:, None]
    one_hot = F.one_hot(target, num_classes).float()
    return lam * one_hot + (1 - lam) * one_hot.roll(1, 0)


def np_one_vs_all(logits, target, weight, gamma):
    """Cui et al.'s per-output terms w_y * exp(-g y z - g log(1 + e^-z)) * BCE(z, y), (N, C)."""
    logits = np.asarray(logits, dtype=np.float64)
    out = np.zeros_like(logits)
    for i, y_i in enumerate(np.asarray(target)):
        w = 1.0 if weight is None else float(weight[y_i])
        for j, z in enumerate(logits[i]):
            y = 1.0 if j == y_i else 0.0
            p = 1.0 / (1.0 + math.exp(-z))
            bce = -(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))
            modulator = math.exp(-gamma * y * z - gamma * math.log(1.0 + math.exp(-z)))
            out[i, j] = w * modulator * bce
    return out


def scalar(tensor):
    return float(tensor.detach().double())


class ReweightTest(unittest.TestCase):
    def test_hand_computed_weights(self):
        # beta 0.5, counts 1 and 2: raw 0.5/0.5 = 1 and 0.5/0.75 = 2/3, sum 5/3 -> x 6/5.
        weights = losses.reweight([1, 2], beta=0.5)
        self.assertEqual(weights.dtype, torch.float32)
        self.assertEqual(tuple(weights.shape), (2,))
        torch.testing.assert_close(weights, torch.tensor([1.2, 0.8]))

    def test_cifar_lt_weights_sum_to_num_classes(self):
        weights = losses.reweight(CIFAR_LT_100, beta=0.9999)
        torch.testing.assert_close(weights.double(),
                                   torch.tensor(np_cb_weights(CIFAR_LT_100, 0.9999),
                                                dtype=torch.float64), rtol=1e-6, atol=0)
        self.assertAlmostEqual(float(weights.sum()), 10.0, places=5)
        self.assertTrue(bool((weights[1:] > weights[:-1]).all()), "rarer classes weigh more")

    def test_beta_zero_gives_ones_and_tensor_counts_work(self):
        torch.testing.assert_close(losses.reweight(torch.tensor([7, 1, 300]), beta=0.0),
                                   torch.ones(3))

    def test_bad_counts_and_beta_are_refused(self):
        for counts in ([10, 0, 5], []):
            with self.subTest(counts=counts), self.assertRaises(ValueError) as caught:
                losses.reweight(counts, 0.99)
            self.assertNotIn("\n", str(caught.exception))
        for beta in (1.0, -0.1):    # beta is checked where it enters: the config
            with self.subTest(beta=beta):
                assert_config_refuses(self, f"loss.beta={beta}")

    def test_reweight_is_the_class_balanced_weights(self):
        self.assertIs(losses.reweight, losses.class_balanced_weights)


class FocalLossTest(unittest.TestCase):
    def test_gamma_zero_is_cross_entropy(self):
        logits, target = sample_batch()
        weight = torch.tensor([0.5, 1.0, 2.0, 4.0])
        for w in (None, weight):
            with self.subTest(weight=w):
                self.assertEqual(float(losses.FocalLoss(w, gamma=0.0)(logits, target)),
                                 float(F.cross_entropy(logits, target, weight=w)))

    def test_gamma_positive_matches_formula(self):
        logits, target = sample_batch(n=9)
        weight = [0.5, 1.0, 2.0, 4.0]
        for gamma in (0.5, 1.0, 2.0):
            for w in (None, weight):
                with self.subTest(gamma=gamma, weight=w):
                    criterion = losses.FocalLoss(None if w is None else torch.tensor(w), gamma)
                    self.assertAlmostEqual(scalar(criterion(logits, target)),
                                           np_softmax_focal(logits, target, w, gamma), places=5)

    def test_gradients_match_naive_formula(self):
        logits, target = sample_batch(n=5)
        logits = logits.double().requires_grad_()
        weight = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
        gamma = 2.0
        self.assertTrue(torch.autograd.gradcheck(
            lambda x: losses.focal_loss(x, target, weight, gamma), (logits,)))
        loss = losses.focal_loss(logits, target, weight, gamma)
        grad, = torch.autograd.grad(loss, logits)
        p = torch.softmax(logits, 1).gather(1, target[:, None]).squeeze(1)
        w = weight[target]
        naive = (-(w * (1 - p) ** gamma * torch.log(p))).sum() / w.sum()
        naive_grad, = torch.autograd.grad(naive, logits)
        self.assertAlmostEqual(scalar(loss), scalar(naive), places=12)
        torch.testing.assert_close(grad, naive_grad, rtol=1e-10, atol=1e-12)

    def test_huge_logits_stay_finite(self):
        # Row 0: the true class dominates (p_y == 1 in float32); row 1: the true class is hopeless.
        logits = torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], requires_grad=True)
        target = torch.tensor([0, 0])
        for gamma in (0.5, 2.0):
            with self.subTest(gamma=gamma):
                loss = losses.FocalLoss(gamma=gamma)(logits, target)
                grad, = torch.autograd.grad(loss, logits)
                self.assertTrue(bool(torch.isfinite(grad).all()), grad)
                # Easy row: loss 0; hard row: (1 - 0)^gamma * 2e4; mean over the two rows.
                self.assertAlmostEqual(scalar(loss), 1e4, delta=1.0)
                # The hopeless row pulls the true logit up and the winner down (1/2 each: mean).
                torch.testing.assert_close(grad[1], torch.tensor([-0.5, 0.5, 0.0]))


class ClassBalancedLossTest(unittest.TestCase):
    counts = [40, 10, 3, 1]
    beta = 0.9

    def reference(self, loss_type, logits, target, gamma):
        weight = np_cb_weights(self.counts, self.beta)
        if loss_type == "sigmoid_focal":
            return np_one_vs_all(logits, target, weight, gamma).sum() / len(target)
        if loss_type == "sigmoid":
            return np_one_vs_all(logits, target, weight, 0.0).mean()
        return np_softmax_focal(logits, target, weight,
                                gamma if loss_type == "softmax_focal" else 0.0)

    def test_every_type_matches_independent_computation(self):
        logits, target = sample_batch(n=8)
        for loss_type in ("sigmoid_focal", "sigmoid", "softmax", "softmax_focal"):
            for gamma in (0.0, 0.5, 2.0):
                with self.subTest(loss_type=loss_type, gamma=gamma):
                    got = cb_loss(logits, target, self.counts, loss_type,
                                                     self.beta, gamma)
                    self.assertEqual(got.dtype, torch.float32)
                    self.assertEqual(got.dim(), 0)
                    self.assertAlmostEqual(scalar(got), self.reference(loss_type, logits, target,
                                                                       gamma), places=5)

    def test_softmax_types_equal_weighted_cross_entropy_and_focal_loss(self):
        logits, target = sample_batch(n=8)
        weight = losses.reweight(self.counts, self.beta)
        torch.testing.assert_close(
            cb_loss(logits, target, self.counts, "softmax", self.beta),
            F.cross_entropy(logits, target, weight=weight))
        torch.testing.assert_close(
            cb_loss(logits, target, self.counts, "softmax_focal", self.beta,
                                       gamma=2.0),
            losses.FocalLoss(weight, gamma=2.0)(logits, target))

    def test_sigmoid_huge_logits_stay_finite(self):
        logits = torch.tensor([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 30.0, -30.0]],
                              requires_grad=True)
        target = torch.tensor([0, 0])
        w0 = np_cb_weights(self.counts, self.beta)[0]
        softplus5 = math.log1p(math.exp(5.0))
        # Outputs at +-1e4 on the right side and at -30 for a negative cost ~0; the wrong ones
        # cost 1e4 each (modulator 1), z = 30 for a negative costs 30, z = 0 costs log 2.
        hard = 2e4 + 30.0
        expected = {
            "sigmoid_focal": w0 * (math.sqrt(0.5) * math.log(2.0)
                           + math.sqrt(1 / (1 + math.exp(-5.0))) * softplus5 + hard) / 2,
            "sigmoid": w0 * (math.log(2.0) + softplus5 + hard) / 8,
        }
        for loss_type, want in expected.items():
            with self.subTest(loss_type=loss_type):
                loss = cb_loss(logits, target, self.counts, loss_type,
                                                  self.beta, gamma=0.5)
                grad, = torch.autograd.grad(loss, logits)
                self.assertTrue(bool(torch.isfinite(grad).all()), grad)
                self.assertLess(abs(scalar(loss) - want), 1e-5 * want)

    def test_sigmoid_focal_gradients_match_literal_formula(self):
        logits, target = sample_batch(n=5)
        logits = logits.double().requires_grad_()
        weight = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
        gamma = 1.5
        self.assertTrue(torch.autograd.gradcheck(
            lambda x: losses.sigmoid_focal_loss(x, target, weight, gamma), (logits,)))
        y = F.one_hot(target, 4).double()
        literal = (torch.exp(-gamma * y * logits - gamma * torch.log1p(torch.exp(-logits)))
                   * F.binary_cross_entropy_with_logits(logits, y, reduction="none")
                   * weight[target, None]).sum() / len(target)
        ours = losses.sigmoid_focal_loss(logits, target, weight, gamma)
        torch.testing.assert_close(torch.autograd.grad(ours, logits)[0],
                                   torch.autograd.grad(literal, logits)[0])

    def test_bad_loss_type_and_counts_raise(self):
        logits, target = sample_batch()
        with self.assertRaisesRegex(ValueError, "^loss.name: got 'hinge'"):
            builders.build_loss(loss_cfg("hinge"), self.counts)
        with self.assertRaisesRegex(ValueError, "class 1 has 0 training images"):
            cb_loss(logits, target, [4, 0, 2, 1], "sigmoid_focal")
        with self.assertRaises(RuntimeError):   # 3 class weights for 4 classes
            cb_loss(logits, target, [4, 2, 1], "softmax")


class LDAMLossTest(unittest.TestCase):
    def test_margins_follow_quarter_power_with_largest_max_margin(self):
        # n^(-1/4) of 16, 1, 81 = 1/2, 1, 1/3; the largest (n = 1) becomes 0.5.
        criterion = losses.LDAMLoss([16, 1, 81], max_margin=0.5)
        torch.testing.assert_close(criterion.margins, torch.tensor([0.25, 0.5, 1 / 6]))
        margins = losses.LDAMLoss(CIFAR_LT_100).margins.double()
        self.assertAlmostEqual(float(margins.max()), 0.5, places=6)
        expected = 0.5 * (torch.tensor(CIFAR_LT_100, dtype=torch.float64) / 50) ** -0.25
        torch.testing.assert_close(margins, expected)

    def test_loss_matches_per_sample_computation(self):
        counts, scale = [16, 1, 81], 30.0
        margins = [0.25, 0.5, 1 / 6]
        logits, target = sample_batch(num_classes=3, n=7, spread=0.5)
        weight = [0.2, 1.5, 0.7]
        for w in (None, weight):
            with self.subTest(weight=w):
                total, norm = 0.0, 0.0
                for row, y in zip(logits.double().numpy(), target.numpy()):
                    shifted = row.copy()
                    shifted[y] -= margins[y]
                    ww = 1.0 if w is None else w[y]
                    total -= ww * np_log_softmax(scale * shifted)[y]
                    norm += ww
                criterion = losses.LDAMLoss(counts, 0.5, scale,
                                            weight=None if w is None else torch.tensor(w))
                self.assertAlmostEqual(scalar(criterion(logits, target)), total / norm, places=4)

    def test_zero_count_raises_value_error(self):
        with self.assertRaises(ValueError):
            losses.LDAMLoss([10, 0, 3])
        for override in ("loss.ldam_max_margin=0", "loss.ldam_scale=-1"):
            with self.subTest(override=override):
                assert_config_refuses(self, override)


class LogitAdjustmentTest(unittest.TestCase):
    counts = [1, 3, 12]   # prior 1/16, 3/16, 12/16

    def test_offsets_are_tau_log_prior(self):
        criterion = losses.LogitAdjustedLoss(self.counts, tau=2.0)
        expected = [2.0 * math.log(n / 16) for n in self.counts]
        torch.testing.assert_close(criterion.offsets, torch.tensor(expected, dtype=torch.float32))

    def test_logit_adjusted_loss_is_cross_entropy_on_shifted_logits(self):
        logits, target = sample_batch(num_classes=3, n=7)
        tau = 1.5
        total = 0.0
        for row, y in zip(logits.double().numpy(), target.numpy()):
            shifted = row + np.array([tau * math.log(n / 16) for n in self.counts])
            total -= np_log_softmax(shifted)[y]
        got = losses.LogitAdjustedLoss(self.counts, tau)(logits, target)
        self.assertAlmostEqual(scalar(got), total / len(target), places=5)

    def test_balanced_softmax_is_cross_entropy_on_logits_plus_log_counts(self):
        logits, target = sample_batch(num_classes=3, n=7)
        weight = torch.tensor([2.0, 1.0, 0.5])
        log_counts = torch.log(torch.tensor(self.counts, dtype=torch.float32))
        for w in (None, weight):
            with self.subTest(weight=w):
                torch.testing.assert_close(
                    losses.BalancedSoftmaxLoss(self.counts, weight=w)(logits, target),
                    F.cross_entropy(logits + log_counts, target, weight=w))

    def test_posthoc_adjust_subtracts_tau_log_prior(self):
        logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])
        adjusted = losses.posthoc_adjust(logits, self.counts, tau=0.5)
        offsets = torch.tensor([0.5 * math.log(n / 16) for n in self.counts])
        torch.testing.assert_close(adjusted, logits - offsets)
        # Equal logits: the rarest class wins after adjustment.
        self.assertEqual(int(adjusted[0].argmax()), 0)
        self.assertTrue(torch.equal(losses.posthoc_adjust(logits, self.counts, 0.0), logits))
        self.assertEqual(losses.posthoc_adjust(logits.bfloat16(), self.counts, 1.0).dtype,
                         torch.float32)


class SoftTargetTest(unittest.TestCase):
    counts = [40, 10, 3, 1]
    soft_names = ("ce", "focal", "logit_adjusted", "balanced_softmax", "las")

    def test_soft_target_flags_match_the_hard_label_list(self):
        self.assertEqual(set(LOSS_NAMES) - set(HARD_LABEL_LOSSES),
                         set(self.soft_names))
        for name in LOSS_NAMES:
            with self.subTest(name=name):
                criterion = builders.build_loss(loss_cfg(name), self.counts)
                self.assertEqual(criterion.accepts_soft_targets, name in self.soft_names)

    def test_one_hot_rows_give_the_class_index_loss(self):
        logits, target = sample_batch(n=8)
        one_hot = F.one_hot(target, 4).float()
        for name in self.soft_names:
            for reweight in ("none", "class_balanced"):
                with self.subTest(name=name, reweight=reweight):
                    criterion = builders.build_loss(
                        loss_cfg(name, gamma=2.0, beta=0.9, reweight=reweight), self.counts)
                    torch.testing.assert_close(criterion(logits, one_hot),
                                               criterion(logits, target), rtol=1e-6, atol=0)

    def test_cross_entropy_matches_torch_probability_targets(self):
        logits, target = sample_batch(n=8)
        probs = mixed_targets(target, 4)
        torch.testing.assert_close(losses.FocalLoss()(logits, probs),
                                   F.cross_entropy(logits, probs))
        weight = torch.tensor([0.5, 1.0, 2.0, 4.0])
        per_sample = F.cross_entropy(logits, probs, reduction="none")
        s = probs @ weight
        torch.testing.assert_close(losses.FocalLoss(weight)(logits, probs),
                                   (s * per_sample).sum() / s.sum())

    def test_focal_loss_weights_each_class_term_by_its_probability(self):
        logits, target = sample_batch(n=9)
        probs = mixed_targets(target, 4)
        weight = [0.5, 1.0, 2.0, 4.0]
        for gamma in (0.0, 0.5, 2.0):
            for w in (None, weight):
                with self.subTest(gamma=gamma, weight=w):
                    criterion = losses.FocalLoss(None if w is None else torch.tensor(w), gamma)
                    self.assertAlmostEqual(scalar(criterion(logits, probs)),
                                           np_soft_focal(logits, probs, w, gamma), places=5)

    def test_focal_gradients_match_naive_formula(self):
        logits, target = sample_batch(n=5)
        logits = logits.double().requires_grad_()
        probs = mixed_targets(target, 4).double()
        weight = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
        self.assertTrue(torch.autograd.gradcheck(
            lambda x: losses.focal_loss(x, probs, weight, 2.0), (logits,)))
        loss = losses.focal_loss(logits, probs, weight, 2.0)
        p = torch.softmax(logits, 1)
        s = probs @ weight
        naive = (s * (-(probs * (1 - p) ** 2 * torch.log(p))).sum(1)).sum() / s.sum()
        grad, = torch.autograd.grad(loss, logits)
        naive_grad, = torch.autograd.grad(naive, logits)
        self.assertAlmostEqual(scalar(loss), scalar(naive), places=12)
        torch.testing.assert_close(grad, naive_grad, rtol=1e-10, atol=1e-12)

    def test_huge_logits_stay_finite(self):
        # p rounds to 1 for the winner of each row; the soft rows put weight on it and elsewhere.
        logits = torch.tensor([[1e4, 0.0, -1e4, 5.0], [-1e4, 1e4, 0.0, 0.0]], requires_grad=True)
        probs = torch.tensor([[0.7, 0.3, 0.0, 0.0], [0.5, 0.25, 0.25, 0.0]])
        for name in self.soft_names:
            with self.subTest(name=name):
                criterion = builders.build_loss(
                    loss_cfg(name, gamma=0.5, reweight="class_balanced"), self.counts)
                loss = criterion(logits, probs)
                grad, = torch.autograd.grad(loss, logits)
                self.assertTrue(bool(torch.isfinite(loss)), loss)
                self.assertTrue(bool(torch.isfinite(grad).all()), grad)

    def test_logit_adjusted_soft_targets_are_cross_entropy_on_shifted_logits(self):
        logits, target = sample_batch(n=8)
        probs = mixed_targets(target, 4)
        log_prior = torch.log(torch.tensor(self.counts, dtype=torch.float32) / sum(self.counts))
        torch.testing.assert_close(losses.LogitAdjustedLoss(self.counts, 2.0)(logits, probs),
                                   F.cross_entropy(logits + 2.0 * log_prior, probs))

    def test_hard_label_losses_refuse_soft_targets(self):
        logits, target = sample_batch(n=4)
        probs = F.one_hot(target, 4).float()
        for name in HARD_LABEL_LOSSES:
            with self.subTest(name=name), self.assertRaisesRegex(ValueError, "class indices"):
                builders.build_loss(loss_cfg(name), self.counts)(logits, probs)


class LabelAwareSmoothingTest(unittest.TestCase):
    counts = [100, 50, 10, 1]

    def test_smoothing_follows_each_schedule(self):
        for schedule in losses.LAS_SCHEDULES:
            with self.subTest(schedule=schedule):
                got = losses.las_smoothing(self.counts, 0.4, 0.1, schedule)
                expected = np_las_smoothing(self.counts, 0.4, 0.1, schedule)
                torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))
                self.assertAlmostEqual(float(got[0]), 0.4, places=12)
                self.assertAlmostEqual(float(got[3]), 0.1, places=12)

    def test_schedule_shapes_between_the_ends(self):
        # r = (50 - 1) / 99 for class 1: concave lies above the line, convex below it.
        r = 49 / 99
        concave, linear, convex = (float(losses.las_smoothing(self.counts, 0.3, 0.0, s)[1])
                                   for s in ("concave", "linear", "convex"))
        self.assertAlmostEqual(linear, 0.3 * r, places=12)
        self.assertAlmostEqual(concave, 0.3 * math.sin(math.pi * r / 2), places=12)
        self.assertAlmostEqual(convex, 0.3 * (1 - math.cos(math.pi * r / 2)), places=12)
        self.assertGreater(concave, linear)
        self.assertGreater(linear, convex)

    def test_equal_counts_smooth_every_class_like_the_largest(self):
        torch.testing.assert_close(losses.las_smoothing([7, 7, 7], 0.3, 0.1),
                                   torch.full((3,), 0.3, dtype=torch.float64))

    def test_targets_are_the_smoothed_one_hot_rows(self):
        smoothing = torch.tensor([0.3, 0.15, 0.0], dtype=torch.float64)
        expected = torch.tensor([[0.7, 0.15, 0.15],
                                 [0.075, 0.85, 0.075],
                                 [0.0, 0.0, 1.0]], dtype=torch.float64)
        torch.testing.assert_close(losses.las_targets(smoothing), expected)

    def test_loss_matches_hand_computation(self):
        logits, target = sample_batch(n=9)
        weight = [0.5, 1.0, 2.0, 4.0]
        for schedule in losses.LAS_SCHEDULES:
            for w in (None, weight):
                with self.subTest(schedule=schedule, weight=w):
                    criterion = losses.LabelAwareSmoothingLoss(
                        self.counts, 0.4, 0.1, schedule, None if w is None else torch.tensor(w))
                    self.assertAlmostEqual(
                        scalar(criterion(logits, target)),
                        np_las_loss(logits, target, self.counts, 0.4, 0.1, schedule, w),
                        places=5)

    def test_zero_smoothing_is_cross_entropy(self):
        logits, target = sample_batch(n=8)
        criterion = losses.LabelAwareSmoothingLoss(self.counts, 0.0, 0.0)
        torch.testing.assert_close(criterion(logits, target), F.cross_entropy(logits, target))

    def test_soft_targets_mix_the_smoothed_rows(self):
        logits, target = sample_batch(n=8)
        probs = mixed_targets(target, 4)
        criterion = losses.LabelAwareSmoothingLoss(self.counts, 0.3, 0.0)
        smoothed = probs @ criterion.targets
        torch.testing.assert_close(criterion(logits, probs), F.cross_entropy(logits, smoothed))

    def test_bad_settings_are_refused(self):
        for override in ("loss.las_schedule=cubic", "loss.las_head=1.0", "loss.las_tail=-0.1"):
            with self.subTest(override=override):
                assert_config_refuses(self, override)
        with self.assertRaisesRegex(ValueError, "at least 2"):
            losses.las_smoothing([5], 0.3, 0.0)


class BuildLossTest(unittest.TestCase):
    counts = [40, 10, 3, 1]

    def test_loss_names(self):
        self.assertEqual(LOSS_NAMES, ("ce", "focal", "sigmoid", "sigmoid_focal", "ldam",
                                             "logit_adjusted", "balanced_softmax", "las"))

    def test_every_name_builds_the_documented_loss(self):
        logits, target = sample_batch(n=8)
        beta, gamma = 0.9, 2.0
        weight = losses.reweight(self.counts, beta)
        expected = {
            "ce": F.cross_entropy(logits, target, weight=weight),
            "focal": cb_loss(logits, target, self.counts, "softmax_focal", beta, gamma),
            "sigmoid": cb_loss(logits, target, self.counts, "sigmoid", beta),
            "sigmoid_focal": cb_loss(logits, target, self.counts, "sigmoid_focal", beta, gamma),
            "ldam": losses.LDAMLoss(self.counts, 0.5, 30.0, weight)(logits, target),
            "logit_adjusted": losses.LogitAdjustedLoss(self.counts, 1.0, weight)(logits, target),
            "balanced_softmax": F.cross_entropy(
                logits + torch.log(torch.tensor(self.counts, dtype=torch.float32)), target,
                weight=weight),
            "las": torch.tensor(np_las_loss(logits, target, self.counts, 0.3, 0.0, "concave",
                                            weight.tolist()), dtype=torch.float32),
        }
        self.assertEqual(set(expected), set(LOSS_NAMES))
        for name in LOSS_NAMES:
            with self.subTest(name=name):
                criterion = builders.build_loss(
                    loss_cfg(name, gamma=gamma, beta=beta, reweight="class_balanced"),
                    self.counts)
                self.assertIsInstance(criterion, nn.Module)
                criterion.set_epoch(0)
                got = criterion(logits, target)
                self.assertEqual(got.dtype, torch.float32)
                self.assertEqual(got.dim(), 0)
                torch.testing.assert_close(got, expected[name])

    def test_bf16_logits_under_autocast_give_fp32_loss(self):
        logits, target = sample_batch(n=8)
        layer = nn.Linear(4, 4)
        with torch.no_grad():
            layer.weight.copy_(torch.eye(4))
            layer.bias.zero_()
        for name in LOSS_NAMES:
            with self.subTest(name=name):
                criterion = builders.build_loss(loss_cfg(name, gamma=1.0), self.counts)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    half = layer(logits)
                    self.assertEqual(half.dtype, torch.bfloat16)
                    got = criterion(half, target)
                self.assertEqual(got.dtype, torch.float32)
                torch.testing.assert_close(got, criterion(half.float(), target))

    def test_huge_logits_give_finite_loss_and_gradients(self):
        logits = torch.tensor([[1e4, 0.0, -1e4, 5.0], [-1e4, 1e4, 0.0, 0.0]], requires_grad=True)
        target = torch.tensor([0, 0])
        for name in LOSS_NAMES:
            with self.subTest(name=name):
                criterion = builders.build_loss(
                    loss_cfg(name, gamma=0.5, reweight="class_balanced"), self.counts)
                loss = criterion(logits, target)
                grad, = torch.autograd.grad(loss, logits)
                self.assertTrue(bool(torch.isfinite(loss)), loss)
                self.assertTrue(bool(torch.isfinite(grad).all()), grad)

    def test_all_ones_weights_equal_unweighted_exactly(self):
        logits, target = sample_batch(n=8)
        ones = torch.ones(4)
        pairs = [
            (losses.FocalLoss(), losses.FocalLoss(ones)),
            (losses.FocalLoss(gamma=2.0), losses.FocalLoss(ones, gamma=2.0)),
            (losses.SigmoidLoss(), losses.SigmoidLoss(ones)),
            (losses.SigmoidFocalLoss(gamma=2.0), losses.SigmoidFocalLoss(ones, gamma=2.0)),
            (losses.LDAMLoss(self.counts), losses.LDAMLoss(self.counts, weight=ones)),
            (losses.LogitAdjustedLoss(self.counts), losses.LogitAdjustedLoss(self.counts,
                                                                              weight=ones)),
            (losses.BalancedSoftmaxLoss(self.counts), losses.BalancedSoftmaxLoss(self.counts,
                                                                                  ones)),
            (losses.LabelAwareSmoothingLoss(self.counts),
             losses.LabelAwareSmoothingLoss(self.counts, weight=ones)),
        ]
        for plain, weighted in pairs:
            with self.subTest(loss=type(plain).__name__):
                self.assertTrue(torch.equal(plain(logits, target), weighted(logits, target)))

    def test_deferred_reweighting_switches_exactly_at_reweight_epoch(self):
        logits, target = sample_batch(n=8)
        for name in LOSS_NAMES:
            with self.subTest(name=name):
                plain = builders.build_loss(loss_cfg(name, gamma=1.0), self.counts)
                weighted = builders.build_loss(
                    loss_cfg(name, gamma=1.0, reweight="class_balanced"), self.counts)
                drw = builders.build_loss(
                    loss_cfg(name, gamma=1.0, reweight="class_balanced", reweight_epoch=3),
                    self.counts)
                self.assertIn("weight", dict(drw.named_buffers()))
                buffer = drw.weight.data_ptr()
                unweighted, reweighted = plain(logits, target), weighted(logits, target)
                self.assertFalse(torch.equal(unweighted, reweighted))
                for epoch, want in ((0, unweighted), (2, unweighted), (3, reweighted),
                                    (7, reweighted), (1, unweighted)):
                    drw.set_epoch(epoch)
                    self.assertTrue(torch.equal(drw(logits, target), want), f"epoch {epoch}")
                self.assertEqual(drw.weight.data_ptr(), buffer, "switched in place")

    def test_weights_move_with_the_module(self):
        drw = builders.build_loss(loss_cfg("ldam", reweight="class_balanced", reweight_epoch=2),
                                self.counts).to(torch.float64)
        self.assertEqual(drw.weight.dtype, torch.float64)
        drw.set_epoch(2)
        torch.testing.assert_close(drw.weight, losses.reweight(self.counts, 0.9999).double())

    def test_config_names_are_the_registry(self):
        self.assertEqual(tuple(builders.LOSS_BUILDERS), LOSS_NAMES)

    def test_invalid_configs_raise_value_error(self):
        assert_config_refuses(self, "loss.reweight=inverse")
        cases = [(loss_cfg("hinge"), self.counts),
                 (loss_cfg("ce", reweight="class_balanced"), [5, 0, 2, 1]),
                 (loss_cfg("ldam"), [5, 0, 2, 1]),
                 (loss_cfg("logit_adjusted"), [5, 0, 2, 1]),
                 (loss_cfg("balanced_softmax"), [])]
        for cfg, counts in cases:
            with self.subTest(cfg=cfg), self.assertRaises(ValueError) as caught:
                builders.build_loss(cfg, counts)
            self.assertNotIn("\n", str(caught.exception))
        builders.build_loss(loss_cfg("ce"), [5, 0, 2, 1])   # plain CE needs no counts


class InitFinalBiasTest(unittest.TestCase):
    def model(self):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4))

    def test_sigmoid_losses_set_prior_bias_on_the_classifier_only(self):
        for name in ("sigmoid", "sigmoid_focal"):
            with self.subTest(name=name):
                model = self.model()
                hidden_bias = model[0].bias.detach().clone()
                builders.init_final_bias(model, loss_cfg(name))
                torch.testing.assert_close(model[2].bias, torch.full((4,), -math.log(9.0)))
                torch.testing.assert_close(torch.sigmoid(model[2].bias), torch.full((4,), 0.1))
                self.assertTrue(torch.equal(model[0].bias, hidden_bias))

    def test_other_losses_leave_the_model_unchanged(self):
        for name in ("ce", "focal", "ldam", "logit_adjusted", "balanced_softmax"):
            with self.subTest(name=name):
                model, reference = self.model(), self.model()
                builders.init_final_bias(model, loss_cfg(name))
                for a, b in zip(model.parameters(), reference.parameters()):
                    self.assertTrue(torch.equal(a, b))

    def test_classifier_without_bias_raises_value_error(self):
        for model in (nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 4, bias=False)),
                      nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4))):
            with self.subTest(model=model), self.assertRaises(ValueError):
                builders.init_final_bias(model, loss_cfg("sigmoid_focal"))


if __name__ == "__main__":
    unittest.main()
