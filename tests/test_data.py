"""Data sets: long-tail profiles and subsets, the stratified split, ImageFolder loading and its
errors, the synthetic set, the CIFAR-10 and CIFAR-100 wrappers and build_data."""
import contextlib
import io
import os
import pickle
import re
import tempfile
import unittest
from types import SimpleNamespace
from unittest import mock

import numpy as np
import torch
from PIL import Image

import data
from engine.config.schema import DataConfig, ImbalanceConfig, SyntheticConfig
from data import (DataBundle, ImageSet, build_data, channel_stats, load_cifar10, load_image_folder,
                  long_tail_counts, long_tail_indices, make_synthetic, stratified_split)


def data_cfg(dataset="synthetic", root="unused", profile="none", factor=1.0, val_fraction=0.0,
             **synthetic):
    """The config's own DataConfig (defaults for every key not named here)."""
    sizes = dict(num_classes=4, train_per_class=30, test_per_class=5, image_size=8, channels=3)
    sizes.update(synthetic)
    return DataConfig(dataset=dataset, root=root, download=False,
                      imbalance=ImbalanceConfig(profile=profile, factor=factor),
                      val_fraction=val_fraction, augment=True, sampler="instance",
                      sampler_epoch=0, synthetic=SyntheticConfig(**sizes))


class LongTailCountsTest(unittest.TestCase):
    def test_cifar10_exp_factor_100(self):
        self.assertEqual(long_tail_counts(5000, 10, "exp", 100),
                         [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])

    def test_exp_matches_formula(self):
        expected = [int(1000 * (1 / 50) ** (i / 4)) for i in range(5)]
        self.assertEqual(long_tail_counts(1000, 5, "exp", 50), expected)
        self.assertEqual(expected[0], 1000)
        self.assertEqual(expected[-1], 20)

    def test_step_reduces_last_half(self):
        self.assertEqual(long_tail_counts(5000, 10, "step", 100), [5000] * 5 + [50] * 5)
        self.assertEqual(long_tail_counts(100, 5, "step", 10), [100] * 3 + [10] * 2)

    def test_none_and_factor_one_keep_everything(self):
        self.assertEqual(long_tail_counts(70, 3, "none", 100), [70, 70, 70])
        self.assertEqual(long_tail_counts(70, 3, "exp", 1), [70, 70, 70])

    def test_unknown_profile(self):
        with self.assertRaisesRegex(ValueError, "unknown imbalance profile 'linear'"):
            long_tail_counts(10, 3, "linear", 2)


class LongTailIndicesTest(unittest.TestCase):
    labels = torch.arange(4).repeat_interleave(torch.tensor([50, 40, 30, 3]))

    def test_keeps_counts_sorted_and_capped_by_availability(self):
        idx = long_tail_indices(self.labels, [50, 20, 5, 10], seed=0)
        self.assertEqual(torch.bincount(self.labels[idx]).tolist(), [50, 20, 5, 3])
        self.assertTrue(torch.equal(idx, torch.sort(idx).values))
        self.assertEqual(idx.unique().numel(), idx.numel())

    def test_deterministic_per_seed(self):
        a = long_tail_indices(self.labels, [25, 20, 5, 1], seed=3)
        self.assertTrue(torch.equal(a, long_tail_indices(self.labels, [25, 20, 5, 1], seed=3)))
        self.assertFalse(torch.equal(a, long_tail_indices(self.labels, [25, 20, 5, 1], seed=4)))

    def test_choice_is_random_within_class(self):
        idx = long_tail_indices(self.labels, [25, 20, 5, 1], seed=0)
        self.assertFalse(torch.equal(idx[:25], torch.arange(25)), "not just the first images")


