"""Atomic file writes: a crash, Ctrl-C or full disk never leaves a half-written file.

Every writer goes through :func:`atomic_path`: write a temporary file in the target's folder,
flush it to disk, then ``os.replace`` it over the target, which POSIX makes atomic. Readers see
the old file or the new one, never a mixture.
"""
import contextlib
import os
import tempfile

FILE_MODE = 0o644  # mkstemp creates 0600; run outputs are not private


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    Args:
        path: the file to create or replace.
        suffix: the temporary file's extension, for writers that go by it (e.g. ".png").
    """
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
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


def _fsync(path):
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
