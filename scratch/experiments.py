"""Experiments that show what normalisation, adaptive optimizers and dropout do, on scratch/'s
NumPy layers.

    python scratch/experiments.py batchnorm    # a 6-layer net with and without BatchNorm,
                                               # over a range of weight-initialisation scales
    python scratch/experiments.py optimizers   # SGD, momentum, Nesterov, RMSProp, Adam
    python scratch/experiments.py dropout      # 500 training images, with and without dropout
    python scratch/experiments.py filters      # first-layer filters of a trained ConvNet
    python scratch/experiments.py cs231n       # CS231n's FullyConnectedNet (BatchNorm,
                                               # dropout) and ThreeLayerConvNet by its Solver

Data: CIFAR-10 from data/cifar-10-batches-py (torchvision's download) when it is there,
``--data DIR`` for an ImageFolder copy, and built-in synthetic images otherwise (or with
``--synthetic``); the first line printed says which. Training images come first in the source's
order and validation images are the next ones, never trained on (synthetic ones are drawn with
another seed); pixels are standardised per channel with the training images' statistics. Each
experiment prints a Markdown table and saves a plot as OUT_DIR/scratch-NAME.png, in under a
minute on one core.
"""
import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread unless the user says otherwise, as in train.py: these products are small.
for variable in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(variable, '1')

REPO_ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    # Run as `python scratch/experiments.py`: as in train.py, the repository root (not
    # scratch/, which Python put first) is where the package `scratch` is found.
    sys.path[0] = str(REPO_ROOT)

import numpy as np  # noqa: E402

from fileio import atomic_path  # noqa: E402
from scratch.cli import check_folder  # noqa: E402
from scratch.cs231n.classifiers.cnn import ThreeLayerConvNet  # noqa: E402
from scratch.cs231n.classifiers.fc_net import FullyConnectedNet  # noqa: E402
from scratch.cs231n.solver import Solver  # noqa: E402
from scratch.image_data import (CIFAR_BATCH, DataNotFound, load_cifar_sample,  # noqa: E402
                                load_image_folder_sample, synthetic_sample)
from scratch.modules import build_network, count_parameters, fully_connected  # noqa: E402
from scratch.optimizer import SGD, Adam, NesterovSGD, RMSProp  # noqa: E402
from scratch.trainer import Trainer  # noqa: E402

INPUT_DIM = 3 * 32 * 32
NUM_CLASSES = 10
DEEP_HIDDEN = [100] * 5
SMOOTHING = 10
# Every network and image in float32: twice as fast as float64, and precise enough to train.
DTYPE = np.float32


class Data:
    """Standardised training and validation images, and where they came from.

    Attributes:
    - x_train (N, 3, 32, 32) of DTYPE, y_train (N,) int64; x_val, y_val likewise
    - source: one line naming the data, for the output
    """

    def __init__(self, x_train, y_train, x_val, y_val, source):
        mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
        std = x_train.std(axis=(0, 2, 3), keepdims=True)
        self.x_train = (x_train - mean) / std
        self.x_val = (x_val - mean) / std
        self.y_train, self.y_val = y_train, y_val
        self.source = source


def load_data(args, train_count, val_count):
    """train_count training and val_count validation images from the source args name.

    Raises:
    - DataNotFound: --data names a folder without ImageFolder images
    """
    if args.synthetic or (args.data is None and not CIFAR_BATCH.is_file()):
        train = synthetic_sample(train_count, seed=0)
        val = synthetic_sample(val_count, seed=1)
        why = "as asked" if args.synthetic else f"no CIFAR-10 at {_shown(CIFAR_BATCH)}"
        source = f"synthetic images ({why}; --data DIR for an ImageFolder copy)"
        split = "drawn with another seed"
    elif args.data is not None:
        train = load_image_folder_sample(args.data, train_count)
        val = load_image_folder_sample(args.data, val_count, offset=len(train[0]))
        source = f"ImageFolder {args.data}"
        split = "the next files of every class folder in train/"
    else:
        train = load_cifar_sample(CIFAR_BATCH, train_count)
        val = load_cifar_sample(CIFAR_BATCH, val_count, offset=train_count)
        source = f"CIFAR-10 {_shown(CIFAR_BATCH)}"
        split = "the next images of the batch"
    (x_train, y_train), (x_val, y_val) = train, val
    description = (f"data: {source}; {len(x_train)} training images, {len(x_val)} validation "
                   f"images ({split})")
    return Data(x_train.astype(DTYPE), y_train, x_val.astype(DTYPE), y_val, description)