class StratifiedSplitTest(unittest.TestCase):
    labels = torch.arange(5).repeat_interleave(torch.tensor([100, 37, 10, 2, 1]))

    def test_counts_per_class(self):
        train_idx, val_idx = stratified_split(self.labels, 0.1, seed=0)
        self.assertEqual(torch.bincount(self.labels[val_idx], minlength=5).tolist(),
                         [10, 4, 1, 1, 0])
        self.assertEqual(torch.bincount(self.labels[train_idx], minlength=5).tolist(),
                         [90, 33, 9, 1, 1])

    def test_never_takes_a_whole_class(self):
        _, val_idx = stratified_split(self.labels, 0.9, seed=0)
        self.assertEqual(torch.bincount(self.labels[val_idx], minlength=5).tolist(),
                         [90, 33, 9, 1, 0])

    def test_disjoint_sorted_and_complete(self):
        train_idx, val_idx = stratified_split(self.labels, 0.3, seed=1)
        both = torch.cat([train_idx, val_idx])
        self.assertTrue(torch.equal(torch.sort(both).values, torch.arange(len(self.labels))))
        self.assertTrue(torch.equal(val_idx, torch.sort(val_idx).values))
        self.assertTrue(torch.equal(train_idx, torch.sort(train_idx).values))

    def test_zero_fraction_holds_nothing_out(self):
        train_idx, val_idx = stratified_split(self.labels, 0.0, seed=0)
        self.assertEqual(val_idx.numel(), 0)
        self.assertTrue(torch.equal(train_idx, torch.arange(len(self.labels))))

    def test_deterministic_per_seed(self):
        a = stratified_split(self.labels, 0.2, seed=5)[1]
        self.assertTrue(torch.equal(a, stratified_split(self.labels, 0.2, seed=5)[1]))
        self.assertFalse(torch.equal(a, stratified_split(self.labels, 0.2, seed=6)[1]))


