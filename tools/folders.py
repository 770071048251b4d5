"""Checks on output folders, made before any work so that a bad path fails in one line."""
import os


def check_output_folder(path, flag):
    """Refuse an output folder that cannot be written; creates nothing.

    Args:
        path: the folder that will receive outputs (it may not exist yet).
        flag: how the user gave it, for the message (e.g. "--outdir").

    Raises:
        ValueError: ``path`` is a file, lies under a file, or is (or would be created in) a
            folder this process may not write.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{flag}: {path!r} is a file; expected a folder")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(os.path.normpath(existing)) or "."
    if not os.path.isdir(existing):
        raise ValueError(f"{flag}: {path!r} cannot be created: {existing!r} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag}: {path!r}: {existing!r} is not writable")
