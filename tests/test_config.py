"""Config schema: defaults, the shipped configs, overrides, validation errors, course format."""
import dataclasses
import glob
import io
import json
import os
import tempfile
import textwrap
import unittest
from unittest import mock

import torch
import yaml

from engine.config import (Config, ConfigError, config_to_dict, dump_config,
                           format_config, load_config, parse_override, rules)
from engine.config.course import COURSE_MEAN, COURSE_STD
from engine.schedule import lr_factor

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

# The schema of DEVELOPERS.md, "Config", written out independently of engine/config/.
DOCUMENTED_DEFAULTS = {
    "seed": 0,
    "device": "auto",
    "model": {"name": "resnet32", "normed_classifier": False, "width": 16,
              "classifier_scales": False, "channels": [32, 32, 64, 64], "pool_every": 2,
              "hidden_dims": [100], "conv_params": {"kernel_size": 3, "stride": 1, "padding": 1},
              "activation": "relu", "pooling": "max", "batchnorm": False, "dropout": 0.0,
              "bottleneck": False},
    "data": {
        "dataset": "cifar10", "root": "data", "download": True,
        "imbalance": {"profile": "none", "factor": 1.0},
        "val_fraction": 0.1, "augment": True, "mean": None, "std": None, "sampler": "instance", "sampler_epoch": 0,
        "mix": "none", "mix_alpha": 1.0, "mix_until": 0, "cutout": 0, "randaugment_ops": 0,
        "randaugment_magnitude": 9, "downscale_size": 0, "downscale_until": 0,
        "synthetic": {"num_classes": 10, "train_per_class": 100, "test_per_class": 20,
                      "image_size": 32, "channels": 3},
    },
    "loss": {"name": "ce", "gamma": 0.0, "beta": 0.9999, "reweight": "none",
             "reweight_epoch": 0, "ldam_max_margin": 0.5, "ldam_scale": 30.0, "tau": 1.0,
             "las_head": 0.3, "las_tail": 0.0, "las_schedule": "concave"},
    "train": {"epochs": 200, "batch_size": 128, "lr": 0.1, "momentum": 0.9, "nesterov": False,
              "weight_decay": 0.0002, "schedule": "step", "warmup_epochs": 5,
              "milestones": [160, 180], "lr_decay": 0.01, "amp": True,
              "channels_last": True, "compile": False, "fused_optimizer": True,
              "init_from": "", "freeze": "none", "bn_stats": "frozen",
              "reinit_classifier": False, "maxnorm": 0.0, "maxnorm_relative": False},
    "eval": {"posthoc_tau": 0.0, "tau_norm": 0.0, "tau_norm_search": False, "many_shot": 100,
             "few_shot": 20},
    "run": {"name": "", "dir": "runs", "checkpoint_dir": "checkpoints"},
}

COURSE_FOCAL = """\
Train:
  batch_size: 64
  learning_rate: 0.05
  reg: 0.0005
  epochs: 30
  steps: [20, 25]
  warmup: 3
  momentum: 0.8

network:
  model: ResNet-32

data:
  imbalance: imbalance
  save_best: True

loss:
  loss_type: Focal
  reweight: True
  beta: 0.999
  gamma: 2
"""

COURSE_CE = """\
Train:
  batch_size: 128
  learning_rate: 0.0001
  reg: 0.001
  epochs: 10
  steps: [6, 8]
  warmup: 0
  momentum: 0.9

network:
  model: TwoLayerNet

data:
  imbalance: regular
  save_best: False

loss:
  loss_type: CE
  reweight: False
"""