def batchnorm_experiment(data):
    """A 6-layer fully connected net (5 hidden layers of 100) with and without BatchNorm, its
    weights drawn at every scale from 1e-3 to 1, trained with Adam for 10 epochs.

    Returns (table rows, figure).
    """
    scales = np.logspace(-3, 0, 7)
    results = {}
    for norm in (None, 'batch'):
        for scale in scales:
            model = fully_connected(INPUT_DIM, DEEP_HIDDEN, NUM_CLASSES, norm=norm,
                                    weight_scale=scale, seed=0, dtype=DTYPE)
            trainer = Trainer(model, Adam(model, learning_rate=1e-3), batch_size=50, epochs=10)
            history = trainer.train(data.x_train, data.y_train, val=(data.x_val, data.y_val))
            results[norm, scale] = history
    rows = [['weight scale', 'final loss, plain', 'final loss, BatchNorm', 'train acc, plain',
             'train acc, BatchNorm', 'best val acc, plain', 'best val acc, BatchNorm']]
    for scale in scales:
        plain, normed = results[None, scale], results['batch', scale]
        rows.append([f"{scale:.0e}", _loss_text(plain['epoch_loss'][-1]),
                     _loss_text(normed['epoch_loss'][-1]),
                     f"{plain['train_accuracy'][-1]:.2f}", f"{normed['train_accuracy'][-1]:.2f}",
                     f"{max(plain['val_accuracy']):.2f}", f"{max(normed['val_accuracy']):.2f}"])

    figure, axes = _figure(3)
    panels = [('best validation accuracy', lambda h: max(h['val_accuracy'])),
              ('final training accuracy', lambda h: h['train_accuracy'][-1]),
              ('final training loss', lambda h: h['epoch_loss'][-1])]
    for ax, (title, value) in zip(axes, panels):
        for norm, label, marker in ((None, 'plain', 'o'), ('batch', 'BatchNorm', 's')):
            ax.semilogx(scales, [value(results[norm, scale]) for scale in scales],
                        marker=marker, label=label)
        ax.set(xlabel='weight initialisation scale (std)', title=title)
        ax.legend()
    axes[2].set_yscale('log')
    figure.suptitle('6-layer fully connected net (5 x 100 hidden), Adam, 10 epochs')
    return rows, figure


