import unittest

import numpy as np

from scratch.modules import (BatchNorm, Conv2D, ConvNet, Dropout, GroupNorm, LayerNorm,
                             LeakyReLU, Linear, MaxPooling, ReLU, SpatialBatchNorm, Tanh,
                             build_network, count_parameters, fully_connected, network_specs)

CNN_BLOCKS = [
    dict(type='conv', out_channels=8, kernel_size=3, norm='batch', pool=2),
    dict(type='conv', out_channels=16, kernel_size=5, stride=2, norm='group', groups=4,
         activation='LeakyReLU', dropout=0.25),
    dict(type='fc', out_dim=32, norm='layer', activation='Tanh', dropout=0.5),
]


class ParameterCountTest(unittest.TestCase):
    def test_fully_connected(self):
        # 3072 * 100 + 100, then 100 * 50 + 50, then 50 * 10 + 10
        plain = fully_connected(3072, [100, 50], 10)
        self.assertEqual(count_parameters(plain), 307300 + 5050 + 510)
        # BatchNorm adds gamma and beta per feature; its running statistics are not learnt
        normed = fully_connected(3072, [100, 50], 10, norm='batch')
        self.assertEqual(count_parameters(normed), 307300 + 200 + 5050 + 100 + 510)
        self.assertEqual(count_parameters(fully_connected(20, [], 3)), 20 * 3 + 3)

    def test_cnn(self):
        model = build_network((3, 32, 32), CNN_BLOCKS, 10)
        # conv 8 x 3 x 3 x 3 + 8; SpatialBatchNorm 2 x 8; pooled to 16 x 16
        # conv 16 x 8 x 5 x 5 + 16 at stride 2, padding 2: 1 + (16 + 4 - 5) // 2 = 8; GroupNorm 32
        # fc 16 * 8 * 8 -> 32: 1024 * 32 + 32; LayerNorm 64; classifier 32 * 10 + 10
        self.assertEqual(count_parameters(model), 224 + 16 + 3216 + 32 + 32800 + 64 + 330)

    def test_the_course_network(self):
        model = build_network((3, 32, 32), [dict(type='conv', out_channels=32, kernel_size=5,
                                                 pool=2)], 10)
        self.assertEqual(count_parameters(model), 32 * 3 * 25 + 32 + 8192 * 10 + 10)


class StructureTest(unittest.TestCase):
    def test_cnn_layers_in_order(self):
        model = build_network((3, 32, 32), CNN_BLOCKS, 10, seed=3)
        self.assertEqual([type(module) for module in model.modules],
                         [Conv2D, SpatialBatchNorm, ReLU, MaxPooling,
                          Conv2D, GroupNorm, LeakyReLU, Dropout,
                          Linear, LayerNorm, Tanh, Dropout, Linear])
        conv, pool, conv2, group_norm = (model.modules[i] for i in (0, 3, 4, 5))
        self.assertEqual((conv.padding, conv.stride, pool.kernel_size, pool.stride), (1, 1, 2, 2))
        self.assertEqual((conv2.padding, conv2.stride, group_norm.num_groups), (2, 2, 4))
        self.assertEqual([model.modules[i].p for i in (7, 11)], [0.25, 0.5])
        probs, _ = model.forward(np.random.RandomState(0).randn(2, 3, 32, 32), np.array([1, 2]))
        self.assertEqual(probs.shape, (2, 10))

    def test_dropout_layers_get_distinct_seeds(self):
        specs = network_specs((10,), [dict(type='fc', out_dim=5, dropout=0.5)] * 3, 2, seed=7)
        self.assertEqual([spec['seed'] for spec in specs if spec['type'] == 'Dropout'],
                         [7, 8, 9])

    def test_specs_build_the_same_network_through_convnet(self):
        specs = network_specs((3, 8, 8), CNN_BLOCKS[:1], 4)
        self.assertEqual(specs, [
            dict(type='Conv2D', in_channels=3, out_channels=8, kernel_size=3, stride=1,
                 padding=1),
            dict(type='SpatialBatchNorm', num_features=8),
            dict(type='ReLU'),
            dict(type='MaxPooling', kernel_size=2, stride=2),
            dict(type='Linear', in_dim=8 * 4 * 4, out_dim=4),
        ])
        self.assertEqual(len(ConvNet(specs, dict(type='SoftmaxCrossEntropy')).modules), 5)

    def test_layer_norm_in_a_conv_block_is_one_group(self):
        model = build_network((2, 4, 4), [dict(type='conv', out_channels=6, norm='layer')], 3)
        self.assertIsInstance(model.modules[1], GroupNorm)
        self.assertEqual(model.modules[1].num_groups, 1)
        fc = fully_connected(5, [4], 2, norm='layer')
        self.assertIsInstance(fc.modules[1], LayerNorm)
        self.assertIsInstance(fully_connected(5, [4], 2, norm='batch').modules[1], BatchNorm)


