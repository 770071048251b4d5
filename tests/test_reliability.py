"""Failures a long run must survive: SIGKILL, Ctrl-C, SIGTERM, a diverging loss, an unsafe
checkpoint."""
import json
import os
import signal
import tempfile
import unittest

import torch

from tests.holding import release, start_held
from tests.runs_helper import main_in_process, synthetic_config

# Three epochs of 13 steps (batches of 8 images of 8 x 8 pixels); the signal tests hold the
# run before step HOLD_STEP, inside the second epoch, and signal it there. Only the signalled
# runs are subprocesses: the reference and the resumed runs train in this process.
LONGER = dict(train={"epochs": 3, "batch_size": 8, "lr": 0.01, "milestones": [2]},
              data={"synthetic": {"num_classes": 4, "train_per_class": 60,
                                  "test_per_class": 10, "image_size": 8, "channels": 3}})
STEPS = 13
HOLD_STEP = STEPS + 5


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


class ExactResumeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        reference = synthetic_config(cls.tmp.name, **LONGER)
        result = main_in_process("--config", reference, "--set", "run.name=reference")
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

    def start_held(self, name):
        """main.py on the LONGER config held before step HOLD_STEP; returns (process, run
        folder)."""
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": name})
        return start_held(["--config", config], HOLD_STEP), \
            os.path.join(self.tmp.name, "runs", name)

    def assert_saved_mid_second_epoch(self, run_dir):
        """last.pt continues after the held step: epoch 2 (0-based 1), step 5 of 13."""
        state = torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)
        self.assertEqual(tuple(state["position"]), (1, HOLD_STEP - STEPS))
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metrics.json")))

    def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(self):
        process, run_dir = self.start_held("killed")
        process.send_signal(signal.SIGKILL)
        process.communicate()
        self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertFalse(os.path.exists(os.path.join(run_dir, "metrics.json")))
        state = torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)
        self.assertEqual(tuple(state["position"]), (1, 0), "last.pt is the first epoch's")
        result = main_in_process("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_ctrl_c_saves_mid_epoch_and_resume_matches_uninterrupted_run(self):
        process, run_dir = self.start_held("interrupted")
        process.send_signal(signal.SIGINT)
        _, stderr = release(process)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertIn(f"python main.py --resume {run_dir}", stderr)
        self.assertNotIn("Traceback", stderr)
        self.assert_saved_mid_second_epoch(run_dir)
        result = main_in_process("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_sigterm_saves_like_ctrl_c_and_resume_matches_uninterrupted_run(self):
        """What schedulers, ``timeout`` and container stops send."""
        process, run_dir = self.start_held("terminated")
        process.send_signal(signal.SIGTERM)
        _, stderr = release(process)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertEqual(stderr.strip().splitlines()[-1].strip(),
                         f"python main.py --resume {run_dir}")
        self.assertNotIn("Traceback", stderr)
        self.assert_saved_mid_second_epoch(run_dir)
        result = main_in_process("--resume", run_dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_same_as_reference(run_dir)

    def test_same_seed_same_result(self):
        config = synthetic_config(self.tmp.name, **LONGER, run={"name": "again"})
        self.assertEqual(main_in_process("--config", config).returncode, 0)
        self.assert_same_as_reference(os.path.join(self.tmp.name, "runs", "again"))


class DivergenceTest(unittest.TestCase):
    def test_non_finite_loss_stops_with_epoch_and_step(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"lr": 1e30, "warmup_epochs": 0})
            result = main_in_process("--config", config)
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
            result = main_in_process("--config", synthetic_config(tmp), "--eval", payload)
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
