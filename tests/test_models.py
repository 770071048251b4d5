"""Tests of models/: shapes, parameter counts and MACs counted by hand, option-A shortcuts,
Kaiming init, the cosine classifier against float64 cosines, build_model and final_linear."""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import models
from engine import builders
from engine.config import MODEL_NAMES
from models.resnet_cifar import BasicBlock, CifarResNet, ZeroPadShortcut

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESNET_BLOCKS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}

# Parameters for 3 channels and 10 classes, as the reference implementations print them
# (e.g. akamaster/pytorch_resnet_cifar10: 269722, 464154, 658586, 853018, 1727962).
RESNET_PARAMS = {"resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586,
                 "resnet56": 853_018, "resnet110": 1_727_962}


def count(model):
    return sum(p.numel() for p in model.parameters())


def macs(model, input_shape):
    """Multiply-accumulates of one forward pass on one image, from torch's FLOP counter."""
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *input_shape))
    return counter.get_total_flops() // 2


def resnet_params_by_hand(n, in_channels=3, num_classes=10):
    """Conv weights and BatchNorm (weight, bias) pairs of He et al.'s ResNet, layer by layer."""
    conv = lambda c_in, c_out: 9 * c_in * c_out
    bn = lambda c: 2 * c
    total = conv(in_channels, 16) + bn(16)
    in_planes = 16
    for planes in (16, 32, 64):
        for _ in range(n):
            total += conv(in_planes, planes) + bn(planes) + conv(planes, planes) + bn(planes)
            in_planes = planes
    return total + 64 * num_classes + num_classes


class ModelTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)


class ShapeTest(ModelTest):
    def test_every_name_gives_logits_for_cifar_and_other_shapes(self):
        for name in MODEL_NAMES:
            for shape, classes in [((3, 32, 32), 10), ((1, 28, 28), 5), ((2, 20, 24), 3)]:
                with self.subTest(name=name, shape=shape):
                    model = builders.build_model(name, shape, classes)
                    self.assertEqual(model(torch.randn(2, *shape)).shape, (2, classes))

    def test_constructors_take_shape_and_classes(self):
        x = torch.randn(2, 1, 28, 28)
        self.assertEqual(models.TwoLayerNet(784, 64, 5)(x).shape, (2, 5))
        self.assertEqual(models.VanillaCNN(1, 28, 5)(x).shape, (2, 5))
        self.assertEqual(models.MyModel(1, 5, width=8)(x).shape, (2, 5))
        self.assertEqual(models.resnet32(1, 5)(x).shape, (2, 5))

    def test_channels_last_gives_the_same_logits(self):
        x = torch.randn(3, 3, 32, 32)
        for name in MODEL_NAMES:
            with self.subTest(name=name):
                model = builders.build_model(name).eval()
                expected = model(x)
                model.to(memory_format=torch.channels_last)
                got = model(x.to(memory_format=torch.channels_last))
                torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)

    def test_autocast_bf16_stays_close_to_float32(self):
        x = torch.randn(4, 3, 32, 32)
        for name in ("twolayernet", "vanillacnn", "mymodel", "resnet20"):
            with self.subTest(name=name):
                model = builders.build_model(name).eval().to(memory_format=torch.channels_last)
                x_cl = x.to(memory_format=torch.channels_last)
                with torch.no_grad():
                    expected = model(x_cl)
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        got = model(x_cl)
                self.assertEqual(got.dtype, torch.bfloat16)
                error = (got.float() - expected).abs().max()
                self.assertLess(float(error), 0.05 * float(expected.abs().max()) + 1e-3)


