"""Kept for modules not yet moved to ``fileio`` (the atomic writer); import from there."""
from fileio import atomic_path, write_text_atomic  # noqa: F401
