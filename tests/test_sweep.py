"""Sweeps: grid expansion and names, aggregation over seeds, skipping, interruption and resume.

The sweep runs a small fake ``main.py`` (written here) that takes the real command line and
writes a run folder, so these tests need neither torch nor training.
"""
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import yaml

from engine.config import load_config
from tools import collect, sweep
from tools.runs import load_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# FAKE_MODE: "ok"; "interrupt_once" (the first call saves last.pt and exits 130);
# "wait_for_sigint" (the first call saves last.pt, then waits for SIGINT and exits 130);
# "fail=<text>" (runs whose name holds <text> exit 1). Every call is logged to FAKE_LOG.
FAKE_MAIN = textwrap.dedent("""\
    import json, os, signal, sys, time
    args = sys.argv[1:]
    mode = os.environ["FAKE_MODE"]
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    if args[0] == "--resume":
        run_dir = args[1]
        with open(os.path.join(run_dir, "config.yaml")) as f:
            sets = json.load(f)
    else:
        sets = dict(a.split("=", 1) for a in args[3::2])
        run_dir = os.path.join(sets["run.dir"], sets["run.name"])
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, "config.yaml"), "w") as f:
            json.dump(sets, f)
    if mode.startswith("fail=") and mode[5:] in run_dir:
        sys.exit(1)
    marker = os.environ["FAKE_LOG"] + ".stopped"
    if mode in ("interrupt_once", "wait_for_sigint") and not os.path.exists(marker):
        stop = []
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        open(os.path.join(run_dir, "last.pt"), "w").close()
        open(marker, "w").close()
        while mode == "wait_for_sigint" and not stop:
            time.sleep(0.01)
        sys.exit(130)
    accuracy = 0.5 + 0.1 * int(sets["seed"]) + (0.2 if "method=b" in run_dir else 0.0)
    summary = {"accuracy": accuracy, "balanced_accuracy": accuracy / 2, "macro_f1": 0.25,
               "groups": {"many": 0.9, "medium": 0.4, "few": None},
               "thirds": {"head": 0.9, "middle": 0.5, "tail": 0.1}}
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump({"run": os.path.basename(run_dir), "finished": True, "test": summary}, f)
    """)

GRID = {
    "base": "base.yaml",
    "prefix": "t",
    "axes": {"method": {"a": {"loss.name": "ce"},
                        "b": {"loss.name": "ldam", "model.normed_classifier": True}},
             "data.imbalance.factor": [10, 100],
             "seed": [0, 1]},
}


def summary(accuracy, few=None):
    """A minimal test summary, as ``engine.metrics.summarize`` lays it out."""
    return {"accuracy": accuracy, "balanced_accuracy": accuracy, "macro_f1": accuracy,
            "groups": {"many": accuracy, "medium": accuracy, "few": few},
            "thirds": {"head": accuracy, "middle": accuracy, "tail": accuracy}}


def write_finished_run(run_dir, accuracy, few=None):
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "config.yaml"), "w") as f:
        f.write("seed: 0\n")
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump({"finished": True, "test": summary(accuracy, few)}, f)


class GridTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def grid(self, raw):
        path = os.path.join(self.tmp.name, "grid.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(raw, f, sort_keys=False)
        return sweep.load_grid(path)

    def test_cartesian_product_with_readable_names(self):
        runs = sweep.expand(self.grid(dict(GRID, set={"train.epochs": 3})))
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
        self.assertEqual(sweep.expand(grid)[0]["name"], "p-loss.gamma=1-x.gamma=2-lr=0.1")
        self.assertEqual(sweep.group_columns(grid), ["loss.gamma", "x.gamma", "lr"])

    def test_seed_axis_is_not_grouped(self):
        self.assertEqual(sweep.group_columns(self.grid(GRID)), ["method", "factor"])

    def test_values_are_written_as_set_reads_them(self):
        self.assertEqual(sweep.format_value("ce"), "ce")
        self.assertEqual(sweep.format_value(True), "true")
        self.assertEqual(sweep.format_value("100"), '"100"')
        self.assertEqual(sweep.format_value([160, 180]), "[160, 180]")
        self.assertEqual(sweep.format_value(1e-4), "0.0001")
        for value in ("ce", True, "100", [160, 180], 1e-4, "true"):
            self.assertEqual(yaml.safe_load(sweep.format_value(value)), value)

    def test_runs_marked_first_start_first_in_the_order_given(self):
        grid = self.grid(dict(GRID, first=[{"factor": 100, "seed": 0},
                                           {"data.imbalance.factor": [100]}]))
        self.assertEqual([run["name"] for run in sweep.plan(grid)],
                         ["t-method=a-factor=100-seed=0", "t-method=b-factor=100-seed=0",
                          "t-method=a-factor=100-seed=1", "t-method=b-factor=100-seed=1",
                          "t-method=a-factor=10-seed=0", "t-method=a-factor=10-seed=1",
                          "t-method=b-factor=10-seed=0", "t-method=b-factor=10-seed=1"])
        self.assertEqual(sweep.plan(self.grid(GRID)), sweep.expand(self.grid(GRID)))

    def test_a_run_naming_another_runs_folder_goes_right_after_it(self):
        def run(name, *overrides):
            return {"name": name, "labels": {}, "overrides": list(overrides)}

        runs = [run("s=2-a", "train.init_from=runs/s=1-a/best.pt", "seed=0"),
                run("other"),
                run("s=2-b", "train.init_from=runs/s=1-b/best.pt"),
                run("s=1-b"), run("s=1-a"), run("s=1-ab")]
        self.assertEqual(sweep.references(runs[0], [r["name"] for r in runs]), ["s=1-a"])
        self.assertEqual([r["name"] for r in sweep.order_runs(runs)],
                         ["other", "s=1-b", "s=2-b", "s=1-a", "s=2-a", "s=1-ab"])
        with self.assertRaises(sweep.GridError):
            sweep.order_runs([run("x", "a=runs/y/best.pt"), run("y", "a=runs/x/best.pt")])

    def test_placeholders_take_the_runs_own_labels(self):
        grid = self.grid({"base": "b.yaml", "prefix": "p",
                          "set": {"train.init_from":
                                  "runs/s1-factor={factor}-seed={seed}/best.pt"},
                          "axes": {"data.imbalance.factor": [10, 100], "seed": [0, 1]}})
        paths = [run["overrides"][0] for run in sweep.expand(grid)]
        self.assertEqual(paths, [f"train.init_from=runs/s1-factor={f}-seed={s}/best.pt"
                                 for f in (10, 100) for s in (0, 1)])
        self.assertEqual(sweep.fill_labels(3, {"seed": "0"}), 3)
        bad = self.grid({"base": "b.yaml", "prefix": "p", "axes": {
            "method": {"x": {"train.init_from": "runs/{sed}/best.pt"}}, "seed": [0]}})
        with self.assertRaisesRegex(sweep.GridError, r"\{sed\} names no axis"):
            sweep.expand(bad)

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
            with self.subTest(raw=raw), self.assertRaises(sweep.GridError):
                self.grid(raw)


class CommittedGridsTest(unittest.TestCase):
    """Every grid in configs/sweeps/ expands into runs whose configs validate, so a typo in a
    key or value fails here instead of hours into a sweep."""

    def test_every_run_of_every_committed_grid_has_a_valid_config(self):
        folder = os.path.join(REPO, "configs", "sweeps")
        grids = sorted(name for name in os.listdir(folder) if name.endswith(".yaml"))
        self.assertIn("cifar10_lt_cpu.yaml", grids)
        for name in grids:
            grid = sweep.load_grid(os.path.join(folder, name))
            for run in sweep.expand(grid):
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
            grid = sweep.load_grid(path)
            for seed, accuracy in enumerate([0.70, 0.72, 0.77]):
                write_finished_run(os.path.join(tmp, f"t-method=a-seed={seed}"), accuracy,
                                   few=0.1 * seed if seed else None)
            write_finished_run(os.path.join(tmp, "t-method=b-seed=1"), 0.8)
            os.makedirs(os.path.join(tmp, "t-method=b-seed=2"))  # started, never finished
            csv_path, md_path = sweep.write_summary(grid, tmp)
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

    def test_format_stat(self):
        self.assertEqual(collect.format_stat(collect.Stat(0.7457, 0.0031, 3)), "74.57 ± 0.31")
        self.assertEqual(collect.format_stat(collect.Stat(0.5, None, 1)), "50.00")
        self.assertEqual(collect.format_stat(collect.Stat(None, None, 0)), collect.MISSING)


class SweepRunTest(unittest.TestCase):
    """The sweep command end to end, with the fake main."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.main = os.path.join(self.dir, "fake_main.py")
        with open(self.main, "w") as f:
            f.write(FAKE_MAIN)
        self.grid = os.path.join(self.dir, "grid.yaml")
        with open(self.grid, "w") as f:
            yaml.safe_dump(dict(GRID, axes={"method": GRID["axes"]["method"],
                                            "seed": [0, 1]}), f, sort_keys=False)
        self.runs = os.path.join(self.dir, "runs")
        self.log = os.path.join(self.dir, "calls.log")

    def command(self, *extra):
        return [sys.executable, "-m", "tools.sweep", self.grid, "--main", self.main,
                "--outdir", self.runs, *extra]

    def env(self, mode):
        return dict(os.environ, FAKE_MODE=mode, FAKE_LOG=self.log)

    def sweep(self, mode="ok", *extra):
        return subprocess.run(self.command(*extra), cwd=REPO, env=self.env(mode),
                              capture_output=True, text=True, timeout=60)

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def test_runs_everything_then_skips_finished_runs(self):
        result = self.sweep()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(self.calls()), 4)
        first = self.calls()[0]
        self.assertEqual(first[:2], ["--config", "base.yaml"])
        self.assertEqual(first[-4:], ["--set", "run.name=t-method=a-seed=0",
                                      "--set", f"run.dir={self.runs}"])
        with open(os.path.join(self.runs, "t-summary.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([(r["method"], r["n"]) for r in rows], [("a", "2"), ("b", "2")])
        self.assertAlmostEqual(float(rows[1]["accuracy_mean"]), 0.75)

        again = self.sweep()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(len(self.calls()), 4, "finished runs must not start again")
        self.assertEqual(again.stdout.count("finished, skipped"), 4)

    def test_shards_split_the_grid_between_side_by_side_sweeps(self):
        names = []
        for shard in ("0/3", "1/3", "2/3"):
            before = len(self.calls())
            result = self.sweep("ok", "--shard", shard)
            self.assertEqual(result.returncode, 0, result.stderr)
            names.append([call[-3].split("=", 1)[1] for call in self.calls()[before:]])
        self.assertEqual(names, [["t-method=a-seed=0", "t-method=b-seed=1"],
                                 ["t-method=a-seed=1"], ["t-method=b-seed=0"]])
        self.assertNotEqual(self.sweep("ok", "--shard", "3/3").returncode, 0)

    def test_dry_list_runs_nothing(self):
        result = self.sweep("ok", "--dry-list")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(result.stdout.splitlines()), 4)
        self.assertIn("t-method=b-seed=1  [new]", result.stdout)
        self.assertEqual(self.calls(), [])
        self.assertFalse(os.path.exists(self.runs))

    def test_dry_list_prints_commands_a_shell_can_run_from_any_folder(self):
        script = os.path.join(REPO, "tools", "sweep.py")
        result = subprocess.run([sys.executable, script, self.grid, "--dry-list", "--main",
                                 self.main, "--outdir", self.runs, "--set", "train.milestones=[2, 3]"],
                                cwd=self.dir, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        shown = result.stdout.splitlines()[0].split("[new]", 1)[1]
        words = shlex.split(shown)
        self.assertEqual(words[:2], ["python", self.main])
        self.assertIn("train.milestones=[2, 3]", words)
        self.assertEqual(words[-1], f"run.dir={self.runs}")

    def test_dry_list_into_a_closed_pipe_stops_quietly(self):
        with open(self.grid, "w") as f:  # long enough to outlast the pipe's buffer
            yaml.safe_dump(dict(GRID, axes={"seed": list(range(3000))}), f)
        command = " ".join(shlex.quote(word) for word in self.command("--dry-list"))
        result = subprocess.run(f"{command} | head -1", shell=True, cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(len(result.stdout.splitlines()), 1)
        self.assertEqual(result.stderr, "")

    def test_interrupted_run_stops_the_sweep_and_is_resumed(self):
        first = self.sweep("interrupt_once")
        self.assertEqual(first.returncode, 130, first.stderr)
        self.assertEqual(len(self.calls()), 1, "the sweep must stop with the run")
        run_dir = os.path.join(self.runs, "t-method=a-seed=0")
        self.assertTrue(load_run(run_dir)["resumable"])

        second = self.sweep("interrupt_once")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(self.calls()[1], ["--resume", run_dir])
        self.assertEqual(len(self.calls()), 5)
        self.assertFalse(os.path.exists(run_dir + "-2"))
        self.assertTrue(all(load_run(os.path.join(self.runs, name))["finished"]
                            for name in os.listdir(self.runs) if not name.endswith(("csv", "md"))))

    def test_ctrl_c_stops_the_run_and_the_sweep(self):
        process = subprocess.Popen(self.command(), cwd=REPO, env=self.env("wait_for_sigint"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.log + ".stopped") and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        stdout, stderr = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130, stderr)
        self.assertEqual(len(self.calls()), 1)
        self.assertIn("run the same command to continue", stdout + stderr)

        resumed = self.sweep("wait_for_sigint")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(self.calls()[1][0], "--resume")

    def test_failed_run_does_not_stop_the_others(self):
        result = self.sweep("fail=method=a-seed=1")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(self.calls()), 4)
        self.assertIn("1 run(s) failed: t-method=a-seed=1", result.stdout)

    def test_leftovers_of_a_run_that_saved_nothing_are_replaced(self):
        stale = os.path.join(self.runs, "t-method=a-seed=0")
        os.makedirs(stale)
        with open(os.path.join(stale, "config.yaml"), "w") as f:
            f.write("{}")
        blocked = os.path.join(self.runs, "t-method=a-seed=1")
        os.makedirs(blocked)
        open(os.path.join(blocked, "notes.txt"), "w").close()
        result = self.sweep()
        self.assertEqual(result.returncode, 1)
        self.assertTrue(load_run(stale)["finished"])
        self.assertFalse(os.path.exists(stale + "-2"))
        self.assertEqual(os.listdir(blocked), ["notes.txt"], "never delete unknown files")
        self.assertIn("move it away", result.stdout)

    def test_collect_only_and_bad_grid(self):
        self.assertEqual(self.sweep().returncode, 0)
        os.remove(os.path.join(self.runs, "t-summary.md"))
        result = self.sweep("ok", "--collect-only")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.runs, "t-summary.md")))
        self.assertEqual(len(self.calls()), 4)
        with open(self.grid, "w") as f:
            f.write("prefix: t\n")
        bad = self.sweep()
        self.assertEqual(bad.returncode, 2)
        self.assertTrue(bad.stderr.startswith("error: "))


if __name__ == "__main__":
    unittest.main()
