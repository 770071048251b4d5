"""The argparse types every tool's numeric flags use: what each accepts and the one line it gives."""
import argparse
import contextlib
import io
import unittest

from tools import argtypes


class ArgTypesTest(unittest.TestCase):
    def test_accepted_values(self):
        for parse, text, value in [(argtypes.positive, "3", 3), (argtypes.positive, "007", 7),
                                   (argtypes.non_negative, "0", 0),
                                   (argtypes.non_negative_real, "2.5e-4", 2.5e-4),
                                   (argtypes.non_negative_real, "0", 0.0),
                                   (argtypes.fraction, "0.9", 0.9), (argtypes.fraction, "0", 0.0),
                                   (argtypes.seconds, "540", 540.0),
                                   (argtypes.positive_list, "64,128 256", [64, 128, 256])]:
            with self.subTest(parse=parse, text=text):
                self.assertEqual(parse(text), value)
                self.assertIs(type(parse(text)), type(value))

    def test_refused_values(self):
        for parse, text, expected in [
                (argtypes.positive, "0", "an integer >= 1"), (argtypes.positive, "+3", ">= 1"),
                (argtypes.positive, "1_0", ">= 1"), (argtypes.positive, "3.0", ">= 1"),
                (argtypes.positive, " 3", ">= 1"), (argtypes.positive, "²", ">= 1"),
                (argtypes.non_negative, "-1", "an integer >= 0"),
                (argtypes.non_negative_real, "-0.1", "a number >= 0"),
                (argtypes.non_negative_real, "nan", ">= 0"),
                (argtypes.non_negative_real, "inf", ">= 0"),
                (argtypes.fraction, "1", "a number in [0, 1)"),
                (argtypes.fraction, "-0.1", "[0, 1)"), (argtypes.seconds, "-1", "seconds >= 0"),
                (argtypes.seconds, "soon", "seconds >= 0"),
                (argtypes.positive_list, "64,0", "integers >= 1"),
                (argtypes.positive_list, "", "integers >= 1"),
                (argtypes.positive_list, "64,-8", "integers >= 1")]:
            with self.subTest(parse=parse, text=text):
                with self.assertRaises(argparse.ArgumentTypeError) as refused:
                    parse(text)
                message = str(refused.exception)
                self.assertTrue(message.startswith(f"got {text!r}; expected "), message)
                self.assertIn(expected, message)

    def test_a_parser_ends_with_exit_2_and_one_line(self):
        parser = argparse.ArgumentParser(prog="tool")
        parser.add_argument("--epochs", type=argtypes.positive)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as stop:
            parser.parse_args(["--epochs", "-1"])
        self.assertEqual(stop.exception.code, 2)
        self.assertEqual(err.getvalue().splitlines()[-1],
                         "tool: error: argument --epochs: got '-1'; expected an integer >= 1")


if __name__ == "__main__":
    unittest.main()
