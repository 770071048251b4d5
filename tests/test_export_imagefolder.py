"""tools/export_imagefolder.py writes a copy that data.load_image_folder reads back."""
import contextlib
import io
import os
import tempfile
import unittest
from unittest import mock

import torch

import data
from data.image_set import ImageSet
from tools import export_imagefolder


def small_set(n, seed):
    """``n`` smooth 16 x 16 colour ramps (what JPEG keeps well), labels 0, 1, 2, 0, ..."""
    generator = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, 16)
    base = ramp[None, :, None] * ramp[None, None, :] * 200           # (1, 16, 16)
    colours = torch.rand(n, 3, 1, 1, generator=generator) * 55       # per image and channel
    images = (base[None] + colours).round().to(torch.uint8)          # (n, 3, 16, 16)
    return ImageSet(images, torch.arange(n) % 3)


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.out = os.path.join(self.tmp.name, "copy")
        self.source = (small_set(9, 0), small_set(6, 1), ["cat", "dog", "emu"])
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))  # the channel notice

    def run_main(self, *argv):
        with mock.patch.object(data, "load_cifar10", return_value=self.source), \
                contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as stderr:
            code = export_imagefolder.main(["--out", self.out, *argv])
        return code, stderr.getvalue()

    def test_png_copy_reads_back_exactly(self):
        self.assertEqual(self.run_main("--format", "png")[0], 0)
        train, test, classes = data.load_image_folder(self.out)
        self.assertEqual(classes, ["cat", "dog", "emu"])
        for copy, original in ((train, self.source[0]), (test, self.source[1])):
            order = torch.argsort(original.labels, stable=True)  # class by class, by index
            self.assertTrue(torch.equal(copy.labels, original.labels[order]))
            self.assertTrue(torch.equal(copy.images, original.images[order]))

    def test_jpeg_copy_is_lossy_but_close(self):
        self.assertEqual(self.run_main("--quality", "95")[0], 0)
        train, _, _ = data.load_image_folder(self.out)
        original = self.source[0].images[torch.argsort(self.source[0].labels, stable=True)]
        difference = (train.images.float() - original.float()).abs().mean().item()
        self.assertGreater(difference, 0)
        self.assertLess(difference, 3)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "train", "cat", "00000.jpg")))

    def test_refuses_an_existing_folder_and_a_bad_quality(self):
        os.makedirs(self.out)
        code, err = self.run_main()
        self.assertEqual((code, err.count("\n")), (2, 1))
        self.assertIn("exists already", err)
        code, err = self.run_main("--quality", "0")
        self.assertIn("--quality: got 0", err)


if __name__ == "__main__":
    unittest.main()
