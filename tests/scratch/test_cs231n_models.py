"""scratch.cs231n: fast layers against the naive ones, the sandwiches, the two models, the
update rules and the Solver."""
import io
import unittest
from contextlib import redirect_stdout

import numpy as np

from scratch.cs231n.classifiers.cnn import *  # noqa: F403 (the notebook's imports)
from scratch.cs231n.classifiers.fc_net import *  # noqa: F403
from scratch.cs231n.fast_layers import *  # noqa: F403
from scratch.cs231n.gradient_check import eval_numerical_gradient, rel_error
from scratch.cs231n.layer_utils import *  # noqa: F403
from scratch.cs231n.layers import conv_backward_naive, conv_forward_naive
from scratch.cs231n.layers import max_pool_backward_naive, max_pool_forward_naive
from scratch.cs231n.optim import *  # noqa: F403
from scratch.cs231n.solver import Solver
from tests.scratch.test_cs231n_layers import check_backward


def model_errors(model, X, y, skip=()):
    """CS231n's rel_error of every parameter's gradient against centred differences."""
    _, grads = model.loss(X, y)
    return {name: rel_error(eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                                    model.params[name], verbose=False), grad)
            for name, grad in grads.items() if name not in skip}


class FastLayersTest(unittest.TestCase):
    def test_fast_equals_naive(self):
        rng = np.random.RandomState(0)
        x, w, b = rng.randn(2, 3, 9, 7), rng.randn(4, 3, 3, 3), rng.randn(4)
        conv_param = {'stride': 2, 'pad': 1}
        naive, naive_cache = conv_forward_naive(x, w, b, conv_param)
        fast, fast_cache = conv_forward_fast(x, w, b, conv_param)
        self.assertLess(rel_error(naive, fast), 1e-10)
        dout = rng.randn(*naive.shape)
        for a, b_ in zip(conv_backward_naive(dout, naive_cache),
                         conv_backward_fast(dout, fast_cache)):
            self.assertLess(rel_error(a, b_), 1e-10)
        pool_param = {'pool_height': 2, 'pool_width': 3, 'stride': 2}
        naive, naive_cache = max_pool_forward_naive(x, pool_param)
        fast, fast_cache = max_pool_forward_fast(x, pool_param)
        self.assertLess(rel_error(naive, fast), 1e-10)
        dout = rng.randn(*naive.shape)
        self.assertLess(rel_error(max_pool_backward_naive(dout, naive_cache),
                                  max_pool_backward_fast(dout, fast_cache)), 1e-10)

    def test_sandwiches(self):
        rng = np.random.RandomState(1)
        conv_param = {'stride': 1, 'pad': 1}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
        x, w, b = rng.randn(2, 2, 4, 6), rng.randn(3, 2, 3, 3), rng.randn(3)
        check_backward(self, lambda *a: conv_relu_pool_forward(*a, conv_param, pool_param),
                       conv_relu_pool_backward, [x, w, b])
        check_backward(self, lambda *a: conv_relu_forward(*a, conv_param), conv_relu_backward,
                       [x, w, b])
        check_backward(self, affine_relu_forward, affine_relu_backward,
                       [rng.randn(3, 2, 4), rng.randn(8, 5), rng.randn(5)])


