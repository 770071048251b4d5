"""Mini-batch training of a ConvNet with an optimizer, with validation and best-weight keeping."""
import numpy as np


class Trainer:
    """Runs epochs of shuffled mini-batches and records loss and accuracy.

    Inputs to the constructor:
    - model: has ``forward(x, y) -> (probs, loss)``, ``backward()``, ``train()``, ``eval()``,
      ``state_dict()`` and ``load_state_dict(state)`` (a ``ConvNet``)
    - optimizer: has ``update(model)`` and a ``learning_rate`` attribute (``SGD``, ``Adam``, ...)
    - batch_size: samples per step; the last batch of an epoch may be smaller
    - epochs: passes over the data
    - lr_decay: the learning rate is multiplied by this after every epoch (1.0: constant)
    - seed: seeds the trainer's own shuffling generator, so runs repeat exactly
    - accuracy_samples: with validation data, the training accuracy after each epoch is measured
      on the first this many training samples (all of them when None)

    Attributes (with validation data, after ``train``):
    - best_val_accuracy, best_epoch: the best validation accuracy and the epoch (from 1) that
      reached it first; the model holds that epoch's weights
    """

    def __init__(self, model, optimizer, batch_size=10, epochs=10, lr_decay=1.0, seed=0,
                 accuracy_samples=1000):
        self.model = model
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.epochs = epochs
        self.lr_decay = lr_decay
        self.accuracy_samples = accuracy_samples
        self.rng = np.random.RandomState(seed)
        self.best_val_accuracy = self.best_epoch = None

    def train(self, x, y, on_epoch=None, val=None):
        """Train on x of shape (N, ...) with labels y of shape (N,).

        Inputs:
        - on_epoch: optional callable ``on_epoch(epoch, history)`` after every epoch
          (epoch counts from 1)
        - val: optional (x_val, y_val); when given, the model is evaluated after every epoch
          and ends up with the weights (and BatchNorm statistics) of its best epoch

        Returns a dict of lists (the history):
        - 'batch_loss': the loss of every step, in order
        - 'epoch_loss': per epoch, the mean loss of its steps, weighted by batch size
        - 'epoch_accuracy': per epoch, the fraction of samples classified correctly when their
          batch went forward (in training mode, before that step's update)
        - 'learning_rate': the learning rate each epoch used
        and with val, per epoch, in evaluation mode after the epoch's last step:
        - 'train_accuracy': accuracy on the first ``accuracy_samples`` training samples
        - 'val_loss', 'val_accuracy': mean loss and accuracy on the validation data
        """
        history = {'batch_loss': [], 'epoch_loss': [], 'epoch_accuracy': [], 'learning_rate': []}
        if val is not None:
            history.update(train_accuracy=[], val_loss=[], val_accuracy=[])
            best_state = None
        for epoch in range(1, self.epochs + 1):
            self.model.train()
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
            if val is not None:
                history['train_accuracy'].append(
                    self.evaluate(x[:self.accuracy_samples], y[:self.accuracy_samples])[1])
                val_loss, val_accuracy = self.evaluate(*val)
                history['val_loss'].append(val_loss)
                history['val_accuracy'].append(val_accuracy)
                if best_state is None or val_accuracy > self.best_val_accuracy:
                    self.best_val_accuracy, self.best_epoch = val_accuracy, epoch
                    best_state = self.model.state_dict()
            if on_epoch is not None:
                on_epoch(epoch, history)
        if val is not None:
            self.model.load_state_dict(best_state)
        return history

    def evaluate(self, x, y):
        """Mean loss and accuracy of the model in evaluation mode on x (N, ...) and y (N,).

        Runs in batches of batch_size and leaves the model in the mode it found it in.

        Returns a tuple of:
        - loss: mean over the N samples, a float
        - accuracy: fraction classified correctly, a float
        """
        was_training = self.model.training
        self.model.eval()
        loss_sum = correct = 0
        for start in range(0, len(x), self.batch_size):
            x_batch, y_batch = x[start:start + self.batch_size], y[start:start + self.batch_size]
            probs, loss = self.model.forward(x_batch, y_batch)
            loss_sum += loss * len(y_batch)
            correct += int((probs.argmax(axis=1) == y_batch).sum())
        self.model.train(was_training)
        return loss_sum / len(x), correct / len(x)

    def accuracy(self, x, y):
        """Fraction of x (N, ...) that the model classifies as y (N,), in evaluation mode."""
        return self.evaluate(x, y)[1]