class TempDirTest(unittest.TestCase):
    """Gives each test a temporary folder and a helper that writes a file into it."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_user_error(self, call, *fragments):
        """``call()`` raises a one-line ValueError, TypeError or OSError containing every
        fragment; returns its message."""
        with self.assertRaises((ValueError, TypeError, OSError)) as caught:
            call()
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message


class DefaultsTest(TempDirTest):
    def test_defaults_are_the_documented_schema(self):
        self.assertEqual(config_to_dict(Config()), DOCUMENTED_DEFAULTS)

    def test_defaults_validate(self):
        named = dataclasses.replace(Config(), run=dataclasses.replace(Config().run, name="d"))
        self.assertEqual(load_config(self.write("d.yaml", format_config(Config()))), named)
        self.assertEqual(load_config(self.write("d.yaml", "seed: 0\n")), named)

    def test_empty_file_is_an_error_naming_the_file(self):
        for text in ("", "# only a comment\n", "---\n"):
            with self.subTest(text=text):
                path = self.write("empty.yaml", text)
                self.assert_user_error(lambda: load_config(path), path, "is empty")


class ShippedConfigsTest(unittest.TestCase):
    def load(self, name):
        return load_config(os.path.join(CONFIG_DIR, name))

    def test_every_config_loads(self):
        paths = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))
        names = {os.path.basename(path) for path in paths}
        self.assertLessEqual({"twolayer.yaml", "vanilla_cnn.yaml", "mymodel.yaml",
                              "resnet32_ce.yaml", "resnet32_focal.yaml",
                              "course_example.yaml"}, names)
        for path in paths:
            with self.subTest(path=path):
                cfg = load_config(path)
                self.assertEqual(cfg.run.name, os.path.splitext(os.path.basename(path))[0])

    def test_models(self):
        for name, model in (("twolayer.yaml", "twolayernet"), ("vanilla_cnn.yaml", "vanillacnn"),
                            ("mymodel.yaml", "mymodel"), ("resnet32_ce.yaml", "resnet32"),
                            ("course_example.yaml", "resnet32")):
            with self.subTest(name=name):
                self.assertEqual(self.load(name).model.name, model)

    def test_balanced_configs(self):
        for name in ("twolayer.yaml", "vanilla_cnn.yaml", "mymodel.yaml"):
            with self.subTest(name=name):
                cfg = self.load(name)
                self.assertEqual(cfg.data.imbalance.profile, "none")
                self.assertEqual(cfg.loss.name, "las" if name == "mymodel.yaml" else "ce")

    def test_long_tail_recipe(self):
        for name in ("resnet32_ce.yaml", "resnet32_focal.yaml"):
            with self.subTest(name=name):
                cfg = self.load(name)
                self.assertEqual((cfg.data.imbalance.profile, cfg.data.imbalance.factor),
                                 ("exp", 100.0))
                self.assertEqual(cfg.data.val_fraction, 0.0)
                self.assertEqual((cfg.train.epochs, cfg.train.batch_size, cfg.train.lr,
                                  cfg.train.momentum, cfg.train.weight_decay),
                                 (200, 128, 0.1, 0.9, 2e-4))
                self.assertEqual((cfg.train.schedule, cfg.train.warmup_epochs,
                                  cfg.train.milestones, cfg.train.lr_decay),
                                 ("step", 5, [160, 180], 0.01))
        self.assertEqual(self.load("resnet32_ce.yaml").loss.name, "ce")
        self.assertEqual(self.load("resnet32_ce.yaml").loss.reweight, "none")
        focal = self.load("resnet32_focal.yaml").loss
        self.assertEqual((focal.name, focal.gamma, focal.beta, focal.reweight,
                          focal.reweight_epoch), ("focal", 1.0, 0.9999, "class_balanced", 0))

    def test_fast_recipe(self):
        cfg = self.load("mymodel.yaml")
        train = cfg.train
        self.assertEqual((train.epochs, train.batch_size, train.lr, train.nesterov, train.schedule,
                          train.channels_last), (8, 64, 0.1, True, "cosine", True))
        self.assertEqual((cfg.data.downscale_size, cfg.data.downscale_until), (24, 5))


class OverrideTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.path = self.write("base.yaml", "train: {epochs: 20, warmup_epochs: 1, "
                                            "milestones: [10, 15]}\n")

    def test_parse_override(self):
        self.assertEqual(parse_override("train.lr=0.05"), ("train.lr", 0.05))
        self.assertEqual(parse_override("train.weight_decay=5e-4"), ("train.weight_decay", 5e-4))
        self.assertEqual(parse_override("train.milestones=[100,150]"),
                         ("train.milestones", [100, 150]))
        self.assertEqual(parse_override("data.augment=false"), ("data.augment", False))
        self.assertEqual(parse_override(" loss.name = focal"), ("loss.name", "focal"))
        self.assertEqual(parse_override("run.name="), ("run.name", ""))
        self.assertEqual(parse_override("run.name=a=b"), ("run.name", "a=b"))

    def test_nested_keys_lists_and_bools(self):
        cfg = load_config(self.path, ["data.imbalance.factor=50", "data.imbalance.profile=step",
                                      "train.milestones=[12,18]", "data.augment=false",
                                      "model.normed_classifier=true", "seed=3"])
        self.assertEqual(cfg.data.imbalance.factor, 50.0)
        self.assertIsInstance(cfg.data.imbalance.factor, float)
        self.assertEqual(cfg.data.imbalance.profile, "step")
        self.assertEqual(cfg.train.milestones, [12, 18])
        self.assertIs(cfg.data.augment, False)
        self.assertIs(cfg.model.normed_classifier, True)
        self.assertEqual(cfg.seed, 3)
        self.assertEqual(cfg.train.epochs, 20)

    def test_overrides_apply_in_order_after_the_file(self):
        cfg = load_config(self.path, ["train.epochs=30", "train.epochs=40"])
        self.assertEqual(cfg.train.epochs, 40)

    def test_override_can_set_the_run_name(self):
        self.assertEqual(load_config(self.path, ["run.name=mine"]).run.name, "mine")

    def test_override_is_validated(self):
        self.assert_user_error(lambda: load_config(self.path, ["train.epochs=0"]),
                               "train.epochs: got 0; expected an integer >= 1")

    def test_missing_equals_sign(self):
        self.assert_user_error(lambda: load_config(self.path, ["train.epochs"]),
                               "--set", "'train.epochs'", "KEY=VALUE")

    def test_unknown_override_key_suggests_the_closest(self):
        self.assert_user_error(lambda: parse_override("train.epochz=3"),
                               "train.epochz", "unknown key", "did you mean train.epochs?")
        self.assert_user_error(lambda: parse_override("trian.lr=3"),
                               "trian", "did you mean train?")

    def test_key_below_a_value(self):
        self.assert_user_error(lambda: parse_override("train.lr.max=3"),
                               "train.lr.max", "unknown key", "train.lr")

    def test_value_that_is_not_yaml(self):
        self.assert_user_error(lambda: parse_override("train.milestones=[1,"),
                               "train.milestones: got '[1,'", "YAML value")


class ValidationTest(TempDirTest):
    """Each bad value is reported as ``key: got value; expected ...``."""

    CASES = [
        # (override, message prefix, fragment of what is allowed)
        ("data.imbalance.factor=0.5", "data.imbalance.factor: got 0.5;", ">= 1"),
        ("loss.beta=1.0", "loss.beta: got 1.0;", "in [0, 1)"),
        ("loss.beta=-0.1", "loss.beta: got -0.1;", "in [0, 1)"),
        ("loss.gamma=-1", "loss.gamma: got -1;", ">= 0"),
        ("train.epochs=0", "train.epochs: got 0;", "an integer >= 1"),
        ("train.batch_size=0", "train.batch_size: got 0;", "an integer >= 1"),
        ("train.lr=0", "train.lr: got 0;", "a number > 0"),
        ("train.lr=-0.1", "train.lr: got -0.1;", "a number > 0"),
        ("data.val_fraction=1", "data.val_fraction: got 1;", "in [0, 1)"),
        ("data.val_fraction=-0.5", "data.val_fraction: got -0.5;", "in [0, 1)"),
        ("train.momentum=1.0", "train.momentum: got 1.0;", "in [0, 1)"),
        ("train.weight_decay=-1e-4", "train.weight_decay: got -0.0001;", ">= 0"),
        ("train.lr_decay=0", "train.lr_decay: got 0;", "in (0, 1]"),
        ("seed=-1", "seed: got -1;", "an integer in [0, 2**64)"),
        ("train.milestones=[15,10]", "train.milestones: got [15, 10];", "increasing"),
        ("train.milestones=[10,10]", "train.milestones: got [10, 10];", "increasing"),
        ("train.milestones=[0,10]", "train.milestones: got [0, 10];", "epochs >= 1"),
        ("train.warmup_epochs=-1", "train.warmup_epochs: got -1;", ">= 0"),
        ("eval.few_shot=200", "eval.few_shot: got 200;", "<= eval.many_shot (100)"),
        ("run.name=a/b", "run.name: got 'a/b';", "without '/'"),
        ("run.name=..", "run.name: got '..';", "a folder name"),
        ("seed=18446744073709551616", "seed: got 18446744073709551616;", "[0, 2**64)"),
        ("seed=2**70", "seed: got '2**70';", "an integer"),
        ("loss.ldam_max_margin=0", "loss.ldam_max_margin: got 0;", "a number > 0"),
        ("loss.ldam_scale=-1", "loss.ldam_scale: got -1;", "a number > 0"),
        ("data.mean=[0.5, 0.5]", "data.mean: got [0.5, 0.5];", "3, each in [0, 1]"),
        ("data.mean=[0.5, 0.5, 2]", "data.mean: got [0.5, 0.5, 2];", "3, each in [0, 1]"),
        ("data.std=[0.2, 0, 0.2]", "data.std: got [0.2, 0, 0.2];", "3, each > 0"),
        ("data.std=0.2", "data.std: got 0.2;", "null or a list of numbers"),
        ("data.synthetic.num_classes=1", "data.synthetic.num_classes: got 1;", ">= 2"),
        # choices
        ("model.name=resnet33", "model.name: got 'resnet33';", "resnet32, resnet44"),
        ("loss.name=hinge", "loss.name: got 'hinge';",
         "ce, focal, sigmoid, sigmoid_focal, ldam, logit_adjusted, balanced_softmax"),
        ("device=tpu", "device: got 'tpu';", "auto, cpu, cuda"),
        ("data.dataset=mnist", "data.dataset: got 'mnist';",
         "cifar10, cifar100, imagefolder, synthetic"),
        ("data.mix=manifold", "data.mix: got 'manifold';", "none, mixup, cutmix"),
        ("data.mix_alpha=0", "data.mix_alpha: got 0;", "a number > 0"),
        ("data.mix_until=-1", "data.mix_until: got -1;", "an integer >= 0"),
        ("data.cutout=-4", "data.cutout: got -4;", "an integer >= 0"),
        ("data.cutout=4.5", "data.cutout: got 4.5;", "an integer"),
        ("data.randaugment_ops=-1", "data.randaugment_ops: got -1;", "an integer >= 0"),
        ("data.randaugment_magnitude=31", "data.randaugment_magnitude: got 31;", "in [0, 30]"),
        ("loss.las_head=1", "loss.las_head: got 1;", "in [0, 1)"),
        ("loss.las_tail=-0.1", "loss.las_tail: got -0.1;", "in [0, 1)"),
        ("loss.las_schedule=cubic", "loss.las_schedule: got 'cubic';",
         "concave, linear, convex"),
        ("data.imbalance.profile=linear", "data.imbalance.profile: got 'linear';",
         "none, exp, step"),
        ("data.sampler=random", "data.sampler: got 'random';", "instance, class_balanced, sqrt"),
        ("loss.reweight=true", "loss.reweight: got True;", "none, class_balanced"),
        ("train.schedule=linear", "train.schedule: got 'linear';", "step, cosine, constant"),
        # types
        ("train.epochs=10.5", "train.epochs: got 10.5;", "an integer"),
        ("train.epochs=true", "train.epochs: got True;", "an integer"),
        ("train.lr=fast", "train.lr: got 'fast';", "a number > 0"),
        ("train.lr=true", "train.lr: got True;", "a number"),
        ("train.lr=.inf", "train.lr: got inf;", "a number"),
        ("loss.beta=.nan", "loss.beta: got nan;", "a number"),
        ("data.augment=1", "data.augment: got 1;", "true or false"),
        ("data.augment='true'", "data.augment: got 'true';", "true or false"),
        ("train.nesterov=", "train.nesterov: got '';", "true or false"),
        ("train.milestones=160", "train.milestones: got 160;", "a list of integers"),
        ("train.milestones=[10.5]", "train.milestones: got [10.5];", "a list of integers"),
        ("run.name=3", "run.name: got 3;", "a string"),
        ("train=5", "train: got 5;", "a section with keys epochs, batch_size"),
    ]

    def setUp(self):
        super().setUp()
        self.path = self.write("base.yaml", "train: {epochs: 20, warmup_epochs: 1, "
                                            "milestones: [10, 15]}\n")

    def test_base_is_valid(self):
        self.assertEqual(load_config(self.path).train.epochs, 20)

    def test_each_bad_value(self):
        for override, prefix, allowed in self.CASES:
            with self.subTest(override=override):
                message = self.assert_user_error(
                    lambda: load_config(self.path, [override]), "; expected ", allowed)
                self.assertTrue(message.startswith(prefix), message)

    def test_bad_value_in_the_file(self):
        path = self.write("bad.yaml", "loss:\n  name: focal\n  gamma: -2\n")
        self.assert_user_error(lambda: load_config(path), "loss.gamma: got -2; expected")

    def test_ints_are_accepted_for_floats(self):
        cfg = load_config(self.path, ["train.lr=1", "loss.gamma=2"])
        self.assertEqual((cfg.train.lr, cfg.loss.gamma), (1.0, 2.0))
        self.assertIsInstance(cfg.train.lr, float)

    def test_exponents_without_a_dot_are_numbers(self):
        path = self.write("exp.yaml", "train: {weight_decay: 5e-4, lr: 1E-1}\n")
        cfg = load_config(path)
        self.assertEqual((cfg.train.weight_decay, cfg.train.lr), (5e-4, 0.1))

    def test_boundaries_that_are_allowed(self):
        cfg = load_config(self.path, ["data.imbalance.factor=1", "loss.beta=0", "loss.gamma=0",
                                      "data.val_fraction=0", "train.momentum=0",
                                      "train.warmup_epochs=19", "train.milestones=[20]",
                                      "loss.reweight_epoch=20", "train.lr_decay=1",
                                      "train.milestones=[]"])
        self.assertEqual((cfg.train.warmup_epochs, cfg.loss.reweight_epoch), (19, 20))

    def test_milestones_beyond_the_epochs_are_fine_without_the_step_schedule(self):
        cfg = load_config(self.path, ["train.schedule=cosine", "train.milestones=[100]"])
        self.assertEqual(cfg.train.milestones, [100])

    def test_course_model_spellings_are_stored_canonical(self):
        for given, canonical in (("ResNet-32", "resnet32"), ("TwoLayerNet", "twolayernet"),
                                 ("VanillaCNN", "vanillacnn"), ("resnet_110", "resnet110")):
            with self.subTest(given=given):
                cfg = load_config(self.path, [f"model.name={given}"])
                self.assertEqual(cfg.model.name, canonical)

    def test_unknown_key_in_the_file_suggests_the_closest(self):
        cases = [("lossx: {}\n", "lossx: got an unknown key", "did you mean loss?"),
                 ("train: {epocs: 3}\n", "train.epocs: got an unknown key",
                  "did you mean train.epochs?"),
                 ("data: {imbalance: {factr: 3}}\n", "data.imbalance.factr: got an unknown key",
                  "did you mean data.imbalance.factor?")]
        for text, start, hint in cases:
            with self.subTest(text=text):
                path = self.write("unknown.yaml", text)
                message = self.assert_user_error(lambda: load_config(path), hint,
                                                 "expected one of")
                self.assertTrue(message.startswith(start), message)

    def test_unknown_key_far_from_any_has_no_suggestion(self):
        path = self.write("unknown.yaml", "train: {zzzzzz: 3}\n")
        message = self.assert_user_error(lambda: load_config(path), "train.zzzzzz",
                                         "expected one of epochs, batch_size")
        self.assertNotIn("did you mean", message)

    def test_missing_file(self):
        path = os.path.join(self.tmp, "no", "such.yaml")
        self.assert_user_error(lambda: load_config(path), path, "cannot be read")

    def test_directory_instead_of_a_file(self):
        self.assert_user_error(lambda: load_config(self.tmp), self.tmp, "cannot be read")

    def test_bad_yaml_names_path_and_line(self):
        path = self.write("broken.yaml", "train:\n  epochs: 3\n  lr: [0.1\nloss: {}\n")
        self.assert_user_error(lambda: load_config(path), path, "not valid YAML", "line 4")

    def test_document_that_is_not_a_mapping(self):
        path = self.write("list.yaml", "- epochs\n- 3\n")
        self.assert_user_error(lambda: load_config(path), path, "got a list")


class BlockModelConfigTest(TempDirTest):
    """model.name cnn / resnet_builder and their block keys: limits, and the keys a model does
    not use refused."""

    BLOCK_KEYS = {"channels": "[8, 16]", "pool_every": "1", "hidden_dims": "[]",
                  "conv_params": "{kernel_size: 5, stride: 1, padding: 2}",
                  "activation": "lrelu", "pooling": "avg", "batchnorm": "true",
                  "dropout": "0.2", "bottleneck": "true"}
    CASES = [
        ("model.channels=[]", "model.channels: got [];", "at least one, each >= 1"),
        ("model.channels=[8, 0]", "model.channels: got [8, 0];", "each >= 1"),
        ("model.channels=8", "model.channels: got 8;", "a list of integers"),
        ("model.channels=[8.5]", "model.channels: got [8.5];", "a list of integers"),
        ("model.pool_every=0", "model.pool_every: got 0;", "an integer >= 1"),
        ("model.pool_every=true", "model.pool_every: got True;", "an integer"),
        ("model.hidden_dims=[100, 0]", "model.hidden_dims: got [100, 0];", "each >= 1"),
        ("model.conv_params={kernel_size: 3}", "model.conv_params: got {'kernel_size': 3};",
         "kernel_size, stride, padding"),
        ("model.conv_params={kernel_size: 0, stride: 1, padding: 1}",
         "model.conv_params: got {'kernel_size': 0,", "kernel_size, stride, dilation >= 1"),
        ("model.conv_params={kernel_size: 3, stride: 0, padding: 1}",
         "model.conv_params: got {'kernel_size': 3, 'stride': 0,", "stride, dilation >= 1"),
        ("model.conv_params={kernel_size: 3, stride: 1, padding: -1}",
         "model.conv_params: got {'kernel_size': 3, 'stride': 1, 'padding': -1}", "padding >= 0"),
        ("model.conv_params={kernel_size: 3, stride: 1, padding: 1, dilation: 0}",
         "model.conv_params:", "dilation >= 1"),
        ("model.conv_params={kernel_size: 3, stride: 1, padding: 1, groups: 2}",
         "model.conv_params:", "optionally dilation"),
        ("model.conv_params={kernel_size: 3.0, stride: 1, padding: 1}",
         "model.conv_params:", "a mapping of names to integers"),
        ("model.conv_params=3", "model.conv_params: got 3;", "a mapping of names to integers"),
        ("model.activation=tanh", "model.activation: got 'tanh';", "one of relu, lrelu"),
        ("model.pooling=min", "model.pooling: got 'min';", "one of max, avg"),
        ("model.batchnorm=1", "model.batchnorm: got 1;", "true or false"),
        ("model.dropout=1", "model.dropout: got 1;", "in [0, 1)"),
        ("model.dropout=-0.1", "model.dropout: got -0.1;", "in [0, 1)"),
        ("model.bottleneck=yes please", "model.bottleneck: got 'yes please';", "true or false"),
    ]

    def test_good_values_are_stored(self):
        path = self.write("cnn.yaml", textwrap.dedent("""\
            model: {name: CNN, channels: [16, 32, 32], pool_every: 2, hidden_dims: [],
                    conv_params: {kernel_size: 5, stride: 2, padding: 2, dilation: 1},
                    activation: lrelu, pooling: avg, width: 8}
            """))
        model = load_config(path).model
        self.assertEqual((model.name, model.channels, model.pool_every, model.hidden_dims,
                          model.conv_params, model.activation, model.pooling),
                         ("cnn", [16, 32, 32], 2, [],
                          {"kernel_size": 5, "stride": 2, "padding": 2, "dilation": 1},
                          "lrelu", "avg"))
        model = load_config(path, ["model.name=resnet_builder", "model.conv_params="
                                   "{kernel_size: 3, stride: 1, padding: 1}",
                                   "model.batchnorm=true", "model.dropout=0",
                                   "model.bottleneck=true"]).model
        self.assertEqual((model.name, model.batchnorm, model.dropout, model.bottleneck),
                         ("resnetbuilder", True, 0.0, True))
        self.assertIsInstance(model.dropout, float)

    def test_each_bad_value_names_the_key(self):
        path = self.write("cnn.yaml", "model: {name: cnn}\n")
        for override, prefix, allowed in self.CASES:
            with self.subTest(override=override):
                message = self.assert_user_error(
                    lambda: load_config(path, [override]), "; expected ", allowed)
                self.assertTrue(message.startswith(prefix), message)

    def test_block_keys_with_a_fixed_network_are_refused(self):
        path = self.write("resnet.yaml", "model: {name: resnet32}\n")
        for name, value in self.BLOCK_KEYS.items():
            with self.subTest(key=name):
                message = self.assert_user_error(
                    lambda: load_config(path, [f"model.{name}={value}"]),
                    f"model.{name}: got ", "with model.name resnet32")
                self.assertIn("its default", message)
        self.assertEqual(load_config(path, ["model.channels=[32, 32, 64, 64]"]).model.name,
                         "resnet32")  # the default itself is fine

    def test_each_block_model_refuses_the_keys_of_the_other(self):
        refused = {"cnn": ("batchnorm", "dropout", "bottleneck"),
                   "resnet_builder": ("conv_params",)}
        for model, keys in refused.items():
            path = self.write("block.yaml", f"model: {{name: {model}}}\n")
            for name, value in self.BLOCK_KEYS.items():
                with self.subTest(model=model, key=name):
                    override = [f"model.{name}={value}"]
                    if name in keys:
                        self.assert_user_error(lambda: load_config(path, override),
                                               f"model.{name}: got ", "only ")
                    else:
                        load_config(path, override)


class InputHardeningTest(TempDirTest):
    """Duplicate keys, NUL bytes, seeds beyond the generators and data too large for memory."""

    def test_duplicate_keys_name_the_key_and_both_lines(self):
        cases = [("seed: 0\ntrain: {epochs: 3}\nseed: 5\n", "'seed'", "lines 1 and 3"),
                 ("train:\n  epochs: 3\nloss: {}\ntrain:\n  lr: 0.1\n", "'train'",
                  "lines 1 and 4"),
                 ("data:\n  imbalance:\n    factor: 2\n    factor: 3\n", "'factor'",
                  "lines 3 and 4"),
                 ("Train: {epochs: 3, epochs: 4}\n", "'epochs'", "lines 1 and 1")]
        for text, key, lines in cases:
            with self.subTest(text=text):
                path = self.write("dup.yaml", text)
                self.assert_user_error(lambda: load_config(path), path, key, "twice", lines)

    def test_duplicate_keys_in_an_override_value(self):
        self.assert_user_error(lambda: parse_override("data.imbalance={factor: 2, factor: 3}"),
                               "data.imbalance: got", "YAML value")

    def test_nul_byte_in_the_run_name_names_run_name(self):
        path = self.write("nul.yaml", 'run: {name: "a\\0b"}\n')
        message = self.assert_user_error(lambda: load_config(path), "run.name: got 'a\\x00b'")
        self.assertNotIn("run.dir", message)

    def test_seed_range_is_the_generators(self):
        largest = 2 ** 64 - 1
        torch.Generator().manual_seed(largest)
        with self.assertRaises((RuntimeError, ValueError)):
            torch.Generator().manual_seed(largest + 1)
        path = self.write("seed.yaml", f"seed: {largest}\n")
        self.assertEqual(load_config(path).seed, largest)
        self.assert_user_error(lambda: load_config(path, [f"seed={largest + 1}"]),
                               "seed: got 18446744073709551616;")

    def test_wrong_types_are_type_errors_and_bad_values_value_errors(self):
        path = self.write("base.yaml", "seed: 1\n")
        for override, error in (("train.lr=fast", TypeError), ("train=5", TypeError),
                                ("model.name=3", TypeError), ("train.lr=-1", ValueError),
                                ("model.name=resnet33", ValueError)):
            with self.subTest(override=override), self.assertRaises(error) as caught:
                load_config(path, [override])
            self.assertIsInstance(caught.exception, ConfigError)

    def test_synthetic_sizes_beyond_memory_are_refused_from_their_arithmetic(self):
        path = self.write("synthetic.yaml", "data: {dataset: synthetic}\n")
        huge = ["data.synthetic.num_classes=100000", "data.synthetic.train_per_class=100000"]
        message = self.assert_user_error(lambda: load_config(path, huge), "data.synthetic: got",
                                         "fit in memory", "GiB")
        self.assertIn("'num_classes': 100000", message)
        cfg = load_config(path)
        # 10 classes x 120 images x 3 x 32 x 32 kept + 10 x 100 x 3 x 32 x 32 x 12 while made
        need = 10 * 3 * 32 * 32 * (120 + 100 * 12)
        rules._synthetic_size_rule(cfg.data, limit=need)
        with self.assertRaises(ConfigError):
            rules._synthetic_size_rule(cfg.data, limit=need - 1)
        cfg.data.dataset = "cifar10"
        rules._synthetic_size_rule(cfg.data, limit=0)   # only generated data is sized here

    def test_mean_and_std_come_together_with_one_value_per_channel(self):
        path = self.write("norm.yaml", "data: {dataset: synthetic}\n")
        cfg = load_config(path, ["data.mean=[0.5, 0.5, 0.5]", "data.std=[0.25, 0.25, 1]"])
        self.assertEqual((cfg.data.mean, cfg.data.std), ([0.5, 0.5, 0.5], [0.25, 0.25, 1.0]))
        self.assertIsInstance(cfg.data.std[2], float)
        self.assert_user_error(lambda: load_config(path, ["data.mean=[0.5, 0.5, 0.5]"]),
                               "data.std: got None;", "data.mean is given")
        self.assert_user_error(lambda: load_config(path, ["data.std=[0.5, 0.5, 0.5]"]),
                               "data.mean: got None;")
        self.assert_user_error(
            lambda: load_config(path, ["data.mean=[0.5, 0.5, 0.5]", "data.std=[1, 1, 1]",
                                       "data.synthetic.channels=1"]),
            "data.mean: got [0.5, 0.5, 0.5];", "data.synthetic.channels 1")


class CourseFormatTest(TempDirTest):
    def test_full_focal_course_file(self):
        cfg = load_config(self.write("cb_focal.yaml", COURSE_FOCAL))
        expected = {
            "train.batch_size": (cfg.train.batch_size, 64),
            "train.lr": (cfg.train.lr, 0.05),
            "train.weight_decay": (cfg.train.weight_decay, 0.0005),
            "train.epochs": (cfg.train.epochs, 30),
            "train.milestones": (cfg.train.milestones, [20, 25]),
            "train.lr_decay": (cfg.train.lr_decay, 0.1),
            "train.schedule": (cfg.train.schedule, "step"),
            "train.warmup_epochs": (cfg.train.warmup_epochs, 3),
            "train.momentum": (cfg.train.momentum, 0.8),
            "model.name": (cfg.model.name, "resnet32"),
            "data.imbalance.profile": (cfg.data.imbalance.profile, "exp"),
            "data.imbalance.factor": (cfg.data.imbalance.factor, 100.0),
            "data.val_fraction": (cfg.data.val_fraction, 0.1),
            "loss.name": (cfg.loss.name, "focal"),
            "loss.reweight": (cfg.loss.reweight, "class_balanced"),
            "loss.beta": (cfg.loss.beta, 0.999),
            "loss.gamma": (cfg.loss.gamma, 2.0),
            "data.augment": (cfg.data.augment, True),
            "data.mean": (cfg.data.mean, [0.4914, 0.4822, 0.4465]),
            "data.std": (cfg.data.std, [0.2023, 0.1994, 0.2010]),
            "run.name": (cfg.run.name, "cb_focal"),
        }
        for key, (got, want) in expected.items():
            with self.subTest(key=key):
                self.assertEqual(got, want)

    def test_full_ce_course_file(self):
        cfg = load_config(self.write("two_layer.yaml", COURSE_CE))
        self.assertEqual(cfg.model.name, "twolayernet")
        self.assertEqual((cfg.data.imbalance.profile, cfg.data.imbalance.factor), ("none", 1.0))
        self.assertEqual(cfg.data.val_fraction, 0.0)
        self.assertEqual((cfg.loss.name, cfg.loss.reweight), ("ce", "none"))
        self.assertEqual((cfg.train.lr, cfg.train.weight_decay, cfg.train.warmup_epochs),
                         (0.0001, 0.001, 0))

    def test_learning_rates_match_the_course_schedule(self):
        # The course: after warm-up, lr x 0.1 once (0-based) epoch >= steps[0], x 0.01 from
        # steps[1]. Compare with our schedule at the last step of every epoch.
        train = load_config(self.write("cb_focal.yaml", COURSE_FOCAL)).train
        steps = [20, 25]
        for epoch in range(train.warmup_epochs, train.epochs):
            course = 0.01 if epoch >= steps[1] else 0.1 if epoch >= steps[0] else 1.0
            with self.subTest(epoch=epoch):
                self.assertAlmostEqual(lr_factor(epoch, 9, 10, train), course, places=12)

    def test_course_file_equals_its_translation_in_our_schema(self):
        ours = self.write("ours.yaml", textwrap.dedent("""\
            model: {name: resnet32}
            data: {imbalance: {profile: exp, factor: 100}, augment: true,
                   mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010]}
            loss: {name: focal, reweight: class_balanced, beta: 0.999, gamma: 2}
            train: {batch_size: 64, lr: 0.05, weight_decay: 0.0005, epochs: 30,
                    milestones: [20, 25], lr_decay: 0.1, schedule: step, warmup_epochs: 3,
                    momentum: 0.8}
            run: {name: cb_focal}
            """))
        self.assertEqual(load_config(self.write("cb_focal.yaml", COURSE_FOCAL)),
                         load_config(ours))

    def test_a_partial_course_file_is_recognised(self):
        for text, model in (("network: {model: VanillaCNN}\n", "vanillacnn"),
                            ("Train: {epochs: 10, steps: [6, 8]}\n", "resnet32")):
            with self.subTest(text=text):
                cfg = load_config(self.write("partial.yaml", text))
                self.assertEqual((cfg.model.name, cfg.train.lr_decay), (model, 0.1))

    def test_course_files_train_with_the_course_pipeline(self):
        for text in (COURSE_FOCAL, COURSE_CE, "network: {model: VanillaCNN}\n"):
            with self.subTest(text=text[:20]):
                cfg = load_config(self.write("course.yaml", text))
                self.assertEqual((cfg.data.mean, cfg.data.std), (COURSE_MEAN, COURSE_STD))
                self.assertEqual((cfg.data.augment, cfg.train.schedule, cfg.train.lr_decay),
                                 (True, "step", 0.1))
        self.assertEqual((COURSE_MEAN, COURSE_STD),
                         ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]))
        ours = load_config(os.path.join(CONFIG_DIR, "resnet32_focal.yaml"))
        self.assertEqual((ours.data.mean, ours.data.std), (None, None))

    def test_course_settings_can_be_overridden_and_are_not_shared(self):
        path = self.write("course.yaml", COURSE_FOCAL)
        cfg = load_config(path, ["data.mean=null", "data.std=null", "data.augment=false",
                                 "data.imbalance.factor=10"])
        self.assertEqual((cfg.data.mean, cfg.data.std, cfg.data.augment), (None, None, False))
        cfg.data.mean = None
        again = load_config(path)
        self.assertEqual((again.data.mean, again.data.imbalance.factor), (COURSE_MEAN, 100.0))

    def test_overrides_use_our_schema(self):
        cfg = load_config(self.write("cb_focal.yaml", COURSE_FOCAL),
                          ["train.epochs=40", "data.imbalance.factor=10"])
        self.assertEqual((cfg.train.epochs, cfg.data.imbalance.factor), (40, 10.0))

    def test_bad_course_values_name_the_course_key(self):
        cases = [
            ("learning_rate: 0.05", "learning_rate: -0.05", "Train.learning_rate: got -0.05;"),
            ("warmup: 3", "warmup: -3", "Train.warmup: got -3;"),
            ("model: ResNet-32", "model: ResNet-33", "network.model: got 'ResNet-33';"),
            ("steps: [20, 25]", "steps: [25, 20]", "Train.steps: got [25, 20];"),
            ("imbalance: imbalance", "imbalance: strong", "data.imbalance: got 'strong';"),
            ("save_best: True", "save_best: 1", "data.save_best: got 1;"),
            ("reweight: True", "reweight: 'yes'", "loss.reweight: got 'yes';"),
            ("loss_type: Focal", "loss_type: LDAM", "loss.loss_type: got 'LDAM';"),
            ("beta: 0.999", "beta: 1.5", "loss.beta: got 1.5;"),
        ]
        for old, new, prefix in cases:
            with self.subTest(new=new):
                path = self.write("bad.yaml", COURSE_FOCAL.replace(old, new))
                message = self.assert_user_error(lambda: load_config(path), "; expected ")
                self.assertTrue(message.startswith(prefix), message)

    def test_overridden_key_is_named_as_overridden(self):
        path = self.write("cb_focal.yaml", COURSE_FOCAL)
        self.assert_user_error(lambda: load_config(path, ["train.lr=-1"]), "train.lr: got -1;")

    def test_unknown_course_keys_suggest_the_closest(self):
        path = self.write("bad.yaml", COURSE_FOCAL.replace("learning_rate", "learning_rat"))
        self.assert_user_error(lambda: load_config(path), "Train.learning_rat",
                               "did you mean Train.learning_rate?")
        path = self.write("bad.yaml", COURSE_FOCAL + "optimizer: {}\n")
        self.assert_user_error(lambda: load_config(path), "optimizer", "Train, network")


class CoursePlacementTest(TempDirTest):
    """The course's files put some keys in different sections; every placement is accepted."""

    # course key, a value, the key of our schema it sets, the value stored there
    KEYS = [
        ("batch_size", 32, "train.batch_size", 32),
        ("learning_rate", 0.02, "train.lr", 0.02),
        ("reg", 0.001, "train.weight_decay", 0.001),
        ("epochs", 12, "train.epochs", 12),
        ("steps", [6, 9], "train.milestones", [6, 9]),
        ("warmup", 2, "train.warmup_epochs", 2),
        ("momentum", 0.5, "train.momentum", 0.5),
        ("gamma", 1.5, "loss.gamma", 1.5),
        ("model", "VanillaCNN", "model.name", "vanillacnn"),
        ("imbalance", "imbalance", "data.imbalance.factor", 100.0),
        ("save_best", False, "data.val_fraction", 0.0),
        ("reweight", True, "loss.reweight", "class_balanced"),
        ("beta", 0.99, "loss.beta", 0.99),
        ("loss_type", "Focal", "loss.name", "focal"),
    ]

    def test_every_key_in_every_section(self):
        for key, value, ours, stored in self.KEYS:
            for section in ("Train", "network", "data", "loss"):
                with self.subTest(key=key, section=section):
                    text = yaml.safe_dump({"Train": {"epochs": 12}, section: {key: value}})
                    cfg = load_config(self.write("course.yaml", text), warn=lambda line: None)
                    got = cfg
                    for part in ours.split("."):
                        got = getattr(got, part)
                    self.assertEqual(got, stored)

    def test_the_same_value_twice_is_accepted(self):
        path = self.write("twice.yaml", "Train: {gamma: 2, epochs: 200}\nloss: {gamma: 2}\n")
        self.assertEqual(load_config(path).loss.gamma, 2.0)

    def test_a_key_twice_with_different_values_names_both_places(self):
        path = self.write("twice.yaml", "Train: {gamma: 2}\nloss: {gamma: 1}\n")
        self.assert_user_error(lambda: load_config(path), "loss.gamma: got 1",
                               "Train.gamma is 2", "once")
        path = self.write("twice.yaml", "network: {save_best: true}\ndata: {save_best: 1}\n")
        self.assert_user_error(lambda: load_config(path), "data.save_best: got 1",
                               "network.save_best is True")

    def test_a_bad_value_is_named_where_it_sits(self):
        path = self.write("bad.yaml", "Train: {gamma: -1}\n")
        self.assert_user_error(lambda: load_config(path), "Train.gamma: got -1;", ">= 0")
        path = self.write("bad.yaml", "network: {save_best: maybe}\n")
        self.assert_user_error(lambda: load_config(path), "network.save_best: got 'maybe';")

    def test_a_course_file_for_each_model(self):
        for model, name in (("TwoLayerNet", "twolayernet"), ("VanillaCNN", "vanillacnn"),
                            ("MyModel", "mymodel"), ("ResNet-32", "resnet32")):
            with self.subTest(model=model):
                text = textwrap.dedent(f"""\
                    Train: {{batch_size: 64, learning_rate: 0.01, reg: 0.0005, epochs: 10,
                             steps: [6, 8], warmup: 0, momentum: 0.9, gamma: 1}}
                    network: {{model: {model}, save_best: False}}
                    data: {{imbalance: imbalance, beta: 0.999}}
                    loss: {{loss_type: Focal, reweight: True}}
                    """)
                cfg = load_config(self.write("course.yaml", text))
                self.assertEqual((cfg.model.name, cfg.data.imbalance.profile, cfg.loss.name,
                                  cfg.loss.gamma, cfg.loss.beta, cfg.loss.reweight,
                                  cfg.data.val_fraction),
                                 (name, "exp", "focal", 1.0, 0.999, "class_balanced", 0.0))


