"""Seeded CPU random-number generators derived from a tuple of keys.

Every random choice in ``data`` draws from a generator made here, never from torch's global RNG,
so a result depends only on its keys (e.g. ``(seed, "epoch", 3)``), not on what ran before it.
"""
import hashlib

import torch


def make_generator(*keys):
    """A CPU ``torch.Generator`` seeded from ``keys`` (ints and strings).

    The seed is a 63-bit digest of the keys, so distinct key tuples give unrelated streams and the
    same tuple gives the same stream in every process and on every run.
    """
    digest = hashlib.blake2b(repr(keys).encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