def write_image(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(path)


def write_folder(root, per_class, size=(6, 5), ext=".png", mode=None):
    """Images whose every pixel is 10 * label + index, so tests can check order and labels."""
    for part in ("train", "test"):
        for label, name in enumerate(sorted(per_class)):
            for i in range(per_class[name] if part == "train" else 1):
                value = 10 * label + i
                array = np.full((size[1], size[0], 3), value, np.uint8)
                write_image(os.path.join(root, part, name, f"{i:03d}{ext}"), array, mode)


class ImageFolderTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))  # the channel notice

    def tearDown(self):
        self.tmp.cleanup()

    def test_png_classes_counts_order_and_shape(self):
        write_folder(self.root, {"cat": 3, "ant": 2, "bee": 4})
        train, test, classes = load_image_folder(self.root)
        self.assertEqual(classes, ["ant", "bee", "cat"])
        self.assertEqual(tuple(train.images.shape), (9, 3, 5, 6))
        self.assertEqual(train.images.dtype, torch.uint8)
        self.assertEqual(train.labels.tolist(), [0, 0, 1, 1, 1, 1, 2, 2, 2])
        self.assertEqual(train.images[:, 0, 0, 0].tolist(), [0, 1, 10, 11, 12, 13, 20, 21, 22])
        self.assertTrue(torch.all(train.images == train.images[:, :1, :1, :1]))
        self.assertEqual(test.labels.tolist(), [0, 1, 2])

    def test_jpeg_close_to_written_values(self):
        write_folder(self.root, {"a": 2, "b": 2}, size=(8, 8), ext=".jpg")
        train, _, _ = load_image_folder(self.root)
        self.assertEqual(tuple(train.images.shape), (4, 3, 8, 8))
        expected = torch.tensor([0, 1, 10, 11]).view(4, 1, 1, 1)
        self.assertLessEqual(int((train.images.int() - expected).abs().max()), 2)

    def test_formats_torchvision_does_not_decode(self):
        write_folder(self.root, {"a": 2, "b": 1}, ext=".bmp")
        train, _, _ = load_image_folder(self.root)
        self.assertEqual(tuple(train.images.shape), (3, 3, 5, 6))
        self.assertEqual(train.images[:, 2, 4, 5].tolist(), [0, 1, 10])

    def test_grayscale_stays_one_channel(self):
        write_folder(self.root, {"a": 2, "b": 1}, mode="L")
        train, test, _ = load_image_folder(self.root)
        self.assertEqual(tuple(train.images.shape[1:]), (1, 5, 6))
        self.assertEqual(tuple(test.images.shape[1:]), (1, 5, 6))
        self.assertEqual(train.images[:, 0, 0, 0].tolist(), [0, 1, 10])

    def test_mixed_modes_become_rgb(self):
        write_folder(self.root, {"a": 1, "b": 1})
        gray = np.full((5, 6), 77, np.uint8)
        write_image(os.path.join(self.root, "train", "b", "001.png"), gray)
        rgba = np.zeros((5, 6, 4), np.uint8)
        rgba[..., 0], rgba[..., 3] = 200, 255
        write_image(os.path.join(self.root, "test", "b", "001.png"), rgba)
        train, test, _ = load_image_folder(self.root)
        self.assertEqual(train.images.shape[1], 3)
        self.assertEqual(train.images[2, :, 0, 0].tolist(), [77, 77, 77])
        self.assertEqual(test.images[2, :, 0, 0].tolist(), [200, 0, 0])

    def test_rgba_first_drops_alpha(self):
        """An RGBA first image no longer makes a 4-channel set: alpha is dropped everywhere."""
        rgba = np.zeros((4, 4, 4), np.uint8)
        rgba[..., 1], rgba[..., 3] = 90, 128
        for part in ("train", "test"):
            write_image(os.path.join(self.root, part, "x", "0.png"), rgba)
            write_image(os.path.join(self.root, part, "y", "0.jpg"), np.full((4, 4, 3), 30,
                                                                             np.uint8))
        train, _, _ = load_image_folder(self.root)
        self.assertEqual(tuple(train.images.shape), (2, 3, 4, 4))
        self.assertEqual(train.images[0, :, 0, 0].tolist(), [0, 90, 0])

    def test_ignores_other_files(self):
        write_folder(self.root, {"a": 2, "b": 1})
        with open(os.path.join(self.root, "train", "a", "notes.txt"), "w") as f:
            f.write("not an image")
        train, _, _ = load_image_folder(self.root)
        self.assertEqual(len(train), 3)

    def assert_user_error(self, pattern):
        with self.assertRaisesRegex(ValueError, pattern) as caught:
            load_image_folder(self.root)
        self.assertNotIn("\n", str(caught.exception))

    def test_missing_root(self):
        self.root = os.path.join(self.tmp.name, "nowhere")
        self.assert_user_error("'.*nowhere' does not exist")

    def test_missing_train_or_test(self):
        write_folder(self.root, {"a": 1})
        os.rename(os.path.join(self.root, "test"), os.path.join(self.root, "other"))
        self.assert_user_error("no test/ folder")
        os.rename(os.path.join(self.root, "train"), os.path.join(self.root, "other2"))
        self.assert_user_error("no train/ folder")

    def test_no_class_folders(self):
        os.makedirs(os.path.join(self.root, "train"))
        os.makedirs(os.path.join(self.root, "test"))
        self.assert_user_error("train'? holds none as class folders; expected at least 2")

    def test_one_class_is_an_error(self):
        write_folder(self.root, {"only": 3})
        self.assert_user_error("train'? holds only 'only' as class folders; expected at least 2")

    def test_class_without_images(self):
        write_folder(self.root, {"a": 1, "b": 1})
        os.makedirs(os.path.join(self.root, "train", "c"))
        os.makedirs(os.path.join(self.root, "test", "c"))
        self.assert_user_error("class folder '.*train/c' holds no images")

    def test_different_classes(self):
        write_folder(self.root, {"a": 1, "b": 1})
        os.rename(os.path.join(self.root, "test", "b"), os.path.join(self.root, "test", "z"))
        self.assert_user_error("different classes.*b, z")

    def test_undecodable_image(self):
        write_folder(self.root, {"a": 2, "b": 1})
        with open(os.path.join(self.root, "train", "b", "bad.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 not really a jpeg")
        self.assert_user_error("cannot decode image '.*b/bad.jpg'")

    def test_size_mismatch_names_file(self):
        write_folder(self.root, {"a": 2, "b": 1})
        write_image(os.path.join(self.root, "test", "b", "big.png"), np.zeros((7, 6, 3), np.uint8))
        self.assert_user_error("image '.*test/b/big.png' is 6x7 pixels; expected 6x5")


class SyntheticTest(unittest.TestCase):
    def test_shapes_labels_dtype(self):
        train, test, classes = make_synthetic(num_classes=3, train_per_class=7, test_per_class=2,
                                              image_size=12, channels=1)
        self.assertEqual(tuple(train.images.shape), (21, 1, 12, 12))
        self.assertEqual(train.images.dtype, torch.uint8)
        self.assertEqual(torch.bincount(train.labels).tolist(), [7, 7, 7])
        self.assertEqual(torch.bincount(test.labels).tolist(), [2, 2, 2])
        self.assertEqual(classes, ["class0", "class1", "class2"])

    def test_deterministic_per_seed(self):
        a, b = make_synthetic(seed=1)[0], make_synthetic(seed=1)[0]
        self.assertTrue(torch.equal(a.images, b.images))
        self.assertFalse(torch.equal(a.images, make_synthetic(seed=2)[0].images))

    def test_learnable(self):
        """Nearest class mean of the training images classifies the test images far above chance;
        pure noise or identical classes would sit near 1 / num_classes."""
        for channels in (1, 3):
            train, test, _ = make_synthetic(channels=channels, image_size=16)
            means = torch.stack([train.images[train.labels == k].float().mean(0)
                                 for k in range(10)])
            distances = (test.images.float()[:, None] - means[None]).flatten(2).pow(2).sum(2)
            accuracy = (distances.argmin(1) == test.labels).float().mean().item()
            self.assertGreater(accuracy, 0.8)


class CifarTest(unittest.TestCase):
    def test_missing_without_download_says_where(self):
        with tempfile.TemporaryDirectory() as root:
            with self.assertRaises(ValueError) as caught:
                load_cifar10(root, download=False)
        message = str(caught.exception)
        self.assertIn(repr(root), message)
        self.assertIn("cifar-10-batches-py", message)
        self.assertNotIn("\n", message)

    def test_failed_download_says_where(self):
        with mock.patch("torchvision.datasets.CIFAR10", side_effect=OSError("no network")):
            with self.assertRaisesRegex(ValueError, "under 'somewhere': not found, and it could "
                                        "not be downloaded \\(no network\\): put "
                                        "cifar-10-batches-py"):
                load_cifar10("somewhere", download=True)

    def test_converts_to_channels_first_uint8(self):
        rng = np.random.default_rng(0)

        def fake(root, train, download):
            n = 5 if train else 2
            return SimpleNamespace(data=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                                   targets=list(range(n)), classes=[f"c{i}" for i in range(10)])

        with mock.patch("torchvision.datasets.CIFAR10", side_effect=fake):
            train, test, classes = load_cifar10("root", download=False)
        self.assertEqual(tuple(train.images.shape), (5, 3, 32, 32))
        self.assertEqual(tuple(test.images.shape), (2, 3, 32, 32))
        self.assertEqual(train.labels.dtype, torch.int64)
        self.assertEqual(classes[3], "c3")
        self.assertTrue(train.images.is_contiguous())


class Payload:
    """Unpickling this object creates the folder ``marker``: code a planted file would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


class PlantedCifarTest(unittest.TestCase):
    """A CIFAR-10 folder whose every file is a pickle that runs code: refused by its MD5 sums
    with one line naming the file, and the code never runs."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.root = self.tmp.name
        self.marker = os.path.join(self.root, "payload-ran")
        folder = os.path.join(self.root, "cifar-10-batches-py")
        os.makedirs(folder)
        self.planted = os.path.join(folder, "data_batch_1")
        for name in ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch", "batches.meta"]:
            with open(os.path.join(folder, name), "wb") as f:
                pickle.dump(Payload(self.marker), f)

    def test_the_payload_is_live(self):
        """Unpickled without the check, the planted file runs its code (so the test can fail)."""
        with open(self.planted, "rb") as f:
            pickle.load(f)
        self.assertTrue(os.path.isdir(self.marker))

    def test_refused_without_download(self):
        with self.assertRaises(ValueError) as caught:
            load_cifar10(self.root, download=False)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertIn(f"corrupted file {self.planted!r} (its MD5 sum is not the published one)",
                      message)
        self.assertNotIn("not found", message)
        self.assertFalse(os.path.exists(self.marker))

    def test_refused_when_the_download_fails(self):
        with mock.patch("torchvision.datasets.cifar.download_and_extract_archive",
                        side_effect=OSError("offline")) as download:
            with self.assertRaisesRegex(ValueError, "corrupted file .*data_batch_1.* could not "
                                        "be downloaded \\(offline\\)"):
                load_cifar10(self.root, download=True)
        download.assert_called_once()
        self.assertFalse(os.path.exists(self.marker))

    def test_missing_file_is_named(self):
        os.remove(os.path.join(self.root, "cifar-10-batches-py", "batches.meta"))
        for name in ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]:
            os.remove(os.path.join(self.root, "cifar-10-batches-py", name))
        with self.assertRaisesRegex(ValueError, "not found \\('.*data_batch_1' is missing\\)"):
            load_cifar10(self.root, download=False)

    def test_nothing_in_data_unpickles(self):
        """The CIFAR pickles are read by torchvision alone, after its MD5 checks."""
        folder = os.path.dirname(data.__file__)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as f:
                    source = f.read()
                found = re.search(r"import pickle|pickle\.|torch\.load|np\.load|numpy\.load",
                                  source)
                self.assertIsNone(found, name)