class ShortRunTest(TempDirTest):
    """Schedule keys past the end of a short run are clipped or ignored, with a warning each."""

    def load(self, *overrides):
        lines = []
        path = self.write("long.yaml", textwrap.dedent("""\
            train: {epochs: 200, warmup_epochs: 5, milestones: [160, 180]}
            loss: {reweight: class_balanced, reweight_epoch: 160}
            data: {sampler: class_balanced, sampler_epoch: 160}
            """))
        return load_config(path, list(overrides), warn=lines.append), lines

    def test_full_length_run_has_no_warning(self):
        cfg, lines = self.load()
        self.assertEqual(lines, [])
        self.assertEqual((cfg.train.warmup_epochs, cfg.train.milestones), (5, [160, 180]))

    def test_one_epoch_trial(self):
        cfg, lines = self.load("train.epochs=1")
        self.assertEqual((cfg.train.warmup_epochs, cfg.train.milestones), (0, []))
        self.assertEqual((cfg.loss.reweight_epoch, cfg.data.sampler_epoch), (160, 160))
        self.assertEqual(len(lines), 4, lines)
        self.assertTrue(lines[0].startswith("train.warmup_epochs: 5 "), lines)
        self.assertIn("shortened to 0", lines[0])
        self.assertTrue(lines[1].startswith("train.milestones: 160, 180 "), lines)
        self.assertIn("deferred re-weighting never switches on", lines[2])
        self.assertIn("deferred re-sampling never switches on", lines[3])

    def test_only_the_late_milestones_are_dropped(self):
        cfg, lines = self.load("train.epochs=170")
        self.assertEqual(cfg.train.milestones, [160])
        self.assertEqual([line.split(":")[0] for line in lines], ["train.milestones"])

    def test_unused_keys_do_not_warn(self):
        cfg, lines = self.load("train.epochs=100", "train.schedule=cosine", "loss.reweight=none",
                               "data.sampler=instance")
        self.assertEqual((lines, cfg.train.milestones), ([], [160, 180]))

    def test_values_wrong_at_any_length_stay_errors(self):
        for override, prefix in (("train.milestones=[180, 160]", "train.milestones: got"),
                                 ("train.warmup_epochs=-1", "train.warmup_epochs: got -1"),
                                 ("loss.reweight_epoch=-2", "loss.reweight_epoch: got -2")):
            with self.subTest(override=override):
                self.assert_user_error(lambda: self.load("train.epochs=1", override), prefix)

    def test_warnings_go_to_stderr(self):
        path = self.write("long.yaml", "train: {epochs: 1, warmup_epochs: 5}\n")
        with mock.patch("sys.stderr", new_callable=io.StringIO) as stderr:
            load_config(path)
        self.assertEqual(stderr.getvalue().count("\n"), 2)
        self.assertTrue(stderr.getvalue().startswith("warning: train.warmup_epochs: 5 "))

