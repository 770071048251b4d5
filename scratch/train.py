"""Overfit the course's network on 50 CIFAR-10 training images: a check that everything learns.

    python scratch/train.py                           # data/cifar-10-batches-py (torchvision's download)
    python scratch/train.py --data data/cifar10-jpeg  # any ImageFolder copy with train/<class>/*

Network: Conv2D 3->32 (k 5, stride 1, pad 2) -> ReLU -> MaxPooling 2/2 -> Linear 8192->10, trained
with momentum SGD (lr 1e-4, reg 1e-3, momentum 0.9), batch 10, 10 epochs. Prints a line per epoch,
saves the loss and accuracy curves as a PNG, and prints the final training accuracy last.
"""
import argparse
import os
import pickle
import sys
from pathlib import Path

# One BLAS thread unless the user says otherwise: this network's matrix products are too small
# to gain from a second thread, and when other work shares the cores, BLAS threads waiting for
# each other made a 3-second run take 15 seconds. Set before NumPy loads BLAS.
for variable in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(variable, '1')

import numpy as np  # noqa: E402

from modules import ConvNet  # noqa: E402
from optimizer import SGD  # noqa: E402
from trainer import Trainer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
CIFAR_BATCH = REPO_ROOT / 'data' / 'cifar-10-batches-py' / 'data_batch_1'
SAMPLE_SIZE = 50
IMAGE_SIZE = 32
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.gif', '.ppm', '.tif', '.tiff', '.webp'}

NETWORK = [
    dict(type='Conv2D', in_channels=3, out_channels=32, kernel_size=5, stride=1, padding=2),
    dict(type='ReLU'),
    dict(type='MaxPooling', kernel_size=2, stride=2),
    dict(type='Linear', in_dim=32 * 16 * 16, out_dim=10),
]
CRITERION = dict(type='SoftmaxCrossEntropy')


class DataNotFound(Exception):
    """The training images are not where they were looked for; the message says what to do."""


def load_cifar_sample(batch_path=CIFAR_BATCH, count=SAMPLE_SIZE):
    """The first `count` images of CIFAR-10's training set, in its own order.

    Returns a tuple of:
    - images: uint8 array of shape (count, 3, 32, 32)
    - labels: int64 array of shape (count,)
    """
    if not batch_path.is_file():
        raise DataNotFound(
            f"CIFAR-10 not found at {batch_path}: download it there once with torchvision "
            "(CIFAR10('data', download=True), as main.py does), or pass --data DIR, an "
            "ImageFolder copy with train/<class>/* (DEVELOPERS.md: data/cifar10-jpeg)")
    with open(batch_path, 'rb') as file:
        batch = pickle.load(file, encoding='bytes')
    images = np.asarray(batch[b'data'][:count], dtype=np.uint8).reshape(count, 3, 32, 32)
    return images, np.asarray(batch[b'labels'][:count], dtype=np.int64)


def load_image_folder_sample(root, count=SAMPLE_SIZE):
    """A fixed sample spread over the classes of an ImageFolder's train/ split.

    Takes the first count // num_classes file names (sorted) of every class folder (sorted),
    and decodes only those, as RGB resized to 32 x 32 when needed.

    Returns a tuple of:
    - images: uint8 array of shape (num_classes * (count // num_classes), 3, 32, 32)
    - labels: int64 array of the class indices, in sorted class-name order
    """
    from PIL import Image

    train = Path(root) / 'train'
    classes = sorted(path for path in train.iterdir() if path.is_dir()) if train.is_dir() else []
    if not classes:
        raise DataNotFound(f"no class folders under {train}: --data needs an ImageFolder "
                           "directory with train/<class>/* images")
    per_class = max(1, count // len(classes))
    images, labels = [], []
    for label, folder in enumerate(classes):
        files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        for path in files[:per_class]:
            with Image.open(path) as image:
                image = image.convert('RGB')
                if image.size != (IMAGE_SIZE, IMAGE_SIZE):
                    image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
                images.append(np.asarray(image).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise DataNotFound(f"no images in the class folders under {train}")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def save_curves(history, path):
    """Plot the per-step loss and the per-epoch training accuracy side by side into path (PNG)."""
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
    figure.savefig(path)
    plt.close(figure)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', metavar='DIR',
                        help='ImageFolder directory with train/<class>/* (default: CIFAR-10 '
                             'as torchvision downloads it, data/cifar-10-batches-py)')
    parser.add_argument('--out', default=str(REPO_ROOT / 'scratch' / 'curves.png'),
                        help='where to save the loss and accuracy curves (default: %(default)s)')
    parser.add_argument('--epochs', type=int, default=10)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        images, labels = (load_image_folder_sample(args.data) if args.data
                          else load_cifar_sample())
    except DataNotFound as error:
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