def write_fake_cifar100(root, train_per_class, test_per_class, seed=0):
    """CIFAR-100's pickle files (``cifar-100-python/train``, ``test``, ``meta``) as torchvision
    reads them, with random pixels: rows of 3072 bytes, channel-major (R plane, G, B).

    Returns:
        {"train": (data uint8 (N, 3072), fine labels), "test": ...} as written.
    """
    folder = os.path.join(root, "cifar-100-python")
    os.makedirs(folder)
    rng = np.random.default_rng(seed)
    written = {}
    for name, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = [c for c in range(100) for _ in range(per_class)]
        rows = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({"data": rows, "fine_labels": labels,
                         "coarse_labels": [c // 5 for c in labels]}, f)
        written[name] = (rows, labels)
    with open(os.path.join(folder, "meta"), "wb") as f:
        pickle.dump({"fine_label_names": [f"fine{c}" for c in range(100)],
                     "coarse_label_names": [f"coarse{c}" for c in range(20)]}, f)
    return written


def skip_md5_checks():
    """torchvision checks the real files' MD5 sums; the fake files pass instead."""
    return mock.patch("torchvision.datasets.cifar.check_integrity", return_value=True)


class Cifar100Test(unittest.TestCase):
    def test_reads_the_pickle_files_channels_first(self):
        with tempfile.TemporaryDirectory() as root:
            written = write_fake_cifar100(root, train_per_class=2, test_per_class=1)
            with skip_md5_checks():
                train, test, classes = data.load_cifar100(root, download=False)
        self.assertEqual(tuple(train.images.shape), (200, 3, 32, 32))
        self.assertEqual(tuple(test.images.shape), (100, 3, 32, 32))
        self.assertEqual(train.images.dtype, torch.uint8)
        self.assertEqual(classes[:2] + classes[-1:], ["fine0", "fine1", "fine99"])
        rows, labels = written["train"]
        self.assertEqual(train.labels.tolist(), labels)
        for i in (0, 57, 199):
            expected = torch.from_numpy(rows[i].reshape(3, 32, 32).copy())
            self.assertTrue(torch.equal(train.images[i], expected), i)
        self.assertTrue(train.images.is_contiguous())

    def test_missing_without_download_says_where(self):
        with tempfile.TemporaryDirectory() as root:
            with self.assertRaises(ValueError) as caught:
                data.load_cifar100(root, download=False)
        message = str(caught.exception)
        self.assertIn(f"CIFAR-100 under {root!r}: not found", message)
        self.assertIn("cifar-100-python", message)
        self.assertNotIn("\n", message)

    def test_build_data_long_tail_and_published_statistics(self):
        with tempfile.TemporaryDirectory() as root:
            write_fake_cifar100(root, train_per_class=10, test_per_class=1)
            with skip_md5_checks():
                bundle = build_data(data_cfg("cifar100", root, "exp", 10), seed=0)
        self.assertEqual(bundle.num_classes, 100)
        self.assertEqual(bundle.cls_num_list, long_tail_counts(10, 100, "exp", 10))
        self.assertEqual(bundle.cls_num_list[-1], 1)
        self.assertEqual((bundle.mean, bundle.std), (data.CIFAR100_MEAN, data.CIFAR100_STD))
        self.assertEqual(len(bundle.test), 100)


class ImageSetTest(unittest.TestCase):
    def test_subset_and_validation(self):
        images = torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 2, 3, 3).clone()
        s = ImageSet(images, torch.tensor([0, 1, 1, 2]))
        sub = s.subset(torch.tensor([3, 1]))
        self.assertEqual(len(sub), 2)
        self.assertEqual(sub.labels.tolist(), [2, 1])
        self.assertEqual(sub.images[:, 0, 0, 0].tolist(), [3, 1])
        with self.assertRaises(ValueError):
            ImageSet(images.float(), s.labels)
        with self.assertRaises(ValueError):
            ImageSet(images, s.labels[:3])

    def test_bundle_properties(self):
        train = ImageSet(torch.zeros(5, 2, 4, 6, dtype=torch.uint8), torch.tensor([0, 0, 2, 2, 2]))
        bundle = DataBundle(train, None, train, ["a", "b", "c"], (0.5, 0.5), (0.2, 0.2))
        self.assertEqual(bundle.num_classes, 3)
        self.assertEqual(bundle.input_shape, (2, 4, 6))
        self.assertEqual(bundle.cls_num_list, [2, 0, 3])


class BuildDataTest(unittest.TestCase):
    def test_long_tail_then_split_test_balanced(self):
        cfg = data_cfg(profile="exp", factor=10, val_fraction=0.2)
        bundle = build_data(cfg, seed=0)
        counts = long_tail_counts(30, 4, "exp", 10)  # [30, 13, 6, 3]
        val_counts = torch.bincount(bundle.val.labels, minlength=4).tolist()
        self.assertEqual(val_counts, [6, 3, 1, 1])
        self.assertEqual(bundle.cls_num_list, [c - v for c, v in zip(counts, val_counts)])
        self.assertEqual(torch.bincount(bundle.test.labels).tolist(), [5, 5, 5, 5])
        self.assertEqual(bundle.input_shape, (3, 8, 8))
        self.assertEqual(bundle.classes, ["class0", "class1", "class2", "class3"])

    def test_train_and_val_are_disjoint_images_of_the_source(self):
        bundle = build_data(data_cfg(profile="step", factor=3, val_fraction=0.3), seed=2)
        source = make_synthetic(4, 30, 5, 8, 3)[0].images.flatten(1)
        rows = {tuple(r.tolist()): i for i, r in enumerate(source)}
        train_rows = [rows[tuple(r.tolist())] for r in bundle.train.images.flatten(1)]
        val_rows = [rows[tuple(r.tolist())] for r in bundle.val.images.flatten(1)]
        self.assertFalse(set(train_rows) & set(val_rows))
        self.assertEqual(len(train_rows) + len(val_rows), 30 + 30 + 10 + 10)

    def test_no_validation_when_fraction_zero(self):
        bundle = build_data(data_cfg(), seed=0)
        self.assertIsNone(bundle.val)
        self.assertEqual(bundle.cls_num_list, [30, 30, 30, 30])

    def test_seed_changes_subset_not_test(self):
        a = build_data(data_cfg(profile="exp", factor=10, val_fraction=0.2), seed=0)
        b = build_data(data_cfg(profile="exp", factor=10, val_fraction=0.2), seed=1)
        self.assertFalse(torch.equal(a.train.images, b.train.images))
        self.assertTrue(torch.equal(a.test.images, b.test.images))

    def test_mean_std_from_final_training_images(self):
        bundle = build_data(data_cfg(profile="exp", factor=10, val_fraction=0.2), seed=0)
        pixels = bundle.train.images.double().div(255).transpose(0, 1).flatten(1)
        np.testing.assert_allclose(bundle.mean, pixels.mean(1).tolist(), rtol=1e-9)
        np.testing.assert_allclose(bundle.std, pixels.std(1, unbiased=False).tolist(), rtol=1e-9)

    def test_constant_channel_gets_unit_std(self):
        images = torch.zeros(3, 2, 4, 4, dtype=torch.uint8)
        images[:, 0] = torch.arange(3, dtype=torch.uint8).view(3, 1, 1) * 100
        images[:, 1] = 255
        mean, std = channel_stats(images)
        self.assertAlmostEqual(mean[0], 100 / 255)
        self.assertAlmostEqual(std[0], (2 / 3) ** 0.5 * 100 / 255)
        self.assertEqual((mean[1], std[1]), (1.0, 1.0))

    def test_imagefolder_dataset(self):
        with tempfile.TemporaryDirectory() as root, contextlib.redirect_stdout(io.StringIO()):
            write_folder(root, {"a": 6, "b": 4})
            bundle = build_data(data_cfg("imagefolder", root, "step", 2, 0.25), seed=0)
        self.assertEqual(bundle.classes, ["a", "b"])
        self.assertEqual(bundle.cls_num_list, [4, 2])  # step keeps [6, 3]; val takes [2, 1]
        self.assertEqual(torch.bincount(bundle.val.labels).tolist(), [2, 1])

    def test_cifar10_uses_published_statistics(self):
        fake = (ImageSet(torch.zeros(20, 3, 32, 32, dtype=torch.uint8),
                         torch.arange(10).repeat(2)),
                ImageSet(torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.arange(10)),
                [f"c{i}" for i in range(10)])
        with mock.patch.object(data, "load_cifar10", return_value=fake):
            bundle = build_data(data_cfg("cifar10"), seed=0)
        self.assertEqual((bundle.mean, bundle.std), (data.CIFAR10_MEAN, data.CIFAR10_STD))

    def test_cifar10_missing_is_user_error(self):
        with tempfile.TemporaryDirectory() as root:
            with self.assertRaisesRegex(ValueError, "CIFAR-10 under .*: not found"):
                build_data(data_cfg("cifar10", root), seed=0)

    def test_factor_that_empties_a_class(self):
        with self.assertRaisesRegex(ValueError, "factor: 40 leaves class 'class3' without "
                                    "training images; expected at most .* 30 "):
            build_data(data_cfg(profile="exp", factor=40), seed=0)
        self.assertEqual(build_data(data_cfg(profile="exp", factor=30), seed=0).cls_num_list[3], 1)

    def test_fewer_than_two_classes(self):
        with self.assertRaisesRegex(ValueError, "^data.dataset: synthetic has 1 class\\(es\\); a "
                                    "classifier needs at least 2$"):
            build_data(data_cfg(num_classes=1), seed=0)

    def test_sizes_that_cannot_fit_are_refused_from_the_arithmetic(self):
        """10 x (10^6 + 20) images of 3x32x32: 3.072e10 training bytes as uint8, 10 bytes per
        training pixel at the peak (see make_synthetic), 307.2 GB in all."""
        cfg = data_cfg(num_classes=10, train_per_class=10**6, test_per_class=20, image_size=32,
                       channels=3)
        with mock.patch("data.memory.available_bytes", return_value=16e9), \
                mock.patch("torch.randn", side_effect=AssertionError("allocated")):
            with self.assertRaisesRegex(ValueError, r"^data.synthetic: 10 classes x \(1000000 \+ "
                                        r"20\) images of 3x32x32 need about 307.2 GB of memory; "
                                        r"16.0 GB is available$"):
                build_data(cfg, seed=0)

    def test_unknown_dataset(self):
        with self.assertRaisesRegex(ValueError, "unknown dataset 'mnist'"):
            build_data(data_cfg("mnist"), seed=0)


if __name__ == "__main__":
    unittest.main()
