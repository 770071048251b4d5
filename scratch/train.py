"""Overfit the course's network on 50 CIFAR-10 training images: a check that everything learns.

    python scratch/train.py                           # data/cifar-10-batches-py (torchvision's download)
    python scratch/train.py --data data/cifar10-jpeg  # any ImageFolder copy with train/<class>/*
    python -m scratch.train ...                       # the same, from the repository root

Network: Conv2D 3->32 (k 5, stride 1, pad 2) -> ReLU -> MaxPooling 2/2 -> Linear 8192->10, trained
with momentum SGD (lr 1e-4, reg 1e-3, momentum 0.9), batch 10, 10 epochs. Prints a line per epoch,
saves the loss and accuracy curves as a PNG, and prints the final training accuracy last.
"""
import argparse
import os
import sys
from pathlib import Path

# One BLAS thread unless the user says otherwise: this network's matrix products are too small
# to gain from a second thread, and when other work shares the cores, BLAS threads waiting for
# each other made a 3-second run take 15 seconds. Set before NumPy loads BLAS.
for variable in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(variable, '1')

REPO_ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    # Run as `python scratch/train.py`: Python put scratch/ first on the path, where the
    # package `scratch` (and `engine`'s atomic writer) cannot be found; the root can.
    sys.path[0] = str(REPO_ROOT)

import numpy as np  # noqa: E402

from fileio import atomic_path  # noqa: E402
from scratch.cli import check_figure_path, positive_int  # noqa: E402
from scratch.image_data import (DataNotFound, load_cifar_sample,  # noqa: E402
                                load_image_folder_sample)
from scratch.modules import ConvNet  # noqa: E402
from scratch.optimizer import SGD  # noqa: E402
from scratch.trainer import Trainer  # noqa: E402

SAMPLE_SIZE = 50

NETWORK = [
    dict(type='Conv2D', in_channels=3, out_channels=32, kernel_size=5, stride=1, padding=2),
    dict(type='ReLU'),
    dict(type='MaxPooling', kernel_size=2, stride=2),
    dict(type='Linear', in_dim=32 * 16 * 16, out_dim=10),
]
CRITERION = dict(type='SoftmaxCrossEntropy')


def save_curves(history, path):
    """Plot the per-step loss and the per-epoch training accuracy side by side into path (an
    image or PDF file, by its extension), written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(np.arange(1, len(history['batch_loss']) + 1), history['batch_loss'])
    loss_axes.set(xlabel='step', ylabel='training loss', title='Loss per mini-batch')
    epochs = np.arange(1, len(history['epoch_accuracy']) + 1)
    accuracy_axes.plot(epochs, history['epoch_accuracy'], marker='o')
    accuracy_axes.set(xlabel='epoch', ylabel='training accuracy', ylim=(0, 1.05),
                      title='Accuracy during each epoch')
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=Path(path).suffix) as tmp_path:
        figure.savefig(tmp_path)
    plt.close(figure)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', metavar='DIR',
                        help='ImageFolder directory with train/<class>/* (default: CIFAR-10 '
                             'as torchvision downloads it, data/cifar-10-batches-py)')
    parser.add_argument('--out', default=str(REPO_ROOT / 'scratch' / 'curves.png'),
                        help='where to save the loss and accuracy curves: .png, .pdf, .svg or '
                             '.jpg (default: %(default)s)')
    parser.add_argument('--epochs', type=positive_int, default=10,
                        help='passes over the 50 images, >= 1 (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    """Train and plot; returns the exit code: 0, or 2 after one line on stderr when the data
    or --out is unusable (checked before training)."""
    args = parse_args(argv)
    try:
        check_figure_path(args.out)
        images, labels = (load_image_folder_sample(args.data, SAMPLE_SIZE) if args.data
                          else load_cifar_sample(count=SAMPLE_SIZE))
    except (DataNotFound, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Pixel values minus the sample's mean image: the scale the course's learning rate is for.
    x = images.astype(np.float64)
    x -= x.mean(axis=0)
    model = ConvNet(NETWORK, CRITERION)
    optimizer = SGD(model, learning_rate=1e-4, reg=1e-3, momentum=0.9)
    trainer = Trainer(model, optimizer, batch_size=10, epochs=args.epochs)
    print(f"training on {len(x)} images of {len(np.unique(labels))} classes")

    def report(epoch, history):
        print(f"epoch {epoch:2d}/{args.epochs}  loss {history['epoch_loss'][-1]:.4f}  "
              f"accuracy {history['epoch_accuracy'][-1]:.2f}  "
              f"lr {history['learning_rate'][-1]:.1e}")

    history = trainer.train(x, labels, on_epoch=report)
    save_curves(history, args.out)
    print(f"curves saved to {args.out}")
    print(f"final training accuracy: {trainer.accuracy(x, labels):.2f}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
