"""Errors caused by the user's input rather than by a bug in Longtail."""


class UserError(Exception):
    """Bad input (config, flag, dataset): reported as one line, exit code 2, no traceback.

    The message names what is wrong (a key, a path, a value) and what is expected.
    """

    exit_code = 2