class MixConfigTest(TempDirTest):
    """Mixed labels and the losses that cannot take them; the mixing stop of a short run."""

    def setUp(self):
        super().setUp()
        self.path = self.write("mix.yaml", "train: {epochs: 20, warmup_epochs: 1, "
                                           "milestones: [10, 15]}\ndata: {mix: mixup}\n")

    def test_soft_target_losses_accept_mixing(self):
        for name in ("ce", "focal", "logit_adjusted", "balanced_softmax", "las"):
            for mix in ("mixup", "cutmix"):
                with self.subTest(name=name, mix=mix):
                    cfg = load_config(self.path, [f"loss.name={name}", f"data.mix={mix}"])
                    self.assertEqual((cfg.loss.name, cfg.data.mix), (name, mix))

    def test_hard_label_losses_refuse_mixing_on_one_line(self):
        for name in ("ldam", "sigmoid", "sigmoid_focal"):
            with self.subTest(name=name):
                message = self.assert_user_error(
                    lambda: load_config(self.path, [f"loss.name={name}"]),
                    f"data.mix: got 'mixup'; expected none with loss.name {name} (",
                    "ce, focal, logit_adjusted, balanced_softmax, las)")
                self.assertNotIn("\n", message)
        cfg = load_config(self.path, ["loss.name=ldam", "data.mix=none"])
        self.assertEqual(cfg.loss.name, "ldam")

    def test_mixing_stop_past_the_end_warns(self):
        lines = []
        cfg = load_config(self.path, ["data.mix_until=20"], warn=lines.append)
        self.assertEqual(cfg.data.mix_until, 20)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("data.mix_until: 20 is not below train.epochs (20)"))
        for until in (0, 19):
            lines.clear()
            load_config(self.path, [f"data.mix_until={until}"], warn=lines.append)
            self.assertEqual(lines, [])


