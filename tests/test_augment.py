"""Batched augmentation: crops are windows of the zero-padded image at the sampled offsets, flips
flip, offsets are uniform over the (2p+1)^2 grid, Cutout zeroes a clipped square, normalisation
matches a hand computation."""
import unittest

import torch
import torch.nn.functional as F

from data import BatchLoader, ImageSet
from data.augment import crop_flip, cutout, normalize, sample_crop_flip, sample_cutout
from data.samplers import epoch_indices
from data.seeding import make_generator


def reference_crop_flip(image, oy, ox, flip, padding):
    """One image, written plainly: pad, slice the window, mirror."""
    c, h, w = image.shape
    padded = torch.zeros(c, h + 2 * padding, w + 2 * padding, dtype=image.dtype)
    padded[:, padding:padding + h, padding:padding + w] = image
    window = padded[:, oy:oy + h, ox:ox + w]
    return window.flip(-1) if flip else window


def random_images(b, c, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (b, c, h, w), generator=g, dtype=torch.uint8)


class CropFlipTest(unittest.TestCase):
    def test_matches_reference_on_every_offset_and_flip(self):
        padding = 2
        grid = [(oy, ox, flip) for oy in range(5) for ox in range(5) for flip in (False, True)]
        images = random_images(len(grid), 3, 5, 7)
        oy, ox, flips = (torch.tensor(column) for column in zip(*grid))
        out = crop_flip(images, oy, ox, flips, padding)
        self.assertEqual(out.dtype, torch.uint8)
        self.assertEqual(out.shape, images.shape)
        for i, (y, x, flip) in enumerate(grid):
            self.assertTrue(torch.equal(out[i], reference_crop_flip(images[i], y, x, flip,
                                                                    padding)), grid[i])

    def test_centre_without_flip_is_identity_and_flip_mirrors(self):
        images = random_images(4, 2, 6, 6)
        centre = torch.full((4,), 4)
        self.assertTrue(torch.equal(crop_flip(images, centre, centre, torch.zeros(4, dtype=bool),
                                              4), images))
        self.assertTrue(torch.equal(crop_flip(images, centre, centre, torch.ones(4, dtype=bool),
                                              4), images.flip(-1)))

    def test_corner_offsets_shift_in_zeros(self):
        images = random_images(1, 1, 6, 6)
        out = crop_flip(images, torch.tensor([0]), torch.tensor([8]), torch.tensor([False]), 4)
        expected = torch.zeros(6, 6, dtype=torch.uint8)
        expected[4:, :2] = images[0, 0, :2, 4:]
        self.assertTrue(torch.equal(out[0, 0], expected))
        out = crop_flip(images, torch.tensor([5]), torch.tensor([3]), torch.tensor([True]), 4)
        expected = torch.zeros(6, 6, dtype=torch.uint8)
        expected[:5, :5] = images[0, 0, 1:, :5].flip(-1)  # the zero column ends up right
        self.assertTrue(torch.equal(out[0, 0], expected))


def random_crop_flip(images, seed):
    """The training path's crop and flip: one epoch of a BatchLoader (augment=True, padding 4,
    identity normalisation) over ``images`` labelled 0..B-1, put back in the images' order."""
    n, c = images.shape[:2]
    loader = BatchLoader(ImageSet(images, torch.arange(n)), n, device=images.device,
                         mean=(0.0,) * c, std=(1.0,) * c, train=True, augment=True, seed=seed)
    batch, labels = next(iter(loader))
    out = torch.empty_like(images)
    out[labels] = (batch * 255).round().to(torch.uint8)
    return out


