"""The course submission: part2.zip unpacked alone imports models and losses, loads every
checkpoint the grader's way and scores like the original model; main.py runs from it; a
checkpoint the grader could not load is refused before anything is written."""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile
from unittest import mock

import torch

import models
from tests.runs_helper import ENV, synthetic_config
from tools import collect_submission

GRADER = """
import sys, torch
from models import *
from losses import FocalLoss, reweight
builders = {"twolayernet": lambda: TwoLayerNet(3072, 256, 10), "vanillacnn": lambda: VanillaCNN(),
            "mymodel": lambda: MyModel()}
torch.manual_seed(1)
images = torch.randn(64, 3, 32, 32)
labels = torch.randint(0, 10, (64,))
for name, build in builders.items():
    model = build()
    model.load_state_dict(torch.load(f"checkpoints/{name}.pth", weights_only=True))
    model.eval()
    with torch.no_grad():
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
    print(name, repr(accuracy))
assert reweight([100, 10], 0.9).shape == (2,)
print("imported from", sorted({m.split(".")[0] for m in sys.modules if m in ("models", "losses")}))
"""


def grader_accuracies(model_builders):
    """The accuracies GRADER prints, computed here from the original models."""
    torch.manual_seed(1)
    images = torch.randn(64, 3, 32, 32)
    labels = torch.randint(0, 10, (64,))
    out = {}
    for name, model in model_builders.items():
        model.eval()
        with torch.no_grad():
            out[name] = (model(images).argmax(1) == labels).float().mean().item()
    return out


def save_checkpoints(folder):
    """The three course models' fresh weights as ``folder``/checkpoints/<name>.pth; returns
    (checkpoints folder, the models by name)."""
    checkpoints = os.path.join(folder, "checkpoints")
    os.makedirs(checkpoints)
    torch.manual_seed(0)
    built = {"twolayernet": models.TwoLayerNet(3072, 256, 10),
             "vanillacnn": models.VanillaCNN(), "mymodel": models.MyModel()}
    for name, model in built.items():
        torch.save(model.state_dict(), os.path.join(checkpoints, f"{name}.pth"))
    return checkpoints, built


def collect(out, checkpoints):
    """``tools.collect_submission`` in this process; returns (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = collect_submission.main(["--out", out, "--checkpoints", checkpoints])
    return code, stdout.getvalue(), stderr.getvalue()


def run_alone(folder, *args):
    """Python in ``folder`` with neither the repository nor PYTHONPATH on its path."""
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-E", "-s", *args], cwd=folder, env=env,
                          capture_output=True, text=True)


# After GRADER, in the same process: main.py from the unpacked folder, as ``python main.py``.
DRY_RUN = """
import runpy
print("main.py:")
sys.argv = ["main.py", "--config", sys.argv[1], "--dry-run"]
runpy.run_path("main.py", run_name="__main__")
"""


class SubmissionAloneTest(unittest.TestCase):
    """One collected submission; each part unpacked alone and run in its own process."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        checkpoints, cls.models = save_checkpoints(cls.dir)
        cls.out = os.path.join(cls.dir, "submission")
        cls.collected = collect(cls.out, checkpoints)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def unpack(self, name):
        folder = os.path.join(self.dir, name.replace(".zip", ""))
        with zipfile.ZipFile(os.path.join(self.out, name)) as archive:
            archive.extractall(folder)
        return folder

    def test_part2_alone_loads_every_checkpoint_the_graders_way_and_runs_main(self):
        code, stdout, stderr = self.collected
        self.assertEqual(code, 0, stderr)
        self.assertIn("twolayernet.pth, vanillacnn.pth, mymodel.pth", stdout)
        self.assertIn("not packed (no export yet): resnet-32.pth", stdout)
        folder = self.unpack("part2.zip")
        for expected in ("configs", "losses", "models", "checkpoints", "main.py"):
            self.assertTrue(os.path.exists(os.path.join(folder, expected)), expected)
        config = synthetic_config(folder)
        graded = run_alone(folder, "-c", GRADER + DRY_RUN, config)
        self.assertEqual(graded.returncode, 0, graded.stderr)
        graded_out, dry_out = graded.stdout.split("main.py:\n")
        printed = dict(line.split(" ", 1) for line in graded_out.splitlines()[:3])
        expected = grader_accuracies(self.models)
        for name, accuracy in expected.items():
            self.assertEqual(float(printed[name]), accuracy, name)
        self.assertIn("parameters", dry_out)

    def test_part1_alone_imports_the_course_layout(self):
        code, _, stderr = self.collected
        self.assertEqual(code, 0, stderr)
        folder = self.unpack("part1.zip")
        self.assertEqual(sorted(os.listdir(folder)),
                         ["modules", "optimizer", "train.py", "trainer.py"])
        result = run_alone(folder, "-c", "from modules import Conv2D, MaxPooling, ReLU, "
                           "Linear, SoftmaxCrossEntropy, ConvNet\n"
                           "from optimizer import SGD\nfrom trainer import Trainer\n"
                           "print('ok')")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "ok")


class RefusedCheckpointTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.checkpoints, self.models = save_checkpoints(self.tmp.name)
        self.out = os.path.join(self.tmp.name, "submission")

    def collect(self):
        return collect(self.out, self.checkpoints)

    def test_a_training_record_instead_of_a_state_dict_is_refused_and_nothing_is_written(self):
        record = {"model": self.models["mymodel"].state_dict(), "model_name": "mymodel",
                  "epoch": 3}
        torch.save(record, os.path.join(self.checkpoints, "mymodel.pth"))
        code, _, stderr = self.collect()
        self.assertEqual(code, 2)
        self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
        self.assertIn("mymodel.pth", stderr)
        self.assertIn("not a plain state_dict", stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_weights_of_another_model_are_refused(self):
        torch.save(models.VanillaCNN().state_dict(),
                   os.path.join(self.checkpoints, "twolayernet.pth"))
        code, _, stderr = self.collect()
        self.assertEqual(code, 2)
        self.assertRegex(stderr, r"twolayernet\.pth: does not load into the course's model")
        self.assertFalse(os.path.exists(self.out))


class PackedFilesTest(unittest.TestCase):
    """What files_under takes from a repository: code, not the data kept beside it."""

    def test_datasets_inside_packages_and_stray_files_are_left_out(self):
        with tempfile.TemporaryDirectory() as repo:
            for name in ("data/__init__.py", "data/loader.py", "data/notes.txt",
                         "data/cifar10-jpeg/train/cat/0001.jpg",
                         "data/cifar-10-batches-py/data_batch_1",
                         "data/cifar10-jpeg/tools.py",           # not a package: left out
                         "engine/__init__.py", "engine/config/__init__.py",
                         "engine/config/schema.py", "engine/__pycache__/x.cpython-311.pyc",
                         "configs/a.yaml", "configs/course/b.yaml", "configs/scratch.txt",
                         "main.py"):
                os.makedirs(os.path.join(repo, os.path.dirname(name)) or repo, exist_ok=True)
                with open(os.path.join(repo, name), "w") as f:
                    f.write("x")
            with mock.patch.object(collect_submission, "REPO", repo):
                packed = sorted(name for source in ("data", "engine", "configs", "main.py")
                                for _, name in collect_submission.files_under(
                                    source, collect_submission.PART2[source]))
        self.assertEqual(packed, ["configs/a.yaml", "configs/course/b.yaml", "data/__init__.py",
                                  "data/loader.py", "engine/__init__.py",
                                  "engine/config/__init__.py", "engine/config/schema.py",
                                  "main.py"])


if __name__ == "__main__":
    unittest.main()