class BaselineModelTest(ModelTest):
    def test_two_layer_net_parameters(self):
        self.assertEqual(count(models.TwoLayerNet()), 3072 * 256 + 256 + 256 * 10 + 10)
        self.assertEqual(count(builders.build_model("twolayernet", (1, 28, 28), 5)),
                         784 * 256 + 256 + 256 * 5 + 5)

    def test_two_layer_net_is_linear_sigmoid_linear(self):
        model = models.TwoLayerNet(12, 5, 3)
        x = torch.randn(4, 3, 2, 2)
        w1, b1, w2, b2 = (t.detach().double().numpy() for t in
                          (model.fc1.weight, model.fc1.bias, model.fc2.weight, model.fc2.bias))
        hidden = 1.0 / (1.0 + np.exp(-(x.double().numpy().reshape(4, 12) @ w1.T + b1)))
        np.testing.assert_allclose(model(x).detach().numpy(), hidden @ w2.T + b2,
                                   rtol=1e-5, atol=1e-6)

    def test_vanilla_cnn_parameters(self):
        # conv 3->32 7x7 with bias; linear from 32 maps of 13x13 ((32 - 6) // 2) to 10
        self.assertEqual(count(models.VanillaCNN()), 3 * 32 * 49 + 32 + 32 * 13 * 13 * 10 + 10)
        self.assertEqual(count(models.VanillaCNN()), 58_826)
        # 28x28 -> 22x22 after the conv -> 11x11 after pooling
        self.assertEqual(count(models.VanillaCNN(1, 28, 5)),
                         1 * 32 * 49 + 32 + 32 * 11 * 11 * 5 + 5)

    def test_vanilla_cnn_is_conv_relu_pool_linear(self):
        model = models.VanillaCNN()
        self.assertEqual((model.conv.kernel_size, model.conv.stride, model.conv.padding),
                         ((7, 7), (1, 1), (0, 0)))
        x = torch.randn(2, 3, 32, 32)
        features = F.max_pool2d(F.relu(F.conv2d(x, model.conv.weight, model.conv.bias)), 2)
        self.assertEqual(features.shape, (2, 32, 13, 13))
        expected = features.reshape(2, -1) @ model.fc.weight.T + model.fc.bias
        torch.testing.assert_close(model(x), expected)

    def test_vanilla_cnn_refuses_images_too_small(self):
        with self.assertRaises(ValueError):
            models.VanillaCNN(3, 7)