class RandomCropFlipTest(unittest.TestCase):
    def test_uses_the_sampled_parameters(self):
        """The loader draws the epoch's order, then the crop parameters, from (seed, epoch)."""
        images = random_images(64, 3, 8, 8)
        out = random_crop_flip(images, 7)
        generator = make_generator(7, "epoch", 0)
        order = epoch_indices(torch.arange(64), "instance", generator, 64)
        params = sample_crop_flip(64, 4, generator)
        expected = torch.empty_like(images)
        expected[order] = crop_flip(images[order], *params, 4)
        self.assertTrue(torch.equal(out, expected))

    def test_every_output_is_a_valid_window(self):
        """Found by search over all windows and flips: no knowledge of the sampled parameters."""
        images = random_images(16, 3, 6, 6, seed=3)
        out = random_crop_flip(images, 1)
        padded = F.pad(images, (4, 4, 4, 4))
        for i in range(16):
            candidates = [padded[i, :, y:y + 6, x:x + 6].flip(-1) if flip
                          else padded[i, :, y:y + 6, x:x + 6]
                          for y in range(9) for x in range(9) for flip in (False, True)]
            self.assertTrue(any(torch.equal(out[i], c) for c in candidates), i)

    def test_label_stays_with_its_image(self):
        """Image i is filled with value i + 1: its crop shows only i + 1 and padding zeros."""
        n = 200
        images = torch.arange(1, n + 1, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 8, 8)
        out = random_crop_flip(images.contiguous(), 0)
        for i in range(n):
            self.assertEqual(set(out[i].unique().tolist()) - {0}, {i + 1})

    def test_offsets_uniform_over_grid_and_flips_fair(self):
        draws = 81 * 200
        oy, ox, flips = sample_crop_flip(draws, 4, torch.Generator().manual_seed(0))
        self.assertEqual((int(oy.min()), int(oy.max()), int(ox.min()), int(ox.max())),
                         (0, 8, 0, 8))
        cells = torch.bincount(oy * 9 + ox, minlength=81).double()
        expected = draws / 81
        chi_square = float(((cells - expected) ** 2 / expected).sum())
        self.assertLess(chi_square, 124.8)  # 80 degrees of freedom, p = 0.001
        sd = (draws * 0.25) ** 0.5
        self.assertLess(abs(int(flips.sum()) - draws / 2), 4 * sd)

    @unittest.skipUnless(torch.cuda.is_available(), "needs CUDA")
    def test_cuda_equals_cpu(self):
        images = random_images(32, 3, 8, 8)
        cpu = random_crop_flip(images, 5)
        cuda = random_crop_flip(images.cuda(), 5)
        self.assertEqual(cuda.device.type, "cuda")
        self.assertTrue(torch.equal(cuda.cpu(), cpu))


def reference_cutout(image, row, column, size):
    """One image, written plainly: zero every pixel within the square, looping over pixels."""
    out = image.clone()
    _, h, w = image.shape
    for y in range(h):
        for x in range(w):
            if row - size // 2 <= y < row - size // 2 + size and \
                    column - size // 2 <= x < column - size // 2 + size:
                out[:, y, x] = 0
    return out


class CutoutTest(unittest.TestCase):
    def test_matches_reference_at_every_centre_and_size(self):
        images = random_images(1, 3, 6, 7)   # pixel values >= 1, so zeros are the square
        for size in (0, 1, 2, 3, 4, 9):
            centres = [(y, x) for y in range(6) for x in range(7)]
            batch = images.expand(len(centres), 3, 6, 7)
            rows, columns = (torch.tensor(c) for c in zip(*centres))
            out = cutout(batch, rows, columns, size)
            self.assertEqual((out.dtype, out.shape), (torch.uint8, batch.shape))
            for i, (y, x) in enumerate(centres):
                self.assertTrue(torch.equal(out[i], reference_cutout(images[0], y, x, size)),
                                (size, y, x))

    def test_zeroes_exactly_a_square_of_the_given_side_inside_the_image(self):
        images = random_images(3, 2, 12, 12)
        out = cutout(images, torch.tensor([6, 5, 0]), torch.tensor([6, 9, 0]), 4)
        zeros = (out == 0).all(1)   # (B, H, W): pixels zeroed in every channel
        self.assertEqual(zeros.sum((1, 2)).tolist(), [16, 16, 4])   # the corner one is clipped
        self.assertTrue(zeros[0, 4:8, 4:8].all())
        self.assertTrue(zeros[1, 3:7, 7:11].all())
        self.assertTrue(zeros[2, :2, :2].all())
        self.assertTrue(torch.equal(out[~zeros[:, None].expand_as(out)],
                                    images[~zeros[:, None].expand_as(out)]))

    def test_fill_value_and_float_images(self):
        images = torch.randn(2, 3, 5, 5)
        out = cutout(images, torch.tensor([2, 2]), torch.tensor([2, 2]), 3, fill=0.0)
        self.assertEqual(out.dtype, torch.float32)
        self.assertEqual(int((out == 0).all(1).sum()), 18)

    def test_centres_cover_the_image(self):
        rows, columns = sample_cutout(5000, (4, 6), torch.Generator().manual_seed(0))
        self.assertEqual(sorted(rows.unique().tolist()), list(range(4)))
        self.assertEqual(sorted(columns.unique().tolist()), list(range(6)))


class NormalizeTest(unittest.TestCase):
    def test_against_hand_computation(self):
        images = torch.tensor([[[[0, 255]], [[51, 102]]]], dtype=torch.uint8)  # (1, 2, 1, 2)
        out = normalize(images, (0.5, 0.2), (0.25, 0.1))
        expected = torch.tensor([[[[(0 - 0.5) / 0.25, (1 - 0.5) / 0.25]],
                                  [[(0.2 - 0.2) / 0.1, (0.4 - 0.2) / 0.1]]]])
        self.assertEqual(out.dtype, torch.float32)
        torch.testing.assert_close(out, expected)


if __name__ == "__main__":
    unittest.main()
