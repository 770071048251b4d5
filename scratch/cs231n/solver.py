"""CS231n's Solver: minibatch training of a model with ``params`` and ``loss(X, y=None)`` by an
update rule from ``optim``, with accuracy checks every epoch and the best parameters kept."""
import numpy as np

from fileio import atomic_path

from . import optim

__all__ = ['Solver']


class Solver:
    """Trains ``model`` on ``data`` as CS231n's Solver does.

    Inputs to the constructor:
    - model: has ``params`` (dict of arrays) and ``loss(X, y=None)`` returning scores, or
      (loss, grads) with grads keyed like params
    - data: dict with 'X_train', 'y_train', 'X_val', 'y_val'
    - update_rule: name of a rule in ``optim`` ('sgd', 'sgd_momentum', 'rmsprop', 'adam')
    - optim_config: hyperparameters given to the rule; every parameter gets its own copy
      (and so its own state)
    - lr_decay: every config's learning_rate is multiplied by this after each epoch
    - batch_size: samples per step, drawn at random with replacement (NumPy's global
      generator, as in CS231n)
    - num_epochs: an epoch is max(N_train // batch_size, 1) steps
    - num_train_samples, num_val_samples: the accuracy checks use this many random samples
      (None: all)
    - checkpoint_name: when given, every check saves the parameters and histories to
      '<checkpoint_name>_epoch_<e>.npz' (NumPy arrays; CS231n pickles instead)
    - print_every: steps between loss lines; verbose: print anything at all

    Attributes after ``train()``:
    - loss_history: every step's loss; train_acc_history, val_acc_history: per check (after
      the first step, every epoch and the last step)
    - best_val_acc, best_params: the best validation accuracy and copies of the parameters
      that reached it; the model ends with those parameters
    """

    def __init__(self, model, data, update_rule='sgd', optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=10, verbose=True):
        if update_rule not in optim.__all__:
            raise ValueError(f"Invalid update_rule {update_rule!r}: one of "
                             f"{', '.join(optim.__all__)}")
        self.model = model
        self.X_train, self.y_train = data['X_train'], data['y_train']
        self.X_val, self.y_val = data['X_val'], data['y_val']
        self.update_rule = getattr(optim, update_rule)
        self.optim_config = dict(optim_config or {})
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = verbose
        self._reset()

    def _reset(self):
        """Empty histories and fresh per-parameter optimizer configs."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """One update on a random minibatch."""
        batch = np.random.choice(self.X_train.shape[0], self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(loss)
        for name, w in self.model.params.items():
            self.model.params[name], self.optim_configs[name] = self.update_rule(
                w, grads[name], self.optim_configs[name])

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of X (N, ...) the model labels y (N,), on num_samples random samples
        (drawn with replacement) when N is larger, scored batch_size at a time."""
        if num_samples is not None and len(X) > num_samples:
            chosen = np.random.choice(len(X), num_samples)
            X, y = X[chosen], y[chosen]
        predictions = np.concatenate([np.argmax(self.model.loss(X[start:start + batch_size]),
                                                axis=1)
                                      for start in range(0, len(X), batch_size)])
        return float(np.mean(predictions == y))

    def train(self):
        """Run num_epochs epochs of updates, then load the best parameters into the model."""
        iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: "
                      f"{self.loss_history[-1]:f}")
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config['learning_rate'] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                self._check()
        self.model.params = self.best_params

    def _check(self):
        """Record training and validation accuracy; keep the parameters when validation is
        the best so far; save a checkpoint when asked."""
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.checkpoint_name is not None:
            self._save_checkpoint()
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                  f"val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}

    def _save_checkpoint(self):
        """The parameters ('param_<name>') and histories as an .npz file, written atomically."""
        path = f"{self.checkpoint_name}_epoch_{self.epoch}.npz"
        arrays = {f"param_{name}": w for name, w in self.model.params.items()}
        with atomic_path(path, suffix='.npz') as tmp_path:
            np.savez(tmp_path, epoch=self.epoch, loss_history=self.loss_history,
                     train_acc_history=self.train_acc_history,
                     val_acc_history=self.val_acc_history, **arrays)
        if self.verbose:
            print(f'Saving checkpoint to "{path}"')