class ResNetTest(ModelTest):
    def test_parameter_counts(self):
        for name, n in RESNET_BLOCKS.items():
            with self.subTest(name=name):
                model = getattr(models, name)()
                self.assertEqual(count(model), RESNET_PARAMS[name])
                self.assertEqual(count(model), resnet_params_by_hand(n))
        self.assertEqual(count(models.resnet32(1, 5)), resnet_params_by_hand(5, 1, 5))

    def test_depth_is_6n_plus_2_weighted_layers(self):
        for name, n in RESNET_BLOCKS.items():
            with self.subTest(name=name):
                model = getattr(models, name)()
                weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
                self.assertEqual(len(weighted), 6 * n + 2)
                self.assertEqual([len(s) for s in (model.layer1, model.layer2, model.layer3)],
                                 [n, n, n])
                self.assertTrue(all(c.bias is None for c in weighted if isinstance(c, nn.Conv2d)))

    def test_option_a_shortcuts_are_parameter_free(self):
        model = models.resnet32()
        shortcuts = [m for m in model.modules() if isinstance(m, ZeroPadShortcut)]
        self.assertEqual(len(shortcuts), 2)       # the first block of stages 2 and 3
        for shortcut in shortcuts:
            self.assertEqual(count(shortcut), 0)
        self.assertIsInstance(model.layer1[0].shortcut, nn.Identity)
        self.assertIsInstance(model.layer2[1].shortcut, nn.Identity)

    def test_zero_pad_shortcut_subsamples_and_pads_channels(self):
        x = torch.randn(2, 16, 7, 7)
        out = ZeroPadShortcut(16, 32, 2)(x)
        self.assertEqual(out.shape, (2, 32, 4, 4))
        torch.testing.assert_close(out[:, 8:24], x[:, :, 0::2, 0::2], rtol=0, atol=0)
        self.assertEqual(out[:, :8].abs().sum().item(), 0.0)
        self.assertEqual(out[:, 24:].abs().sum().item(), 0.0)
        self.assertEqual(float(out[1, 8 + 5, 3, 2]), float(x[1, 5, 6, 4]))

    def test_downsampling_block_adds_its_padded_input(self):
        block = BasicBlock(16, 32, stride=2).eval()
        for bn in (block.bn1, block.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        x = torch.randn(2, 16, 8, 8)

        def bn_eval(t, bn):
            return F.batch_norm(t, bn.running_mean, bn.running_var, bn.weight, bn.bias)

        out = F.relu(bn_eval(F.conv2d(x, block.conv1.weight, stride=2, padding=1), block.bn1))
        out = bn_eval(F.conv2d(out, block.conv2.weight, padding=1), block.bn2)
        shortcut = torch.cat([torch.zeros(2, 8, 4, 4), x[:, :, ::2, ::2],
                              torch.zeros(2, 8, 4, 4)], dim=1)
        torch.testing.assert_close(block(x), F.relu(out + shortcut))

    def test_kaiming_normal_init(self):
        model = models.resnet56()
        convs = [m for m in model.layer3.modules() if isinstance(m, nn.Conv2d)][1:]
        weights = torch.cat([c.weight.flatten() for c in convs])       # fan_in 64 * 9
        self.assertAlmostEqual(weights.std().item() / math.sqrt(2.0 / 576), 1.0, delta=0.02)
        self.assertAlmostEqual(weights.mean().item(), 0.0, delta=0.001)
        fc = model.fc.weight                                           # fan_in 64, 640 values
        self.assertAlmostEqual(fc.std().item() / math.sqrt(2.0 / 64), 1.0, delta=0.12)
        # normal, not uniform: a uniform draw of this spread never exceeds sqrt(3) std
        self.assertGreater(weights.abs().max().item() / weights.std().item(), 3.0)

    def test_same_builder(self):
        for name, n in RESNET_BLOCKS.items():
            self.assertIsInstance(getattr(models, name)(), CifarResNet)


class NormedLinearTest(ModelTest):
    def test_output_is_cosine_similarity(self):
        layer = models.NormedLinear(6, 4)
        x = torch.randn(5, 6) * 3.0
        out = layer(x)
        xs, ws = x.double().numpy(), layer.weight.detach().double().numpy()
        expected = [[float(np.dot(a, w) / (np.linalg.norm(a) * np.linalg.norm(w))) for w in ws]
                    for a in xs]
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=0, atol=1e-6)
        self.assertLessEqual(out.abs().max().item(), 1.0 + 1e-6)
        self.assertEqual(layer.weight.shape, (4, 6))
        self.assertIsNone(getattr(layer, "bias", None))

    def test_reaches_plus_and_minus_one_and_ignores_scale(self):
        layer = models.NormedLinear(3, 2)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.5, 0.5]]))
        out = layer(torch.tensor([[7.0, 0.0, 0.0], [0.0, -1.0, -1.0]]))
        torch.testing.assert_close(out, torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        x = torch.randn(4, 3)
        torch.testing.assert_close(layer(10.0 * x), layer(x))

    def test_float32_under_autocast_and_trainable(self):
        layer = models.NormedLinear(8, 3)
        x = torch.randn(4, 8)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = layer(x.bfloat16())
        self.assertEqual(out.dtype, torch.float32)
        torch.testing.assert_close(out, layer(x.bfloat16().float()))
        out.sum().backward()
        self.assertGreater(layer.weight.grad.abs().sum().item(), 0.0)


class FactoryTest(ModelTest):
    def test_names_and_spellings(self):
        cases = {"twolayernet": models.TwoLayerNet, "TwoLayerNet": models.TwoLayerNet,
                 "VanillaCNN": models.VanillaCNN, "MyModel": models.MyModel,
                 "mymodel": models.MyModel, "ResNet-32": CifarResNet, "RESNET110": CifarResNet}
        for name, cls in cases.items():
            with self.subTest(name=name):
                self.assertIsInstance(builders.build_model(name), cls)
        for name, n in RESNET_BLOCKS.items():
            self.assertEqual(len(builders.build_model(name.replace("net", "Net-")).layer1), n)
        self.assertEqual(MODEL_NAMES, ("twolayernet", "vanillacnn", "mymodel", "resnet20",
                                       "resnet32", "resnet44", "resnet56", "resnet110", "cnn",
                                       "resnetbuilder"))

    def test_unknown_name(self):
        with self.assertRaises(ValueError) as caught:
            builders.build_model("resnet18")
        message = str(caught.exception)
        self.assertTrue(message.startswith("model.name: unknown model 'resnet18'; expected one of"))
        for name in MODEL_NAMES:
            self.assertIn(name, message)
        self.assertNotIn("\n", message)

    def test_image_too_small(self):
        for name in ("vanillacnn", "mymodel"):
            with self.assertRaisesRegex(ValueError, "^model.name: .*at least 8x8"):
                builders.build_model(name, (3, 6, 32))
        self.assertEqual(builders.build_model("resnet20", (3, 4, 4))(torch.randn(2, 3, 4, 4)).shape,
                         (2, 10))

    def test_input_shape_sets_the_first_layer(self):
        self.assertEqual(builders.build_model("twolayernet", (1, 28, 28)).fc1.in_features, 784)
        self.assertEqual(builders.build_model("vanillacnn", (1, 28, 28), 5).fc.in_features,
                         32 * 11 * 11)
        for name in ("mymodel", "resnet32"):
            first = next(m for m in builders.build_model(name, (5, 16, 16)).modules()
                         if isinstance(m, nn.Conv2d))
            self.assertEqual(first.in_channels, 5)

    def test_normed_classifier_replaces_the_final_linear(self):
        for name in MODEL_NAMES:
            with self.subTest(name=name):
                plain = models.final_linear(builders.build_model(name, num_classes=7))
                model = builders.build_model(name, num_classes=7, normed_classifier=True)
                layer = models.final_linear(model)
                self.assertIsInstance(layer, models.NormedLinear)
                self.assertEqual((layer.in_features, layer.out_features),
                                 (plain.in_features, 7))
                out = model(torch.randn(3, 3, 32, 32))
                self.assertEqual(out.shape, (3, 7))
                self.assertLessEqual(out.abs().max().item(), 1.0 + 1e-6)

    def test_final_linear_produces_the_logits(self):
        bias = torch.arange(5, dtype=torch.float32)
        for name in MODEL_NAMES:
            with self.subTest(name=name):
                model = builders.build_model(name, num_classes=5).eval()
                layer = models.final_linear(model)
                owners = [m for m in model.modules()
                          if next(m.parameters(recurse=False), None) is not None]
                self.assertIs(layer, owners[-1])
                with torch.no_grad():
                    layer.weight.zero_()
                    layer.bias.copy_(bias)
                torch.testing.assert_close(model(torch.randn(2, 3, 32, 32)),
                                           bias.expand(2, 5))

    def test_final_linear_without_a_linear_layer(self):
        with self.assertRaises(ValueError):
            models.final_linear(nn.Conv2d(3, 3, 1))
        with self.assertRaisesRegex(ValueError, "last layer with parameters is BatchNorm1d"):
            models.final_linear(nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)))
        with self.assertRaises(ValueError):
            models.final_linear(nn.ReLU())

    def test_block_keys_reach_the_block_models(self):
        keys = dict(channels=[4, 8, 8], pool_every=2, hidden_dims=[5], activation="lrelu",
                    pooling="avg")
        cnn = builders.build_model("cnn", (3, 20, 20), 3, **keys,
                                   conv_params=dict(kernel_size=5, stride=1, padding=1))
        self.assertIsInstance(cnn, models.CNN)
        self.assertEqual(cnn.feature_shape, (8, 6, 6))  # 20 -> 18 -> 16 -> 8 -> 6 (no pool)
        resnet = builders.build_model("ResNet_Builder", (3, 20, 20), 3, **keys,
                                      batchnorm=True, dropout=0.1, bottleneck=True)
        reference = models.ResNet((3, 20, 20), 3, [4, 8, 8], 2, [5], batchnorm=True,
                                  dropout=0.1, bottleneck=True, activation_type="lrelu",
                                  pooling_type="avg")
        self.assertEqual(repr(resnet), repr(reference))
        with self.assertRaisesRegex(TypeError, "unknown argument 'depth'"):
            builders.build_model("cnn", depth=3)

    def test_config_names_are_the_registry(self):
        self.assertEqual(tuple(builders.MODEL_BUILDERS), MODEL_NAMES)

    def test_seeded_builds_are_identical(self):
        torch.manual_seed(3)
        first = builders.build_model("resnet20").state_dict()
        torch.manual_seed(3)
        second = builders.build_model("resnet20").state_dict()
        for key, value in first.items():
            torch.testing.assert_close(second[key], value, rtol=0, atol=0)


