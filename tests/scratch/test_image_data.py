import tempfile
import unittest
from unittest import mock
from pathlib import Path

import numpy as np

from scratch import image_data
from scratch.image_data import (DataNotFound, load_cifar_sample, load_image_folder_sample,
                                synthetic_sample)
from tests.scratch.test_train_script import write_cifar_batch, write_image_folder


class SyntheticTest(unittest.TestCase):
    def test_repeatable_images_of_ten_classes(self):
        images, labels = synthetic_sample(300, seed=4)
        again, again_labels = synthetic_sample(300, seed=4)
        other, _ = synthetic_sample(300, seed=5)
        self.assertEqual((images.shape, images.dtype, labels.dtype),
                         ((300, 3, 32, 32), np.uint8, np.int64))
        np.testing.assert_array_equal(images, again)
        np.testing.assert_array_equal(labels, again_labels)
        self.assertFalse(np.array_equal(images, other))
        self.assertEqual(sorted(set(labels)), list(range(10)))
        self.assertGreater(images.std(), 30)  # images, not a flat grey

    def test_classes_carry_information(self):
        # The mean image of a class, from one seed, is nearest to the same class's mean image
        # from another seed: the labels are learnable, not noise.
        means = []
        for seed in (0, 1):
            images, labels = synthetic_sample(1000, seed=seed)
            means.append(np.stack([images[labels == c].mean(axis=0).ravel() for c in range(10)]))
        distances = ((means[0][:, None] - means[1][None]) ** 2).sum(axis=2)
        np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(10))


class OffsetTest(unittest.TestCase):
    def test_image_folder_samples_with_offsets_do_not_overlap(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp), classes=3, per_class=7)
            first, first_labels = load_image_folder_sample(tmp, count=6)
            second, second_labels = load_image_folder_sample(tmp, count=9, offset=6)
        # every pixel encodes (class, file number): files 0-1 and then 2-4 of every class
        self.assertEqual(first[:, :2, 0, 0].tolist(),
                         [[c, n] for c in range(3) for n in range(2)])
        self.assertEqual(second[:, :2, 0, 0].tolist(),
                         [[c, n] for c in range(3) for n in range(2, 5)])
        self.assertEqual(second_labels.tolist(), [0, 0, 0, 1, 1, 1, 2, 2, 2])
        self.assertEqual(first_labels.tolist(), [0, 0, 1, 1, 2, 2])

    def test_cifar_batch_with_offset(self):
        rng = np.random.RandomState(0)
        data = rng.randint(0, 256, size=(30, 3072)).astype(np.uint8)
        labels = rng.randint(10, size=30).tolist()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / 'data_batch_1'
            md5 = write_cifar_batch(path, data, labels)
            with mock.patch.dict(image_data.CIFAR_MD5, data_batch_1=md5):
                images, got = load_cifar_sample(path, count=8, offset=20)
            with self.assertRaisesRegex(DataNotFound, "CIFAR-10 not found"):
                load_cifar_sample(Path(tmp) / 'missing')
        np.testing.assert_array_equal(images, data[20:28].reshape(8, 3, 32, 32))
        self.assertEqual(got.tolist(), labels[20:28])


if __name__ == '__main__':
    unittest.main()
