"""Mini-batch training of a ConvNet with an optimizer."""
import numpy as np


class Trainer:
    """Runs epochs of shuffled mini-batches and records loss and accuracy.

    Inputs to the constructor:
    - model: has ``forward(x, y) -> (probs, loss)`` and ``backward()`` (a ``ConvNet``)
    - optimizer: has ``update(model)`` and a ``learning_rate`` attribute (an ``SGD``)
    - batch_size: samples per step; the last batch of an epoch may be smaller
    - epochs: passes over the data
    - lr_decay: the learning rate is multiplied by this after every epoch (1.0: constant)
    - seed: seeds the trainer's own shuffling generator, so runs repeat exactly
    """

    def __init__(self, model, optimizer, batch_size=10, epochs=10, lr_decay=1.0, seed=0):
        self.model = model
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.epochs = epochs
        self.lr_decay = lr_decay
        self.rng = np.random.RandomState(seed)

    def train(self, x, y, on_epoch=None):
        """Train on x of shape (N, ...) with labels y of shape (N,).

        Inputs:
        - on_epoch: optional callable ``on_epoch(epoch, history)`` after every epoch
          (epoch counts from 1)

        Returns a dict of lists (the history):
        - 'batch_loss': the loss of every step, in order
        - 'epoch_loss': per epoch, the mean loss of its steps, weighted by batch size
        - 'epoch_accuracy': per epoch, the fraction of samples classified correctly when their
          batch went forward (before that step's update)
        - 'learning_rate': the learning rate each epoch used
        """
        history = {'batch_loss': [], 'epoch_loss': [], 'epoch_accuracy': [], 'learning_rate': []}
        for epoch in range(1, self.epochs + 1):
            order = self.rng.permutation(len(x))
            loss_sum = correct = 0
            for start in range(0, len(x), self.batch_size):
                batch = order[start:start + self.batch_size]
                probs, loss = self.model.forward(x[batch], y[batch])
                self.model.backward()
                self.optimizer.update(self.model)
                history['batch_loss'].append(loss)
                loss_sum += loss * len(batch)
                correct += int((probs.argmax(axis=1) == y[batch]).sum())
            history['epoch_loss'].append(loss_sum / len(x))
            history['epoch_accuracy'].append(correct / len(x))
            history['learning_rate'].append(self.optimizer.learning_rate)
            self.optimizer.learning_rate *= self.lr_decay
            if on_epoch is not None:
                on_epoch(epoch, history)
        return history

    def accuracy(self, x, y):
        """Fraction of x (N, ...) that the model classifies as y (N,), in batches of batch_size."""
        correct = 0
        for start in range(0, len(x), self.batch_size):
            probs, _ = self.model.forward(x[start:start + self.batch_size],
                                          y[start:start + self.batch_size])
            correct += int((probs.argmax(axis=1) == y[start:start + self.batch_size]).sum())
        return correct / len(x)
