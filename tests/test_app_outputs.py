"""What a run leaves for others, through ``main.main`` in this process: the course-style export
``checkpoints/<name>.pth`` (a plain state_dict the grader loads) with its ``.json``, what a
second run says when it replaces them, ``--no-export``, ``--eval`` of both checkpoint forms,
and the cleaning of a crashed writer's temporary files."""
import json
import os
import shutil
import tempfile
import unittest

import torch

import data
from app.export import course_name
from engine.config import load_config
from models.two_layer_net import TwoLayerNet
from tests.runs_helper import synthetic_config
from tests.test_main import call_main, snapshot

# The course's grader builds TwoLayerNet(3072, 256, 10): 10 classes of 3x32x32 images.
COURSE_SHAPED = dict(
    model={"name": "twolayernet"}, loss={"name": "ce", "reweight": "none"},
    data={"dataset": "synthetic", "val_fraction": 0.2,
          "imbalance": {"profile": "exp", "factor": 2},
          "synthetic": {"num_classes": 10, "train_per_class": 20, "test_per_class": 6,
                        "image_size": 32, "channels": 3}},
    train={"epochs": 2, "batch_size": 16, "lr": 0.05, "warmup_epochs": 0, "milestones": []})


def grader_accuracy(weights_path, config_path):
    """Test accuracy of the exported weights scored as the grader does: a fresh
    TwoLayerNet(3072, 256, 10), ``load_state_dict(torch.load(p, weights_only=True))``."""
    model = TwoLayerNet(3072, 256, 10)
    model.load_state_dict(torch.load(weights_path, weights_only=True))
    model.eval()
    cfg = load_config(config_path)
    bundle = data.build_data(cfg.data, cfg.seed)
    loader = data.BatchLoader(bundle.test, 1000, device="cpu", mean=bundle.mean,
                              std=bundle.std, train=False, augment=False)
    hits = total = 0
    with torch.no_grad():
        for images, labels in loader:
            hits += (model(images).argmax(1) == labels).sum().item()
            total += labels.numel()
    return hits / total


class ExportTest(unittest.TestCase):
    """Two runs of one model: the first exports, the second replaces and says so."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = synthetic_config(cls.tmp.name, **COURSE_SHAPED)
        cls.checkpoints = os.path.join(cls.tmp.name, "checkpoints")
        cls.first = call_main("--config", cls.config, "--set", "run.name=first")
        with open(os.path.join(cls.checkpoints, "twolayernet.json")) as f:
            cls.first_record = json.load(f)
        cls.second = call_main("--config", cls.config, "--set", "run.name=second",
                               "--set", "seed=1")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def metrics(self, name):
        with open(os.path.join(self.tmp.name, "runs", name, "metrics.json")) as f:
            return json.load(f)

    def test_runs_finish(self):
        self.assertEqual(self.first[0], 0, self.first[2])
        self.assertEqual(self.second[0], 0, self.second[2])

    def test_the_export_loads_into_the_course_model_and_scores_the_runs_accuracy(self):
        weights = os.path.join(self.checkpoints, "twolayernet.pth")
        accuracy = grader_accuracy(weights, os.path.join(self.tmp.name, "runs", "second",
                                                         "config.yaml"))
        self.assertEqual(accuracy, self.metrics("second")["test"]["accuracy"])
        self.assertEqual(sorted(os.listdir(self.checkpoints)),
                         ["twolayernet.json", "twolayernet.pth"])

    def test_the_record_says_where_the_weights_came_from(self):
        for name, record in (("first", self.first_record),):
            metrics = self.metrics(name)
            self.assertEqual(record["run_dir"], os.path.join(self.tmp.name, "runs", name))
            self.assertEqual(record["config"], os.path.join(record["run_dir"], "config.yaml"))
            self.assertEqual(record["epoch"], metrics["best_epoch"])
            self.assertEqual(record["test_accuracy"], metrics["test"]["accuracy"])
            self.assertEqual(record["classes"], metrics["classes"])

    def test_the_second_run_says_which_file_and_run_it_replaced(self):
        first_lines = self.first[1].strip().splitlines()
        self.assertIn("exported the best weights", first_lines[-1])
        self.assertNotIn("replaced", self.first[1])
        last = self.second[1].strip().splitlines()[-1]
        weights = os.path.join(self.checkpoints, "twolayernet.pth")
        self.assertIn(f"replaced the earlier {weights}", last)
        self.assertIn(f"run {os.path.join(self.tmp.name, 'runs', 'first')} ", last)

    def test_eval_accepts_the_plain_export_and_the_full_record(self):
        accuracy = self.metrics("second")["test"]["accuracy"]
        config = os.path.join(self.tmp.name, "runs", "second", "config.yaml")
        for path in (os.path.join(self.checkpoints, "twolayernet.pth"),
                     os.path.join(self.tmp.name, "runs", "second", "best.pt")):
            with self.subTest(path=path):
                code, out, err = call_main("--config", config, "--eval", path)
                self.assertEqual(code, 0, err)
                self.assertIn(f"accuracy {accuracy:.4f}", out)

    def test_a_stage_two_run_starts_from_the_plain_export(self):
        weights = os.path.join(self.checkpoints, "twolayernet.pth")
        code, _, err = call_main("--config", self.config, "--no-export", "--set",
                                 "run.name=stage2", "--set", f"train.init_from={weights}",
                                 "--set", "train.epochs=1", "--set", "seed=1")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.metrics("stage2")["init_from"],
                         {"path": weights, "run": None, "epoch": None})

    def test_no_export_leaves_the_checkpoint_folder_alone(self):
        before = snapshot(self.checkpoints)
        code, out, err = call_main("--config", self.config, "--no-export",
                                   "--set", "run.name=quiet", "--set", "train.epochs=1")
        self.assertEqual(code, 0, err)
        self.assertEqual(snapshot(self.checkpoints), before)
        self.assertNotIn("export", out)


class LeftoversTest(unittest.TestCase):
    def test_a_resumed_run_removes_the_temporary_files_of_a_crashed_writer(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"epochs": 1, "milestones": []})
            self.assertEqual(call_main("--config", config)[0], 0)
            run_dir = os.path.join(tmp, "runs", "e2e")
            checkpoints = os.path.join(tmp, "checkpoints")
            planted = [os.path.join(run_dir, ".tmp-a1b2.pt"),
                       os.path.join(checkpoints, ".tmp-c3d4.pth")]
            for path in planted:
                shutil.copyfile(os.path.join(run_dir, "last.pt"), path)
            keep = os.path.join(run_dir, "notes.tmp")
            shutil.copyfile(os.path.join(run_dir, "last.pt"), keep)
            code, out, err = call_main("--resume", run_dir)
            self.assertEqual(code, 0, err)
            for path in planted:
                self.assertFalse(os.path.exists(path), path)
            self.assertTrue(os.path.exists(keep))
            self.assertIn(f"removed 1 temporary file(s) left by an interrupted write in {run_dir}",
                          out)


class CourseNameTest(unittest.TestCase):
    def test_course_file_names(self):
        for model, expected in {"twolayernet": "twolayernet", "vanillacnn": "vanillacnn",
                                "mymodel": "mymodel", "resnet32": "resnet-32",
                                "resnet110": "resnet-110", "resnet20": "resnet-20"}.items():
            self.assertEqual(course_name(model), expected)


if __name__ == "__main__":
    unittest.main()
