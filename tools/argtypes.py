"""argparse types for the command-line tools: each checks one flag's value once, when it is parsed.

A bad value ends the command the way argparse ends it (exit status 2) with one line,
``argument --epochs: got '-1'; expected an integer >= 1``. Integers are plain decimal digits
only ('+3', '1_0' and '3.0' are refused, though ``int()`` would take the first two).
"""
import argparse
import math
import re


def number(convert, accepts, expected):
    """An argparse type: ``convert(text)`` when it converts and ``accepts`` the value.

    Args:
        convert: str -> value; raises ValueError for text that is not a number.
        accepts: value -> bool, the range check.
        expected: what the error line says is expected, e.g. "an integer >= 1".
    """
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accepts(value):
            raise argparse.ArgumentTypeError(f"got {text!r}; expected {expected}")
        return value
    return parse


def _whole_number(text):
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(text)
    return int(text)


positive = number(_whole_number, lambda v: v >= 1, "an integer >= 1")
non_negative = number(_whole_number, lambda v: v >= 0, "an integer >= 0")
non_negative_real = number(float, lambda v: 0 <= v < math.inf, "a number >= 0")
fraction = number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
seconds = number(float, lambda v: 0 <= v < math.inf, "seconds >= 0")


def _whole_numbers(text):
    return [_whole_number(v) for v in text.replace(",", " ").split()]


# Integers >= 1 separated by commas or spaces: '64,128' or '64 128' -> [64, 128].
positive_list = number(_whole_numbers, lambda v: len(v) > 0 and min(v) >= 1, "integers >= 1")
