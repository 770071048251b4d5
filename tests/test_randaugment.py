"""RandAugment on batches: the magnitude table against torchvision's numbers worked out by hand,
grouped batch calls against one image at a time, identity at magnitude 0 where an operation has
one, directions, and the loader's use of it."""
import unittest

import torch

from data import BatchLoader, ImageSet, epoch_indices, normalize
from data.randaugment import (OPS, SIGNED, apply_op, op_value, randaugment,
                              sample_randaugment)
from data.seeding import make_generator


def random_images(b, c=3, h=12, w=12, seed=0, low=0, high=256):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(low, high, (b, c, h, w), generator=g, dtype=torch.uint8)


class MagnitudeTableTest(unittest.TestCase):
    def test_values_of_torchvisions_31_bin_table(self):
        # torchvision: linspace(0, max, 31)[M]; posterize (8 - M / 7.5).round(); 32 x 32 images.
        expected = {
            9: {"shear_x": 0.09, "translate_x": 150 / 331 * 32 * 0.3, "rotate": 9.0,
                "brightness": 0.27, "sharpness": 0.27, "posterize": 7, "solarize": 178.5},
            30: {"shear_y": 0.3, "translate_y": 150 / 331 * 32, "rotate": 30.0,
                 "contrast": 0.9, "color": 0.9, "posterize": 4, "solarize": 0.0},
            0: {"shear_x": 0.0, "rotate": 0.0, "brightness": 0.0, "posterize": 8,
                "solarize": 255.0},
        }
        for magnitude, values in expected.items():
            for op, value in values.items():
                with self.subTest(magnitude=magnitude, op=op):
                    self.assertAlmostEqual(op_value(op, magnitude, (32, 32)), value, places=9)
        for op in ("identity", "autocontrast", "equalize"):
            self.assertIsNone(op_value(op, 9, (32, 32)))

    def test_translation_scales_with_the_side(self):
        self.assertAlmostEqual(op_value("translate_x", 30, (8, 64)), 150 / 331 * 64)
        self.assertAlmostEqual(op_value("translate_y", 30, (8, 64)), 150 / 331 * 8)


class ApplyOpTest(unittest.TestCase):
    def test_magnitude_zero_is_identity_where_an_op_has_one(self):
        images = random_images(4)
        for op in OPS:
            if op in ("autocontrast", "equalize"):
                continue
            with self.subTest(op=op):
                value = op_value(op, 0, (12, 12))
                self.assertTrue(torch.equal(apply_op(images, op, value), images))

    def test_autocontrast_and_equalize_act_without_a_magnitude(self):
        # Large enough for equalize: like PIL, it leaves images of < 256-odd pixels alone.
        dull = random_images(2, h=64, w=64, low=100, high=140)
        for op in ("autocontrast", "equalize"):
            with self.subTest(op=op):
                out = apply_op(dull, op, None)
                self.assertGreater(int(out.max()) - int(out.min()), 200)

    def test_directions(self):
        images = random_images(2, low=50, high=200)
        brighter = apply_op(images, "brightness", 0.5).float().mean()
        darker = apply_op(images, "brightness", -0.5).float().mean()
        self.assertGreater(brighter, images.float().mean())
        self.assertLess(darker, images.float().mean())
        column = torch.zeros(1, 1, 12, 12, dtype=torch.uint8)
        column[..., 5] = 255
        shifted = apply_op(column, "translate_x", 4.7)   # int(4.7) = 4 pixels to the right
        self.assertEqual(shifted[0, 0].nonzero()[:, 1].unique().tolist(), [9])
        shifted = apply_op(column, "translate_x", -4.7)
        self.assertEqual(shifted[0, 0].nonzero()[:, 1].unique().tolist(), [1])

    def test_solarize_inverts_the_pixels_above_the_threshold(self):
        images = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
        out = apply_op(images, "solarize", op_value("solarize", 15, (16, 16)))   # 127.5
        expected = torch.where(images > 127.5, 255 - images, images)
        self.assertTrue(torch.equal(out, expected))
        everything = apply_op(images, "solarize", 0.0)
        self.assertTrue(torch.equal(everything, torch.where(images > 0, 255 - images, images)))


