"""CS231n's get_CIFAR10_data, on scratch/'s verified CIFAR-10 reader (every pickle's md5 is
checked before it is unpickled) or an ImageFolder copy."""
from pathlib import Path

import numpy as np

from scratch.image_data import (CIFAR_DIR, CIFAR_TRAIN_BATCHES, load_image_folder_sample,
                                read_cifar_batch)

__all__ = ['get_CIFAR10_data', 'load_CIFAR10_rows']

BATCH_SIZE = 10000


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     subtract_mean=True, data_dir=None, dtype=np.float64):
    """CIFAR-10 split into training, validation and test arrays, channels first.

    Inputs:
    - num_training, num_validation: the first num_training training images, and the next
      num_validation (never trained on); num_test: the first test images
    - subtract_mean: subtract the training images' mean image from all three sets
    - data_dir: torchvision's python batches folder (default data/cifar-10-batches-py), or an
      ImageFolder copy (train/<class>/*, test/<class>/*), where every set is spread evenly over
      the classes (counts rounded down to a multiple of the class count)
    - dtype: of the images

    Returns a dict of 'X_train' (num_training, 3, 32, 32), 'y_train' (num_training,) int64,
    and likewise 'X_val', 'y_val', 'X_test', 'y_test'. Pixels are 0-255 before the mean is
    subtracted.

    Raises:
    - DataNotFound: no data at data_dir
    - ValueError naming the file: a batch whose md5 is not CIFAR-10's, an unreadable image
    """
    data_dir = CIFAR_DIR if data_dir is None else Path(data_dir)
    if (data_dir / 'train').is_dir():
        train = load_image_folder_sample(data_dir, num_training)
        val = load_image_folder_sample(data_dir, num_validation, offset=len(train[0]))
        test = load_image_folder_sample(data_dir, num_test, split='test')
    else:
        images, labels = load_CIFAR10_rows(data_dir, num_training + num_validation)
        train = images[:num_training], labels[:num_training]
        val = images[num_training:], labels[num_training:]
        test = tuple(array[:num_test] for array in read_cifar_batch(data_dir / 'test_batch'))
    data = {}
    for name, (images, labels) in (('train', train), ('val', val), ('test', test)):
        data[f"X_{name}"], data[f"y_{name}"] = images.astype(dtype), labels
    if subtract_mean:
        mean_image = data['X_train'].mean(axis=0)
        for name in ('X_train', 'X_val', 'X_test'):
            data[name] -= mean_image
    return data


def load_CIFAR10_rows(data_dir, count):
    """The first count training images (uint8 (count, 3, 32, 32)) and labels (int64) of the
    CIFAR-10 python batches in data_dir, reading only the batches needed."""
    needed = max(1, -(-count // BATCH_SIZE))
    if needed > len(CIFAR_TRAIN_BATCHES):
        raise ValueError(f"CIFAR-10 has {BATCH_SIZE * len(CIFAR_TRAIN_BATCHES)} training "
                         f"images; {count} asked for")
    batches = [read_cifar_batch(Path(data_dir) / name) for name in CIFAR_TRAIN_BATCHES[:needed]]
    images = np.concatenate([images for images, _ in batches])[:count]
    labels = np.concatenate([labels for _, labels in batches])[:count]
    return images, labels
