"""scratch.cs231n.layers: CS231n's layer functions against numerical gradients, reference
formulas and the values CS231n's notebooks print."""
import unittest

import numpy as np

from scratch.cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from scratch.cs231n.layers import *  # noqa: F403 (the notebook's import, tested as such)


def check_backward(test, forward, backward, inputs, limit=1e-7):
    """Assert backward(dout, cache) matches centred differences of sum(forward(*inputs) * dout)
    for every input, by CS231n's rel_error."""
    out, cache = forward(*inputs)
    # A Generator, not RandomState(seed): a dout equal to an input drawn from the same seed
    # would make BatchNorm's gradient vanish.
    dout = np.random.default_rng(0).standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for index, (array, grad) in enumerate(zip(inputs, grads)):
        numeric = eval_numerical_gradient_array(lambda _: forward(*inputs)[0], array, dout)
        test.assertLessEqual(rel_error(numeric, grad), limit, f"input {index}")


class NotebookValuesTest(unittest.TestCase):
    def test_affine_forward_on_linspace_inputs(self):
        # The cell of CS231n's FullyConnectedNets notebook: its published output, which the
        # plain formula reproduces.
        x = np.linspace(-0.1, 0.5, num=240).reshape(2, 4, 5, 6)
        w = np.linspace(-0.2, 0.3, num=360).reshape(120, 3)
        b = np.linspace(-0.3, 0.1, num=3)
        out, _ = affine_forward(x, w, b)
        published = np.array([[1.49834967, 1.70660132, 1.91485297],
                              [3.25553199, 3.51413270, 3.77273342]])
        self.assertLess(rel_error(out, published), 1e-8)
        reference = np.einsum('nd,dm->nm', x.reshape(2, -1), w) + b
        self.assertLess(rel_error(out, reference), 1e-14)

    def test_relu_forward_on_linspace(self):
        x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
        out, _ = relu_forward(x)
        np.testing.assert_array_equal(out, np.where(x > 0, x, 0.0))

    def test_conv_forward_naive_on_linspace(self):
        x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
        w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
        b = np.linspace(-0.1, 0.2, num=3)
        out, _ = conv_forward_naive(x, w, b, {'stride': 2, 'pad': 1})
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        reference = np.empty((2, 3, 2, 2))
        for i in range(2):
            for j in range(2):
                window = padded[:, :, 2 * i:2 * i + 4, 2 * j:2 * j + 4]
                reference[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
        self.assertLess(rel_error(out, reference), 1e-12)

    def test_softmax_and_svm_losses_of_small_random_scores(self):
        # Scores near zero: softmax loss near log(C), hinge loss near C - 1 (notebook checks).
        rng = np.random.RandomState(231)
        x, y = 0.001 * rng.randn(50, 10), rng.randint(10, size=50)
        self.assertAlmostEqual(softmax_loss(x, y)[0], np.log(10), delta=0.01)
        self.assertAlmostEqual(svm_loss(x, y)[0], 9.0, delta=0.02)


class BackwardTest(unittest.TestCase):
    def test_affine(self):
        rng = np.random.RandomState(0)
        check_backward(self, affine_forward, affine_backward,
                       [rng.randn(3, 2, 5), rng.randn(10, 7), rng.randn(7)])

    def test_relu(self):
        x = np.random.RandomState(1).randn(5, 7)
        x[np.abs(x) < 0.05] = 0.5  # away from the kink
        check_backward(self, relu_forward, relu_backward, [x])

    def test_softmax_and_svm_loss(self):
        rng = np.random.RandomState(2)
        x, y = rng.randn(7, 5), rng.randint(5, size=7)
        for loss_function in (softmax_loss, svm_loss):
            with self.subTest(loss_function.__name__):
                loss, dx = loss_function(x, y)
                numeric = eval_numerical_gradient_array(lambda z: loss_function(z, y)[0], x,
                                                        1.0)
                self.assertLessEqual(rel_error(numeric, dx), 1e-7)

    def test_svm_loss_matches_its_definition(self):
        rng = np.random.RandomState(3)
        x, y = rng.randn(6, 4), rng.randint(4, size=6)
        expected = np.mean([sum(max(0.0, x[n, j] - x[n, y[n]] + 1) for j in range(4) if j != y[n])
                            for n in range(6)])
        self.assertAlmostEqual(svm_loss(x, y)[0], expected, places=12)

    def test_batchnorm_both_backward_forms(self):
        rng = np.random.RandomState(4)
        x, gamma, beta = 5 * rng.randn(6, 5) + 12, rng.randn(5), rng.randn(5)

        def forward(x, gamma, beta):
            return batchnorm_forward(x, gamma, beta, {'mode': 'train'})

        for backward in (batchnorm_backward, batchnorm_backward_alt):
            with self.subTest(backward.__name__):
                check_backward(self, forward, backward, [x, gamma, beta])
        _, cache = forward(x, gamma, beta)
        dout = rng.randn(6, 5)
        for graph, closed in zip(batchnorm_backward(dout, cache),
                                 batchnorm_backward_alt(dout, cache)):
            self.assertLess(rel_error(graph, closed), 1e-10)

    def test_layernorm(self):
        rng = np.random.RandomState(5)
        check_backward(self, lambda x, g, b: layernorm_forward(x, g, b, {}), layernorm_backward,
                       [rng.randn(4, 5) + 0.5, rng.randn(5), rng.randn(5)])

    def test_dropout_with_a_fixed_seed(self):
        x = np.random.RandomState(6).randn(5, 9) + 10
        param = {'mode': 'train', 'p': 0.6, 'seed': 123}
        check_backward(self, lambda z: dropout_forward(z, param), dropout_backward, [x])

    def test_conv_naive_odd_shapes(self):
        rng = np.random.RandomState(7)
        for x_shape, w_shape, conv_param in (((2, 3, 7, 5), (4, 3, 3, 3), {'stride': 2, 'pad': 1}),
                                             ((1, 2, 5, 6), (3, 2, 5, 5), {'stride': 1, 'pad': 2})):
            with self.subTest(x_shape=x_shape):
                check_backward(self, lambda x, w, b: conv_forward_naive(x, w, b, conv_param),
                               conv_backward_naive,
                               [rng.randn(*x_shape), rng.randn(*w_shape), rng.randn(w_shape[0])])

    def test_max_pool_naive_rectangular_windows(self):
        x = np.random.RandomState(8).permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) / 10.0
        pool_param = {'pool_height': 3, 'pool_width': 2, 'stride': 2}
        out, _ = max_pool_forward_naive(x, pool_param)
        self.assertEqual(out.shape, (2, 3, 3, 4))
        self.assertEqual(out[1, 2, 2, 3], x[1, 2, 4:7, 6:8].max())
        check_backward(self, lambda z: max_pool_forward_naive(z, pool_param),
                       max_pool_backward_naive, [x])

    def test_spatial_batchnorm(self):
        rng = np.random.RandomState(9)
        check_backward(self, lambda x, g, b: spatial_batchnorm_forward(x, g, b,
                                                                       {'mode': 'train'}),
                       spatial_batchnorm_backward,
                       [rng.randn(2, 3, 2, 3) + 0.5, rng.randn(3), rng.randn(3)])

    def test_spatial_groupnorm_with_cs231n_shaped_gamma(self):
        rng = np.random.RandomState(10)
        gamma, beta = rng.randn(1, 4, 1, 1), rng.randn(1, 4, 1, 1)
        x = rng.randn(2, 4, 2, 3) + 0.5
        out, cache = spatial_groupnorm_forward(x, gamma, beta, 2, {})
        groups = x.reshape(2, 2, -1)
        x_hat = ((groups - groups.mean(axis=2, keepdims=True))
                 / np.sqrt(groups.var(axis=2, keepdims=True) + 1e-5)).reshape(x.shape)
        self.assertLess(rel_error(out, gamma * x_hat + beta), 1e-12)
        dx, dgamma, dbeta = spatial_groupnorm_backward(np.ones_like(out), cache)
        self.assertEqual((dgamma.shape, dbeta.shape), ((1, 4, 1, 1), (1, 4, 1, 1)))
        check_backward(self, lambda z, g, b: spatial_groupnorm_forward(z, g, b, 2, {}),
                       spatial_groupnorm_backward, [x, gamma, beta])