def optimizers_experiment(data):
    """The same 6-layer net (He initialisation) trained by five optimizers for 5 epochs.

    Returns (table rows, figure).
    """
    optimizers = [
        ('SGD', lambda model: SGD(model, learning_rate=1e-2, reg=0.0, momentum=0.0)),
        ('SGD + momentum', lambda model: SGD(model, learning_rate=1e-2, reg=0.0, momentum=0.9)),
        ('SGD + Nesterov', lambda model: NesterovSGD(model, learning_rate=1e-2, momentum=0.9)),
        ('RMSProp', lambda model: RMSProp(model, learning_rate=1e-4)),
        ('Adam', lambda model: Adam(model, learning_rate=1e-3)),
    ]
    histories = {}
    rows = [['optimizer', 'learning rate', 'loss, epoch 1', 'loss, last epoch',
             'train acc', 'val acc']]
    for name, make in optimizers:
        model = fully_connected(INPUT_DIM, DEEP_HIDDEN, NUM_CLASSES, seed=0, dtype=DTYPE)
        optimizer = make(model)
        learning_rate = optimizer.learning_rate
        trainer = Trainer(model, optimizer, batch_size=100, epochs=5)
        history = trainer.train(data.x_train, data.y_train, val=(data.x_val, data.y_val))
        histories[name] = history
        rows.append([name, f"{learning_rate:g}", f"{history['epoch_loss'][0]:.3f}",
                     f"{history['epoch_loss'][-1]:.3f}", f"{history['train_accuracy'][-1]:.2f}",
                     f"{history['val_accuracy'][-1]:.2f}"])

    figure, (loss_ax, train_ax, val_ax) = _figure(3)
    for name, history in histories.items():
        loss = _smoothed(history['batch_loss'], SMOOTHING)
        loss_ax.plot(SMOOTHING * np.arange(1, len(loss) + 1), loss, label=name)
        epochs = np.arange(1, len(history['epoch_loss']) + 1)
        train_ax.plot(epochs, history['train_accuracy'], marker='o', label=name)
        val_ax.plot(epochs, history['val_accuracy'], marker='o', label=name)
    loss_ax.set(xlabel='step', title=f"training loss (mean of every {SMOOTHING} steps)")
    train_ax.set(xlabel='epoch', title='training accuracy')
    val_ax.set(xlabel='epoch', title='validation accuracy')
    for ax in (loss_ax, train_ax, val_ax):
        ax.legend()
    _integer_ticks(train_ax, val_ax)
    figure.suptitle('6-layer fully connected net (5 x 100 hidden), batch 100')
    return rows, figure


def dropout_experiment(data):
    """A net with two hidden layers of 256 trained on 500 images, with dropout 0, 0.5 and 0.75
    after each hidden layer, Adam, 30 epochs.

    Returns (table rows, figure).
    """
    probabilities = (0.0, 0.5, 0.75)
    histories = {}
    rows = [['dropout p', 'final train acc', 'final val acc', 'gap', 'best val acc',
             'final val loss']]
    for p in probabilities:
        model = fully_connected(INPUT_DIM, [256, 256], NUM_CLASSES, dropout=p, seed=0,
                                dtype=DTYPE)
        trainer = Trainer(model, Adam(model, learning_rate=5e-4), batch_size=50, epochs=30)
        history = trainer.train(data.x_train, data.y_train, val=(data.x_val, data.y_val))
        histories[p] = history
        train_acc, val_acc = history['train_accuracy'][-1], history['val_accuracy'][-1]
        rows.append([f"{p:g}", f"{train_acc:.2f}", f"{val_acc:.2f}", f"{train_acc - val_acc:.2f}",
                     f"{max(history['val_accuracy']):.2f}", f"{history['val_loss'][-1]:.2f}"])

    figure, (accuracy_ax, loss_ax) = _figure(2)
    for p, history in histories.items():
        epochs = np.arange(1, len(history['val_accuracy']) + 1)
        line, = accuracy_ax.plot(epochs, history['train_accuracy'], label=f"p={p:g} train")
        accuracy_ax.plot(epochs, history['val_accuracy'], linestyle='--', color=line.get_color(),
                         label=f"p={p:g} validation")
        loss_ax.plot(epochs, history['val_loss'], color=line.get_color(), label=f"p={p:g}")
    accuracy_ax.set(xlabel='epoch', ylim=(0, 1.02),
                    title='accuracy (solid: training, dashed: validation)')
    loss_ax.set(xlabel='epoch', title='validation loss')
    accuracy_ax.legend(loc='lower right', ncol=3, fontsize='small')
    loss_ax.legend()
    _integer_ticks(accuracy_ax, loss_ax)
    figure.suptitle(f"{len(data.x_train)} training images; 2 x 256 hidden, dropout after each")
    return rows, figure