class FullyConnectedNetTest(unittest.TestCase):
    def setUp(self):
        np.random.seed(231)
        self.X = np.random.randn(2, 15)
        self.y = np.random.randint(10, size=2)

    def test_notebook_initial_losses_and_the_plain_formula(self):
        # CS231n's FullyConnectedNets notebook prints 2.3004790897684924 and 7.052114776533016
        # for this cell (np.random.seed(231), reg 0 and 3.14); the reference below recomputes
        # them from the parameters with nothing but NumPy.
        for reg, published in ((0.0, 2.3004790897684924), (3.14, 7.052114776533016)):
            model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, reg=reg,
                                      weight_scale=5e-2, dtype=np.float64)
            loss, _ = model.loss(self.X, self.y)
            p = model.params
            h = np.maximum(0, np.maximum(0, self.X @ p['W1'] + p['b1']) @ p['W2'] + p['b2'])
            scores = h @ p['W3'] + p['b3']
            log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            reference = (-log_probs[[0, 1], self.y].mean()
                         + 0.5 * reg * sum((p[f"W{i}"] ** 2).sum() for i in (1, 2, 3)))
            self.assertAlmostEqual(loss, reference, places=12)
            self.assertAlmostEqual(loss, published, places=12)

    def test_initial_loss_near_log_10_and_rising_with_reg(self):
        X, y = np.random.randn(50, 20), np.random.randint(10, size=50)
        losses = []
        for reg in (0.0, 1.0, 10.0):
            np.random.seed(0)
            model = FullyConnectedNet([30, 30], input_dim=20, reg=reg, weight_scale=1e-2,
                                      dtype=np.float64)
            losses.append(model.loss(X, y)[0])
        self.assertAlmostEqual(losses[0], np.log(10), delta=0.01)
        self.assertLess(losses[0], losses[1])
        self.assertLess(losses[1], losses[2])
        self.assertEqual(model.loss(X).shape, (50, 10))

    def test_gradients_with_each_normalization_and_dropout(self):
        np.random.seed(3)
        X, y = np.random.randn(4, 5) + 0.3, np.array([0, 2, 1, 2])
        for normalization, keep in ((None, 1), ('batchnorm', 1), ('layernorm', 1),
                                    (None, 0.7)):
            with self.subTest(normalization=normalization, keep=keep):
                model = FullyConnectedNet([6, 7], input_dim=5, num_classes=3, reg=0.1,
                                          weight_scale=0.5, normalization=normalization,
                                          dropout_keep_ratio=keep, dtype=np.float64, seed=5)
                for name in ('b1', 'b2', 'b3'):  # no pre-activation exactly at ReLU's kink
                    model.params[name] = 0.1 * np.random.randn(*model.params[name].shape)
                # A bias right before BatchNorm gets exactly zero gradient: nothing to compare
                # to but zero.
                skip = ('b1', 'b2') if normalization == 'batchnorm' else ()
                for name, error in model_errors(model, X, y, skip).items():
                    self.assertLessEqual(error, 1e-6, name)
                _, grads = model.loss(X, y)
                for name in skip:
                    np.testing.assert_allclose(grads[name], 0, atol=1e-12)

    def test_parameters_and_their_dtype(self):
        model = FullyConnectedNet([4, 3], input_dim=6, num_classes=2, normalization='batchnorm')
        self.assertEqual({name: value.shape for name, value in model.params.items()},
                         {'W1': (6, 4), 'b1': (4,), 'gamma1': (4,), 'beta1': (4,),
                          'W2': (4, 3), 'b2': (3,), 'gamma2': (3,), 'beta2': (3,),
                          'W3': (3, 2), 'b3': (2,)})
        self.assertTrue(all(value.dtype == np.float32 for value in model.params.values()))


class ThreeLayerConvNetTest(unittest.TestCase):
    def test_initial_loss_and_reg(self):
        np.random.seed(0)
        X, y = np.random.randn(10, 3, 16, 16), np.random.randint(10, size=10)
        losses = []
        for reg in (0.0, 0.5):
            np.random.seed(1)
            model = ThreeLayerConvNet(input_dim=(3, 16, 16), num_filters=4, filter_size=3,
                                      hidden_dim=20, weight_scale=1e-2, reg=reg)
            losses.append(model.loss(X, y)[0])
        self.assertAlmostEqual(losses[0], np.log(10), delta=0.01)
        self.assertGreater(losses[1], losses[0])

    def test_gradients(self):
        np.random.seed(2)
        X, y = np.random.randn(2, 3, 6, 4), np.random.randint(10, size=2)
        model = ThreeLayerConvNet(input_dim=(3, 6, 4), num_filters=3, filter_size=3,
                                  hidden_dim=7, weight_scale=0.1, reg=0.05, dtype=np.float64)
        self.assertEqual(model.params['W2'].shape, (3 * 3 * 2, 7))
        for name, error in model_errors(model, X, y).items():
            self.assertLessEqual(error, 1e-6, name)


class OptimTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.RandomState(4)
        self.w, self.dw, self.state = rng.randn(3, 2), rng.randn(3, 2), rng.rand(3, 2)

    def test_defaults(self):
        _, config = sgd(self.w, self.dw)
        self.assertEqual(config, {'learning_rate': 1e-2})
        _, config = sgd_momentum(self.w, self.dw)
        self.assertEqual((config['learning_rate'], config['momentum']), (1e-2, 0.9))
        _, config = rmsprop(self.w, self.dw)
        self.assertEqual((config['learning_rate'], config['decay_rate'], config['epsilon']),
                         (1e-2, 0.99, 1e-8))
        _, config = adam(self.w, self.dw)
        self.assertEqual((config['learning_rate'], config['beta1'], config['beta2'],
                          config['epsilon'], config['t']), (1e-3, 0.9, 0.999, 1e-8, 1))

    def test_steps_by_hand(self):
        w, dw, state = self.w, self.dw, self.state
        original = w.copy()
        next_w, _ = sgd(w, dw, {'learning_rate': 0.1})
        np.testing.assert_allclose(next_w, w - 0.1 * dw, rtol=1e-15)
        next_w, config = sgd_momentum(w, dw, {'learning_rate': 0.1, 'velocity': state})
        velocity = 0.9 * state - 0.1 * dw
        np.testing.assert_allclose(config['velocity'], velocity, rtol=1e-14)
        np.testing.assert_allclose(next_w, w + velocity, rtol=1e-14)
        next_w, config = rmsprop(w, dw, {'cache': state, 'decay_rate': 0.9})
        cache = 0.9 * state + 0.1 * dw * dw
        np.testing.assert_allclose(config['cache'], cache, rtol=1e-14)
        np.testing.assert_allclose(next_w, w - 1e-2 * dw / (np.sqrt(cache) + 1e-8), rtol=1e-14)
        config = {'learning_rate': 0.01, 'm': state, 'v': state / 2, 't': 5}
        next_w, config = adam(w, dw, config)
        m = 0.9 * state + 0.1 * dw
        v = 0.999 * state / 2 + 0.001 * dw * dw
        expected = w - 0.01 * (m / (1 - 0.9 ** 6)) / (np.sqrt(v / (1 - 0.999 ** 6)) + 1e-8)
        self.assertEqual(config['t'], 6)
        np.testing.assert_allclose(config['m'], m, rtol=1e-14)
        np.testing.assert_allclose(config['v'], v, rtol=1e-14)
        np.testing.assert_allclose(next_w, expected, rtol=1e-14)
        np.testing.assert_array_equal(w, original)  # the rules never change their inputs


def learnable_images(count, shape, seed, noise=0.5):
    """count images of 10 classes: a fixed random template per class plus Gaussian noise."""
    templates = np.random.RandomState(100).randn(10, *shape)
    rng = np.random.RandomState(seed)
    y = rng.randint(10, size=count)
    return templates[y] + noise * rng.randn(count, *shape), y


class SolverTest(unittest.TestCase):
    def test_cnn_overfits_fifty_images(self):
        np.random.seed(0)
        X, y = learnable_images(50, (3, 16, 16), seed=1, noise=2.0)
        model = ThreeLayerConvNet(input_dim=(3, 16, 16), num_filters=16, filter_size=3,
                                  hidden_dim=100, weight_scale=5e-2)
        solver = Solver(model, {'X_train': X, 'y_train': y, 'X_val': X[:10], 'y_val': y[:10]},
                        update_rule='adam', optim_config={'learning_rate': 1e-3},
                        batch_size=25, num_epochs=15, verbose=False)
        solver.train()
        self.assertGreaterEqual(solver.train_acc_history[-1], 0.9)
        self.assertEqual(len(solver.loss_history), 30)
        self.assertEqual(len(solver.train_acc_history), 16)  # first step and every epoch

    def test_batchnorm_net_generalises_keeps_best_params_and_decays(self):
        np.random.seed(0)
        X, y = learnable_images(500, (30,), seed=2, noise=2.5)
        X_val, y_val = learnable_images(200, (30,), seed=3, noise=2.5)
        model = FullyConnectedNet([40, 40], input_dim=30, normalization='batchnorm',
                                  weight_scale=5e-2)
        solver = Solver(model, {'X_train': X, 'y_train': y, 'X_val': X_val, 'y_val': y_val},
                        update_rule='sgd_momentum', optim_config={'learning_rate': 2e-2},
                        lr_decay=0.9, batch_size=50, num_epochs=5, print_every=20)
        with redirect_stdout(io.StringIO()) as printed:
            solver.train()
        self.assertGreaterEqual(solver.best_val_acc, 0.5)
        self.assertEqual(solver.best_val_acc, max(solver.val_acc_history))
        self.assertAlmostEqual(solver.check_accuracy(X_val, y_val), solver.best_val_acc)
        for name, value in solver.best_params.items():
            np.testing.assert_array_equal(model.params[name], value)
        self.assertAlmostEqual(solver.optim_configs['W1']['learning_rate'], 2e-2 * 0.9 ** 5)
        self.assertIn('(Iteration 1 / 50) loss: ', printed.getvalue())
        self.assertIn('(Epoch 5 / 5) train acc: ', printed.getvalue())

    def test_unknown_rule(self):
        model = FullyConnectedNet([3], input_dim=4)
        data = dict(X_train=np.zeros((2, 4)), y_train=np.zeros(2, int), X_val=np.zeros((2, 4)),
                    y_val=np.zeros(2, int))
        with self.assertRaisesRegex(ValueError, "Invalid update_rule 'nadam'"):
            Solver(model, data, update_rule='nadam')


if __name__ == '__main__':
    unittest.main()
