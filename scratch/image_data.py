"""CIFAR-10 images for the scratch/ scripts: torchvision's pickles, an ImageFolder copy, or
synthetic images when neither is at hand.

Every loader returns (images uint8 (N, 3, 32, 32), labels int64 (N,)) and reads only the files
it needs, so a few thousand images load in about a second. A CIFAR-10 batch is a pickle, and
unpickling runs whatever code the file names, so every batch's md5 is checked against the
published one (torchvision's list) before it is unpickled: a planted file is refused unread.
"""
import hashlib
import pickle
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CIFAR_DIR = REPO_ROOT / 'data' / 'cifar-10-batches-py'
CIFAR_BATCH = CIFAR_DIR / 'data_batch_1'
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
# md5 of every file of CIFAR-10's python version, as torchvision publishes them.
CIFAR_MD5 = {
    'data_batch_1': 'c99cafc152244af753f735de768cd75f',
    'data_batch_2': 'd4bba439e000b95fd0a9bffe97cbabec',
    'data_batch_3': '54ebc095f3ab1f0389bbae665268c751',
    'data_batch_4': '634d18415352ddfa80567beed471001a',
    'data_batch_5': '482c414d41f54cd18b22e5b47cb7c3cb',
    'test_batch': '40351d587109b95175f43aff81a1287e',
}
NUM_CLASSES = 10
IMAGE_SIZE = 32
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.gif', '.ppm', '.tif', '.tiff', '.webp'}


class DataNotFound(Exception):
    """The training images are not where they were looked for; the message says what to do."""


def load_cifar_sample(batch_path=CIFAR_BATCH, count=50, offset=0):
    """Images offset to offset + count of one CIFAR-10 pickle batch, in the batch's order
    (count 50: the sample train.py overfits).

    Returns a tuple of:
    - images: uint8 array of shape (count, 3, 32, 32)
    - labels: int64 array of shape (count,)
    """
    images, labels = read_cifar_batch(batch_path)
    return images[offset:offset + count], labels[offset:offset + count]


def read_cifar_batch(path):
    """Every image of one CIFAR-10 python batch, its md5 checked before it is unpickled.

    Inputs:
    - path: a file named like one of ``CIFAR_MD5``'s keys (data_batch_1, ..., test_batch)

    Returns a tuple of:
    - images: uint8 array of shape (N, 3, 32, 32) (N = 10000 for the real batches)
    - labels: int64 array of shape (N,)

    Raises:
    - DataNotFound: no file at path
    - ValueError naming the file: a name that is not a CIFAR-10 batch's, or contents whose md5
      is not the published one (nothing of the file is unpickled then)
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFound(
            f"CIFAR-10 not found at {path}: download it there once with torchvision "
            "(CIFAR10('data', download=True), as main.py does), or pass --data DIR, an "
            "ImageFolder copy with train/<class>/* (DEVELOPERS.md: data/cifar10-jpeg)")
    expected = CIFAR_MD5.get(path.name)
    if expected is None:
        raise ValueError(f"{path}: not a CIFAR-10 batch name (expected one of "
                         f"{', '.join(CIFAR_MD5)}); refusing to unpickle it")
    contents = path.read_bytes()
    if hashlib.md5(contents).hexdigest() != expected:
        raise ValueError(f"{path}: md5 does not match CIFAR-10's published {expected}; refusing "
                         "to unpickle it (delete it and download CIFAR-10 again)")
    batch = pickle.loads(contents, encoding='bytes')
    images = np.asarray(batch[b'data'], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b'labels'], dtype=np.int64)


def load_image_folder_sample(root, count=50, offset=0, split='train'):
    """A fixed sample spread over the classes of an ImageFolder's `split` folder (count 50: the
    sample train.py overfits).

    Takes file names offset // num_classes to (offset + count) // num_classes (sorted) of every
    class folder (sorted), at least one per class, and decodes only those, as RGB resized to
    32 x 32 when needed. Samples with different offsets share no image when their ranges do not
    overlap.

    Returns a tuple of:
    - images: uint8 array of shape (num_classes * per_class, 3, 32, 32), class after class
    - labels: int64 array of the class indices, in sorted class-name order

    Raises:
    - DataNotFound: no class folders, or no images in them
    - ValueError naming the file: an image that cannot be decoded
    """
    folder_root = Path(root) / split
    classes = (sorted(path for path in folder_root.iterdir() if path.is_dir())
               if folder_root.is_dir() else [])
    if not classes:
        raise DataNotFound(f"no class folders under {folder_root}: --data needs an ImageFolder "
                           f"directory with {split}/<class>/* images")
    first = offset // len(classes)
    per_class = max(1, count // len(classes))
    images, labels = [], []
    for label, folder in enumerate(classes):
        files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
        for path in files[first:first + per_class]:
            images.append(_read_image(path))
            labels.append(label)
    if not images:
        raise DataNotFound(f"no images in the class folders under {folder_root}")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _read_image(path):
    """The image file at path as uint8 (3, 32, 32), RGB, resized when it is another size.

    Raises ValueError naming the file when it cannot be decoded (empty, truncated, not an
    image)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert('RGB')
            if image.size != (IMAGE_SIZE, IMAGE_SIZE):
                image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
            return np.asarray(image).transpose(2, 0, 1)
    except (OSError, ValueError) as error:
        detail = str(error).splitlines()[0] if str(error) else ''
        if not detail or str(path) in detail:
            detail = type(error).__name__
        raise ValueError(f"{path}: not a readable image ({detail})") from None