def filters_experiment(data):
    """A small ConvNet (32 7x7 filters at stride 2, ReLU, 2x2 max pooling, linear classifier),
    its weights drawn at the course's scale 1e-3, trained with momentum SGD for 6 epochs; its
    first-layer filters as images. Starting that small, the filters show what training put
    there rather than their random start.

    Returns (table rows, figure).
    """
    blocks = [dict(type='conv', out_channels=32, kernel_size=7, stride=2, pool=2)]
    model = build_network((3, 32, 32), blocks, NUM_CLASSES, weight_scale=1e-3, seed=0,
                          dtype=DTYPE)
    optimizer = SGD(model, learning_rate=1e-2, reg=1e-3, momentum=0.9)
    trainer = Trainer(model, optimizer, batch_size=50, epochs=6)
    history = trainer.train(data.x_train, data.y_train, val=(data.x_val, data.y_val))
    rows = [['network', 'parameters', 'epochs', 'train acc', 'best val acc'],
            ['conv 7x7 stride 2 x32, ReLU, max pool 2, linear', f"{count_parameters(model):,}",
             str(len(history['val_accuracy'])), f"{history['train_accuracy'][-1]:.2f}",
             f"{trainer.best_val_accuracy:.2f} (epoch {trainer.best_epoch})"]]

    filters = model.modules[0].weight
    figure, axes = _figure(1)
    axes[0].imshow(_filter_grid(filters, columns=8), interpolation='nearest')
    axes[0].set_axis_off()
    axes[0].set_title(f"first-layer filters of a trained ConvNet ({filters.shape[0]} of "
                      f"{filters.shape[2]}x{filters.shape[3]}x{filters.shape[1]}), "
                      "each scaled to its own range")
    return rows, figure


def cs231n_experiment(data):
    """CS231n's models trained by its Solver (scratch.cs231n), Adam 1e-3, batch 50: a
    FullyConnectedNet (2 x 100 hidden, BatchNorm, keeping 75% of the hidden units), 10 epochs,
    and a ThreeLayerConvNet (32 7x7 filters, 100 hidden, weights at 1e-2, reg 1e-3), 3 epochs.
    NumPy's global generator is seeded (0): the Solver draws from it. Returns (rows, figure).
    """
    np.random.seed(0)
    solver_data = {'X_train': data.x_train, 'y_train': data.y_train, 'X_val': data.x_val,
                   'y_val': data.y_val}
    runs = [('FullyConnectedNet, BatchNorm + dropout 0.75 keep', 10,
             FullyConnectedNet([100, 100], normalization='batchnorm', dropout_keep_ratio=0.75,
                               weight_scale=5e-2, dtype=DTYPE)),
            ('ThreeLayerConvNet', 3,
             ThreeLayerConvNet(weight_scale=1e-2, reg=1e-3, dtype=DTYPE))]
    rows = [['model', 'epochs', 'first loss', 'last loss', 'final train acc', 'best val acc']]
    figure, (loss_ax, train_ax, val_ax) = _figure(3)
    for name, epochs, model in runs:
        solver = Solver(model, solver_data, update_rule='adam',
                        optim_config={'learning_rate': 1e-3}, batch_size=50, num_epochs=epochs,
                        verbose=False)
        solver.train()
        rows.append([name, str(epochs), f"{solver.loss_history[0]:.3f}",
                     f"{solver.loss_history[-1]:.3f}", f"{solver.train_acc_history[-1]:.2f}",
                     f"{solver.best_val_acc:.2f}"])
        loss = _smoothed(solver.loss_history, SMOOTHING)
        loss_ax.plot(SMOOTHING * np.arange(1, len(loss) + 1), loss, label=name)
        train_ax.plot(solver.train_acc_history, marker='o', label=name)  # x: epochs from 0
        val_ax.plot(solver.val_acc_history, marker='o', label=name)
    loss_ax.set(xlabel='iteration', title=f"training loss (mean of every {SMOOTHING} steps)")
    train_ax.set(xlabel='epoch', title='training accuracy (1000 random training images)')
    val_ax.set(xlabel='epoch', title='validation accuracy')
    for ax in (loss_ax, train_ax, val_ax):
        ax.legend(fontsize='small')
    _integer_ticks(train_ax, val_ax)
    figure.suptitle("CS231n's Solver, Adam 1e-3, batch 50")
    return rows, figure


