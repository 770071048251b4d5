"""Mixup and CutMix: per-batch lambdas and partners, CutMix's box and corrected lambda against
hand computation, and the BatchLoader's mixed batches (labels follow their images, weights sum
to 1, exact (seed, epoch) replay, the mixing stop and data-parallel shards)."""
import unittest

import torch
import torch.nn.functional as F

from data import BatchLoader, ImageSet
from data.mix import cutmix_box, mix_batch, mixed_targets, sample_mix
from data.seeding import make_generator

CLASSES = 4


def label_coded_set(n=40, size=8):
    """Image i has label i % CLASSES and every pixel equal to 50 (label + 1), so the mean pixel
    of any mixed image tells which labels it holds and in which proportion."""
    labels = torch.arange(n) % CLASSES
    images = (50 * (labels + 1)).to(torch.uint8).view(n, 1, 1, 1).expand(n, 3, size, size)
    return ImageSet(images.contiguous(), labels)


def loader(mix, image_set=None, batch_size=8, **kwargs):
    options = dict(device="cpu", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), train=True,
                   augment=False, drop_last=True, num_classes=CLASSES, mix=mix, seed=3)
    options.update(kwargs)
    return BatchLoader(image_set or label_coded_set(), batch_size, **options)


def epoch(batch_loader, number):
    batch_loader.set_epoch(number)
    return list(batch_loader)


CODES = 50 * (torch.arange(CLASSES) + 1.0) / 255   # each label's normalised pixel value


class SampleMixTest(unittest.TestCase):
    def test_one_lambda_per_batch_and_partners_within_each_batch(self):
        plan = sample_mix("mixup", 22, 8, 1.0, (8, 8), make_generator(0))
        self.assertEqual(len(plan.lambdas), 3)
        self.assertEqual(len(plan.centres), 3)
        for start, stop in ((0, 8), (8, 16), (16, 22)):
            self.assertEqual(sorted(plan.partners[start:stop].tolist()), list(range(start, stop)))
        self.assertTrue(all(0.0 <= lam <= 1.0 for lam in plan.lambdas))

    def test_lambdas_follow_beta(self):
        # Beta(1, 1) is uniform: mean 1/2, variance 1/12; Beta(0.2, 0.2) piles up near 0 and 1.
        uniform = torch.tensor(sample_mix("mixup", 4000, 1, 1.0, (4, 4), make_generator(1)).lambdas)
        self.assertAlmostEqual(uniform.mean().item(), 0.5, delta=0.02)
        self.assertAlmostEqual(uniform.var().item(), 1 / 12, delta=0.005)
        peaked = torch.tensor(sample_mix("mixup", 4000, 1, 0.2, (4, 4), make_generator(1)).lambdas)
        # Var of Beta(a, a) = 1 / (4 (2a + 1)): 0.1786 for a = 0.2.
        self.assertAlmostEqual(peaked.var().item(), 1 / (4 * 1.4), delta=0.01)

    def test_same_generator_seed_same_plan(self):
        a = sample_mix("cutmix", 30, 8, 1.0, (8, 8), make_generator(5, "epoch", 2))
        b = sample_mix("cutmix", 30, 8, 1.0, (8, 8), make_generator(5, "epoch", 2))
        c = sample_mix("cutmix", 30, 8, 1.0, (8, 8), make_generator(5, "epoch", 3))
        self.assertEqual((a.lambdas, a.centres), (b.lambdas, b.centres))
        self.assertTrue(torch.equal(a.partners, b.partners))
        self.assertNotEqual(a.lambdas, c.lambdas)


