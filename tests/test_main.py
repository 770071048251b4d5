"""End-to-end runs of main.py on synthetic data: training, dry run, evaluation, input errors."""
import json
import os
import subprocess
import tempfile
import unittest

import torch

from tests.runs_helper import ENV, REPO, main_command, run_main, synthetic_config


class TrainRunTest(unittest.TestCase):
    """One short training run, shared by the checks on what it writes and prints."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = synthetic_config(cls.tmp.name)
        cls.result = run_main("--config", cls.config)
        cls.run_dir = os.path.join(cls.tmp.name, "runs", "e2e")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_cleanly(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_writes_the_run_folder(self):
        for name in ("config.yaml", "best.pt", "last.pt", "metrics.json", "confusion.png"):
            self.assertTrue(os.path.isfile(os.path.join(self.run_dir, name)), name)
        events = [f for f in os.listdir(self.run_dir) if f.startswith("events.out.tfevents")]
        self.assertTrue(events)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp.name, "checkpoints",
                                                    "vanillacnn.pth")))

    def test_metrics_json_is_consistent(self):
        with open(os.path.join(self.run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        self.assertTrue(metrics["finished"])
        self.assertEqual(len(metrics["history"]), 3)
        self.assertEqual(metrics["cls_num_list"], sorted(metrics["cls_num_list"], reverse=True))
        test = metrics["test"]
        confusion = torch.tensor(test["confusion"])
        self.assertEqual(confusion.sum().item(), 40)
        self.assertAlmostEqual(test["accuracy"], confusion.trace().item() / 40)
        self.assertGreater(test["accuracy"], 0.25, "no better than chance on learnable data")
        self.assertIn(metrics["best_epoch"], (1, 2, 3))

    def test_prints_per_class_accuracy_and_confusion(self):
        for name in ("class0", "class3"):
            self.assertIn(name, self.result.stdout)
        self.assertIn("epoch 3/3", self.result.stdout)

    def test_eval_reproduces_the_test_accuracy(self):
        with open(os.path.join(self.run_dir, "metrics.json")) as f:
            accuracy = json.load(f)["test"]["accuracy"]
        result = run_main("--config", self.config, "--eval",
                          os.path.join(self.run_dir, "best.pt"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{accuracy:.4f}", result.stdout)

    def test_second_run_gets_a_new_folder(self):
        result = run_main("--config", self.config, "--set", "train.epochs=2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp.name, "runs", "e2e-2",
                                                    "metrics.json")))


class LogFileTest(unittest.TestCase):
    def test_a_redirected_run_logs_epoch_lines_and_no_progress_bar(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"epochs": 2, "milestones": []})
            log_path = os.path.join(tmp, "train.log")
            with open(log_path, "wb") as log:
                code = subprocess.run(main_command("--config", config), cwd=REPO, env=ENV,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      timeout=120).returncode
            with open(log_path, "rb") as log:
                text = log.read()
        self.assertEqual(code, 0, text.decode())
        self.assertNotIn(b"\r", text)
        self.assertEqual([line.split()[1] for line in text.decode().splitlines()
                          if line.startswith("epoch ")], ["1/2", "2/2"])


class DryRunTest(unittest.TestCase):
    def test_prints_counts_and_parameters_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = run_main("--config", synthetic_config(tmp), "--dry-run")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("parameters", result.stdout)
            self.assertIn("class0", result.stdout)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs")))


class InputErrorTest(unittest.TestCase):
    """Each bad input: one line on stderr naming what is wrong, exit code 2, nothing written."""

    def assert_user_error(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def run_in_tmp(self, *args, **sections):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, **sections)
            result = run_main("--config", config, *args)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs")), "wrote a run folder")
            return result

    def test_missing_config_file(self):
        self.assert_user_error(run_main("--config", "no/such/file.yaml"), "no/such/file.yaml")

    def test_unknown_key_from_set(self):
        self.assert_user_error(self.run_in_tmp("--set", "train.epochz=3"), "train.epochz")

    def test_out_of_range_value(self):
        self.assert_user_error(self.run_in_tmp("--set", "loss.beta=1.5"), "loss.beta", "1.5")

    def test_batch_larger_than_training_set(self):
        self.assert_user_error(self.run_in_tmp("--set", "train.batch_size=100000"),
                               "train.batch_size", "100000")

    def test_missing_dataset_root(self):
        self.assert_user_error(
            self.run_in_tmp(data={"dataset": "imagefolder", "root": "/no/such/folder"}),
            "/no/such/folder")

    def test_unwritable_run_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "a-file")
            open(blocker, "w").close()
            config = synthetic_config(tmp, run={"name": "x", "dir": os.path.join(blocker, "runs"),
                                                "checkpoint_dir": tmp})
            self.assert_user_error(run_main("--config", config), "run.dir")

    def test_checkpoint_of_another_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"epochs": 2, "milestones": [1]})
            self.assertEqual(run_main("--config", config).returncode, 0)
            best = os.path.join(tmp, "runs", "e2e", "best.pt")
            self.assert_user_error(
                run_main("--config", config, "--set", "model.name=twolayernet", "--eval", best),
                "vanillacnn", "twolayernet")


if __name__ == "__main__":
    unittest.main()
