"""report.course_study on two fake run folders: the table's numbers, row order and empty
groups, the figures it writes, and its error for a folder without finished runs."""
import contextlib
import io
import json
import os
import tempfile
import unittest

import yaml

from report import course_study

CLASSES = ["a", "b", "c"]
COUNTS = [500, 50, 5]


def write_run(root, name, loss, test, finished=True):
    """A run folder holding the config.yaml and metrics.json that main.py would leave."""
    folder = os.path.join(root, name)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        yaml.safe_dump({"seed": 0, "model": {"name": "resnet32"}, "loss": loss}, f)
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump({"finished": finished, "classes": CLASSES, "cls_num_list": COUNTS,
                   "test": test}, f)


def summary(per_class, accuracy, many, medium, few):
    return {"accuracy": accuracy, "balanced_accuracy": sum(per_class) / 3, "macro_f1": 0.5,
            "per_class": per_class, "groups": {"many": many, "medium": medium, "few": few},
            "thirds": {"head": per_class[0], "middle": per_class[1], "tail": per_class[2]}}


class CourseStudyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.runs = os.path.join(self.tmp.name, "runs")
        # Written CB first so that the table's order (CE before CB) is the function's doing.
        write_run(self.runs, "cbfocal-method=cb_b0.999_g2",
                  {"name": "focal", "gamma": 2.0, "beta": 0.999, "reweight": "class_balanced",
                   "reweight_epoch": 0},
                  summary([0.8, 0.6, 0.4], 0.6, 0.8, 0.6, 0.4))
        write_run(self.runs, "cbfocal-method=ce",
                  {"name": "ce", "gamma": 0.0, "beta": 0.9999, "reweight": "none",
                   "reweight_epoch": 0},
                  summary([0.9, 0.5, 0.125], 0.525, 0.9, 0.3125, None))
        write_run(self.runs, "cbfocal-method=focal_g1",
                  {"name": "focal", "gamma": 1.0, "beta": 0.9999, "reweight": "none",
                   "reweight_epoch": 0},
                  summary([0.1, 0.1, 0.1], 0.1, 0.1, 0.1, 0.1), finished=False)

    def test_table_holds_each_finished_runs_numbers_in_percent(self):
        out = os.path.join(self.tmp.name, "out")
        with contextlib.redirect_stdout(io.StringIO()):
            code = course_study.main(["--runs", self.runs, "--out", out])
        self.assertEqual(code, 0)
        with open(os.path.join(out, "table.md")) as f:
            rows = f.read().splitlines()[2:]
        self.assertEqual(rows, [
            "| CE | — | 0 | 52.5 | 50.8 | 90.0 | 50.0 | 12.5 | 90.0 | 31.2 | — |",
            "| CB focal (β=0.999, γ=2) | 0.999 | 2 | 60.0 | 60.0 | 80.0 | 60.0 | 40.0 | 80.0 "
            "| 60.0 | 40.0 |",
        ])

    def test_rows_keep_beta_gamma_and_skip_unfinished_runs(self):
        rows = course_study.study_rows(self.runs)
        self.assertEqual([(r["label"], r["beta"], r["gamma"]) for r in rows],
                         [("CE", None, 0.0), ("CB focal (β=0.999, γ=2)", 0.999, 2.0)])
        self.assertIsNone(rows[0]["few"])
        self.assertAlmostEqual(rows[1]["tail"], 0.4)

    def test_figures_are_written_as_png(self):
        out = os.path.join(self.tmp.name, "out")
        course_study.build(self.runs, out)
        for name in ("heatmap.png", "per_class.png"):
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
        self.assertEqual([n for n in os.listdir(out) if n.startswith(".tmp-")], [])

    def test_without_a_finished_cb_run_the_heatmap_is_left_out(self):
        partial = os.path.join(self.tmp.name, "partial")
        write_run(partial, "cbfocal-method=ce", {"name": "ce", "gamma": 0.0, "beta": 0.9999,
                                                 "reweight": "none", "reweight_epoch": 0},
                  summary([0.9, 0.5, 0.125], 0.525, 0.9, 0.3125, None))
        out = os.path.join(self.tmp.name, "out")
        course_study.build(self.runs, out)                       # a full study: a heatmap
        self.assertTrue(os.path.exists(os.path.join(out, "heatmap.png")))
        table = course_study.build(partial, out)                 # CE only: none
        self.assertEqual(len(table.splitlines()), 3)
        self.assertEqual(sorted(os.listdir(out)), ["per_class.png", "table.md"])

    def test_per_class_plots_baselines_and_beta_corners(self):
        rows = course_study.study_rows(self.runs)
        self.assertEqual(course_study.per_class_labels(rows), ["CE", "CB focal (β=0.999, γ=2)"])

    def test_no_finished_run_is_a_one_line_error(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = course_study.main(["--runs", empty, "--out", os.path.join(self.tmp.name, "o")])
        self.assertEqual(code, 2)
        self.assertEqual(stderr.getvalue(),
                         f"error: {empty}: no finished run (config.yaml + metrics.json) found\n")


if __name__ == "__main__":
    unittest.main()
