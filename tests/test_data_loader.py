"""BatchLoader: batch shapes, eval order, (seed, epoch) determinism, deferred re-sampling and the
rank shards of data-parallel training."""
import unittest

import torch
import torch.nn.functional as F

from data import BatchLoader, ImageSet, normalize

N, CLASSES = 60, 3


def indexed_set(n=N, size=6):
    """Image i is filled with i + 1 (label i % CLASSES), so a batch tells which images it holds."""
    images = torch.arange(1, n + 1, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 2, size, size)
    return ImageSet(images.contiguous(), torch.arange(n) % CLASSES)


def loader(image_set=None, batch_size=16, **kwargs):
    options = dict(device="cpu", mean=(0.0, 0.0), std=(1.0, 1.0), train=True, augment=False)
    options.update(kwargs)
    return BatchLoader(image_set or indexed_set(), batch_size, **options)


def identities(x):
    """Index of the image behind each (possibly cropped) sample: its largest pixel value - 1."""
    return (x.flatten(1).max(1).values * 255).round().long() - 1


def epoch(batch_loader, number):
    batch_loader.set_epoch(number)
    return list(batch_loader)


class BatchLoaderTest(unittest.TestCase):
    def test_batch_shapes_and_length(self):
        batches = list(loader(drop_last=False))
        self.assertEqual([len(y) for _, y in batches], [16, 16, 16, 12])
        self.assertEqual(len(loader(drop_last=False)), 4)
        self.assertEqual(len(loader(drop_last=True)), 3)
        self.assertEqual(len(list(loader(drop_last=True))), 3)
        x, y = batches[0]
        self.assertEqual((x.dtype, tuple(x.shape)), (torch.float32, (16, 2, 6, 6)))
        self.assertEqual(y.dtype, torch.int64)

    def test_eval_order_fixed_and_normalised(self):
        image_set = indexed_set()
        eval_loader = loader(image_set, train=False, mean=(0.1, 0.2), std=(0.5, 0.25))
        for number in (0, 3):
            x = torch.cat([b[0] for b in epoch(eval_loader, number)])
            y = torch.cat([b[1] for b in epoch(eval_loader, number)])
            torch.testing.assert_close(x, normalize(image_set.images, (0.1, 0.2), (0.5, 0.25)))
            self.assertTrue(torch.equal(y, image_set.labels))

    def test_training_epoch_visits_each_image_once_with_its_label(self):
        batches = epoch(loader(augment=True, drop_last=False), 0)
        ids = torch.cat([identities(x) for x, _ in batches])
        self.assertTrue(torch.equal(torch.sort(ids).values, torch.arange(N)))
        self.assertFalse(torch.equal(ids, torch.arange(N)))
        labels = torch.cat([y for _, y in batches])
        self.assertTrue(torch.equal(labels, ids % CLASSES))

    def test_same_seed_and_epoch_same_batches(self):
        first = epoch(loader(augment=True, seed=3), 5)
        torch.manual_seed(123)  # the global RNG plays no part
        torch.rand(10)
        second = epoch(loader(augment=True, seed=3), 5)
        for (x1, y1), (x2, y2) in zip(first, second, strict=True):
            self.assertTrue(torch.equal(x1, x2))
            self.assertTrue(torch.equal(y1, y2))

    def test_other_epoch_or_seed_differs(self):
        reference = torch.cat([y for _, y in epoch(loader(seed=3), 5)])
        self.assertFalse(torch.equal(reference, torch.cat([y for _, y in epoch(loader(seed=3), 6)])))
        self.assertFalse(torch.equal(reference, torch.cat([y for _, y in epoch(loader(seed=4), 5)])))

    def test_augmentation_is_applied(self):
        batches = epoch(loader(augment=True, drop_last=False), 0)
        x = torch.cat([b[0] for b in batches])
        zero_fraction = (x == 0).float().mean().item()
        self.assertGreater(zero_fraction, 0.05, "crops shift padding zeros in")

    def test_sampler_from_sampler_epoch_on(self):
        counts = torch.tensor([40, 8, 2])
        labels = torch.arange(3).repeat_interleave(counts)
        images = torch.zeros(50, 1, 2, 2, dtype=torch.uint8)
        sampled = loader(ImageSet(images, labels), batch_size=10, sampler="class_balanced",
                         sampler_epoch=2, mean=(0.0,), std=(1.0,))
        for number in (0, 1):
            seen = torch.cat([y for _, y in epoch(sampled, number)])
            self.assertEqual(torch.bincount(seen).tolist(), counts.tolist())
        first_sampled = torch.cat([y for _, y in epoch(sampled, 2)])
        self.assertLess(int((first_sampled == 0).sum()), 30)
        seen = torch.cat([torch.cat([y for _, y in epoch(sampled, number)])
                          for number in range(2, 22)])
        frequencies = torch.bincount(seen).double() / seen.numel()
        self.assertTrue(torch.all((frequencies - 1 / 3).abs() < 0.05), frequencies.tolist())

    def test_rank_shards_make_up_the_single_process_batch(self):
        options = dict(batch_size=8, augment=True, sampler="sqrt", seed=7, drop_last=True)
        single = epoch(loader(**options), 4)
        shards = [epoch(loader(rank=r, world_size=2, **options), 4) for r in (0, 1)]
        self.assertEqual(len(single), len(shards[0]))
        for b, (x, y) in enumerate(single):
            self.assertEqual(len(shards[0][b][1]), 4)
            self.assertTrue(torch.equal(torch.cat([shards[0][b][0], shards[1][b][0]]), x))
            self.assertTrue(torch.equal(torch.cat([shards[0][b][1], shards[1][b][1]]), y))

    def test_downscaled_epochs_are_the_full_size_batches_resized(self):
        images = torch.randint(0, 256, (N, 2, 12, 12), dtype=torch.uint8)
        image_set = ImageSet(images, torch.arange(N) % CLASSES)
        options = dict(augment=True, seed=3, mix="mixup", num_classes=CLASSES)
        small = loader(image_set, downscale_size=8, downscale_until=2, **options)
        full = loader(image_set, **options)
        for number in (0, 1, 2):
            for (x, y), (x_full, y_full) in zip(epoch(small, number), epoch(full, number)):
                expected = x_full if number == 2 else F.interpolate(
                    x_full, size=8, mode="bilinear", align_corners=False, antialias=True)
                torch.testing.assert_close(x, expected)
                torch.testing.assert_close(y, y_full)
        self.assertEqual(epoch(small, 0)[0][0].shape, (16, 2, 8, 8))
        with self.assertRaisesRegex(ValueError, "downscale_size: got 12; expected a side "
                                                "smaller than the 12-pixel images"):
            loader(image_set, downscale_size=12, downscale_until=1)
        with self.assertRaises(ValueError):
            loader(image_set, train=False, downscale_size=8, downscale_until=1)

    def test_invalid_arguments(self):
        with self.assertRaises(ValueError):
            loader(world_size=2, drop_last=False)
        with self.assertRaises(ValueError):
            loader(batch_size=9, world_size=2, drop_last=True)
        with self.assertRaises(ValueError):
            loader(train=False, augment=True)
        with self.assertRaisesRegex(ValueError, "unknown sampler 'balanced'"):
            next(iter(loader(sampler="balanced")))

    @unittest.skipUnless(torch.cuda.is_available(), "needs CUDA")
    def test_cuda_batches_equal_cpu_batches(self):
        options = dict(augment=True, sampler="class_balanced", seed=1)
        for (xc, yc), (xg, yg) in zip(epoch(loader(**options), 2),
                                      epoch(loader(device="cuda", **options), 2), strict=True):
            self.assertEqual(xg.device.type, "cuda")
            torch.testing.assert_close(xg.cpu(), xc)
            self.assertTrue(torch.equal(yg.cpu(), yc))


if __name__ == "__main__":
    unittest.main()
