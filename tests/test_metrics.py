"""Metrics on hand-made confusion matrices against hand-computed values."""
import os
import tempfile
import unittest
from unittest import mock

import torch

from engine.metrics import (confusion_matrix, format_confusion, format_summary,
                            save_confusion_png, summarize, thirds)

# Rows = true class. Class 3 has no true and no predicted image.
CONFUSION = torch.tensor([[8, 2, 0, 0],
                          [1, 3, 1, 0],
                          [0, 1, 4, 0],
                          [0, 0, 0, 0]])
CLASSES = ["plane", "car", "bird", "cat"]


class ConfusionMatrixTest(unittest.TestCase):
    def test_matches_a_python_loop(self):
        generator = torch.Generator().manual_seed(0)
        preds = torch.randint(0, 5, (300,), generator=generator)
        targets = torch.randint(0, 5, (300,), generator=generator)
        expected = [[0] * 5 for _ in range(5)]
        for p, t in zip(preds.tolist(), targets.tolist()):
            expected[t][p] += 1
        result = confusion_matrix(preds, targets, 5)
        self.assertEqual(result.dtype, torch.int64)
        self.assertEqual(result.tolist(), expected)

    def test_unseen_classes_keep_the_full_shape(self):
        result = confusion_matrix(torch.tensor([0, 0]), torch.tensor([1, 0]), 4)
        self.assertEqual(result.shape, (4, 4))
        self.assertEqual(result[1, 0].item(), 1)
        self.assertEqual(result[0, 0].item(), 1)
        self.assertEqual(result.sum().item(), 2)


class SummarizeTest(unittest.TestCase):
    def setUp(self):
        # 100 and 20 sit on the boundaries: both are "medium".
        self.summary = summarize(CONFUSION, [500, 100, 20, 5])

    def test_accuracies(self):
        self.assertAlmostEqual(self.summary["accuracy"], 15 / 20)
        for got, want in zip(self.summary["per_class"], [0.8, 0.6, 0.8, 0.0]):
            self.assertAlmostEqual(got, want)
        self.assertAlmostEqual(self.summary["balanced_accuracy"], (0.8 + 0.6 + 0.8 + 0) / 4)

    def test_macro_f1_by_hand(self):
        # F1 = 2TP / (2TP + FP + FN): 16/19, 6/11, 8/10, and 0 for the absent class.
        self.assertAlmostEqual(self.summary["macro_f1"], (16 / 19 + 6 / 11 + 0.8 + 0) / 4)

    def test_shot_groups(self):
        self.assertEqual(self.summary["group_classes"],
                         {"many": [0], "medium": [1, 2], "few": [3]})
        self.assertAlmostEqual(self.summary["groups"]["many"], 0.8)
        self.assertAlmostEqual(self.summary["groups"]["medium"], 0.7)
        self.assertAlmostEqual(self.summary["groups"]["few"], 0.0)

    def test_custom_shot_thresholds(self):
        summary = summarize(CONFUSION, [500, 100, 20, 5], many_shot=50, few_shot=10)
        self.assertEqual(summary["group_classes"],
                         {"many": [0, 1], "medium": [2], "few": [3]})

    def test_empty_group_is_none(self):
        summary = summarize(CONFUSION, [500, 200, 50, 30])
        self.assertIsNone(summary["groups"]["few"])
        self.assertEqual(summary["group_classes"]["few"], [])
        self.assertAlmostEqual(summary["groups"]["many"], (0.8 + 0.6) / 2)
        self.assertAlmostEqual(summary["groups"]["medium"], (0.8 + 0.0) / 2)

    def test_thirds_follow_training_counts_not_indices(self):
        # Counts out of index order: sorted descending the classes are 2, 0, 3, 1.
        summary = summarize(CONFUSION, [50, 5, 500, 20])
        self.assertEqual(summary["thirds_classes"],
                         {"head": [2], "middle": [0, 3], "tail": [1]})
        self.assertAlmostEqual(summary["thirds"]["head"], 0.8)
        self.assertAlmostEqual(summary["thirds"]["middle"], 0.4)
        self.assertAlmostEqual(summary["thirds"]["tail"], 0.6)

    def test_confusion_is_plain_data(self):
        self.assertEqual(self.summary["confusion"], CONFUSION.tolist())
        self.assertIsInstance(self.summary["accuracy"], float)
        self.assertIsInstance(self.summary["confusion"][0][0], int)

    def test_rejects_mismatched_counts(self):
        with self.assertRaises(ValueError):
            summarize(CONFUSION, [10, 10, 10])

    def test_cifar10_lt_has_no_few_shot_class(self):
        counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
        summary = summarize(torch.eye(10, dtype=torch.int64) * 100, counts)
        self.assertEqual(summary["group_classes"]["medium"], [8, 9])
        self.assertIsNone(summary["groups"]["few"])
        self.assertEqual(summary["groups"]["many"], 1.0)


