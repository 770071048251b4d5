"""Sweeps: grid expansion and names, aggregation over seeds, skipping, interruption and resume.

The sweep runs the fake ``main.py`` of tests/fake_runs.py, which takes the real command line and
writes a run folder, so these tests need neither torch nor training.
"""
import contextlib
import csv
import io
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

import yaml

from engine.config import load_config
from tests.fake_runs import FakeRuns
from tools import collect, summary, sweep
from tools import grid as grids
from tools.runs import load_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GRID = {
    "base": "base.yaml",
    "prefix": "t",
    "axes": {"method": {"a": {"loss.name": "ce"},
                        "b": {"loss.name": "ldam", "model.normed_classifier": True}},
             "data.imbalance.factor": [10, 100],
             "seed": [0, 1]},
}


def metrics_summary(accuracy, few=None):
    """A minimal test summary, as ``engine.metrics.summarize`` lays it out."""
    return {"accuracy": accuracy, "balanced_accuracy": accuracy, "macro_f1": accuracy,
            "groups": {"many": accuracy, "medium": accuracy, "few": few},
            "thirds": {"head": accuracy, "middle": accuracy, "tail": accuracy}}


def write_finished_run(run_dir, accuracy, few=None):
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "config.yaml"), "w") as f:
        f.write("seed: 0\n")
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump({"finished": True, "test": metrics_summary(accuracy, few)}, f)


class GridTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def grid(self, raw):
        path = os.path.join(self.tmp.name, "grid.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(raw, f, sort_keys=False)
        return grids.load_grid(path)

    def test_cartesian_product_with_readable_names(self):
        runs = grids.expand(self.grid(dict(GRID, set={"train.epochs": 3})))
        self.assertEqual(len(runs), 8)
        self.assertEqual(runs[0]["name"], "t-method=a-factor=10-seed=0")
        self.assertEqual(runs[-1]["name"], "t-method=b-factor=100-seed=1")
        self.assertEqual(runs[-1]["overrides"],
                         ["train.epochs=3", "loss.name=ldam", "model.normed_classifier=true",
                          "data.imbalance.factor=100", "seed=1"])
        self.assertEqual(runs[-1]["labels"], {"method": "b", "factor": "100", "seed": "1"})
        self.assertEqual(len({run["name"] for run in runs}), 8)

    def test_colliding_short_names_use_the_full_key(self):
        grid = self.grid({"base": "b.yaml", "prefix": "p",
                          "axes": {"loss.gamma": [1], "x.gamma": [2], "train.lr": [0.1]}})
        self.assertEqual(grids.expand(grid)[0]["name"], "p-loss.gamma=1-x.gamma=2-lr=0.1")
        self.assertEqual(grids.group_columns(grid), ["loss.gamma", "x.gamma", "lr"])

    def test_seed_axis_is_not_grouped(self):
        self.assertEqual(grids.group_columns(self.grid(GRID)), ["method", "factor"])

    def test_values_are_written_as_set_reads_them(self):
        self.assertEqual(grids.format_value("ce"), "ce")
        self.assertEqual(grids.format_value(True), "true")
        self.assertEqual(grids.format_value("100"), '"100"')
        self.assertEqual(grids.format_value([160, 180]), "[160, 180]")
        self.assertEqual(grids.format_value(1e-4), "0.0001")
        for value in ("ce", True, "100", [160, 180], 1e-4, "true"):
            self.assertEqual(yaml.safe_load(grids.format_value(value)), value)

    def test_runs_marked_first_start_first_in_the_order_given(self):
        grid = self.grid(dict(GRID, first=[{"factor": 100, "seed": 0},
                                           {"data.imbalance.factor": [100]}]))
        self.assertEqual([run["name"] for run in grids.plan(grid)],
                         ["t-method=a-factor=100-seed=0", "t-method=b-factor=100-seed=0",
                          "t-method=a-factor=100-seed=1", "t-method=b-factor=100-seed=1",
                          "t-method=a-factor=10-seed=0", "t-method=a-factor=10-seed=1",
                          "t-method=b-factor=10-seed=0", "t-method=b-factor=10-seed=1"])
        self.assertEqual(grids.plan(self.grid(GRID)), grids.expand(self.grid(GRID)))

    def test_a_run_naming_another_runs_folder_goes_right_after_it(self):
        def run(name, *overrides):
            return {"name": name, "labels": {}, "overrides": list(overrides)}

        runs = [run("s=2-a", "train.init_from=runs/s=1-a/best.pt", "seed=0"),
                run("other"),
                run("s=2-b", "train.init_from=runs/s=1-b/best.pt"),
                run("s=1-b"), run("s=1-a"), run("s=1-ab")]
        self.assertEqual(grids.references(runs[0], [r["name"] for r in runs]), ["s=1-a"])
        self.assertEqual([r["name"] for r in grids.order_runs(runs)],
                         ["other", "s=1-b", "s=2-b", "s=1-a", "s=2-a", "s=1-ab"])
        with self.assertRaises(ValueError):
            grids.order_runs([run("x", "a=runs/y/best.pt"), run("y", "a=runs/x/best.pt")])

    def test_placeholders_take_the_runs_own_labels(self):
        grid = self.grid({"base": "b.yaml", "prefix": "p",
                          "set": {"train.init_from":
                                  "runs/s1-factor={factor}-seed={seed}/best.pt"},
                          "axes": {"data.imbalance.factor": [10, 100], "seed": [0, 1]}})
        paths = [run["overrides"][0] for run in grids.expand(grid)]
        self.assertEqual(paths, [f"train.init_from=runs/s1-factor={f}-seed={s}/best.pt"
                                 for f in (10, 100) for s in (0, 1)])
        self.assertEqual(grids.fill_labels(3, {"seed": "0"}), 3)
        bad = self.grid({"base": "b.yaml", "prefix": "p", "axes": {
            "method": {"x": {"train.init_from": "runs/{sed}/best.pt"}}, "seed": [0]}})
        with self.assertRaisesRegex(ValueError, r"\{sed\} names no axis"):
            grids.expand(bad)

    def test_malformed_grids_are_rejected(self):
        bad = [{"prefix": "p", "axes": {"seed": [0]}},
               dict(GRID, extra=1),
               dict(GRID, axes={"seed": []}),
               dict(GRID, axes={"loss.name": ["a b"]}),
               dict(GRID, axes={"method": {"ce": "loss.name=ce"}}),
               dict(GRID, axes={"loss.name": [{"x": 1}]}),
               dict(GRID, first={"seed": 0}),
               dict(GRID, first=[{"lr": 0.1}]),
               dict(GRID, first=[{"seed": 7}])]
        for raw in bad:
            with self.subTest(raw=raw), self.assertRaises(ValueError):
                self.grid(raw)


class CommittedGridsTest(unittest.TestCase):
    """Every grid in configs/sweeps/ expands into runs whose configs validate, so a typo in a
    key or value fails here instead of hours into a sweep."""

    def test_every_run_of_every_committed_grid_has_a_valid_config(self):
        folder = os.path.join(REPO, "configs", "sweeps")
        files = sorted(name for name in os.listdir(folder) if name.endswith(".yaml"))
        self.assertIn("cifar10_lt_cpu.yaml", files)
        for name in files:
            grid = grids.load_grid(os.path.join(folder, name))
            for run in grids.expand(grid):
                with self.subTest(grid=name, run=run["name"]):
                    cfg = load_config(os.path.join(REPO, grid["base"]), run["overrides"])
                    self.assertEqual(cfg.model.name, "resnet32")
                    self.assertLess(cfg.loss.reweight_epoch, cfg.train.epochs)
                    if cfg.train.init_from:     # stage 2 starts from its own seed's stage 1
                        stage1 = os.path.basename(os.path.dirname(cfg.train.init_from))
                        self.assertTrue(stage1.endswith(f"-seed={run['labels']['seed']}"))


class AggregateTest(unittest.TestCase):
    def test_mean_and_sample_std_over_seeds(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "grid.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(dict(GRID, axes={"method": {"a": {"loss.name": "ce"},
                                                           "b": {"loss.name": "focal"},
                                                           "c": {"loss.name": "ldam"}},
                                                "seed": [0, 1, 2]}), f, sort_keys=False)
            grid = grids.load_grid(path)
            for seed, accuracy in enumerate([0.70, 0.72, 0.77]):
                write_finished_run(os.path.join(tmp, f"t-method=a-seed={seed}"), accuracy,
                                   few=0.1 * seed if seed else None)
            write_finished_run(os.path.join(tmp, "t-method=b-seed=1"), 0.8)
            os.makedirs(os.path.join(tmp, "t-method=b-seed=2"))  # started, never finished
            csv_path, md_path = summary.write_summary(grid, tmp)
            with open(csv_path) as f:
                rows = list(csv.DictReader(f))
            with open(md_path) as f:
                markdown = f.read()
        self.assertEqual([row["method"] for row in rows], ["a", "b", "c"])
        self.assertEqual([row["n"] for row in rows], ["3", "1", "0"])
        self.assertAlmostEqual(float(rows[0]["accuracy_mean"]), 0.73)
        self.assertAlmostEqual(float(rows[0]["accuracy_std"]), (0.0026 / 2) ** 0.5)
        self.assertAlmostEqual(float(rows[0]["few_mean"]), 0.15)  # seed 0 has no few class
        self.assertAlmostEqual(float(rows[0]["few_std"]), 0.1 / 2 ** 0.5)
        self.assertEqual(rows[1]["accuracy_std"], "")
        self.assertEqual(rows[2]["accuracy_mean"], "")
        self.assertIn("| a | 3 | 73.00 ± 3.61 |", markdown)
        self.assertIn("| b | 1 | 80.00 |", markdown)
        self.assertIn("| c | 0 | — |", markdown)

    def test_no_summary_without_a_finished_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "grid.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(GRID, f)
            os.makedirs(os.path.join(tmp, "t-method=a-factor=10-seed=0"))
            self.assertIsNone(summary.write_summary(grids.load_grid(path), tmp))
            self.assertEqual(sorted(os.listdir(tmp)),
                             ["grid.yaml", "t-method=a-factor=10-seed=0"])

    def test_format_stat(self):
        self.assertEqual(collect.format_stat(collect.Stat(0.7457, 0.0031, 3)), "74.57 ± 0.31")
        self.assertEqual(collect.format_stat(collect.Stat(0.5, None, 1)), "50.00")
        self.assertEqual(collect.format_stat(collect.Stat(None, None, 0)), collect.MISSING)