class ParameterDictTest(unittest.TestCase):
    def test_batchnorm_running_statistics_in_the_dict_in_place(self):
        rng = np.random.RandomState(11)
        bn_param = {'mode': 'train', 'momentum': 0.8}
        x1, x2 = rng.randn(8, 3) + 2, rng.randn(8, 3) - 1
        batchnorm_forward(x1, np.ones(3), np.zeros(3), bn_param)
        running_mean = bn_param['running_mean']
        batchnorm_forward(x2, np.ones(3), np.zeros(3), bn_param)
        self.assertIs(bn_param['running_mean'], running_mean)  # the same array, updated
        expected = 0.8 * (0.2 * x1.mean(axis=0)) + 0.2 * x2.mean(axis=0)  # from zeros
        np.testing.assert_allclose(running_mean, expected, rtol=1e-12)
        np.testing.assert_allclose(bn_param['running_var'],
                                   0.8 * 0.2 * x1.var(axis=0) + 0.2 * x2.var(axis=0), rtol=1e-12)
        bn_param['mode'] = 'test'
        before = running_mean.copy()
        out, _ = batchnorm_forward(x1, 2 * np.ones(3), np.ones(3), bn_param)
        np.testing.assert_allclose(out, 2 * (x1 - expected) / np.sqrt(
            bn_param['running_var'] + 1e-5) + 1, rtol=1e-12)
        np.testing.assert_array_equal(bn_param['running_mean'], before)

    def test_train_mode_normalises_every_feature(self):
        x = np.random.RandomState(12).randn(200, 3) * [1, 5, 9] + [3, -2, 7]
        out, _ = batchnorm_forward(x, np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0]),
                                   {'mode': 'train'})
        np.testing.assert_allclose(out.mean(axis=0), [11, 12, 13], atol=1e-10)
        np.testing.assert_allclose(out.std(axis=0), [1, 2, 3], rtol=1e-4)

    def test_dropout_p_is_the_keep_probability(self):
        x = np.random.RandomState(13).randn(500, 500) + 10
        for keep in (0.25, 0.6):
            with self.subTest(keep=keep):
                out, _ = dropout_forward(x, {'mode': 'train', 'p': keep, 'seed': 0})
                self.assertAlmostEqual(np.mean(out == 0), 1 - keep, delta=0.005)
                np.testing.assert_allclose(out[out != 0], (x / keep)[out != 0])
                test_out, _ = dropout_forward(x, {'mode': 'test', 'p': keep})
                self.assertIs(test_out, x)
        with self.assertRaisesRegex(ValueError, r"keep probability, in \(0, 1\]; got 0"):
            dropout_forward(x, {'mode': 'train', 'p': 0})
        with self.assertRaisesRegex(ValueError, r"mode'\] must be 'train' or 'test'"):
            batchnorm_forward(x, np.ones(500), np.zeros(500), {'mode': 'eval'})


if __name__ == '__main__':
    unittest.main()
