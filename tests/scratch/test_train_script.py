import hashlib
import json
import pickle
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / 'scratch' / 'train.py'


def run_python(code):
    """Run code after `from scratch import train` from the repository root; returns its stdout
    as JSON."""
    result = subprocess.run([sys.executable, '-c', f"from scratch import train\n{code}"],
                            capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return json.loads(result.stdout)


def write_cifar_batch(path, data, labels):
    """Pickle a fake CIFAR-10 batch (data uint8 (N, 3072), labels list) at path; returns its
    md5, which tests put in ``image_data.CIFAR_MD5`` for the reader to accept it."""
    with open(path, 'wb') as file:
        pickle.dump({b'data': data, b'labels': labels}, file)
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def write_image_folder(root, classes=10, per_class=7):
    """PNG images (lossless) whose every pixel encodes (class, file number); plus a stray file."""
    for label in range(classes):
        folder = root / 'train' / f"class{label:02d}"
        folder.mkdir(parents=True)
        for number in reversed(range(per_class)):  # written out of order on purpose
            pixels = np.full((32, 32, 3), [label, number, 7], dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{number:03d}.png")
        (folder / 'notes.txt').write_text('not an image')
    (root / 'test').mkdir()


class ImageFolderSampleTest(unittest.TestCase):
    def test_first_five_sorted_files_of_every_class(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp))
            sample = run_python(
                f"images, labels = train.load_image_folder_sample({tmp!r})\n"
                "import json; print(json.dumps([images.shape, images.dtype.str, "
                "labels.tolist(), images[:, :, 0, 0].tolist()]))")
        shape, dtype, labels, pixels = sample
        self.assertEqual(shape, [50, 3, 32, 32])
        self.assertEqual(dtype, '|u1')
        self.assertEqual(labels, [label for label in range(10) for _ in range(5)])
        self.assertEqual(pixels, [[label, number, 7] for label in range(10)
                                  for number in range(5)])


class CifarSampleTest(unittest.TestCase):
    def test_first_fifty_in_cifar_order(self):
        rng = np.random.RandomState(0)
        data = rng.randint(0, 256, size=(60, 3072)).astype(np.uint8)
        labels = rng.randint(10, size=60).tolist()
        with tempfile.TemporaryDirectory() as tmp:
            batch = Path(tmp) / 'data_batch_1'
            md5 = write_cifar_batch(batch, data, labels)
            images, got_labels = run_python(
                "from pathlib import Path\n"
                "from scratch import image_data\n"
                f"image_data.CIFAR_MD5['data_batch_1'] = {md5!r}\n"
                f"images, labels = train.load_cifar_sample(Path({str(batch)!r}))\n"
                "import json; print(json.dumps([images.tolist(), labels.tolist()]))")
        # CIFAR rows are 1024 red, then 1024 green, then 1024 blue values, row-major.
        np.testing.assert_array_equal(images, data[:50].reshape(50, 3, 32, 32))
        self.assertEqual(got_labels, labels[:50])


class TrainScriptTest(unittest.TestCase):
    def run_script(self, *args):
        return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                              text=True, cwd=REPO_ROOT)

    def test_trains_saves_curves_and_ends_with_accuracy(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp))
            out = Path(tmp) / 'plots' / 'curves.png'
            result = self.run_script('--data', tmp, '--epochs', '2', '--out', str(out))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(out.read_bytes().startswith(b'\x89PNG'))
        lines = result.stdout.strip().splitlines()
        self.assertEqual(sum(line.startswith('epoch ') for line in lines), 2)
        self.assertRegex(lines[-1], r"^final training accuracy: [01]\.\d\d$")

    def test_missing_data_is_one_line_and_exit_code_2(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = self.run_script('--data', tmp, '--out', str(Path(tmp) / 'c.png'))
            self.assertFalse((Path(tmp) / 'c.png').exists())
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, '')
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)
        self.assertRegex(result.stderr, r"^error: .*train/<class>")


if __name__ == '__main__':
    unittest.main()
