"""CIFAR-10 through torchvision, converted once to in-memory uint8 tensors."""
import torch

from data.image_set import ImageSet
from engine.errors import UserError

# Per-channel mean and (population) standard deviation of CIFAR-10's 50,000 training images,
# in [0, 1] pixel units.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def load_cifar10(root, download):
    """CIFAR-10's training and test sets.

    Args:
        root: folder holding (or to receive) ``cifar-10-batches-py``.
        download: fetch it into ``root`` when missing.

    Returns:
        (train, test, classes): ImageSets of uint8 (50000, 3, 32, 32) / (10000, 3, 32, 32) images
        with int64 labels, and the 10 class names.

    Raises:
        UserError: the data is missing and was not (or could not be) downloaded.
    """
    from torchvision.datasets import CIFAR10

    try:
        sets = [CIFAR10(root, train=train, download=download) for train in (True, False)]
    except (RuntimeError, OSError) as exc:
        if not download:
            raise UserError(f"CIFAR-10 not found under {root!r} and data.download is false: put "
                            "cifar-10-batches-py there, set data.download=true, or use "
                            "data.dataset=imagefolder") from None
        raise UserError(f"CIFAR-10 not found under {root!r} and could not be downloaded "
                        f"({_short(exc)}): put cifar-10-batches-py there, or use "
                        "data.dataset=imagefolder") from None
    train, test = (ImageSet(torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous(),
                            torch.tensor(s.targets, dtype=torch.int64)) for s in sets)
    return train, test, list(sets[0].classes)


def _short(exc):
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