class StandaloneTest(unittest.TestCase):
    """The course's grader imports models/ and losses/ with nothing else of the project."""

    def test_models_and_losses_import_with_only_torch(self):
        script = textwrap.dedent("""\
            import sys
            sys.path.insert(0, sys.argv[1])
            import torch
            from models import *
            from losses import FocalLoss, reweight
            import losses, models
            nets = [TwoLayerNet(3072, 256, 10), VanillaCNN(), MyModel(), resnet32()]
            x = torch.zeros(2, 3, 32, 32)
            assert all(net.eval()(x).shape == (2, 10) for net in nets)
            weights = reweight([10, 5, 1], 0.9)
            assert FocalLoss(weights, gamma=1.0)(torch.zeros(2, 3), torch.tensor([0, 2])) > 0
            ours = {m.split(".")[0] for m in sys.modules}
            assert not ours & {"engine", "app", "data", "yaml"}, ours
            print("ok")
            """)
        with tempfile.TemporaryDirectory() as tmp:
            for package in ("models", "losses"):
                shutil.copytree(os.path.join(ROOT, package), os.path.join(tmp, package),
                                ignore=shutil.ignore_patterns("__pycache__"))
            # -I: neither the working folder nor PYTHONPATH is on sys.path, only tmp.
            done = subprocess.run([sys.executable, "-I", "-c", script, tmp], cwd=tmp,
                                  capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "ok\n")


if __name__ == "__main__":
    unittest.main()
