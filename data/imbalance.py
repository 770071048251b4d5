"""Long-tailed class profiles and the seeded choice of which training images each class keeps."""
import torch

from data.seeding import make_generator

PROFILES = ("none", "exp", "step")


def long_tail_counts(n_max, num_classes, profile, factor):
    """Images per class of a long-tailed training set (class 0 is the largest).

    Args:
        n_max: images of the largest class.
        num_classes: C.
        profile: ``exp``: n_i = int(n_max * (1/factor) ** (i / (C - 1))); ``step``: the last C // 2
            classes get int(n_max / factor), the others n_max; ``none``: n_max for every class.
        factor: imbalance factor, largest / smallest class, >= 1.

    Returns:
        list of C ints.
    """
    if profile == "exp":
        if num_classes < 2:
            return [n_max] * num_classes
        return [int(n_max * (1.0 / factor) ** (i / (num_classes - 1.0)))
                for i in range(num_classes)]
    if profile == "step":
        head = num_classes - num_classes // 2
        return [n_max] * head + [int(n_max / factor)] * (num_classes // 2)
    if profile == "none":
        return [n_max] * num_classes
    raise ValueError(f"unknown imbalance profile {profile!r}; expected one of "
                     f"{', '.join(PROFILES)}")


def long_tail_indices(labels, counts, seed):
    """Indices of the images a long-tailed subset keeps.

    Class c keeps a seeded random choice of min(counts[c], images of class c) of its images.

    Args:
        labels: int64 (N,), values in [0, len(counts)).
        counts: per-class targets, as from ``long_tail_counts``.
        seed: int; the same seed gives the same subset.

    Returns:
        int64 (M,) indices into ``labels``, sorted ascending.
    """
    generator = make_generator(seed, "long_tail")
    kept = []
    for c, count in enumerate(counts):
        members = torch.nonzero(labels == c).flatten()
        order = torch.randperm(members.numel(), generator=generator)
        kept.append(members[order[:count]])
    return torch.sort(torch.cat(kept)).values
