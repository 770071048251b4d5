"""CIFAR-10 and CIFAR-100 through torchvision, converted once to in-memory uint8 tensors."""
import os

import torch

from data.image_set import ImageSet

# Per-channel mean and (population) standard deviation of each set's 50,000 training images,
# in [0, 1] pixel units.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)


def load_cifar10(root, download):
    """CIFAR-10's training and test sets.

    Args:
        root: folder holding (or to receive) ``cifar-10-batches-py``.
        download: fetch it into ``root`` when missing.

    Returns:
        (train, test, classes): ImageSets of uint8 (50000, 3, 32, 32) / (10000, 3, 32, 32) images
        with int64 labels, and the 10 class names.

    Raises:
        ValueError: a file is missing or corrupted and was not (or could not be) downloaded.
    """
    from torchvision.datasets import CIFAR10

    return _load(CIFAR10, "CIFAR-10", "cifar-10-batches-py", root, download)


def load_cifar100(root, download):
    """CIFAR-100's training and test sets, with the 100 fine labels.

    Args:
        root: folder holding (or to receive) ``cifar-100-python``.
        download: fetch it into ``root`` when missing.

    Returns:
        (train, test, classes): ImageSets of uint8 (50000, 3, 32, 32) / (10000, 3, 32, 32) images
        with int64 labels, and the 100 class names.

    Raises:
        ValueError: a file is missing or corrupted and was not (or could not be) downloaded.
    """
    from torchvision.datasets import CIFAR100

    return _load(CIFAR100, "CIFAR-100", "cifar-100-python", root, download)


def _load(dataset_class, name, folder, root, download):
    """Both splits of a torchvision CIFAR class as ImageSets, and its class names.

    torchvision checks the MD5 sum of every batch file and of the meta file before it unpickles
    any of them, so a file that is not the original (corrupted, or planted) is never unpickled.
    With ``download`` a missing or corrupted file makes it fetch and unpack the archive again.
    """
    try:
        sets = [dataset_class(root, train=train, download=download) for train in (True, False)]
    except (RuntimeError, OSError) as exc:
        problem = _problem(dataset_class, root)
        fix = (f"delete it and set data.download=true to fetch {folder} again"
               if problem.startswith("corrupted") else
               f"put {folder} there, set data.download=true")
        if download:
            raise ValueError(f"{name} under {root!r}: {problem}, and it could not be downloaded "
                             f"({_short(exc)}): put {folder} there, or use "
                             "data.dataset=imagefolder") from None
        raise ValueError(f"{name} under {root!r}: {problem} and data.download is false: {fix}, "
                         "or use data.dataset=imagefolder") from None
    train, test = (ImageSet(torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous(),
                            torch.tensor(s.targets, dtype=torch.int64)) for s in sets)
    return train, test, list(sets[0].classes)


def _problem(dataset_class, root):
    """What is wrong with the files torchvision expects: the first corrupted one (its MD5 sum
    differs from the published one), else the first missing one, else 'not found'."""
    from torchvision.datasets.utils import check_integrity

    expected = dataset_class.train_list + dataset_class.test_list + \
        [[dataset_class.meta["filename"], dataset_class.meta["md5"]]]
    paths = [(os.path.join(root, dataset_class.base_folder, file), md5) for file, md5 in expected]
    for path, md5 in paths:
        if os.path.isfile(path) and not check_integrity(path, md5):
            return f"corrupted file {path!r} (its MD5 sum is not the published one)"
    for path, _ in paths:
        if not os.path.isfile(path):
            return f"not found ({path!r} is missing)"
    return "not found"


def _short(exc):
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
