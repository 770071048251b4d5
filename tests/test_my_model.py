"""Tests of models/my_model.py (sizes counted by hand, the head against a manual computation,
the residual blocks, the ablation switches, the grader's construction MyModel()) and of
tools/grade.py against an independent scoring of a synthetic image folder."""
import contextlib
import io
import os
import tempfile
import unittest

import numpy as np

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import models
from models.my_model import ConvBlock, Residual
from PIL import Image
from tools import grade


def conv_layers(w, in_channels=3):
    """(in, out, side the convolution computes at) for a 32x32 input, stem to stage 3."""
    return [(in_channels, w, 32), (w, 2 * w, 16), (2 * w, 2 * w, 16), (2 * w, 2 * w, 16),
            (2 * w, 4 * w, 16), (4 * w, 4 * w, 8), (4 * w, 4 * w, 8), (4 * w, 8 * w, 8),
            (8 * w, 8 * w, 4), (8 * w, 8 * w, 4)]


def params_by_hand(w, in_channels=3, num_classes=10, pooled=16):
    """3x3 convolutions without bias, a BatchNorm (scale, shift) each, the linear head."""
    convs = sum(9 * a * b + 2 * b for a, b, _ in conv_layers(w, in_channels))
    return convs + pooled * w * num_classes + num_classes


def macs_by_hand(w, in_channels=3, num_classes=10):
    return sum(9 * a * b * s * s for a, b, s in conv_layers(w, in_channels)) \
        + 16 * w * num_classes


def count(model):
    return sum(p.numel() for p in model.parameters())


def macs(model):
    """Multiply-accumulates of one forward pass of one image (training mode: one view)."""
    model.train()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    return counter.get_total_flops() // 2


class MyModelTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def test_sizes_match_a_hand_count_and_the_docstring(self):
        model = models.MyModel()
        self.assertEqual(count(model), params_by_hand(16))
        self.assertEqual(macs(model), macs_by_hand(16))
        self.assertIn(f"{count(model):,} parameters", models.MyModel.__doc__)
        self.assertIn(f"{macs_by_hand(16) / 1e6:.1f} M", models.MyModel.__doc__)
        wide = models.MyModel(width=64)
        self.assertEqual(count(wide), params_by_hand(64))
        self.assertIn(f"{count(wide):,} parameters", models.MyModel.__doc__)
        self.assertIn(f"{macs_by_hand(64) / 1e6:.1f} M", models.MyModel.__doc__)
        self.assertEqual(count(models.MyModel(1, 5, width=8)), params_by_hand(8, 1, 5))
        self.assertEqual(count(models.MyModel(head_pool="max")), params_by_hand(16, pooled=8))

    def test_grader_construction_matches_the_shipped_config(self):
        """The grader builds MyModel() without arguments: its default width must be the
        width configs/mymodel.yaml trains, so the checkpoint's state dict fits."""
        from engine.builders import architecture_of, build_model
        from engine.config import load_config
        cfg = load_config("configs/mymodel.yaml")
        trained = build_model("mymodel", **architecture_of(cfg.model))
        graded = models.MyModel()
        graded.load_state_dict(trained.state_dict())
        x = torch.randn(2, 3, 32, 32)
        torch.testing.assert_close(graded.eval()(x), trained.eval()(x))

    def test_head_pools_average_and_max_and_scales_features_not_bias(self):
        model = models.MyModel(width=4, mirror_average=False).eval()
        x = torch.randn(3, 3, 32, 32)
        body = nn.Sequential(model.stem, model.stage1, model.stage2, model.stage3)
        maps = body(x)                                                    # (3, 32, 4, 4)
        flat = maps.flatten(2)
        pooled = torch.cat([flat.sum(2) / 16, flat.max(2).values], dim=1)  # (3, 64)
        expected = 0.5 * pooled @ model.fc.weight.T + model.fc.bias
        torch.testing.assert_close(model(x), expected)
        peak = models.MyModel(width=4, head_pool="max", logit_scale=1.0,
                               mirror_average=False).eval()
        maps = nn.Sequential(peak.stem, peak.stage1, peak.stage2, peak.stage3)(x)
        torch.testing.assert_close(peak(x), maps.amax((2, 3)) @ peak.fc.weight.T + peak.fc.bias)

    def test_evaluation_averages_the_logits_of_the_image_and_its_mirror(self):
        torch.manual_seed(0)
        model = models.MyModel(width=4)
        single = models.MyModel(width=4, mirror_average=False)
        single.load_state_dict(model.state_dict())
        x = torch.randn(3, 3, 32, 32)
        model.eval(), single.eval()
        torch.testing.assert_close(model(x), (single(x) + single(x.flip(3))) / 2)
        torch.testing.assert_close(model(x.flip(3)), model(x))
        self.assertGreater((single(x.flip(3)) - single(x)).abs().max().item(), 1e-3)
        model.train(), single.train()
        torch.testing.assert_close(model(x), single(x))          # training: one view

    def test_pca_stem_holds_the_signed_principal_components_of_3x3_patches(self):
        rng = np.random.default_rng(0)
        mixing = rng.normal(size=(3, 3))                # correlated colour channels
        images = np.einsum("ij,njhw->nihw", mixing, rng.normal(size=(40, 3, 10, 10)))
        images[:, :, :, 1:] += 0.8 * images[:, :, :, :-1]   # and neighbouring pixels
        images += np.array([1.5, -0.5, 0.7])[None, :, None, None]  # a mean to remove
        patches = np.stack([images[:, :, i:i + 3, j:j + 3].reshape(40, 27)
                            for i in range(8) for j in range(8)], axis=1).reshape(-1, 27)
        eigenvalues, vectors = np.linalg.eigh(np.cov(patches, rowvar=False, bias=True))
        expected = vectors[:, ::-1].T                   # (27, 27), largest variance first
        for width in (16, 64):
            with self.subTest(width=width):
                torch.manual_seed(0)
                model = models.MyModel(width=width)
                built = model.stem[0].weight.detach().clone()
                model.init_from_data(torch.tensor(images, dtype=torch.float32), chunk=7)
                filters = model.stem[0].weight.detach().double().flatten(1).numpy()
                kept = min(width // 2, 27)
                for i in range(kept):
                    sign = np.sign(filters[2 * i] @ expected[i])
                    np.testing.assert_allclose(sign * filters[2 * i], expected[i], atol=1e-4)
                    np.testing.assert_allclose(filters[2 * i + 1], -filters[2 * i])
                torch.testing.assert_close(model.stem[0].weight[2 * kept:], built[2 * kept:])
        untouched = models.MyModel(width=4, pca_stem=False)
        before = untouched.stem[0].weight.detach().clone()
        untouched.init_from_data(torch.tensor(images, dtype=torch.float32))
        torch.testing.assert_close(untouched.stem[0].weight, before)

    def test_zero_init_residual_starts_as_identity(self):
        block = Residual(6)
        x = torch.randn(2, 6, 5, 5)
        torch.testing.assert_close(block(x), x)
        plain = Residual(6, skip=False)           # zero_init needs the skip: ignored
        torch.testing.assert_close(plain(x), plain.body(x))
        self.assertGreater((plain(x) - x).abs().max().item(), 0.1)
        skipped = Residual(6, zero_init=False)
        torch.testing.assert_close(skipped(x), x + skipped.body(x))

    def test_pool_first_runs_stage1_conv_at_half_resolution(self):
        before, after = ConvBlock(2, 3, pool="before"), ConvBlock(2, 3, pool="after")
        self.assertIsInstance(before[0], nn.MaxPool2d)
        self.assertIsInstance(after[1], nn.MaxPool2d)
        x = torch.randn(2, 2, 8, 8)
        self.assertEqual(before(x).shape, after(x).shape)
        full = models.MyModel(pool_first=False)
        self.assertEqual(macs(full) - macs(models.MyModel()), 9 * 16 * 32 * (32 ** 2 - 16 ** 2))

    def test_any_image_size_from_8_and_bad_head(self):
        model = models.MyModel(width=4)
        for size in (8, 13, 40):
            self.assertEqual(model(torch.randn(2, 3, size, size)).shape, (2, 10))
        with self.assertRaisesRegex(ValueError, "^head_pool: got 'mean'"):
            models.MyModel(head_pool="mean")

    def test_classifier_is_the_final_linear(self):
        model = models.MyModel(width=4)
        self.assertIs(models.final_linear(model), model.fc)
        self.assertEqual(model.fc.in_features, 64)


class GradeTest(unittest.TestCase):
    """tools.grade on a 10-class folder of 3 noisy-colour PNGs per class, against numpy."""

    MEAN = np.array([0.4914, 0.4822, 0.4465])     # the course's constants, written out
    STD = np.array([0.2023, 0.1994, 0.2010])

    def setUp(self):
        torch.manual_seed(0)
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        rng = np.random.default_rng(0)
        self.files = []                            # (path, label) in class order
        for label, name in enumerate(f"class{c:02d}" for c in range(10)):
            os.makedirs(os.path.join(self.root, "test", name))
            for i in range(3):
                path = os.path.join(self.root, "test", name, f"{i}.png")
                colour = rng.integers(0, 256, 3)          # a random colour with noise on it
                pixels = np.clip(colour + rng.normal(0, 20, (32, 32, 3)), 0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(path)
                self.files.append((path, label))
        self.model = models.MyModel().eval()
        with torch.no_grad():                      # BatchNorm statistics away from 0 / 1
            for m in self.model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
            # Centre the logits on these images, so the features' common part (ReLU outputs
            # are positive) does not give every image the same class.
            mean_feature = self.model.features(self.normalised()).mean(0) * self.model.logit_scale
            self.model.fc.bias.copy_(-self.model.fc.weight @ mean_feature)
        self.path = os.path.join(self.root, "mymodel.pth")
        torch.save(self.model.state_dict(), self.path)

    def tearDown(self):
        self.tmp.cleanup()

    def normalised(self):
        """The images read with PIL and normalised in numpy: float32 (30, 3, 32, 32)."""
        images = np.stack([np.asarray(Image.open(p), dtype=np.float64) / 255
                           for p, _ in self.files])                        # (30, 32, 32, 3)
        x = ((images - self.MEAN) / self.STD).transpose(0, 3, 1, 2)
        return torch.tensor(x, dtype=torch.float32)

    def expected_predictions(self):
        with torch.no_grad():
            predicted = self.model(self.normalised()).argmax(1).numpy()
        self.assertGreaterEqual(len(set(predicted.tolist())), 4)   # they depend on the input
        return predicted

    def expected_accuracy(self):
        labels = np.array([label for _, label in self.files])
        return float(np.mean(self.expected_predictions() == labels))

    def test_accuracy_equals_an_independent_scoring(self):
        graded = grade.course_model("mymodel")
        grade.load_weights(graded, self.path)
        predicted, labels = grade.predictions(graded, grade.course_test_set(self.root))
        np.testing.assert_array_equal(predicted.numpy(), self.expected_predictions())
        np.testing.assert_array_equal(labels.numpy(), [label for _, label in self.files])
        score, kind = grade.grade(self.path, data=self.root)
        self.assertEqual(kind, "state_dict")
        self.assertAlmostEqual(score, self.expected_accuracy(), places=12)
        self.assertEqual(grade.grade(self.path, data=os.path.join(self.root, "test"))[0], score)

    def test_command_line_and_run_record(self):
        record = os.path.join(self.root, "best.pt")
        torch.save({"model": self.model.state_dict(), "epoch": 3}, record)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = grade.main([record, "--model", "mymodel", "--data", self.root])
        self.assertEqual(code, 0)
        self.assertEqual(out.getvalue(), f"accuracy {self.expected_accuracy():.4f}\n")
        self.assertIn("run record", err.getvalue())

    def test_course_constructors_and_mismatch(self):
        self.assertEqual(grade.course_model("twolayernet").fc1.in_features, 3072)
        self.assertIsInstance(grade.course_model("resnet-32"), models.resnet32().__class__)
        with self.assertRaisesRegex(ValueError, "^checkpoint .* does not fit TwoLayerNet"):
            grade.grade(self.path, model_name="twolayernet", data=self.root)
        wrong = os.path.join(self.root, "mymodel_w8.pth")
        torch.save(models.MyModel(width=8).state_dict(), wrong)
        with self.assertRaisesRegex(ValueError, "does not fit MyModel"):
            grade.grade(wrong, model_name="mymodel", data=self.root)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(grade.main([self.path, "--data", "/nonexistent/x"]), 2)
        self.assertTrue(err.getvalue().startswith("error: --data: "))


if __name__ == "__main__":
    unittest.main()