class ThirdsTest(unittest.TestCase):
    def test_sizes(self):
        def sizes(c):
            return [len(v) for v in thirds(list(range(c, 0, -1))).values()]
        self.assertEqual(sizes(10), [3, 4, 3])
        self.assertEqual(sizes(11), [4, 3, 4])
        self.assertEqual(sizes(12), [4, 4, 4])
        self.assertEqual(sizes(2), [1, 0, 1])

    def test_ties_broken_by_index(self):
        self.assertEqual(thirds([7, 9, 7, 7, 1, 7]),
                         {"head": [1, 0], "middle": [2, 3], "tail": [5, 4]})


class HundredClassesTest(unittest.TestCase):
    """CIFAR-100-LT at factor 100 (500 down to 5 images a class): every shot group is filled."""

    def setUp(self):
        from data import long_tail_counts
        self.counts = long_tail_counts(500, 100, "exp", 100)
        # Class c: c % 5 of its 4 test images right, so its accuracy is (c % 5) / 4.
        confusion = torch.zeros(100, 100, dtype=torch.int64)
        for c in range(100):
            hits = c % 5
            confusion[c, c] = hits
            confusion[c, (c + 1) % 100] = 4 - hits
        self.summary = summarize(confusion, self.counts)

    def test_published_many_medium_few_split(self):
        # The split the CIFAR-100-LT papers report: 35 many (> 100), 35 medium, 30 few (< 20).
        self.assertEqual(self.counts[34:36], [102, 98])
        self.assertEqual(self.counts[69:71], [20, 19])
        sizes = {name: len(members) for name, members in self.summary["group_classes"].items()}
        self.assertEqual(sizes, {"many": 35, "medium": 35, "few": 30})
        self.assertEqual(self.summary["group_classes"]["few"], list(range(70, 100)))

    def test_group_and_third_accuracies_by_hand(self):
        rates = [(c % 5) / 4 for c in range(100)]
        for name, members in (("many", range(35)), ("medium", range(35, 70)),
                              ("few", range(70, 100))):
            self.assertAlmostEqual(self.summary["groups"][name],
                                   sum(rates[c] for c in members) / len(members))
        self.assertEqual([len(v) for v in self.summary["thirds_classes"].values()], [33, 34, 33])
        self.assertEqual(self.summary["thirds_classes"]["tail"], list(range(67, 100)))
        self.assertAlmostEqual(self.summary["thirds"]["tail"],
                               sum(rates[c] for c in range(67, 100)) / 33)


class FormattingTest(unittest.TestCase):
    def test_summary_table(self):
        text = format_summary(summarize(CONFUSION, [500, 200, 50, 30]), CLASSES,
                              [500, 200, 50, 30])
        self.assertIn("accuracy 0.7500", text)
        self.assertIn("few n/a (no classes)", text)
        self.assertIn("many 0.7000", text)
        row = next(line for line in text.splitlines() if line.startswith("car"))
        self.assertEqual(row.split(), ["car", "200", "0.6000"])

    def test_confusion_table(self):
        lines = format_confusion(CONFUSION, CLASSES).splitlines()
        self.assertEqual(lines[1].split(), CLASSES)
        self.assertEqual(lines[3].split(), ["car", "1", "3", "1", "0"])

    def test_many_classes_list_the_largest_confusions_instead_of_a_table(self):
        confusion = torch.eye(30, dtype=torch.int64) * 50
        confusion[4, 7] = 9
        confusion[12, 3] = 5
        confusion[0, 29] = 2
        classes = [f"c{i}" for i in range(30)]
        lines = format_confusion(confusion, classes, most_frequent=2).splitlines()
        self.assertIn("30 classes", lines[0])
        self.assertEqual([line.strip() for line in lines[1:]], ["c4 -> c7: 9", "c12 -> c3: 5"])
        everything = format_confusion(confusion, classes, most_frequent=100).splitlines()
        self.assertEqual(len(everything), 1 + 3)


class ConfusionPngTest(unittest.TestCase):
    def test_writes_a_valid_png_atomically(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "confusion.png")
            save_confusion_png(CONFUSION, CLASSES, path)
            self.assertEqual(os.listdir(folder), ["confusion.png"])
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            import matplotlib.image
            image = matplotlib.image.imread(path)
            self.assertEqual(image.ndim, 3)
            self.assertGreater(image.shape[0], 100)

    def test_many_classes_keep_a_fixed_size_without_cell_labels(self):
        classes = [f"class{i}" for i in range(30)]
        confusion = torch.eye(30, dtype=torch.int64) * 3
        import matplotlib.image
        import matplotlib.pyplot  # noqa: F401  (imported before Axes.text is patched)
        with tempfile.TemporaryDirectory() as folder, \
                mock.patch("matplotlib.axes.Axes.text") as text:
            path = os.path.join(folder, "confusion.png")
            save_confusion_png(confusion, classes, path)
            image = matplotlib.image.imread(path)
        text.assert_not_called()
        self.assertEqual(image.shape[:2], (16 * 120, 16 * 120))


if __name__ == "__main__":
    unittest.main()
