"""Two-stage runs through the application: train.init_from, freeze, bn_stats, reinit, LWS,
MaxNorm, and the tau-normalised evaluation; all in-process on tiny synthetic data."""
import os
import tempfile
import unittest
from unittest import mock

import torch

import data
from app import stage2
from engine import builders
from engine import checkpoint as ckpt
from engine.config import ConfigError, load_config
from engine.errors import Interrupted
from engine.trainer import Trainer
from tests.runs_helper import main_in_process, synthetic_config, train_quietly

# MyModel (width 8) has BatchNorm layers, whose statistics the freezing must leave alone.
STAGE1 = dict(model={"name": "mymodel", "width": 8},
              data={"dataset": "synthetic", "val_fraction": 0.0,
                    "imbalance": {"profile": "exp", "factor": 4},
                    "synthetic": {"num_classes": 4, "train_per_class": 40, "test_per_class": 10,
                                  "image_size": 16, "channels": 3}},
              loss={"name": "ce", "reweight": "none"},
              train={"epochs": 2, "warmup_epochs": 0, "milestones": [], "lr": 0.05,
                     "batch_size": 16})


def train(path, overrides=(), resume_dir=None):
    """Run ``app.train`` quietly; returns (run folder, metrics.json)."""
    cfg = load_config(path, list(overrides)) if resume_dir is None else None
    return train_quietly(cfg, resume_dir=resume_dir)


def weights(path):
    return ckpt.load_checkpoint(path)["model"]


