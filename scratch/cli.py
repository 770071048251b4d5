"""Checks the scratch/ command lines run on their arguments before any training starts."""
import argparse
import os
from pathlib import Path

# Extensions matplotlib writes without extra software.
FIGURE_SUFFIXES = ('.png', '.pdf', '.svg', '.jpg', '.jpeg')


def positive_int(text):
    """argparse type: an integer >= 1 (epochs), else argparse's one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def check_figure_path(path):
    """Raise ValueError naming path unless a figure can be saved there: a known extension
    (``FIGURE_SUFFIXES``), not a folder, and a folder that exists or can be made."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(f"--out {path}: unknown figure extension {path.suffix or '(none)'!r}; "
                         f"use one of {', '.join(FIGURE_SUFFIXES)}")
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as "
                         f"{path / 'curves.png'}")
    check_folder(path.parent, f"--out {path}")


def check_folder(folder, what):
    """Raise ValueError starting with `what` (the option and its value) and naming the
    blocking path unless folder is a writable folder or could be created (its nearest existing
    ancestor is a writable folder)."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what}: cannot write in {existing}")