class CutMixBoxTest(unittest.TestCase):
    def test_box_sides_and_corrected_lambda_by_hand(self):
        # lambda 0.75: sides 32 * sqrt(0.25) = 16; centred at (16, 16): rows and columns [8, 24).
        self.assertEqual(cutmix_box(0.75, (32, 32), (16, 16)), ((8, 24, 8, 24), 0.75))
        # At the corner the box is clipped to [0, 8) x [0, 8): 64 of 1024 pixels pasted.
        self.assertEqual(cutmix_box(0.75, (32, 32), (0, 0)), ((0, 8, 0, 8), 1 - 64 / 1024))
        # Rectangular images: sides 0.5 * (8, 12) = (4, 6) around (7, 11): rows [5, 8), columns
        # [8, 12) after clipping, 12 of 96 pixels.
        self.assertEqual(cutmix_box(0.75, (8, 12), (7, 11)), ((5, 8, 8, 12), 1 - 12 / 96))
        self.assertEqual(cutmix_box(1.0, (8, 8), (3, 3))[1], 1.0)
        self.assertEqual(cutmix_box(0.0, (8, 8), (4, 4)), ((0, 8, 0, 8), 0.0))

    def test_weight_equals_the_unpasted_fraction(self):
        images = torch.zeros(3, 2, 10, 10)
        partners = torch.ones(3, 2, 10, 10)
        for lam, centre in ((0.3, (5, 5)), (0.9, (0, 9)), (0.5, (9, 2))):
            with self.subTest(lam=lam, centre=centre):
                mixed, corrected = mix_batch("cutmix", images, partners, lam, centre)
                pasted = int((mixed == 1).sum()) / mixed.numel()
                self.assertAlmostEqual(corrected, 1 - pasted, places=12)
                self.assertLess(pasted, 1.0)
                # One box for the whole batch, the same in every channel.
                self.assertTrue(torch.equal(mixed, mixed[:1, :1].expand_as(mixed)))

    def test_mixup_blends_every_pixel(self):
        images, partners = torch.randn(4, 3, 5, 5), torch.randn(4, 3, 5, 5)
        mixed, lam = mix_batch("mixup", images, partners, 0.3, (0, 0))
        self.assertEqual(lam, 0.3)
        torch.testing.assert_close(mixed, 0.3 * images + 0.7 * partners)

    def test_targets_weight_both_labels(self):
        targets = mixed_targets(torch.tensor([0, 2, 1]), torch.tensor([1, 2, 3]), 0.25, 4)
        expected = torch.tensor([[0.25, 0.75, 0, 0], [0, 0, 1.0, 0], [0, 0.25, 0, 0.75]])
        torch.testing.assert_close(targets, expected)


class MixedLoaderTest(unittest.TestCase):
    def test_labels_follow_their_images_and_weights_sum_to_one(self):
        for mix in ("mixup", "cutmix"):
            for number in (0, 1):
                with self.subTest(mix=mix, epoch=number):
                    for images, targets in epoch(loader(mix), number):
                        self.assertEqual(targets.dtype, torch.float32)
                        self.assertEqual(tuple(targets.shape), (8, CLASSES))
                        torch.testing.assert_close(targets.sum(1), torch.ones(8))
                        # Pixel mean = sum of each label's code times its weight: the weights
                        # are the labels' shares of the image (CutMix: of its area).
                        torch.testing.assert_close(images.mean((1, 2, 3)), targets @ CODES)

    def test_mixing_really_mixes_with_one_lambda_per_batch(self):
        for mix in ("mixup", "cutmix"):
            with self.subTest(mix=mix):
                mixed_rows = 0
                for _, targets in epoch(loader(mix, batch_size=20), 0):
                    two = targets[(targets > 0).sum(1) == 2]
                    mixed_rows += len(two)
                    weights = torch.sort(two, 1, descending=True).values[:, :2]
                    # Every mixed row carries {lambda, 1 - lambda} of its batch.
                    self.assertTrue(torch.allclose(weights, weights[:1].expand_as(weights)))
                self.assertGreater(mixed_rows, 10)

    def test_same_seed_and_epoch_replay_exactly(self):
        for mix in ("mixup", "cutmix"):
            with self.subTest(mix=mix):
                first = loader(mix, augment=True)
                second = loader(mix, augment=True)
                epoch(second, 0)   # whatever ran before does not matter
                a, b = epoch(first, 2), epoch(second, 2)
                for (xa, ya), (xb, yb) in zip(a, b):
                    self.assertTrue(torch.equal(xa, xb))
                    self.assertTrue(torch.equal(ya, yb))
                other = epoch(first, 3)
                self.assertFalse(torch.equal(a[0][1], other[0][1]))

    def test_mixing_stops_at_mix_until_with_one_hot_targets(self):
        plain = loader("none", augment=True)
        mixing = loader("mixup", augment=True, mix_until=2)
        for number in (0, 1, 2, 3):
            for (x, y), (xm, ym) in zip(epoch(plain, number), epoch(mixing, number)):
                if number < 2:
                    self.assertFalse(torch.equal(x, xm))
                else:
                    # The same images as without mixing, labels as one-hot float rows.
                    self.assertTrue(torch.equal(x, xm))
                    self.assertTrue(torch.equal(ym, F.one_hot(y, CLASSES).float()))

    def test_rank_shards_add_up_to_the_single_process_batch(self):
        for mix in ("mixup", "cutmix"):
            with self.subTest(mix=mix):
                single = epoch(loader(mix, augment=True, cutout=3), 1)
                shards = [epoch(loader(mix, augment=True, cutout=3, rank=r, world_size=2), 1)
                          for r in range(2)]
                for b, (x, y) in enumerate(single):
                    torch.testing.assert_close(torch.cat([s[b][0] for s in shards]), x)
                    torch.testing.assert_close(torch.cat([s[b][1] for s in shards]), y)

    def test_bad_options(self):
        with self.assertRaisesRegex(ValueError, "mix mode 'blend' is not one of mixup, cutmix"):
            next(iter(loader("blend")))
        with self.assertRaises(ValueError):
            loader("mixup", train=False, drop_last=False)


if __name__ == "__main__":
    unittest.main()