EXPERIMENTS = {
    'batchnorm': (batchnorm_experiment, 1000, 1000),
    'optimizers': (optimizers_experiment, 4000, 1000),
    'dropout': (dropout_experiment, 500, 1000),
    'filters': (filters_experiment, 4000, 1000),
    'cs231n': (cs231n_experiment, 4000, 1000),
}


def _filter_grid(filters, columns, gap=1):
    """Filters (F, 3, k, k) as one RGB image: each filter scaled to [0, 1] on its own, laid out
    `columns` to a row with `gap` white pixels between them."""
    F, _, k, _ = filters.shape
    rows = -(-F // columns)
    grid = np.ones((rows * (k + gap) - gap, columns * (k + gap) - gap, 3))
    for index, kernel in enumerate(filters):
        low, high = kernel.min(), kernel.max()
        image = (kernel - low) / (high - low) if high > low else np.zeros_like(kernel)
        row, column = divmod(index, columns)
        grid[row * (k + gap):row * (k + gap) + k,
             column * (k + gap):column * (k + gap) + k] = image.transpose(1, 2, 0)
    return grid


def _figure(panels):
    """A matplotlib figure with `panels` axes side by side (imported here: only plots need it)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels if panels > 1 else 8, 4.5))
    return figure, np.atleast_1d(axes)


def _integer_ticks(*axes):
    """Whole numbers only on the x axes of epoch plots."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _smoothed(values, window):
    """Mean of every `window` consecutive values (the last partial window dropped)."""
    values = np.asarray(values)
    usable = len(values) // window * window
    return values[:usable].reshape(-1, window).mean(axis=1) if usable else values


def _loss_text(value):
    """A loss for the table: 3 decimals below 1000, 2 significant digits above, 'diverged' when
    it is not finite."""
    if not np.isfinite(value):
        return 'diverged'
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.1e}"


def _markdown(rows):
    """Rows of strings (the first one the header) as an aligned Markdown table."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ['| ' + ' | '.join(cell.ljust(width) for cell, width in zip(row, widths)) + ' |'
             for row in rows]
    lines.insert(1, '|' + '|'.join('-' * (width + 2) for width in widths) + '|')
    return '\n'.join(lines)


def _shown(path):
    """path relative to the repository when it lies inside it."""
    path = Path(path).resolve()
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].replace('\n', ' '))
    parser.add_argument('experiment', choices=sorted(EXPERIMENTS))
    parser.add_argument('--data', metavar='DIR',
                        help='ImageFolder directory with train/<class>/* (default: CIFAR-10 '
                             'as torchvision downloads it, data/cifar-10-batches-py, and '
                             'synthetic images when that is missing)')
    parser.add_argument('--synthetic', action='store_true',
                        help='use the built-in synthetic images whatever data is present')
    parser.add_argument('--out-dir', default=str(REPO_ROOT / 'scratch'),
                        help='where to save scratch-EXPERIMENT.png (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.synthetic and args.data:
        parser.error("--synthetic and --data exclude each other")
    return args


def main(argv=None):
    args = parse_args(argv)
    run, train_count, val_count = EXPERIMENTS[args.experiment]
    started = time.perf_counter()
    try:
        check_folder(args.out_dir, f"--out-dir {args.out_dir}")
        data = load_data(args, train_count, val_count)
    except (DataNotFound, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(data.source)
    rows, figure = run(data)
    print(_markdown(rows))
    out = Path(args.out_dir) / f"scratch-{args.experiment}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    with atomic_path(out, suffix='.png') as tmp_path:
        figure.savefig(tmp_path, dpi=100)
    print(f"plot saved to {out}; {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == '__main__':
    sys.exit(main())