class DownscaleConfigTest(TempDirTest):
    """data.downscale_size / downscale_until: any-size models only, a first full-size epoch."""

    def setUp(self):
        super().setUp()
        self.path = self.write("small.yaml", "model: {name: mymodel}\ntrain: {epochs: 8, "
                                             "warmup_epochs: 1, milestones: []}\n")

    def test_a_downscaled_start_is_accepted_for_any_size_models(self):
        for name in ("mymodel", "resnet32"):
            with self.subTest(name=name):
                lines = []
                cfg = load_config(self.path, [f"model.name={name}", "data.downscale_size=24",
                                              "data.downscale_until=5"], warn=lines.append)
                self.assertEqual((cfg.data.downscale_size, cfg.data.downscale_until), (24, 5))
                self.assertEqual(lines, [])

    def test_bad_combinations_are_refused_on_one_line(self):
        cases = [(["data.downscale_size=24", "model.name=vanillacnn"],
                  "data.downscale_size: got 24; expected 0 with model.name vanillacnn ("),
                 (["data.downscale_size=24"],
                  "data.downscale_until: got 0; expected the first full-size epoch (>= 1)"),
                 (["data.downscale_until=3"],
                  "data.downscale_until: got 3; expected 0 without data.downscale_size"),
                 (["data.downscale_size=4", "data.downscale_until=3"],
                  "data.downscale_size: got 4; expected an integer 0 (off) or >= 8")]
        for overrides, fragment in cases:
            with self.subTest(overrides=overrides):
                message = self.assert_user_error(lambda: load_config(self.path, overrides),
                                                 fragment)
                self.assertNotIn("\n", message)

    def test_no_full_size_epoch_warns(self):
        lines = []
        load_config(self.path, ["data.downscale_size=16", "data.downscale_until=8"],
                    warn=lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("data.downscale_until: 8 is not below train.epochs"))


