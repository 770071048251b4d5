import unittest

import numpy as np

from scratch.modules import ConvNet
from scratch.optimizer import SGD
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


if __name__ == '__main__':
    unittest.main()
