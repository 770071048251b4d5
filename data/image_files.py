"""The files of an image folder (``<split>/<class>/<image files>``), listed without following a
folder more than one level and without a traceback for entries that cannot be read.

Files whose names end in one of ``EXTENSIONS`` (any case) are images; other files and
sub-folders of a class folder are ignored. An image name that is a symbolic-link loop or a
dangling link is an error naming it.
"""
import os

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")


def class_names(folder):
    """The sorted names of the class folders in ``folder`` (hidden ones skipped).

    Raises:
        ValueError: ``folder`` cannot be listed, an entry cannot be read (e.g. a symbolic-link
            loop), or it holds fewer than 2 class folders.
    """
    names = sorted(e.name for e in _entries(folder) if not e.name.startswith(".") and _is(e, "dir"))
    if len(names) < 2:
        held = f"only {names[0]!r}" if names else "none"
        raise ValueError(f"data.root: {folder!r} holds {held} as class folders; expected at "
                         f"least 2 ({os.path.basename(folder)}/<class>/<image files>)")
    return names


def image_files(folder, classes):
    """[(path, label), ...] class by class, files sorted by name.

    Raises:
        ValueError: a class folder without images, or an image name that cannot be read.
    """
    files = []
    for label, name in enumerate(classes):
        class_dir = os.path.join(folder, name)
        paths = sorted(e.path for e in _entries(class_dir)
                       if e.name.lower().endswith(EXTENSIONS) and _is(e, "file"))
        if not paths:
            raise ValueError(f"data.root: class folder {class_dir!r} holds no images "
                             f"({', '.join(EXTENSIONS)})")
        files.extend((path, label) for path in paths)
    return files


def _entries(folder):
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        raise ValueError(f"data.root: cannot list {folder!r} ({exc.strerror or exc})") from None


def _is(entry, kind):
    """entry.is_dir() / entry.is_file(), following links; a one-line ValueError for a link loop
    and, for an image name, a dangling link."""
    try:
        if kind == "dir":
            return entry.is_dir()
        if entry.is_file():
            return True
    except OSError as exc:
        raise ValueError(f"data.root: cannot read {entry.path!r} ({exc.strerror or exc})") \
            from None
    if entry.is_symlink() and not os.path.exists(entry.path):
        raise ValueError(f"data.root: {entry.path!r} is a symbolic link to nothing "
                         f"({os.readlink(entry.path)!r})")
    return False
