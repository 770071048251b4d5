import unittest

import numpy as np

from scratch.modules import ConvNet, fully_connected
from scratch.optimizer import SGD, Adam
from scratch.trainer import Trainer

NETWORK = [dict(type='Linear', in_dim=12, out_dim=3)]


def make_trainer(**kwargs):
    model = ConvNet(NETWORK, dict(type='SoftmaxCrossEntropy'))
    return Trainer(model, SGD(model, learning_rate=0.1), **kwargs)


def data():
    rng = np.random.RandomState(0)
    return rng.randn(7, 3, 2, 2), rng.randint(3, size=7)


class TrainerTest(unittest.TestCase):
    def test_histories_and_learning_rate_decay(self):
        trainer = make_trainer(batch_size=3, epochs=4, lr_decay=0.5)
        history = trainer.train(*data())
        self.assertEqual(len(history['batch_loss']), 4 * 3)  # 7 samples: batches of 3, 3, 1
        self.assertEqual(len(history['epoch_loss']), 4)
        np.testing.assert_allclose(history['learning_rate'], [0.1, 0.05, 0.025, 0.0125])
        self.assertAlmostEqual(trainer.optimizer.learning_rate, 0.00625)
        self.assertTrue(all(0 <= a <= 1 for a in history['epoch_accuracy']))
        self.assertLess(history['epoch_loss'][-1], history['epoch_loss'][0])

    def test_epoch_loss_weights_batches_by_size(self):
        trainer = make_trainer(batch_size=3, epochs=1)
        history = trainer.train(*data())
        # The model changes after every step, so the per-batch losses are what it saw.
        self.assertAlmostEqual(history['epoch_loss'][0],
                               np.dot(history['batch_loss'], [3, 3, 1]) / 7)

    def test_repeats_exactly_and_reports_each_epoch(self):
        seen = []
        first = make_trainer(epochs=3, batch_size=2).train(
            *data(), on_epoch=lambda epoch, history: seen.append(epoch))
        second = make_trainer(epochs=3, batch_size=2).train(*data())
        self.assertEqual(first, second)
        self.assertEqual(seen, [1, 2, 3])

    def test_accuracy(self):
        trainer = make_trainer(batch_size=4)
        x, y = data()
        scores = x.reshape(7, -1) @ trainer.model.modules[0].weight
        self.assertEqual(trainer.accuracy(x, y), np.mean(scores.argmax(axis=1) == y))
        trainer.model.modules[0].bias[:] = [0.0, 0.0, 1e6]
        self.assertEqual(trainer.accuracy(x, y), np.mean(y == 2))


class ValidationTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.RandomState(0)
        self.x, self.y = rng.randn(40, 6), rng.randint(3, size=40)
        self.val = (rng.randn(30, 6), rng.randint(3, size=30))

    def test_keeps_the_weights_of_the_best_epoch(self):
        model = fully_connected(6, [8], 3, norm='batch', dropout=0.3, seed=0)
        trainer = Trainer(model, Adam(model, learning_rate=0.05), batch_size=8, epochs=8,
                          accuracy_samples=25)
        states = []
        history = trainer.train(self.x, self.y, val=self.val,
                                on_epoch=lambda epoch, h: states.append(model.state_dict()))
        for key in ('train_accuracy', 'val_loss', 'val_accuracy'):
            self.assertEqual(len(history[key]), 8)
        best = int(np.argmax(history['val_accuracy']))  # the first of equal maxima
        self.assertEqual((trainer.best_epoch, trainer.best_val_accuracy),
                         (best + 1, history['val_accuracy'][best]))
        self.assertLess(trainer.best_epoch, 8)  # the case where keeping the best matters
        for key, array in model.state_dict().items():
            np.testing.assert_array_equal(array, states[best][key], err_msg=str(key))
        self.assertEqual(trainer.evaluate(*self.val)[1], trainer.best_val_accuracy)
        # the training accuracy is measured on the first 25 samples, in evaluation mode
        self.assertEqual(trainer.accuracy(self.x[:25], self.y[:25]),
                         history['train_accuracy'][best])

    def test_evaluate_uses_evaluation_mode_and_restores_the_mode(self):
        model = fully_connected(6, [8], 3, dropout=0.9, seed=0)
        trainer = Trainer(model, SGD(model), batch_size=7)
        loss, accuracy = trainer.evaluate(*self.val)
        self.assertTrue(model.training)
        self.assertEqual(trainer.evaluate(*self.val), (loss, accuracy))  # no dropout masks
        model.eval()
        probs, expected_loss = model.forward(*self.val)
        self.assertAlmostEqual(loss, expected_loss, places=12)
        self.assertEqual(accuracy, np.mean(probs.argmax(axis=1) == self.val[1]))
        trainer.evaluate(*self.val)
        self.assertFalse(model.training)

    def test_learning_rate_decays_for_any_optimizer(self):
        model = fully_connected(6, [4], 3)
        trainer = Trainer(model, Adam(model, learning_rate=1e-2), batch_size=10, epochs=3,
                          lr_decay=0.9)
        history = trainer.train(self.x, self.y)
        np.testing.assert_allclose(history['learning_rate'], [1e-2, 9e-3, 8.1e-3])
        self.assertNotIn('val_accuracy', history)


if __name__ == '__main__':
    unittest.main()