class SerialisationTest(TempDirTest):
    def test_round_trip_of_every_shipped_config(self):
        for source in sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml"))):
            with self.subTest(source=source):
                block = load_config(source).model.name in ("cnn", "resnetbuilder")
                name = "Resnet_Builder" if block else "ResNet-56"  # block keys need a block model
                cfg = load_config(source, ["train.weight_decay=5e-4", f"model.name={name}"])
                path = os.path.join(self.tmp, "config.yaml")
                dump_config(cfg, path)
                self.assertEqual(load_config(path), cfg)
                plain = self.write("plain.yaml", yaml.safe_dump(config_to_dict(cfg)))
                self.assertEqual(load_config(plain, [f"run.name={cfg.run.name}"]), cfg)

    def test_dict_is_plain_data(self):
        cfg = load_config(os.path.join(CONFIG_DIR, "resnet32_focal.yaml"))
        plain = config_to_dict(cfg)
        self.assertEqual(json.loads(json.dumps(plain)), plain)
        self.assertEqual(plain["loss"]["name"], "focal")
        self.assertEqual(plain["train"]["milestones"], [160, 180])

    def test_dict_does_not_share_lists_with_the_config(self):
        cfg = Config()
        config_to_dict(cfg)["train"]["milestones"].append(190)
        self.assertEqual(cfg.train.milestones, [160, 180])

    def test_format_is_readable_yaml_of_the_dict(self):
        cfg = load_config(os.path.join(CONFIG_DIR, "resnet32_focal.yaml"))
        text = format_config(cfg)
        self.assertEqual(yaml.safe_load(text), config_to_dict(cfg))
        self.assertIn("\ntrain:\n  epochs: 200\n", text)
        self.assertIn("  milestones: [160, 180]\n", text)


if __name__ == "__main__":
    unittest.main()
