"""Stratified train / validation split."""
import torch

from data.seeding import make_generator


def stratified_split(labels, val_fraction, seed):
    """Hold out a seeded random part of every class for validation.

    Class c with n_c images gives round(n_c * val_fraction) of them to validation, at least 1
    when val_fraction > 0 and n_c >= 2, and never all of them (at most n_c - 1).

    Args:
        labels: int64 (N,), non-negative class indices.
        val_fraction: in [0, 1).
        seed: int; the same seed gives the same split.

    Returns:
        (train_idx, val_idx): int64 index tensors into ``labels``, each sorted ascending,
        disjoint, together covering 0..N-1.
    """
    generator = make_generator(seed, "split")
    train_parts, val_parts = [], []
    for c in range(int(labels.max()) + 1 if labels.numel() else 0):
        members = torch.nonzero(labels == c).flatten()
        n = members.numel()
        n_val = round(n * val_fraction)
        if val_fraction > 0 and n >= 2:
            n_val = max(n_val, 1)
        n_val = min(n_val, max(n - 1, 0))
        shuffled = members[torch.randperm(n, generator=generator)]
        val_parts.append(shuffled[:n_val])
        train_parts.append(shuffled[n_val:])
    empty = torch.empty(0, dtype=torch.int64)
    return (torch.sort(torch.cat(train_parts or [empty])).values,
            torch.sort(torch.cat(val_parts or [empty])).values)
