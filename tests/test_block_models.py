"""Tests of models/block_cnn.py: output shapes and parameter counts against hand counts, the
feature size arithmetic against a dry forward pass, the residual sum against float64
references, shortcut choice, bottleneck blocks, and the one-line refusals."""
import unittest

import torch
import torch.nn.functional as F
from torch import nn

from models.block_cnn import (CNN, ResidualBlock, ResidualBottleneckBlock, ResNet,
                              build_block_model)


def count(model):
    return sum(p.numel() for p in model.parameters())


def conv(c_in, c_out, k):
    """Weights and bias of a k x k convolution."""
    return c_in * c_out * k * k + c_out


def fc(n_in, n_out):
    return n_in * n_out + n_out


# name -> (model factory, input (C, H, W), classes, feature shape by hand, parameters by hand)
CONFIGS = {
    # 100 -> pool 50 -> pool 25; 32 x 25 x 25 = 20,000 features.
    "cnn_100_relu_max": (
        lambda: CNN((3, 100, 100), 10, [32] * 4, 2, [100]),
        (3, 100, 100), 10, (32, 25, 25),
        conv(3, 32, 3) + 3 * conv(32, 32, 3) + fc(32 * 25 * 25, 100) + fc(100, 10)),
    # Stride 2, kernel 5, padding 1: 32 -> (32+2-5)//2+1 = 15 -> 7 -> avg pool 3 -> conv 1
    # (the trailing one-conv group is not pooled).
    "cnn_32_lrelu_avg_stride2": (
        lambda: CNN((3, 32, 32), 10, [16, 32, 64], 2, [64, 32],
                    conv_params=dict(kernel_size=5, stride=2, padding=1),
                    activation_type="lrelu", activation_params=dict(negative_slope=0.2),
                    pooling_type="avg"),
        (3, 32, 32), 10, (64, 1, 1),
        conv(3, 16, 5) + conv(16, 32, 5) + conv(32, 64, 5) + fc(64, 64) + fc(64, 32)
        + fc(32, 10)),
    # Unpadded 3x3 convs (-2) and max pools of 3 / stride 3 / padding 1:
    # 100 -> 98 -> (98+2-3)//3+1 = 33 -> 31 -> 11 -> 9 -> 3; no hidden layer.
    "cnn_100_lrelu_max_valid": (
        lambda: CNN((3, 100, 100), 7, [8] * 3, 1, [],
                    conv_params=dict(kernel_size=3, padding=0), activation_type="lrelu",
                    pooling_params=dict(kernel_size=3, stride=3, padding=1)),
        (3, 100, 100), 7, (8, 3, 3),
        conv(3, 8, 3) + 2 * conv(8, 8, 3) + fc(8 * 3 * 3, 7)),
    # ceil_mode: 25 -> ceil(23/2)+1 = 13.
    "cnn_25_ceil_mode": (
        lambda: CNN((1, 25, 25), 3, [4], 1, [5],
                    pooling_params=dict(kernel_size=2, ceil_mode=True)),
        (1, 25, 25), 3, (4, 13, 13),
        conv(1, 4, 3) + fc(4 * 13 * 13, 5) + fc(5, 3)),
    # Blocks [16, 16] (1x1 shortcut 3 -> 16) and [32, 32] (1x1 16 -> 32), each pooled, then a
    # trailing [32] (identity, no pooling); BatchNorm (2 per channel) on all convs but a
    # block's last. 32 -> 16 -> 8.
    "resnet_32_bn": (
        lambda: ResNet((3, 32, 32), 10, [16, 16, 32, 32, 32], 2, [50], batchnorm=True),
        (3, 32, 32), 10, (32, 8, 8),
        conv(3, 16, 3) + 2 * 16 + conv(16, 16, 3) + 3 * 16
        + conv(16, 32, 3) + 2 * 32 + conv(32, 32, 3) + 16 * 32
        + conv(32, 32, 3) + fc(32 * 8 * 8, 50) + fc(50, 10)),
    # First group: plain block (3 -> 64, 1x1 shortcut); second group [64, 64, 64] after 64
    # channels: bottleneck 1x1 -> 3x3 -> 1x1 with identity shortcut. Avg pools 100 -> 50 -> 25.
    "resnet_100_bottleneck_avg": (
        lambda: ResNet((3, 100, 100), 5, [64] * 6, 3, [], bottleneck=True,
                       pooling_type="avg", activation_type="lrelu"),
        (3, 100, 100), 5, (64, 25, 25),
        conv(3, 64, 3) + 2 * conv(64, 64, 3) + 3 * 64
        + conv(64, 64, 1) + conv(64, 64, 3) + conv(64, 64, 1) + fc(64 * 25 * 25, 5)),
}


