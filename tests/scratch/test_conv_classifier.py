import unittest

import numpy as np
import torch

from scratch.modules import Conv2D, ConvNet, Linear, MaxPooling, ReLU, SoftmaxCrossEntropy
from scratch.optimizer import SGD
from scratch.trainer import Trainer

SMALL_NETWORK = [
    dict(type='Conv2D', in_channels=3, out_channels=4, kernel_size=3, stride=1, padding=1),
    dict(type='ReLU'),
    dict(type='MaxPooling', kernel_size=2, stride=2),
    dict(type='Linear', in_dim=4 * 4 * 4, out_dim=5),
]
CRITERION = dict(type='SoftmaxCrossEntropy')


class BuildTest(unittest.TestCase):
    def test_course_network(self):
        model = ConvNet([
            dict(type='Conv2D', in_channels=3, out_channels=32, kernel_size=5, stride=1,
                 padding=2),
            dict(type='ReLU'),
            dict(type='MaxPooling', kernel_size=2, stride=2),
            dict(type='Linear', in_dim=8192, out_dim=10),
        ], CRITERION)
        self.assertEqual([type(m) for m in model.modules], [Conv2D, ReLU, MaxPooling, Linear])
        self.assertIsInstance(model.criterion, SoftmaxCrossEntropy)
        conv, _, pool, linear = model.modules
        self.assertEqual((conv.weight.shape, conv.stride, conv.padding), ((32, 3, 5, 5), 1, 2))
        self.assertEqual((pool.kernel_size, pool.stride), (2, 2))
        self.assertEqual(linear.weight.shape, (8192, 10))
        probs, loss = model.forward(np.zeros((2, 3, 32, 32)), np.array([0, 1]))
        self.assertEqual(probs.shape, (2, 10))
        self.assertAlmostEqual(loss, np.log(10))  # zero input, zero biases: uniform scores

    def test_errors_name_the_problem(self):
        cases = [
            ([dict(type='Conv2d', in_channels=3, out_channels=4)], "unknown type 'Conv2d'"),
            ([dict(type='ReLU'), dict(type='Conv2D', in_channels=3)],
             r"modules\[1\] \(Conv2D\).*'out_channels'"),
            ([dict(type='Linear', in_dim=4, out_dim=2, dropout=0.5)], "'dropout'"),
            ([dict(kernel_size=2, stride=2)], r"modules\[0\] must be a dict with a 'type' key"),
        ]
        for modules, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesRegex(ValueError, message):
                    ConvNet(modules, CRITERION)
        with self.assertRaisesRegex(ValueError, "criterion: unknown type 'MSE'"):
            ConvNet([dict(type='ReLU')], dict(type='MSE'))


class ModeAndStateTest(unittest.TestCase):
    NETWORK = [dict(type='Linear', in_dim=6, out_dim=5), dict(type='BatchNorm', num_features=5),
               dict(type='Tanh'), dict(type='Dropout', p=0.5, seed=0),
               dict(type='Linear', in_dim=5, out_dim=3)]

    def test_train_and_eval_reach_every_layer_that_has_a_mode(self):
        model = ConvNet(self.NETWORK, CRITERION)
        batch_norm, dropout = model.modules[1], model.modules[3]
        self.assertTrue(model.training and batch_norm.training and dropout.training)
        model.eval()
        self.assertFalse(model.training or batch_norm.training or dropout.training)
        x, y = np.random.RandomState(0).randn(4, 6), np.array([0, 1, 2, 0])
        first, _ = model.forward(x, y)
        np.testing.assert_array_equal(model.forward(x, y)[0], first)  # no random masks
        model.train()
        self.assertTrue(batch_norm.training and dropout.training)

    def test_state_dict_round_trip(self):
        model = ConvNet(self.NETWORK, CRITERION)
        model.forward(np.random.RandomState(0).randn(4, 6), np.array([0, 1, 2, 0]))
        state = model.state_dict()
        self.assertEqual(sorted(state), [(0, 'bias'), (0, 'weight'), (1, 'bias'),
                                         (1, 'running_mean'), (1, 'running_var'), (1, 'weight'),
                                         (4, 'bias'), (4, 'weight')])
        saved = {key: array.copy() for key, array in state.items()}
        model.modules[0].weight += 1.0  # a copy: the saved state does not move with the model
        model.modules[1].running_mean = model.modules[1].running_mean + 2.0
        np.testing.assert_array_equal(state[(0, 'weight')], saved[(0, 'weight')])
        model.load_state_dict(state)
        for (index, name), array in saved.items():
            np.testing.assert_array_equal(getattr(model.modules[index], name), array)


class EndToEndTest(unittest.TestCase):
    def test_matches_torch(self):
        rng = np.random.RandomState(0)
        model = ConvNet(SMALL_NETWORK, CRITERION)
        conv, _, _, linear = model.modules
        conv.weight, conv.bias = rng.randn(4, 3, 3, 3) * 0.5, rng.randn(4)
        linear.weight, linear.bias = rng.randn(64, 5) * 0.5, rng.randn(5)
        x, y = rng.randn(6, 3, 8, 8), rng.randint(5, size=6)

        params = [torch.tensor(a, requires_grad=True)
                  for a in (x, conv.weight, conv.bias, linear.weight, linear.bias)]
        tx, tcw, tcb, tlw, tlb = params
        hidden = torch.nn.functional.max_pool2d(
            torch.relu(torch.nn.functional.conv2d(tx, tcw, tcb, 1, 1)), 2, 2)
        scores = hidden.flatten(1) @ tlw + tlb
        torch_loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(y))
        torch_loss.backward()

        probs, loss = model.forward(x, y)
        model.backward()
        np.testing.assert_allclose(probs, torch.softmax(scores, 1).detach().numpy(), rtol=1e-12)
        self.assertAlmostEqual(loss, torch_loss.item(), places=12)
        ours = (model.modules[0].dx, conv.dw, conv.db, linear.dw, linear.db)
        for name, mine, param in zip(('dx', 'conv dw', 'conv db', 'linear dw', 'linear db'),
                                     ours, params):
            with self.subTest(gradient=name):
                np.testing.assert_allclose(mine, param.grad.numpy(), rtol=1e-10, atol=1e-12)

    def test_overfits_ten_random_samples(self):
        rng = np.random.RandomState(0)
        x, y = rng.randn(10, 3, 8, 8), np.arange(10)
        network = SMALL_NETWORK[:3] + [dict(type='Linear', in_dim=64, out_dim=10)]
        model = ConvNet(network, CRITERION)
        trainer = Trainer(model, SGD(model, learning_rate=3e-2), batch_size=5, epochs=40)
        history = trainer.train(x, y)
        self.assertEqual(trainer.accuracy(x, y), 1.0)
        self.assertLess(history['epoch_loss'][-1], 0.1)
        self.assertLess(history['epoch_loss'][-1], history['epoch_loss'][0] / 20)


if __name__ == '__main__':
    unittest.main()