def synthetic_sample(count, seed=0):
    """Images of 10 made-up classes, hard enough that small networks neither fail nor ace them.

    Every class has a template: a smooth random colour pattern (a few low-frequency waves per
    channel). An image is its class's template, shifted by up to 4 pixels each way and scaled
    by a random contrast, under a smooth random background 2.5 times as strong that no class
    owns, plus pixel noise. Fully connected nets reach about 50% validation accuracy on a
    thousand of them. The same (count, seed) always gives the same images; the templates
    depend on nothing, so different seeds draw different images of the same classes.

    Returns a tuple of:
    - images: uint8 array of shape (count, 3, 32, 32)
    - labels: int64 array of shape (count,), classes in random order
    """
    templates = _smooth_fields(np.random.RandomState(12345), NUM_CLASSES)
    rng = np.random.RandomState(seed)
    labels = rng.randint(NUM_CLASSES, size=count)
    shifts = rng.randint(-4, 5, size=(count, 2))
    contrast = rng.uniform(0.5, 1.5, size=(count, 1, 1, 1))
    images = 0.4 * contrast * np.stack([np.roll(templates[label], tuple(shift), axis=(1, 2))
                                        for label, shift in zip(labels, shifts)])
    images += _smooth_fields(rng, count) + 0.5 * rng.randn(count, 3, IMAGE_SIZE, IMAGE_SIZE)
    pixels = np.clip(128 + 40 * images, 0, 255).round().astype(np.uint8)
    return pixels, labels.astype(np.int64)


def _smooth_fields(rng, count, waves=4, max_frequency=3):
    """count random (3, 32, 32) patterns, each channel a sum of `waves` plane waves
    cos(2 pi (a * row + b * col) / 32 + phase) with random integers a, b in
    [-max_frequency, max_frequency] and random phases, scaled to unit standard deviation per
    image.

    cos(t + phase) = cos(phase) cos(t) - sin(phase) sin(t), so every pattern is a combination of
    a fixed bank of cosine and sine images: one matrix product instead of a cosine per pixel.
    """
    side = 2 * max_frequency + 1
    grid = 2 * np.pi * np.arange(IMAGE_SIZE) / IMAGE_SIZE
    a, b = np.meshgrid(np.arange(-max_frequency, max_frequency + 1),
                       np.arange(-max_frequency, max_frequency + 1), indexing='ij')
    angles = (a.reshape(-1, 1, 1) * grid[:, None] + b.reshape(-1, 1, 1) * grid[None, :])
    bank = np.concatenate([np.cos(angles), np.sin(angles)]).reshape(2 * side * side, -1)
    frequencies = rng.randint(side * side, size=(count * 3, waves))
    phases = rng.uniform(0, 2 * np.pi, size=(count * 3, waves))
    coefficients = np.zeros((count * 3, 2 * side * side))
    rows = np.repeat(np.arange(count * 3), waves)
    np.add.at(coefficients, (rows, frequencies.ravel()), np.cos(phases).ravel())
    np.add.at(coefficients, (rows, side * side + frequencies.ravel()), -np.sin(phases).ravel())
    fields = (coefficients @ bank).reshape(count, 3, IMAGE_SIZE, IMAGE_SIZE)
    return fields / fields.std(axis=(1, 2, 3), keepdims=True)
