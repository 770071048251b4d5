"""Mixup, CutMix, Cutout, RandAugment and label-aware smoothing train through the application,
in-process, on synthetic data; so does CIFAR-100 from a faked copy of its pickle files."""
import contextlib
import io
import json
import math
import os
import tempfile
import unittest
from unittest import mock

import torch

import app
from data import long_tail_counts
from engine.config import load_config
from engine.errors import Interrupted
from tests.runs_helper import synthetic_config, train_quietly
from tests.test_data import skip_md5_checks, write_fake_cifar100

METHODS = {
    "mixup": ["data.mix=mixup"],
    "cutmix_drw": ["data.mix=cutmix", "loss.reweight=class_balanced", "loss.reweight_epoch=1"],
    "mixup_until_focal": ["data.mix=mixup", "data.mix_until=1", "loss.name=focal",
                          "loss.gamma=1"],
    "mixup_balanced_softmax": ["data.mix=mixup", "data.mix_alpha=0.4",
                               "loss.name=balanced_softmax"],
    "las": ["loss.name=las", "loss.las_head=0.4", "loss.las_tail=0.1"],
    "cutout": ["data.cutout=6"],
    "randaugment": ["data.randaugment_ops=2", "data.randaugment_magnitude=9"],
}


def train(config, overrides):
    """The metrics of a quiet in-process run of ``config`` with ``overrides``."""
    return train_quietly(load_config(config, overrides))[1]


class AugmentMethodsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # A gentler rate than tests.test_app's: mixed labels destabilise VanillaCNN at 0.05.
        self.config = synthetic_config(self.tmp.name, model={"name": "vanillacnn"},
                                       loss={"name": "ce", "reweight": "none"},
                                       train={"epochs": 2, "warmup_epochs": 0,
                                              "milestones": [], "lr": 0.02})

    def test_every_option_trains_and_reports(self):
        for name, overrides in METHODS.items():
            with self.subTest(method=name):
                metrics = train(self.config, overrides + [f"run.name={name}"])
                self.assertTrue(metrics["finished"])
                history = metrics["history"]
                self.assertTrue(all(math.isfinite(r["train_loss"]) for r in history), history)
                # Accuracy against the largest label weight, counted once per image.
                self.assertTrue(all(0.3 < r["train_accuracy"] <= 1 for r in history), history)
                self.assertGreater(metrics["test"]["accuracy"], 0.25)

    def test_options_change_training(self):
        plain = train(self.config, ["run.name=plain"])["history"][-1]["train_loss"]
        for name in ("mixup", "las", "cutout", "randaugment"):
            with self.subTest(method=name):
                loss = train(self.config, METHODS[name] + [f"run.name={name}-again"])
                self.assertNotEqual(loss["history"][-1]["train_loss"], plain)



class ExactResumeTest(unittest.TestCase):
    """A run stopped mid-epoch (as Ctrl-C stops it) and resumed ends with the weights of an
    uninterrupted one: the mixed batches and augmentations come from (seed, epoch) alone."""

    def test_interrupted_and_resumed_run_matches_the_uninterrupted_one(self):
        options = ["data.mix=cutmix", "data.cutout=6", "data.randaugment_ops=2",
                   "loss.name=las"]
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, model={"name": "vanillacnn"},
                                      loss={"name": "ce", "reweight": "none"},
                                      train={"epochs": 2, "warmup_epochs": 0, "lr": 0.02,
                                             "milestones": [1]})
            reference = train(config, options + ["run.name=reference"])
            calls = []

            def stop_at_the_fifth_step(synchronise):
                calls.append(synchronise)
                return len(calls) == 5

            cfg = load_config(config, options + ["run.name=stopped"])
            with mock.patch("engine.trainer.Trainer._stop_agreed",
                            side_effect=stop_at_the_fifth_step, autospec=False), \
                    contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(Interrupted) as caught:
                app.train(cfg)
            run_dir = caught.exception.run_dir
            self.assertEqual(torch.load(os.path.join(run_dir, "last.pt"),
                                        weights_only=True)["position"], [0, 5])
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                app.train(None, resume_dir=run_dir)
            with open(os.path.join(run_dir, "metrics.json")) as f:
                resumed = json.load(f)
            weights = [torch.load(os.path.join(tmp, "runs", name, "last.pt"),
                                  weights_only=True)["model"] for name in ("reference", "stopped")]
        for record in reference["history"] + resumed["history"]:
            record.pop("seconds")
        self.assertEqual(resumed["history"], reference["history"])
        for name, tensor in weights[0].items():
            self.assertTrue(torch.equal(tensor, weights[1][name]), name)


class Cifar100Test(unittest.TestCase):
    def test_trains_on_a_faked_copy_and_reports_100_classes(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_fake_cifar100(tmp, train_per_class=10, test_per_class=2)
            config = synthetic_config(
                tmp, model={"name": "vanillacnn"}, loss={"name": "ce", "reweight": "none"},
                data={"dataset": "cifar100", "root": tmp, "download": False,
                      "val_fraction": 0.0, "imbalance": {"profile": "exp", "factor": 10}},
                train={"epochs": 1, "warmup_epochs": 0, "milestones": [], "lr": 0.02})
            with skip_md5_checks():
                metrics = train(config, ["data.mix=mixup", "eval.many_shot=6",
                                         "eval.few_shot=3"])
            self.assertEqual(metrics["dataset"], "cifar100")
            self.assertEqual(len(metrics["classes"]), 100)
            self.assertEqual(metrics["cls_num_list"], long_tail_counts(10, 100, "exp", 10))
            self.assertEqual(sum(map(sum, metrics["test"]["confusion"])), 200)
            groups = metrics["test"]["group_classes"]
            self.assertTrue(all(groups[name] for name in ("many", "medium", "few")), groups)
            self.assertTrue(os.path.exists(os.path.join(tmp, "runs", "e2e", "confusion.png")))


if __name__ == "__main__":
    unittest.main()
