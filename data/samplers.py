"""Which training images one epoch visits: instance, class-balanced or square-root sampling."""
import torch

STRATEGIES = ("instance", "class_balanced", "sqrt")


def epoch_indices(labels, strategy, generator, num_classes):
    """Indices of one epoch's images, in visiting order.

    Args:
        labels: int64 (N,), values in [0, num_classes).
        strategy: ``instance``: a random permutation of 0..N-1 (every image once);
            ``class_balanced``: N draws with replacement, each picking a class uniformly among the
            classes that have images, then an image of it uniformly;
            ``sqrt``: the same, with class c picked with probability proportional to sqrt(n_c).
        generator: CPU ``torch.Generator``, the only source of randomness.
        num_classes: C.

    Returns:
        int64 (N,) on the CPU.
    """
    n = labels.numel()
    if strategy == "instance":
        return torch.randperm(n, generator=generator)
    counts = torch.bincount(labels, minlength=num_classes)
    if strategy == "class_balanced":
        weights = (counts > 0).double()
    elif strategy == "sqrt":
        weights = counts.double().sqrt()
    else:
        raise ValueError(f"unknown sampler {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    classes = torch.multinomial(weights, n, replacement=True, generator=generator)
    by_class = torch.argsort(labels, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    within = (torch.rand(n, generator=generator, dtype=torch.float64) * counts[classes]).long()
    return by_class[starts[classes] + within]
