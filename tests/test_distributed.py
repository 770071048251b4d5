"""Data-parallel training with torchrun on CPU (gloo): two processes match one on the same global batch."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

from tests.runs_helper import ENV, REPO, run_main, synthetic_config


class TwoProcessTest(unittest.TestCase):
    def test_two_processes_match_one_process(self):
        with tempfile.TemporaryDirectory() as tmp:
            # No BatchNorm (per-process on CPU) and a plain mean loss: the DDP average of the
            # two half-batch gradients is then exactly the full-batch gradient.
            config = synthetic_config(tmp, model={"name": "vanillacnn"},
                                      loss={"name": "ce", "reweight": "none"},
                                      train={"epochs": 2, "batch_size": 16},
                                      data={"synthetic": {"num_classes": 4,
                                                          "train_per_class": 30,
                                                          "test_per_class": 4,
                                                          "image_size": 8, "channels": 3}})
            single = run_main("--config", config, "--set", "run.name=single")
            self.assertEqual(single.returncode, 0, single.stderr)
            double = subprocess.run(
                [sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc_per_node=2", os.path.join(REPO, "main.py"), "--config", config,
                 "--set", "run.name=double"],
                cwd=REPO, capture_output=True, text=True, env=ENV)
            self.assertEqual(double.returncode, 0, double.stderr[-3000:])
            self.assertEqual(double.stdout.count("epoch 2/2"), 1, "only rank 0 prints")

            runs = os.path.join(tmp, "runs")
            weights = [torch.load(os.path.join(runs, name, "last.pt"), weights_only=True)["model"]
                       for name in ("single", "double")]
            for name, tensor in weights[0].items():
                torch.testing.assert_close(weights[1][name], tensor, rtol=1e-4, atol=1e-5,
                                           msg=name)
            histories = []
            for name in ("single", "double"):
                with open(os.path.join(runs, name, "metrics.json")) as f:
                    histories.append(json.load(f)["history"])
            for one, two in zip(*histories):
                self.assertAlmostEqual(one["train_loss"], two["train_loss"], places=4)
                self.assertEqual(one["train_accuracy"], two["train_accuracy"])


if __name__ == "__main__":
    unittest.main()
