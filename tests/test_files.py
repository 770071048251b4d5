"""Atomic writes: the target is replaced whole or left as it was, with no temporary left."""
import os
import stat
import tempfile
import unittest

import torch

from engine.checkpoint import atomic_save
from fileio import atomic_path, write_text_atomic


class AtomicWriteTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.folder = tmp.name
        self.path = os.path.join(self.folder, "metrics.json")
        with open(self.path, "w") as f:
            f.write("old")

    def read(self):
        with open(self.path, encoding="utf-8") as f:
            return f.read()

    def test_replaces_the_file_and_leaves_nothing_else(self):
        write_text_atomic("new ± 1", self.path)
        self.assertEqual(self.read(), "new ± 1")
        self.assertEqual(os.listdir(self.folder), ["metrics.json"])
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o644)

    def test_an_error_while_writing_keeps_the_old_file(self):
        with self.assertRaises(KeyboardInterrupt):
            with atomic_path(self.path) as tmp_path:
                with open(tmp_path, "w") as f:
                    f.write("half")
                raise KeyboardInterrupt
        self.assertEqual(self.read(), "old")
        self.assertEqual(os.listdir(self.folder), ["metrics.json"])

    def test_a_checkpoint_that_cannot_be_saved_keeps_the_old_one(self):
        path = os.path.join(self.folder, "last.pt")
        atomic_save({"step": 1}, path)
        with self.assertRaises(Exception):
            atomic_save({"step": 2, "bad": lambda: None}, path)  # lambdas cannot be pickled
        self.assertEqual(torch.load(path), {"step": 1})
        self.assertEqual(sorted(os.listdir(self.folder)), ["last.pt", "metrics.json"])


if __name__ == "__main__":
    unittest.main()
