"""Every loss, sampler and evaluation option trains through the application, in-process."""
import math
import os
import tempfile
import unittest
from collections import namedtuple
from unittest import mock

import app
import data
import models
from engine.config import load_config
from tests.runs_helper import synthetic_config, train_quietly

METHODS = {
    "ce": [],
    "focal": ["loss.gamma=2"],
    "cb_softmax": ["loss.reweight=class_balanced"],
    "cb_sigmoid_focal": ["loss.name=sigmoid_focal", "loss.gamma=1",
                         "loss.reweight=class_balanced"],
    "sigmoid": ["loss.name=sigmoid"],
    "ldam_drw": ["loss.name=ldam", "loss.reweight=class_balanced", "loss.reweight_epoch=1",
                 "model.normed_classifier=true"],
    "logit_adjusted": ["loss.name=logit_adjusted"],
    "balanced_softmax": ["loss.name=balanced_softmax"],
    "cb_sampler_deferred": ["data.sampler=class_balanced", "data.sampler_epoch=1"],
    "sqrt_sampler": ["data.sampler=sqrt"],
}


class MethodsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.config = synthetic_config(self.tmp.name, model={"name": "vanillacnn"},
                                       loss={"name": "ce", "reweight": "none"},
                                       train={"epochs": 2, "warmup_epochs": 0,
                                              "milestones": [], "lr": 0.05})

    def train(self, name, overrides):
        return train_quietly(load_config(self.config, overrides + [f"run.name={name}"]))[1]

    def test_every_method_trains_and_reports(self):
        for name, overrides in METHODS.items():
            with self.subTest(method=name):
                metrics = self.train(name, overrides)
                self.assertTrue(metrics["finished"])
                losses = [record["train_loss"] for record in metrics["history"]]
                self.assertTrue(all(math.isfinite(v) for v in losses), losses)
                self.assertGreater(metrics["test"]["accuracy"], 0.25)

    def test_posthoc_adjustment_is_reported_beside_the_plain_accuracy(self):
        metrics = self.train("posthoc", ["eval.posthoc_tau=1.0"])
        self.assertIsNone(self.train("plain", [])["test_posthoc"])
        adjusted = metrics["test_posthoc"]
        self.assertEqual(sum(map(sum, adjusted["confusion"])), 40)
        self.assertEqual(metrics["test"]["confusion"],
                         self.train("plain-again", [])["test"]["confusion"])


class MyModelRecipeTest(unittest.TestCase):
    """A fresh MyModel run starts its stem from a training sample and downscales its first
    epoch."""

    def test_fresh_run_initialises_the_stem_from_a_training_sample(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, model={"name": "mymodel", "width": 4},
                                      data={"val_fraction": 0, "downscale_size": 8,
                                            "downscale_until": 1},
                                      train={"epochs": 2, "warmup_epochs": 0,
                                             "milestones": []})
            cfg = load_config(config)
            real = models.MyModel.init_from_data
            with mock.patch.object(models.MyModel, "init_from_data", autospec=True,
                                   side_effect=real) as init:
                run_dir, metrics = train_quietly(cfg)
            self.assertTrue(metrics["finished"])
            self.assertEqual(init.call_count, 1)
            bundle = data.build_data(cfg.data, cfg.seed)
            expected = data.training_sample(bundle.train, bundle.mean, bundle.std, cfg.seed)
            self.assertEqual(expected.shape, (len(bundle.train), 3, 16, 16))
            self.assertTrue(init.call_args.args[1].equal(expected))


class FullDiskTest(unittest.TestCase):
    def test_full_disk_is_reported_before_training_and_leaves_no_run_folder(self):
        usage = namedtuple("usage", "total used free")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = load_config(synthetic_config(tmp))
            with mock.patch("app.run_folder.shutil.disk_usage", return_value=usage(10, 9, 2**20)):
                with self.assertRaisesRegex(ValueError, r"run\.dir: only 1 MiB free"):
                    app.train(cfg)
            self.assertEqual(os.listdir(os.path.join(tmp, "runs")), [])


if __name__ == "__main__":
    unittest.main()