class StageTwoTest(unittest.TestCase):
    """One stage-1 run (MyModel, plain CE) shared by every stage-2 check."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = synthetic_config(cls.tmp.name, **STAGE1)
        cls.stage1_dir, _ = train(cls.config, ["run.name=stage1"])
        cls.stage1 = os.path.join(cls.stage1_dir, "best.pt")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def stage2(self, name, *overrides):
        return train(self.config, [f"run.name={name}", f"train.init_from={self.stage1}",
                                   *overrides])

    def changed(self, run_dir):
        """Names of the state-dict tensors that differ from the stage-1 weights."""
        before, after = weights(self.stage1), weights(os.path.join(run_dir, "best.pt"))
        return {name for name in before if not torch.equal(before[name], after[name])}

    def test_frozen_features_change_only_the_classifier(self):
        run_dir, metrics = self.stage2("frozen", "train.freeze=features",
                                       "data.sampler=class_balanced")
        self.assertEqual(self.changed(run_dir), {"fc.weight", "fc.bias"})
        self.assertEqual(metrics["init_from"],
                         {"path": self.stage1, "run": "stage1", "epoch": 2})

    def test_bn_stats_update_changes_running_statistics_but_no_parameter(self):
        run_dir, _ = self.stage2("bn-update", "train.freeze=features", "train.bn_stats=update",
                                 "data.sampler=class_balanced")
        changed = self.changed(run_dir)
        statistics = {name for name in weights(self.stage1)
                      if name.endswith(("running_mean", "running_var", "num_batches_tracked"))}
        self.assertTrue(statistics)
        self.assertEqual(changed, statistics | {"fc.weight", "fc.bias"})

    def test_without_freezing_every_layer_trains(self):
        run_dir, _ = self.stage2("unfrozen")
        changed = self.changed(run_dir)
        self.assertIn("stem.0.weight", changed)  # the first convolution
        self.assertTrue(any(name.endswith("running_mean") for name in changed))

    def test_lws_trains_only_the_scales(self):
        run_dir, _ = self.stage2("lws", "model.classifier_scales=true",
                                 "train.freeze=features_and_classifier")
        before, after = weights(self.stage1), weights(os.path.join(run_dir, "best.pt"))
        renamed = {name.replace("fc.", "fc.layer."): t for name, t in before.items()}
        self.assertEqual(set(after), set(renamed) | {"fc.scales"})
        for name, tensor in renamed.items():
            self.assertTrue(torch.equal(tensor, after[name]), name)
        self.assertFalse(torch.equal(after["fc.scales"], torch.ones(4)))

    def test_maxnorm_keeps_every_classifier_row_on_or_inside_the_radius(self):
        stage1_norms = weights(self.stage1)["fc.weight"].norm(dim=1)
        radius = (stage1_norms.min() + 0.1 * (stage1_norms.max() - stage1_norms.min())).item()
        run_dir, _ = self.stage2("wb", "train.freeze=features", "train.maxnorm=0.1",
                                 "train.maxnorm_relative=true", "loss.reweight=class_balanced")
        norms = weights(os.path.join(run_dir, "best.pt"))["fc.weight"].norm(dim=1)
        self.assertLessEqual(norms.max().item(), radius * (1 + 1e-6))
        self.assertGreater(stage1_norms.max().item(), radius * 1.01)   # so the test can fail

    def test_reinit_replaces_the_classifier_before_training(self):
        cfg = load_config(self.config, [f"train.init_from={self.stage1}",
                                        "train.reinit_classifier=true"])
        bundle = data.build_data(cfg.data, cfg.seed)
        model = builders.build_model("mymodel", bundle.input_shape, 4, width=8)
        stage2.start_from(cfg, bundle, model)
        before = weights(self.stage1)
        for name, tensor in model.state_dict().items():
            same = torch.equal(tensor, before[name])
            self.assertEqual(same, not name.startswith("fc."), name)
        kept = load_config(self.config, [f"train.init_from={self.stage1}"])
        model = builders.build_model("mymodel", bundle.input_shape, 4, width=8)
        stage2.start_from(kept, bundle, model)
        self.assertTrue(torch.equal(model.fc.weight, before["fc.weight"]))

    def test_incompatible_checkpoints_are_refused_with_one_line(self):
        cases = {"another class count": ["data.synthetic.num_classes=5"],
                 "another model": ["model.name=vanillacnn"],
                 "a missing file": ["train.init_from=nowhere/best.pt"],
                 "another seed": ["seed=1"],
                 "another long-tailed subset": ["data.imbalance.factor=2"]}
        for what, overrides in cases.items():
            with self.subTest(what), self.assertRaises(ValueError) as caught:
                self.stage2("bad", *overrides)
            message = str(caught.exception)
            self.assertTrue(message.startswith("train.init_from: "), message)
            self.assertNotIn("\n", message)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "runs", "bad")))

    def test_interrupted_stage_two_run_resumes_to_the_same_weights(self):
        overrides = ["train.freeze=features", "train.bn_stats=update",
                     "model.classifier_scales=true", "train.maxnorm=0.1",
                     "train.maxnorm_relative=true", "data.sampler=class_balanced"]
        reference, _ = self.stage2("whole", *overrides)
        original_end_epoch = Trainer._end_epoch

        def stop_after_first_epoch(trainer, epoch, seconds):
            original_end_epoch(trainer, epoch, seconds)
            trainer.stop_requested = True

        with mock.patch.object(Trainer, "_end_epoch", stop_after_first_epoch), \
                self.assertRaises(Interrupted):
            self.stage2("stopped", *overrides)
        run_dir = os.path.join(self.tmp.name, "runs", "stopped")
        self.assertEqual(ckpt.load_checkpoint(os.path.join(run_dir, "last.pt"))["position"],
                         [1, 0])
        _, metrics = train(None, resume_dir=run_dir)
        self.assertEqual(len(metrics["history"]), 2)
        expected = weights(os.path.join(reference, "best.pt"))
        resumed = weights(os.path.join(run_dir, "best.pt"))
        for name, tensor in expected.items():
            self.assertTrue(torch.equal(tensor, resumed[name]), name)


class TauNormEvaluationTest(unittest.TestCase):
    """eval.tau_norm scores the test set with the rescaled classifier, beside the plain one."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        sections = dict(STAGE1, data=dict(STAGE1["data"], val_fraction=0.25))
        cls.config = synthetic_config(cls.tmp.name, **sections)
        cls.run_dir, cls.metrics = train(cls.config, ["run.name=tau", "eval.tau_norm=1.5"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def features(self, run_dir, split):
        """(penultimate features, classifier weight, labels) of ``split``'s images under the
        run's best weights: an independent route to the tau-normalised logits,
        x . w_c / ||w_c||^tau."""
        cfg = load_config(self.config)
        bundle = data.build_data(cfg.data, cfg.seed)
        model = builders.build_model("mymodel", bundle.input_shape, 4, width=8)
        model.load_state_dict(weights(os.path.join(run_dir, "best.pt")))
        model.eval()
        captured = []
        # MyModel evaluates each image and its mirror as one batch of 2n and averages the
        # logits: the classifier's effective input is the mean of the two views' features.
        model.fc.register_forward_hook(lambda module, args, out: captured.append(
            (args[0][:len(args[0]) // 2] + args[0][len(args[0]) // 2:]) / 2))
        image_set = getattr(bundle, split)
        loader = data.BatchLoader(image_set, 1000, device="cpu", mean=bundle.mean,
                                  std=bundle.std, train=False, augment=False)
        with torch.no_grad():
            for images, _ in loader:
                model(images)
        return torch.cat(captured), model.fc.weight.detach(), image_set.labels

    def test_tau_normalised_accuracy_is_reported_beside_the_plain_one(self):
        features, weight, labels = self.features(self.run_dir, "test")
        logits = features @ (weight / weight.norm(dim=1, keepdim=True) ** 1.5).T
        expected = torch.zeros(4, 4, dtype=torch.int64)
        for label, prediction in zip(labels.tolist(), logits.argmax(1).tolist()):
            expected[label, prediction] += 1
        self.assertEqual(self.metrics["test_tau_norm"]["confusion"], expected.tolist())
        self.assertEqual(self.metrics["tau_norm"],
                         {"tau": 1.5, "searched": False, "val_balanced_accuracy": None})
        self.assertEqual(sum(map(sum, self.metrics["test"]["confusion"])), 40)

    def test_search_chooses_the_best_tau_on_the_validation_split(self):
        _, metrics = train(self.config, ["run.name=search", "eval.tau_norm_search=true",
                                         f"train.init_from={self.run_dir}/best.pt",
                                         "train.freeze=features", "train.epochs=1"])
        record = metrics["tau_norm"]
        self.assertTrue(record["searched"])
        features, weight, labels = self.features(os.path.join(self.tmp.name, "runs", "search"),
                                                 "val")
        scores = []
        for step in range(21):
            logits = features @ (weight / weight.norm(dim=1, keepdim=True) ** (step / 10)).T
            hits = logits.argmax(1) == labels
            scores.append(sum(hits[labels == c].float().mean().item() for c in range(4)) / 4)
        best = max(range(21), key=lambda i: (scores[i], -i))
        self.assertAlmostEqual(record["tau"], best / 10)
        self.assertAlmostEqual(record["val_balanced_accuracy"], scores[best], places=6)

    def test_main_eval_scores_a_finished_runs_checkpoint(self):
        result = main_in_process("--config", os.path.join(self.run_dir, "config.yaml"),
                                 "--eval", os.path.join(self.run_dir, "best.pt"),
                                 "--set", "eval.tau_norm=1.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("with the tau-normalised classifier (tau 1.5):", result.stdout)
        accuracy = self.metrics["test_tau_norm"]["accuracy"]
        self.assertIn(f"accuracy {accuracy:.4f}", result.stdout.split("tau-normalised")[1])


class ConfigRulesTest(unittest.TestCase):
    """Combinations that would do nothing, or nonsense, are refused with one line."""

    def test_bad_combinations(self):
        cases = {
            "train.freeze": ["train.freeze=features"],
            "train.freeze=": ["train.init_from=x.pt", "train.freeze=features_and_classifier"],
            "train.bn_stats": ["train.bn_stats=update"],
            "train.reinit_classifier": ["train.reinit_classifier=true"],
            "train.reinit_classifier=": ["train.init_from=x.pt", "model.classifier_scales=true",
                                         "train.freeze=features_and_classifier",
                                         "train.reinit_classifier=true"],
            "train.maxnorm_relative": ["train.maxnorm_relative=true"],
            "train.maxnorm": ["train.maxnorm=1", "model.normed_classifier=true"],
            "train.maxnorm=": ["train.maxnorm=-1"],
            "eval.tau_norm": ["eval.tau_norm=1", "model.classifier_scales=true"],
            "eval.tau_norm=": ["eval.tau_norm=1", "eval.tau_norm_search=true"],
            "eval.tau_norm_search": ["eval.tau_norm_search=true", "data.val_fraction=0"],
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = synthetic_config(tmp)
            for key, overrides in cases.items():
                with self.subTest(overrides=overrides), \
                        self.assertRaises(ConfigError) as caught:
                    load_config(path, overrides)
                self.assertEqual(caught.exception.key, key.rstrip("="))
                self.assertNotIn("\n", str(caught.exception))

    def test_a_stage_two_config_loads_before_its_checkpoint_exists(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = load_config(synthetic_config(tmp), [
                "train.init_from=runs/not-yet/best.pt", "train.freeze=features",
                "train.reinit_classifier=true", "train.bn_stats=update",
                "model.classifier_scales=true", "train.maxnorm=0.1",
                "train.maxnorm_relative=true"])
        self.assertEqual(cfg.train.init_from, "runs/not-yet/best.pt")


if __name__ == "__main__":
    unittest.main()
