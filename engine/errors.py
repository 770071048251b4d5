"""Exceptions that end a run on purpose, each with its exit code.

Bad input raises ValueError / TypeError (or an OSError for files) with a one-line message;
``main.py`` prints it as ``error: <message>`` and exits with code 2.
"""


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
