"""The writer package ``fileio``: the target is replaced whole or left as it was, with no
temporary left; leftovers of a crash are cleaned; folders are checked before any work."""
import json
import os
import stat
import tempfile
import unittest

import torch

from engine.checkpoint import atomic_save
from fileio import (atomic_path, check_writable_folder, remove_temporaries, torch_save_atomic,
                    write_json_atomic, write_text_atomic)


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

    def test_json_and_torch_writers(self):
        write_json_atomic({"accuracy": 0.5, "classes": ["a", "b"]}, self.path)
        with open(self.path) as f:
            self.assertEqual(json.load(f), {"accuracy": 0.5, "classes": ["a", "b"]})
        weights = os.path.join(self.folder, "w.pth")
        torch_save_atomic({"fc.weight": torch.arange(6.0).reshape(2, 3)}, weights)
        loaded = torch.load(weights, weights_only=True)
        self.assertTrue(torch.equal(loaded["fc.weight"], torch.arange(6.0).reshape(2, 3)))
        self.assertEqual(sorted(os.listdir(self.folder)), ["metrics.json", "w.pth"])


class LeftoverAndFolderTest(unittest.TestCase):
    def test_only_the_writers_temporary_files_are_removed(self):
        with tempfile.TemporaryDirectory() as folder:
            names = [".tmp-abc.pt", ".tmp-x", "last.pt", "a.tmp-", ".tmpfile"]
            for name in names:
                open(os.path.join(folder, name), "wb").close()
            os.mkdir(os.path.join(folder, ".tmp-folder"))
            self.assertEqual(remove_temporaries(folder), [".tmp-abc.pt", ".tmp-x"])
            self.assertEqual(sorted(os.listdir(folder)),
                             [".tmp-folder", ".tmpfile", "a.tmp-", "last.pt"])
            self.assertEqual(remove_temporaries(os.path.join(folder, "none")), [])

    def test_a_file_in_the_way_is_refused_and_nothing_is_created(self):
        with tempfile.TemporaryDirectory() as folder:
            blocker = os.path.join(folder, "file")
            open(blocker, "wb").close()
            for target in (blocker, os.path.join(blocker, "below")):
                with self.subTest(target=target), self.assertRaises(NotADirectoryError) as caught:
                    check_writable_folder(target)
                self.assertEqual(caught.exception.filename, blocker)
            check_writable_folder(os.path.join(folder, "new", "deeper"))
            check_writable_folder(folder)
            self.assertEqual(os.listdir(folder), ["file"])


if __name__ == "__main__":
    unittest.main()
