"""One scheduler behind sweep and study: the same fake runs take both entry points through skip,
resume and fail with the same outcomes, and both validate the whole grid first."""
import contextlib
import csv
import io
import os
import tempfile
import unittest
from unittest import mock

from tests.fake_runs import FakeRuns
from tools import scheduler, study, sweep
from tools.grid import load_grid


def run_tool(tool, fake, *extra, **env):
    """``tool.main`` on the fake's grid, in this process; returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    argv = [fake.grid, "--main", fake.main, "--outdir", fake.runs, *extra]
    with mock.patch.dict(os.environ, fake.env(**env)), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        status = tool.main(argv)
    return status, out.getvalue(), err.getvalue()


class BothEntryPointsTest(unittest.TestCase):
    def test_skip_resume_and_fail_end_alike_in_sweep_and_study(self):
        histories = {}
        for tool in (sweep, study):
            name = tool.__name__.rsplit(".", 1)[1]
            with self.subTest(tool=name), tempfile.TemporaryDirectory() as tmp:
                fake = FakeRuns(tmp)
                first = os.path.join(fake.runs, "t-method=a-seed=0")

                status, out, _ = run_tool(tool, fake, FAKE_MODE="interrupt_once")
                self.assertEqual(status, 130, out)
                self.assertEqual(fake.named("start"), ["t-method=a-seed=0"])
                self.assertIn(f"to continue: python -m tools.{name} {fake.grid} --main", out)
                self.assertFalse(os.path.exists(os.path.join(fake.runs, "t-summary.csv")),
                                 "no summary without a finished run")

                status, out, _ = run_tool(tool, fake, FAKE_FAIL="b-seed=1")
                self.assertEqual(status, 1, out)
                self.assertEqual(fake.events()[2][2], ["--no-export", "--resume", first])
                self.assertIn(f"{name}: 1 run(s) failed: t-method=b-seed=1", out)

                status, out, _ = run_tool(tool, fake)
                self.assertEqual(status, 0, out)
                self.assertEqual(out.count("finished, skipped"), 3)
                self.assertEqual(out.count(": resuming"), 1)
                self.assertIn(f"{name}: 4 finished, 0 in progress, 0 left", out)
                with open(os.path.join(fake.runs, "t-summary.csv")) as f:
                    self.assertEqual([row["n"] for row in csv.DictReader(f)], ["2", "2"])
                histories[name] = [(kind, run, argv[1]) for kind, run, argv in fake.events()]
        self.assertEqual(histories["sweep"], histories["study"])
        self.assertEqual(len(histories["sweep"]), 11)  # 6 starts (2 resumed), 1 stop, 4 ends

    def test_a_misspelt_key_stops_both_before_anything_starts(self):
        for tool in (sweep, study):
            with self.subTest(tool=tool.__name__), tempfile.TemporaryDirectory() as tmp:
                fake = FakeRuns(tmp)
                fake.write_grid({"method": {"a": {"loss.name": "ce"},
                                            "b": {"loss.gama": 2}}, "seed": [0]})
                status, out, err = run_tool(tool, fake)
                self.assertEqual(status, 2)
                self.assertRegex(err, r"^error: run t-method=b-seed=0: loss\.gama[^\n]*\n$")
                self.assertEqual(fake.events(), [])
                self.assertFalse(os.path.exists(fake.runs))

    def test_an_outdir_that_is_a_file_is_refused_before_any_run(self):
        for tool in (sweep, study):
            with self.subTest(tool=tool.__name__), tempfile.TemporaryDirectory() as tmp:
                fake = FakeRuns(tmp)
                with open(fake.runs, "w") as f:
                    f.write("not a folder")
                status, _, err = run_tool(tool, fake)
                self.assertEqual(status, 2)
                self.assertEqual(err, f"error: --outdir: {fake.runs!r} is a file; expected a "
                                      "folder\n")
                self.assertEqual(fake.events(), [])


class StatesTest(unittest.TestCase):
    def test_run_states_and_commands(self):
        with tempfile.TemporaryDirectory() as tmp:
            fake = FakeRuns(tmp)
            items = scheduler.plan_runs([(load_grid(fake.grid), fake.runs)])
            item = items[0]
            argv, state = scheduler.command_for(item, fake.main, ["train.epochs=2"])
            self.assertEqual(state, "left")
            self.assertEqual(argv[1:5], [fake.main, "--no-export", "--config", fake.base])
            self.assertEqual(argv[-6:], ["--set", "train.epochs=2", "--set",
                                         "run.name=t-method=a-seed=0", "--set",
                                         f"run.dir={fake.runs}"])
            os.makedirs(item["dir"])
            open(os.path.join(item["dir"], "last.pt"), "w").close()
            self.assertEqual(scheduler.command_for(item)[1], "in progress")
            self.assertEqual(scheduler.counts(items, {"x"}),
                             "0 finished, 1 in progress, 3 left (1 failed)")


if __name__ == "__main__":
    unittest.main()