class TestShapesAndCounts(unittest.TestCase):
    def test_hand_counts_and_dry_forward(self):
        torch.manual_seed(0)
        for name, (make, in_size, classes, features, params) in CONFIGS.items():
            with self.subTest(name):
                model = make().eval()
                self.assertEqual(count(model), params)
                self.assertEqual(model.feature_shape, features)
                x = torch.randn(2, *in_size)
                with torch.no_grad():
                    self.assertEqual(tuple(model.feature_extractor(x).shape[1:]), features)
                    self.assertEqual(tuple(model(x).shape), (2, classes))

    def test_pooling_placement(self):
        model = CNN((3, 32, 32), 10, [8] * 5, 2, [])
        kinds = [type(m).__name__ for m in model.feature_extractor]
        self.assertEqual(kinds, ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d",
                                 "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d",
                                 "Conv2d", "ReLU"])
        self.assertEqual(type(model.classifier[-1]), nn.Linear)

    def test_bottleneck_only_where_the_shape_fits(self):
        model = ResNet((3, 32, 32), 10, [16, 16, 16, 32, 32, 16], 3, [], bottleneck=True)
        blocks = [m for m in model.feature_extractor if isinstance(m, ResidualBlock)]
        # [16]*3 after 3 channels: plain; [32, 32, 16] after 16: bottleneck shape.
        self.assertNotIsInstance(blocks[0], ResidualBottleneckBlock)
        self.assertIsInstance(blocks[1], ResidualBottleneckBlock)
        convs = [m for m in blocks[1].main_path if isinstance(m, nn.Conv2d)]
        self.assertEqual([(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs],
                         [(16, 32, 1), (32, 32, 3), (32, 16, 1)])


class TestResidualBlock(unittest.TestCase):
    def test_identity_and_projection_shortcuts(self):
        same = ResidualBlock(32, [32, 32], [3, 3])
        self.assertIsInstance(same.shortcut_path, nn.Identity)
        self.assertEqual(count(same), 2 * conv(32, 32, 3))
        changed = ResidualBlock(16, [32, 32], [3, 5])
        shortcut = changed.shortcut_path
        self.assertIsInstance(shortcut, nn.Conv2d)
        self.assertEqual((shortcut.kernel_size, shortcut.bias), ((1, 1), None))
        self.assertEqual(count(changed), conv(16, 32, 3) + conv(32, 32, 5) + 16 * 32)
        self.assertEqual(tuple(changed(torch.zeros(1, 16, 9, 9)).shape), (1, 32, 9, 9))

    def test_main_path_order(self):
        block = ResidualBlock(4, [8, 8, 4], [3, 1, 3], batchnorm=True, dropout=0.5,
                              activation_type="lrelu")
        kinds = [type(m).__name__ for m in block.main_path]
        self.assertEqual(kinds, ["Conv2d", "Dropout2d", "BatchNorm2d", "LeakyReLU"] * 2
                         + ["Conv2d"])

    def test_sum_is_shortcut_plus_main_path(self):
        torch.manual_seed(1)
        x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
        block = ResidualBlock(4, [5, 4], [3, 3]).double()
        c1, c2 = block.main_path[0], block.main_path[2]
        expected = F.relu(F.conv2d(F.relu(F.conv2d(x, c1.weight, c1.bias, padding=1)),
                                   c2.weight, c2.bias, padding=1) + x)
        torch.testing.assert_close(block(x), expected)
        with torch.no_grad():
            c2.weight.zero_()
            c2.bias.zero_()
        torch.testing.assert_close(block(x), F.relu(x))

    def test_zero_main_path_leaves_projection(self):
        torch.manual_seed(2)
        x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
        block = ResidualBlock(3, [6], [5], activation_type="lrelu",
                              activation_params=dict(negative_slope=0.3)).double()
        with torch.no_grad():
            block.main_path[0].weight.zero_()
            block.main_path[0].bias.zero_()
        expected = F.leaky_relu(F.conv2d(x, block.shortcut_path.weight), 0.3)
        torch.testing.assert_close(block(x), expected)

    def test_bottleneck_256_64_64_256(self):
        block = ResidualBottleneckBlock(256, [64], [3])
        self.assertIsInstance(block.shortcut_path, nn.Identity)
        # 1x1 256->64, 3x3 64->64, 1x1 64->256, each with a bias.
        self.assertEqual(count(block), (256 * 64 + 64) + (9 * 64 * 64 + 64) + (64 * 256 + 256))
        self.assertEqual(count(block), 70_016)
        with_bn = ResidualBottleneckBlock(256, [64], [3], batchnorm=True)
        self.assertEqual(count(with_bn), 70_016 + 2 * 64 + 2 * 64)
        self.assertEqual(tuple(block(torch.zeros(1, 256, 4, 4)).shape), (1, 256, 4, 4))


class TestFromConfigKeys(unittest.TestCase):
    def test_cnn_and_resnet_builder(self):
        cnn = build_block_model("cnn", (3, 32, 32), 10, [16, 16], 2, [20],
                                conv_params=dict(kernel_size=5, stride=1, padding=2),
                                activation="lrelu", pooling="avg")
        self.assertEqual(type(cnn), CNN)
        self.assertEqual(count(cnn), conv(3, 16, 5) + conv(16, 16, 5) + fc(16 * 16 * 16, 20)
                         + fc(20, 10))
        self.assertIsInstance(cnn.feature_extractor[-1], nn.AvgPool2d)
        resnet = build_block_model("resnet_builder", (3, 32, 32), 10, [8] * 3, 3, [],
                                   batchnorm=True, dropout=0.1, bottleneck=True)
        self.assertEqual((type(resnet), resnet.batchnorm, resnet.dropout, resnet.bottleneck),
                         (ResNet, True, 0.1, True))

    def test_keys_the_model_does_not_use(self):
        with self.assertRaisesRegex(ValueError, "model.batchnorm: got True"):
            build_block_model("cnn", (3, 32, 32), 10, [8], 1, [], batchnorm=True)
        with self.assertRaisesRegex(ValueError, "model.conv_params: got"):
            build_block_model("resnetbuilder", (3, 32, 32), 10, [8], 1, [],
                              conv_params=dict(kernel_size=5, stride=1, padding=2))
        with self.assertRaisesRegex(ValueError, "model.name: got 'resnet'"):
            build_block_model("resnet", (3, 32, 32), 10, [8], 1, [])


class TestRefusals(unittest.TestCase):
    def test_maps_shrinking_to_nothing(self):
        for make, kind in ((lambda: CNN((3, 32, 32), 10, [32] * 16, 2, [100]), "CNN"),
                           (lambda: ResNet((3, 32, 32), 10, [32] * 24, 3, [100]), "ResNet")):
            with self.subTest(kind), self.assertRaises(ValueError) as caught:
                make()
            message = str(caught.exception)
            self.assertNotIn("\n", message)
            self.assertIn(f"{kind}(channels=[32]*", message)
            self.assertIn("0x0", message)

    def test_unknown_names(self):
        with self.assertRaisesRegex(ValueError, "activation_type: got 'tanh'; expected one "
                                                "of relu, lrelu"):
            CNN((3, 32, 32), 10, [8], 1, [], activation_type="tanh")
        with self.assertRaisesRegex(ValueError, "pooling_type: got 'sum'; expected one of "
                                                "max, avg"):
            ResNet((3, 32, 32), 10, [8], 1, [], pooling_type="sum")

    def test_even_kernel_and_bad_sizes(self):
        with self.assertRaisesRegex(ValueError, "odd"):
            ResidualBlock(4, [4], [2])
        with self.assertRaisesRegex(ValueError, "channels"):
            CNN((3, 32, 32), 10, [], 1, [])
        with self.assertRaisesRegex(ValueError, "pool_every"):
            CNN((3, 32, 32), 10, [8], 0, [])


if __name__ == "__main__":
    unittest.main()
