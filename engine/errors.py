"""Errors caused by the user's input rather than by a bug in Longtail."""


class UserError(Exception):
    """Bad input (config, flag, dataset): reported as one line, exit code 2, no traceback.

    The message names what is wrong (a key, a path, a value) and what is expected.
    """

    exit_code = 2


class Interrupted(Exception):
    """Ctrl-C stopped a training run after its progress was saved to ``run_dir/last.pt``."""

    exit_code = 130

    def __init__(self, run_dir):
        super().__init__(run_dir)
        self.run_dir = run_dir


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite; the message names the epoch and step."""

    exit_code = 3
