"""Atomic file writes: a crash, a signal or a full disk never leaves a half-written file.

Every file the project writes goes through :func:`atomic_path`: write a temporary file in the
target's folder, flush it to disk, then ``os.replace`` it over the target, which POSIX makes
atomic. Readers see the old file or the new one, never a mixture. Temporary files are named
``.tmp-*`` (``TEMP_PREFIX``); a process killed mid-write leaves one behind, which
:func:`remove_temporaries` cleans up.

This package imports nothing else of the project, so every layer can use it.
"""
import contextlib
import errno
import json
import os
import tempfile

FILE_MODE = 0o644  # mkstemp creates 0600; outputs are not private
TEMP_PREFIX = ".tmp-"

__all__ = ["atomic_path", "write_text_atomic", "write_json_atomic", "torch_save_atomic",
           "save_figure_atomic", "remove_temporaries", "check_writable_folder", "TEMP_PREFIX"]


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    Args:
        path: the file to create or replace.
        suffix: the temporary file's extension, for writers that go by it (e.g. ".png").
    """
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=suffix)
    os.close(handle)
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise


def write_text_atomic(text, path):
    """Write the string ``text`` to ``path`` (UTF-8) atomically."""
    with atomic_path(path) as tmp_path:
        with open(tmp_path, "w", encoding="utf-8") as f:
            f.write(text)


def write_json_atomic(obj, path):
    """Write ``obj`` as indented JSON (2 spaces) to ``path`` atomically."""
    write_text_atomic(json.dumps(obj, indent=2), path)


def torch_save_atomic(obj, path):
    """``torch.save`` ``obj`` to ``path`` atomically (torch is imported only here)."""
    import torch

    with atomic_path(path, suffix=".pt") as tmp_path:
        torch.save(obj, tmp_path)


def save_figure_atomic(figure, path, **savefig_args):
    """``figure.savefig`` (matplotlib) to ``path`` atomically; the format comes from the
    extension of ``path`` unless ``savefig_args`` says ``format``."""
    extension = os.path.splitext(path)[1]
    savefig_args.setdefault("format", extension.lstrip(".") or "png")
    with atomic_path(path, suffix=extension) as tmp_path:
        figure.savefig(tmp_path, **savefig_args)


def remove_temporaries(folder):
    """Delete the ``.tmp-*`` files that an interrupted writer left directly in ``folder``.

    Returns:
        The names removed, sorted (empty when ``folder`` does not exist).
    """
    if not os.path.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(TEMP_PREFIX) and os.path.isfile(path) and not os.path.islink(path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(name)
    return removed


def check_writable_folder(folder):
    """Check, writing nothing that stays, that files can be created in ``folder`` (which
    need not exist yet: then the nearest existing folder above it must be writable).

    Raises:
        OSError: ``folder`` or a path above it is a file, or it cannot be written.
    """
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of the folder", existing)
    if existing != os.path.abspath(folder):
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "cannot create a folder there", existing)
        return
    handle, probe = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    os.close(handle)
    os.unlink(probe)


def _fsync(path):
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