class SweepRunTest(unittest.TestCase):
    """The sweep command end to end with the fake main; in this process unless signals or
    pipes are the point."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.fake = FakeRuns(tmp.name)

    def sweep(self, *extra, **env):
        """``tools.sweep`` in this process; returns (status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        argv = [self.fake.grid, "--main", self.fake.main, "--outdir", self.fake.runs, *extra]
        with mock.patch.dict(os.environ, self.fake.env(**env)), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = sweep.main(argv)
        return status, out.getvalue(), err.getvalue()

    def command(self, *extra):
        return [sys.executable, "-m", "tools.sweep", self.fake.grid, "--main", self.fake.main,
                "--outdir", self.fake.runs, *extra]

    def test_runs_everything_then_skips_finished_runs(self):
        status, out, err = self.sweep()
        self.assertEqual(status, 0, err)
        self.assertEqual(self.fake.named("start"), ["t-method=a-seed=0", "t-method=a-seed=1",
                                                    "t-method=b-seed=0", "t-method=b-seed=1"])
        first = self.fake.events()[0][2]
        self.assertEqual(first[:3], ["--no-export", "--config", self.fake.base])
        self.assertEqual(first[-4:], ["--set", "run.name=t-method=a-seed=0",
                                      "--set", f"run.dir={self.fake.runs}"])
        with open(os.path.join(self.fake.runs, "t-summary.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([(r["method"], r["n"]) for r in rows], [("a", "2"), ("b", "2")])
        self.assertAlmostEqual(float(rows[1]["accuracy_mean"]), 0.75)

        status, out, err = self.sweep()
        self.assertEqual(status, 0, err)
        self.assertEqual(len(self.fake.named("start")), 4, "finished runs must not start again")
        self.assertEqual(out.count("finished, skipped"), 4)

    def test_dry_list_runs_nothing(self):
        status, out, err = self.sweep("--dry-list")
        self.assertEqual(status, 0, err)
        self.assertEqual(len(out.splitlines()), 4)
        self.assertIn("t-method=b-seed=1  [new]", out)
        self.assertEqual(self.fake.events(), [])
        self.assertFalse(os.path.exists(self.fake.runs))

    def test_dry_list_prints_commands_a_shell_can_run(self):
        status, out, err = self.sweep("--dry-list", "--set", "train.milestones=[2, 3]")
        self.assertEqual(status, 0, err)
        words = shlex.split(out.splitlines()[0].split("[new]", 1)[1])
        self.assertEqual(words[:3], ["python", self.fake.main, "--no-export"])
        self.assertIn("train.milestones=[2, 3]", words)
        self.assertEqual(words[-1], f"run.dir={self.fake.runs}")

    def test_dry_list_into_a_closed_pipe_stops_quietly(self):
        prefix = "p" * 150  # long lines: the listing outlasts the pipe's buffer
        self.fake.write_grid({"seed": list(range(300))}, prefix=prefix)
        command = shlex.join(self.command("--dry-list"))
        result = subprocess.run(f"{command} | head -1", shell=True, cwd=REPO,
                                capture_output=True, text=True)
        self.assertEqual(len(result.stdout.splitlines()), 1)
        self.assertEqual(result.stderr, "")

    def test_a_bad_grid_is_one_line_and_exit_2_even_in_dry_list(self):
        self.fake.write_grid({"method": {"a": {"loss.name": "ce"},
                                         "b": {"train.epohcs": 2}}, "seed": [0]})
        for extra in ((), ("--dry-list",), ("--collect-only",)):
            with self.subTest(extra=extra):
                status, out, err = self.sweep(*extra)
                self.assertEqual(status, 2)
                self.assertRegex(err, r"^error: run t-method=b-seed=0: train\.epohcs[^\n]*\n$")
                self.assertEqual(out, "")
        with open(self.fake.grid, "w") as f:
            f.write("prefix: t\n")
        status, _, err = self.sweep()
        self.assertEqual(status, 2)
        self.assertRegex(err, r"^error: [^\n]*base[^\n]*\n$")
        self.assertEqual(self.fake.events(), [])
        self.assertFalse(os.path.exists(self.fake.runs))

    def test_an_interrupted_run_stops_the_sweep_and_is_resumed(self):
        status, out, _ = self.sweep(FAKE_MODE="interrupt_once")
        self.assertEqual(status, 130)
        self.assertEqual(len(self.fake.named("start")), 1, "the sweep must stop with the run")
        run_dir = os.path.join(self.fake.runs, "t-method=a-seed=0")
        self.assertTrue(load_run(run_dir)["resumable"])

        status, _, err = self.sweep(FAKE_MODE="interrupt_once")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.fake.events()[2][2], ["--no-export", "--resume", run_dir])
        self.assertEqual(len(self.fake.named("start")), 5)
        self.assertFalse(os.path.exists(run_dir + "-2"))
        self.assertTrue(all(load_run(os.path.join(self.fake.runs, name))["finished"]
                            for name in os.listdir(self.fake.runs)
                            if not name.endswith(("csv", "md"))))

    def stop_with(self, send):
        """Start the sweep with a spaced grid path, wait until the first run holds, ``send``
        the signal; returns the sweep's (status, stdout + stderr)."""
        spaced = os.path.join(self.fake.dir, "my grid.yaml")
        os.rename(self.fake.grid, spaced)
        self.fake.grid = spaced
        process = subprocess.Popen(self.command(), cwd=REPO,
                                   env=dict(os.environ, **self.fake.env(FAKE_MODE="hold_once")),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        held = self.fake.log + ".held"
        while not os.path.exists(held) and process.poll() is None:  # written after last.pt
            time.sleep(0.01)
        send(process)
        stdout, stderr = process.communicate()
        return process.returncode, stdout + stderr

    def check_stopped_and_resumed(self, status, output):
        self.assertEqual(status, 130, output)
        self.assertEqual(self.fake.named("stopped"), ["t-method=a-seed=0"])
        self.assertIn("to continue: python -m tools.sweep " + shlex.quote(self.fake.grid),
                      output)
        status, _, err = self.sweep()
        self.assertEqual(status, 0, err)
        self.assertEqual(self.fake.events()[2][2][1], "--resume")

    def test_ctrl_c_stops_the_run_and_the_sweep(self):
        self.check_stopped_and_resumed(*self.stop_with(
            lambda process: os.killpg(process.pid, signal.SIGINT)))  # the terminal's Ctrl-C

    def test_sigterm_to_the_sweep_alone_stops_the_run_so_that_it_saves(self):
        self.check_stopped_and_resumed(*self.stop_with(
            lambda process: process.send_signal(signal.SIGTERM)))

    def test_a_failed_run_does_not_stop_the_others(self):
        status, out, _ = self.sweep(FAKE_FAIL="method=a-seed=1")
        self.assertEqual(status, 1)
        self.assertEqual(len(self.fake.named("start")), 4)
        self.assertIn("1 run(s) failed: t-method=a-seed=1", out)

    def test_no_summary_when_every_run_failed(self):
        status, out, _ = self.sweep(FAKE_FAIL="t-method")
        self.assertEqual(status, 1)
        self.assertIn("4 run(s) failed", out)
        self.assertFalse([name for name in os.listdir(self.fake.runs) if "summary" in name])

    def test_leftovers_of_a_run_that_saved_nothing_are_replaced(self):
        stale = os.path.join(self.fake.runs, "t-method=a-seed=0")
        os.makedirs(stale)
        with open(os.path.join(stale, "config.yaml"), "w") as f:
            f.write("{}")
        blocked = os.path.join(self.fake.runs, "t-method=a-seed=1")
        os.makedirs(blocked)
        open(os.path.join(blocked, "notes.txt"), "w").close()
        status, out, _ = self.sweep()
        self.assertEqual(status, 1)
        self.assertTrue(load_run(stale)["finished"])
        self.assertFalse(os.path.exists(stale + "-2"))
        self.assertEqual(os.listdir(blocked), ["notes.txt"], "never delete unknown files")
        self.assertIn("move it away", out)

    def test_collect_only(self):
        status, out, _ = self.sweep("--collect-only")
        self.assertEqual(status, 0)
        self.assertIn("no summary written", out)
        self.assertFalse(os.path.exists(self.fake.runs))
        self.assertEqual(self.sweep()[0], 0)
        os.remove(os.path.join(self.fake.runs, "t-summary.md"))
        status, _, err = self.sweep("--collect-only")
        self.assertEqual(status, 0, err)
        self.assertTrue(os.path.exists(os.path.join(self.fake.runs, "t-summary.md")))
        self.assertEqual(len(self.fake.named("start")), 4)


if __name__ == "__main__":
    unittest.main()