class WeightTest(unittest.TestCase):
    def test_scales(self):
        model = fully_connected(3072, [200], 10, weight_scale=0.05)
        self.assertAlmostEqual(model.modules[0].weight.std(), 0.05, delta=0.0005)
        kaiming = build_network((3, 32, 32), [dict(type='conv', out_channels=64, kernel_size=5)],
                                10)
        # fan_in: 3072 for the first Linear; 3 * 5 * 5 = 75 for the convolution
        self.assertAlmostEqual(fully_connected(3072, [200], 10).modules[0].weight.std(),
                               np.sqrt(2 / 3072), delta=0.01 * np.sqrt(2 / 3072))
        self.assertAlmostEqual(kaiming.modules[0].weight.std(), np.sqrt(2 / 75),
                               delta=0.03 * np.sqrt(2 / 75))
        self.assertTrue(all(np.all(module.bias == 0) for module in kaiming.modules
                            if hasattr(module, 'bias')))

    def test_seed_decides_the_weights(self):
        first, second, other = (fully_connected(6, [5, 4], 3, seed=seed) for seed in (1, 1, 2))
        for a, b, c in zip(first.modules, second.modules, other.modules):
            if isinstance(a, Linear):
                np.testing.assert_array_equal(a.weight, b.weight)
                self.assertFalse(np.array_equal(a.weight, c.weight))
        # layers of the same shape get different weights (one generator, drawn in turn)
        twins = fully_connected(4, [4, 4], 4).modules
        self.assertFalse(np.array_equal(twins[2].weight, twins[4].weight))

    def test_float32_throughout(self):
        model = build_network((3, 8, 8), CNN_BLOCKS[:1] + [dict(type='fc', out_dim=6,
                                                                norm='batch')], 4,
                              dtype=np.float32)
        for module in model.modules:
            for name in ('weight', 'bias', 'running_mean', 'running_var'):
                if hasattr(module, name):
                    self.assertEqual(getattr(module, name).dtype, np.float32, name)
        x = np.random.RandomState(0).randn(3, 3, 8, 8).astype(np.float32)
        probs, _ = model.forward(x, np.array([0, 1, 2]))
        model.backward()
        self.assertEqual(probs.dtype, np.float32)
        self.assertEqual(model.modules[0].dx.dtype, np.float32)


class ErrorTest(unittest.TestCase):
    def test_errors_name_the_block(self):
        cases = [
            ([dict(type='fc', out_dim=4, units=3)], r"blocks\[0\]: unknown key\(s\) 'units'"),
            ([dict(type='fc', out_dim=4, norm='group')], r"blocks\[0\]: norm 'group'"),
            ([dict(type='conv', out_channels=4, activation='relu')],
             r"blocks\[0\]: activation 'relu'"),
            ([dict(type='fc')], r"blocks\[0\]: a 'fc' block needs out_dim"),
            ([dict(type='fc', out_dim=4), dict(type='conv', out_channels=2)],
             r"blocks\[1\]: a 'conv' block needs \(C, H, W\)"),
            ([dict(type='conv', out_channels=2, pool=2)] * 3,
             r"blocks\[2\]: the feature maps shrink to 0 x 0"),
            ([dict(type='dense', out_dim=3)], r"blocks\[0\] must be a dict with type"),
        ]
        for blocks, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(ValueError, message):
                    build_network((3, 4, 4), blocks, 2)


if __name__ == '__main__':
    unittest.main()