class RandAugmentTest(unittest.TestCase):
    def test_batch_equals_one_image_at_a_time(self):
        images = random_images(40, seed=1)
        ops, negate = sample_randaugment(40, 3, make_generator(0))
        out = randaugment(images, ops, negate, 12)
        self.assertEqual((out.dtype, out.shape), (torch.uint8, images.shape))
        for b in range(40):
            image = images[b:b + 1]
            for r in range(3):
                op = OPS[int(ops[b, r])]
                value = op_value(op, 12, (12, 12))
                if op in SIGNED and negate[b, r]:
                    value = -value
                image = apply_op(image, op, value)
            self.assertTrue(torch.equal(out[b:b + 1], image), (b, ops[b].tolist()))

    def test_images_keep_their_place_in_the_batch(self):
        images = random_images(24, seed=2)
        ops, negate = sample_randaugment(24, 2, make_generator(1))
        out = randaugment(images, ops, negate, 9)
        perm = torch.randperm(24, generator=torch.Generator().manual_seed(3))
        self.assertTrue(torch.equal(randaugment(images[perm], ops[perm], negate[perm], 9),
                                    out[perm]))

    def test_every_op_is_drawn(self):
        ops, negate = sample_randaugment(5000, 2, make_generator(2))
        counts = torch.bincount(ops.flatten(), minlength=len(OPS))
        self.assertTrue(bool((counts > 600).all()), counts)   # 10000 / 14 = 714 expected
        self.assertAlmostEqual(negate.float().mean().item(), 0.5, delta=0.02)

    def test_only_one_or_three_channels(self):
        ops, negate = sample_randaugment(2, 1, make_generator(0))
        with self.assertRaises(ValueError):
            randaugment(random_images(2, c=4), ops, negate, 9)
        gray = random_images(2, c=1)
        self.assertEqual(randaugment(gray, ops, negate, 9).shape, gray.shape)


class LoaderRandAugmentTest(unittest.TestCase):
    def setUp(self):
        images = random_images(30, h=8, w=8, seed=4)
        self.image_set = ImageSet(images, torch.arange(30) % 3)

    def loader(self, **kwargs):
        options = dict(device="cpu", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                       train=True, augment=False, drop_last=False, seed=6,
                       randaugment_ops=2, randaugment_magnitude=9)
        options.update(kwargs)
        return BatchLoader(self.image_set, 10, **options)

    def test_batches_are_the_images_of_the_order_augmented_with_their_labels(self):
        loader = self.loader()
        loader.set_epoch(2)
        images = torch.cat([x for x, _ in loader])
        labels = torch.cat([y for _, y in loader])
        # The documented draws of epoch 2: the order, then RandAugment's operations.
        generator = make_generator(6, "epoch", 2)
        order = epoch_indices(self.image_set.labels, "instance", generator, 3)
        ops, negate = sample_randaugment(30, 2, generator)
        expected = randaugment(self.image_set.images[order], ops, negate, 9)
        torch.testing.assert_close(images, normalize(expected, (0.5,) * 3, (0.25,) * 3))
        self.assertTrue(torch.equal(labels, self.image_set.labels[order]))

    def test_rank_shards_add_up_to_the_single_process_batch(self):
        single = list(self.loader(drop_last=True, augment=True, cutout=3))
        shards = [list(self.loader(drop_last=True, augment=True, cutout=3, rank=r, world_size=2))
                  for r in range(2)]
        for b, (x, y) in enumerate(single):
            self.assertTrue(torch.equal(torch.cat([s[b][0] for s in shards]), x))
            self.assertTrue(torch.equal(torch.cat([s[b][1] for s in shards]), y))

    def test_four_channel_images_are_refused(self):
        four = ImageSet(random_images(4, c=4), torch.arange(4))
        with self.assertRaisesRegex(ValueError, "data.randaugment_ops: got 2; expected 0 for "
                                               "images with 4 channels"):
            BatchLoader(four, 2, device="cpu", mean=(0.0,) * 4, std=(1.0,) * 4, train=True,
                        augment=False, randaugment_ops=2)


if __name__ == "__main__":
    unittest.main()
