"""The one error convention of main.py and every tool, and the exceptions that end a run.

Bad input raises ValueError / TypeError (or an OSError for files) with a one-line message; a
command's ``main`` catches ``INPUT_ERRORS`` and returns ``report(error)``, which prints
``error: <message>`` on stderr and gives exit code 2.
"""
import sys

# Bad input of any kind: one line on stderr, this exit code, no traceback.
INPUT_ERRORS = (ValueError, TypeError, OSError)
INPUT_ERROR_EXIT = 2


def one_line(error):
    """The message of a bad-input exception on one line; an OSError names its file."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename!r}: " if error.filename is not None else ""
        text = f"{where}{error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def report(error):
    """Print ``error: <one-line message>`` on stderr; returns ``INPUT_ERROR_EXIT`` (2)."""
    print(f"error: {one_line(error)}", file=sys.stderr)
    return INPUT_ERROR_EXIT


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped a training run after its progress was saved to
    ``run_dir/last.pt``."""

    exit_code = 130

    def __init__(self, run_dir):
        super().__init__(run_dir)
        self.run_dir = run_dir


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite; the message names the epoch and step and
    whether a best.pt exists."""

    exit_code = 3
