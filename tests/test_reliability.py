"""Failures a long run must survive: SIGKILL, Ctrl-C, SIGTERM, a diverging loss, an unsafe
checkpoint."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import torch

from tests.runs_helper import ENV, REPO, main_command, run_main, synthetic_config

# Epochs of about 70 steps, and enough of them that a signal sent just after the first
# epoch's last.pt lands well inside the run.
LONGER = dict(data={"synthetic": {"num_classes": 4, "train_per_class": 300,
                                  "test_per_class": 10, "image_size": 16, "channels": 3}},
              train={"epochs": 8, "batch_size": 8, "lr": 0.01, "milestones": [6]})


def load_results(run_dir):
    """(metrics.json without timings, final weights) of a finished run."""
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    for key in ("wall_time_s", "run"):
        metrics.pop(key)
    for record in metrics["history"]:
        record.pop("seconds")
    weights = torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)["model"]
    return metrics, weights


def start_and_wait_for(config, path, condition=os.path.isfile):
    """Start main.py on ``config``; return the process once ``condition(path)`` holds."""
    process = subprocess.Popen(main_command("--config", config), cwd=REPO, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not condition(path):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("run ended before the signal: " + process.communicate()[1])
        time.sleep(0.01)
    return process


class ExactResumeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        reference = synthetic_config(cls.tmp.name, **LONGER)
        result = run_main("--config", reference, "--set", "run.name=reference")
        assert result.returncode == 0, result.stderr
        cls.reference = load_results(os.path.join(cls.tmp.name, "runs", "reference"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_same_as_reference(self, run_dir):
        metrics, weights = load_results(run_dir)
        self.assertEqual(metrics, self.reference[0])
        self.assertEqual(weights.keys(), self.reference[1].keys())
        for name, tensor in weights.items():
            self.assertTrue(torch.equal(tensor, self.reference[1][name]), name)

    def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(self):
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": "killed"})
        run_dir = os.path.join(self.tmp.name, "runs", "killed")
        process = start_and_wait_for(config, os.path.join(run_dir, "last.pt"))
        time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metrics.json")),
                         "the run finished before it was killed; lengthen it")
        result = run_main("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_ctrl_c_saves_mid_epoch_and_resume_matches_uninterrupted_run(self):
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": "interrupted"})
        run_dir = os.path.join(self.tmp.name, "runs", "interrupted")
        process = start_and_wait_for(config, os.path.join(run_dir, "last.pt"))
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertIn(f"python main.py --resume {run_dir}", stderr)
        self.assertNotIn("Traceback", stderr)
        state = torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)
        self.assertLess(state["position"][0], 8)
        result = run_main("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_sigterm_saves_like_ctrl_c_and_resume_matches_uninterrupted_run(self):
        """What schedulers, ``timeout`` and container stops send: sent as soon as the first
        epoch's last.pt exists, so it lands inside the run."""
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": "terminated"})
        run_dir = os.path.join(self.tmp.name, "runs", "terminated")
        last = os.path.join(run_dir, "last.pt")
        process = start_and_wait_for(config, last)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertEqual(stderr.strip().splitlines()[-1].strip(),
                         f"python main.py --resume {run_dir}")
        self.assertNotIn("Traceback", stderr)
        self.assertLess(torch.load(last, weights_only=True)["position"][0], 8)
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metrics.json")))
        result = run_main("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_same_seed_same_result(self):
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": "again"})
        self.assertEqual(run_main("--config", config).returncode, 0)
        self.assert_same_as_reference(os.path.join(self.tmp.name, "runs", "again"))


class DivergenceTest(unittest.TestCase):
    def test_non_finite_loss_stops_with_epoch_and_step(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"lr": 1e30, "warmup_epochs": 0})
            result = run_main("--config", config)
            self.assertEqual(result.returncode, 3, result.stderr)
            self.assertRegex(result.stderr, r"non-finite at epoch 1, step \d+")
            self.assertIn("no best.pt was saved", result.stderr)
            self.assertNotIn("Traceback", result.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs", "e2e", "metrics.json")))


class UnsafeCheckpointTest(unittest.TestCase):
    def test_pickled_code_is_refused_and_never_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            marker = os.path.join(tmp, "payload-ran")
            payload = os.path.join(tmp, "evil.pt")
            torch.save({"format": "longtail-checkpoint/1", "model": Payload(marker)}, payload)
            result = run_main("--config", synthetic_config(tmp), "--eval", payload)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("cannot be loaded safely", result.stderr)
            self.assertFalse(os.path.exists(marker))


class Payload:
    """Unpickling this object would create ``marker``: what weights_only=True must prevent."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


if __name__ == "__main__":
    unittest.main()
