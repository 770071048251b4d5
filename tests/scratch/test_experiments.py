import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from tests.scratch.test_train_script import write_cifar_batch, write_image_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / 'scratch' / 'experiments.py'


def run_python(code, cifar_batch, md5=None):
    """Run code after `from scratch import experiments` from the repository root, with
    CIFAR-10 looked for at cifar_batch (md5: its checksum, when it is a fake one) and every
    experiment shrunk to 30 training and 20 validation images. Returns the CompletedProcess."""
    prelude = ("from pathlib import Path\n"
               "from scratch import experiments, image_data\n"
               f"experiments.CIFAR_BATCH = Path({str(cifar_batch)!r})\n"
               f"image_data.CIFAR_MD5['data_batch_1'] = {md5!r}\n"
               "experiments.EXPERIMENTS = {name: (run, 30, 20) for name, (run, _, _) in "
               "experiments.EXPERIMENTS.items()}\n")
    return subprocess.run([sys.executable, '-c', prelude + code], capture_output=True,
                          text=True, cwd=REPO_ROOT)


def table_rows(output):
    """The data rows of every Markdown table in output, table after table."""
    tables, rows = [], []
    for line in output.splitlines() + ['']:
        if line.startswith('|'):
            rows.append(line)
        elif rows:
            tables.append(rows[1:])  # without the header
            rows = []
    return tables


class ExperimentsTest(unittest.TestCase):
    def test_every_experiment_on_synthetic_data_prints_a_table_and_saves_a_plot(self):
        names = ['batchnorm', 'optimizers', 'dropout', 'filters', 'cs231n']
        with tempfile.TemporaryDirectory() as tmp:
            result = run_python(
                f"for name in {names!r}:\n"
                f"    assert experiments.main([name, '--out-dir', {tmp!r}]) == 0\n",
                Path(tmp) / 'no-cifar' / 'data_batch_1')
            self.assertEqual(result.returncode, 0, result.stderr)
            for name in names:
                plot = Path(tmp) / f"scratch-{name}.png"
                self.assertTrue(plot.read_bytes().startswith(b'\x89PNG'), name)
        sources = [line for line in result.stdout.splitlines() if line.startswith('data: ')]
        self.assertEqual(len(sources), 5)
        for line in sources:
            self.assertRegex(line, r"^data: synthetic images \(no CIFAR-10 at .*no-cifar.*\); "
                                   r"30 training images, 20 validation images")
        # separator plus 7 weight scales; 5 optimizers; 3 dropout rates; 1 network; 2 models
        self.assertEqual([len(rows) - 1 for rows in table_rows(result.stdout)], [7, 5, 3, 1, 2])

    def test_cifar_batch_gives_consecutive_training_and_validation_images(self):
        rng = np.random.RandomState(0)
        data = rng.randint(0, 256, size=(60, 3072)).astype(np.uint8)
        labels = rng.randint(10, size=60).tolist()
        with tempfile.TemporaryDirectory() as tmp:
            batch = Path(tmp) / 'data_batch_1'
            md5 = write_cifar_batch(batch, data, labels)
            result = run_python(
                "import json\n"
                "data = experiments.load_data(experiments.parse_args(['dropout']), 30, 20)\n"
                "print(json.dumps([data.source, data.y_train.tolist(), data.y_val.tolist(), "
                "data.x_train.mean(axis=(0, 2, 3)).tolist(), "
                "data.x_train.std(axis=(0, 2, 3)).tolist(), data.x_val[0, 0, 0, 0].item()]))",
                batch, md5)
        self.assertEqual(result.returncode, 0, result.stderr)
        source, y_train, y_val, means, stds, first_val = json.loads(result.stdout)
        self.assertRegex(source, r"^data: CIFAR-10 .*data_batch_1; 30 training images, "
                                 r"20 validation images \(the next images of the batch\)")
        self.assertEqual((y_train, y_val), (labels[:30], labels[30:50]))
        np.testing.assert_allclose(means, 0, atol=1e-5)
        np.testing.assert_allclose(stds, 1, atol=1e-5)
        # standardised with the training images' red-channel statistics
        red = data[:30].reshape(30, 3, 1024)[:, 0].astype(np.float64)
        self.assertAlmostEqual(first_val, (data[30, 0] - red.mean()) / red.std(), places=4)

    def test_image_folder_validation_images_follow_the_training_ones(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_image_folder(Path(tmp), classes=10, per_class=6)
            result = run_python(
                "import json\n"
                f"args = experiments.parse_args(['dropout', '--data', {tmp!r}])\n"
                "data = experiments.load_data(args, 30, 20)\n"
                "print(json.dumps([data.source, data.y_val.tolist()]))",
                Path(tmp) / 'unused')
        self.assertEqual(result.returncode, 0, result.stderr)
        source, y_val = json.loads(result.stdout)
        self.assertIn('30 training images, 20 validation images (the next files', source)
        self.assertEqual(y_val, [label for label in range(10) for _ in range(2)])

    def test_bad_data_is_one_line_and_exit_code_2(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run([sys.executable, str(SCRIPT), 'dropout', '--data', tmp,
                                     '--out-dir', tmp], capture_output=True, text=True)
            self.assertEqual(list(Path(tmp).iterdir()), [])
        self.assertEqual((result.returncode, result.stdout), (2, ''))
        self.assertRegex(result.stderr, r"^error: no class folders under .*\n$")
        both = subprocess.run([sys.executable, str(SCRIPT), 'dropout', '--data', 'x',
                               '--synthetic'], capture_output=True, text=True)
        self.assertEqual(both.returncode, 2)
        self.assertIn('--synthetic and --data exclude each other', both.stderr)


if __name__ == '__main__':
    unittest.main()
