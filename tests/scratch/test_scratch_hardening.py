"""Hostile and careless inputs to scratch/: planted pickles, corrupt images, bad --out and
--epochs values; each ends in one line naming what is wrong, before any work or writing."""
import io
import os
import pickle
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import numpy as np

from scratch import experiments, image_data, train
from scratch.cs231n.data_utils import get_CIFAR10_data
from tests.scratch.test_train_script import REPO_ROOT, write_cifar_batch, write_image_folder


class Planted:
    """Unpickling this calls open(marker, 'w'): a file appears if the pickle is ever loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def run_main(main, argv):
    """(exit code, stdout, stderr) of an entry point's main(argv), argparse exits included."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue(), err.getvalue()


class PlantedPickleTest(unittest.TestCase):
    def test_a_planted_batch_is_refused_unread(self):
        with tempfile.TemporaryDirectory() as tmp:
            marker = Path(tmp) / 'marker'
            for name in ('data_batch_1', 'test_batch', 'notes.pkl'):
                batch = Path(tmp) / name
                batch.write_bytes(pickle.dumps(Planted(str(marker))))
                with self.subTest(name=name), \
                        self.assertRaisesRegex(ValueError, rf"^{batch}: .*refusing to unpickle"):
                    image_data.read_cifar_batch(batch)
            with self.assertRaisesRegex(ValueError, r"data_batch_1: md5 does not match"):
                get_CIFAR10_data(10, 5, 5, data_dir=tmp)
            self.assertFalse(marker.exists())

    def test_get_cifar10_data_from_verified_batches(self):
        rng = np.random.RandomState(0)
        train_data = rng.randint(0, 256, size=(30, 3072)).astype(np.uint8)
        test_data = rng.randint(0, 256, size=(12, 3072)).astype(np.uint8)
        train_labels, test_labels = rng.randint(10, size=30).tolist(), list(range(12))
        with tempfile.TemporaryDirectory() as tmp:
            md5s = {'data_batch_1': write_cifar_batch(Path(tmp) / 'data_batch_1', train_data,
                                                      train_labels),
                    'test_batch': write_cifar_batch(Path(tmp) / 'test_batch', test_data,
                                                    test_labels)}
            with mock.patch.dict(image_data.CIFAR_MD5, md5s):
                data = get_CIFAR10_data(20, 6, 5, data_dir=tmp)
        images = train_data.reshape(30, 3, 32, 32).astype(np.float64)
        mean = images[:20].mean(axis=0)
        np.testing.assert_allclose(data['X_train'], images[:20] - mean)
        np.testing.assert_allclose(data['X_val'], images[20:26] - mean)
        np.testing.assert_allclose(data['X_test'],
                                   test_data[:5].reshape(5, 3, 32, 32) - mean)
        self.assertEqual((data['y_train'].tolist(), data['y_val'].tolist(),
                          data['y_test'].tolist()),
                         (train_labels[:20], train_labels[20:26], [0, 1, 2, 3, 4]))

    def test_image_folder_copy(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp), classes=10, per_class=4)
            write_image_folder(Path(tmp) / 'other', classes=10, per_class=3)
            (Path(tmp) / 'test').rmdir()
            os.rename(Path(tmp) / 'other' / 'train', Path(tmp) / 'test')  # the test split
            data = get_CIFAR10_data(20, 10, 10, subtract_mean=False, data_dir=tmp)
        # pixels encode (class, file number): 2 files a class to train, the next one validates
        self.assertEqual(data['X_train'][:, :2, 0, 0].tolist(),
                         [[c, n] for c in range(10) for n in range(2)])
        self.assertEqual(data['X_val'][:, 1, 0, 0].tolist(), [2.0] * 10)
        self.assertEqual(data['y_test'].tolist(), list(range(10)))


class CommandLineTest(unittest.TestCase):
    def test_corrupt_or_empty_image_is_one_line_naming_it(self):
        for content in (b'', b'not a png at all'):
            with tempfile.TemporaryDirectory() as tmp, self.subTest(content=content):
                write_image_folder(Path(tmp), classes=10, per_class=5)
                broken = Path(tmp) / 'train' / 'class03' / '002.png'
                broken.write_bytes(content)
                code, out, err = run_main(train.main, ['--data', tmp, '--out',
                                                       str(Path(tmp) / 'c.png')])
                self.assertEqual((code, out), (2, ''))
                self.assertRegex(err, rf"^error: {broken}: not a readable image \(.+\)\n$")
                self.assertFalse((Path(tmp) / 'c.png').exists())

    def test_bad_out_is_refused_before_training(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp), classes=10, per_class=5)
            a_file = Path(tmp) / 'a_file'
            a_file.write_text('')
            cases = [(str(a_file / 'curves.png'), rf"{a_file} is a file, not a folder"),
                     (str(Path(tmp) / 'curves.txt'), r"unknown figure extension '\.txt'"),
                     (str(Path(tmp) / 'curves'), r"unknown figure extension '\(none\)'"),
                     (str(Path(tmp) / 'train.png'), None)]
            (Path(tmp) / 'train.png').mkdir()
            for out_path, message in cases:
                with self.subTest(out=out_path):
                    code, out, err = run_main(train.main, ['--data', tmp, '--out', out_path])
                    self.assertEqual((code, out), (2, ''))  # nothing trained: nothing printed
                    self.assertEqual(len(err.splitlines()), 1)
                    self.assertRegex(err, message or r"is a folder")
            code, out, err = run_main(experiments.main, ['dropout', '--synthetic', '--out-dir',
                                                         str(a_file / 'plots')])
            self.assertEqual((code, out), (2, ''))
            self.assertRegex(err, rf"^error: --out-dir .*: {a_file} is a file, not a folder\n$")

    def test_epochs_must_be_positive(self):
        for value in ('0', '-2', 'two'):
            with self.subTest(epochs=value):
                code, out, err = run_main(train.main, ['--epochs', value])
                self.assertEqual(code, 2)
                self.assertRegex(err, r"argument --epochs: expected a whole number >= 1")

    def test_module_form_runs_from_the_root(self):
        result = subprocess.run([sys.executable, '-m', 'scratch.train', '--epochs', '0'],
                                capture_output=True, text=True, cwd=REPO_ROOT)
        self.assertEqual(result.returncode, 2)
        self.assertIn('expected a whole number >= 1, got 0', result.stderr)


if __name__ == '__main__':
    unittest.main()
