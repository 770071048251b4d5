"""Studies: runs side by side, in priority order, stopped by a time budget and continued; packing
the results and unpacking them into a report on another machine; the benchmark step.

Most tests drive the fake ``main.py`` of tests/fake_runs.py; one class trains real runs on
synthetic data.
"""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import unittest
from unittest import mock

import torch
import yaml

import main
from bench.runner import BENCH_TABLE
from report import build as report_build
from tests.fake_runs import FakeRuns
from tests.runs_helper import ENV, REPO, synthetic_config
from tools import archive, scheduler, study
from tools.grid import load_grid
from tools.runs import load_run

STOP_WAITING_MAIN = os.path.join(REPO, "tests", "stop_waiting_main.py")

FAKE_BENCH = textwrap.dedent("""\
    import sys
    out = sys.argv[sys.argv.index("--out") + 1]
    with open(out, "w") as f:
        f.write("| loop | images/s |\\n| --- | ---: |\\n| engine | 123 |\\n")
    with open(out + ".calls", "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    """)


@contextlib.contextmanager
def inside(folder):
    """Run the block with ``folder`` as the current folder (archives hold relative paths)."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


class FakeStudyTest(unittest.TestCase):
    """The scheduling, budget, pack and unpack logic, with the fake main in a folder of its own."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.fake = FakeRuns(tmp.name)
        self.dir = self.fake.dir

    def write_grid(self, axes, **fields):
        self.fake.write_grid(axes, **fields)

    def study(self, *args, cwd=None, **env):
        """``tools.study`` in this process, from ``cwd`` (default: the test's folder);
        returns (status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        with inside(cwd or self.dir), mock.patch.dict(os.environ, self.fake.env(**env)), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = study.main([*args, "--main", self.fake.main])
        return status, out.getvalue(), err.getvalue()

    def starts(self):
        return self.fake.named("start")

    def test_parallel_runs_side_by_side_and_never_more(self):
        status, out, err = self.study(self.fake.grid, "--parallel", "2", FAKE_BARRIER=2)
        self.assertEqual(status, 0, out + err)
        running, most = 0, 0
        for event, _, _ in self.fake.events():
            running += 1 if event == "start" else -1
            most = max(most, running)
        self.assertEqual(most, 2)
        self.assertEqual(len(self.starts()), 4)
        self.assertIn("4 finished, 0 in progress, 0 left", out)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "runs", "t-summary.md")))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "runs", study.LOGS,
                                                    "t-method=a-seed=0.log")))

    def test_runs_marked_first_start_first(self):
        self.write_grid({"method": {"a": {"loss.name": "ce"}, "b": {"loss.name": "focal"}},
                         "seed": [0, 1]}, first=[{"seed": 1}, {"method": "b"}])
        status, _, err = self.study(self.fake.grid)
        self.assertEqual(status, 0, err)
        self.assertEqual(self.starts(), ["t-method=a-seed=1", "t-method=b-seed=1",
                                         "t-method=b-seed=0", "t-method=a-seed=0"])

    def test_a_run_starting_from_another_waits_until_it_has_finished(self):
        self.write_grid({"stage": {"two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "one": {"loss.name": "ce"}, "other": {"loss.name": "ce"}}})
        status, _, err = self.study(self.fake.grid, "--parallel", "3", FAKE_BARRIER=2)
        self.assertEqual(status, 0, err)
        order = [(event, name) for event, name, _ in self.fake.events()]
        self.assertGreater(order.index(("start", "t-stage=two")),
                           order.index(("end", "t-stage=one")))
        self.assertLess(order.index(("start", "t-stage=other")),
                        order.index(("end", "t-stage=one")))

    def test_a_failed_run_stops_neither_the_others_nor_the_study(self):
        self.write_grid({"stage": {"one": {"loss.name": "ce"},
                                   "two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "other": {"loss.name": "ce"}}})
        status, out, _ = self.study(self.fake.grid, "--parallel", "2", FAKE_FAIL="stage=one")
        self.assertEqual(status, 1)
        self.assertEqual(sorted(self.starts()), ["t-stage=one", "t-stage=other"])
        self.assertIn("t-stage=two: not started: a run it starts from failed", out)
        self.assertIn("2 run(s) failed: t-stage=one, t-stage=two", out)
        self.assertIn("the end of runs/study-logs/t-stage=one.log", out)

    def test_budget_interrupts_running_runs_and_the_same_command_continues(self):
        outdir = os.path.join(self.dir, "runs")
        folders = [os.path.join(outdir, name) for name in ("t-method=a-seed=0",
                                                           "t-method=a-seed=1")]

        def clock():  # the budget runs out once both first runs have saved
            return 0 if not all(os.path.exists(f"{p}/last.pt") for p in folders) else 1e9

        lines = []
        with mock.patch.dict(os.environ, self.fake.env(FAKE_MODE="hold")):
            status = scheduler.run_grids([(load_grid(self.fake.grid), outdir)], "study",
                                         parallel=2, budget=scheduler.Budget(540, clock),
                                         main=self.fake.main, log=lines.append)
        self.assertEqual(status, 0)
        self.assertIn("study: 0 finished, 2 in progress, 2 left; to continue: run the same "
                      "command", lines)
        self.assertEqual(sorted(self.fake.named("stopped")),
                         ["t-method=a-seed=0", "t-method=a-seed=1"])
        self.assertTrue(all(load_run(folder)["resumable"] for folder in folders))

        status, out, err = self.study(self.fake.grid, "--parallel", "2")
        self.assertEqual(status, 0, err)
        self.assertIn("4 finished, 0 in progress, 0 left", out)
        resumed = [name for event, name, argv in self.fake.events()[4:]
                   if event == "start" and "--resume" in argv]
        self.assertEqual(sorted(resumed), ["t-method=a-seed=0", "t-method=a-seed=1"])
        self.assertEqual(len(self.starts()), 6)

    def test_ctrl_c_stops_every_run_so_that_it_saves(self):
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.study", self.fake.grid, "--parallel", "2", "--main",
             self.fake.main, "--outdir", os.path.join(self.dir, "runs")], cwd=REPO,
            env=dict(os.environ, **self.fake.env(FAKE_MODE="hold")), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        while len(self.starts()) < 2 and process.poll() is None:  # the log is the signal
            time.sleep(0.01)
        folders = [os.path.join(self.dir, "runs", f"t-method=a-seed={s}") for s in (0, 1)]
        while not all(os.path.exists(f"{p}/last.pt") for p in folders) and \
                process.poll() is None:  # a study that ends early fails below, never hangs
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        stdout, stderr = process.communicate()
        self.assertEqual(process.returncode, 130, stdout + stderr)
        self.assertIn("0 finished, 2 in progress, 2 left; to continue: python -m tools.study",
                      stdout)
        self.assertEqual(sorted(self.fake.named("stopped")),
                         ["t-method=a-seed=0", "t-method=a-seed=1"])

    def test_a_used_up_budget_starts_nothing_and_exits_0(self):
        status, out, err = self.study(self.fake.grid, "--budget", "0")
        self.assertEqual(status, 0, err)
        self.assertIn("0 finished, 0 in progress, 4 left", out)
        self.assertEqual(self.fake.events(), [])

    def names(self, name):
        with tarfile.open(os.path.join(self.dir, name)) as tar:
            return sorted(tar.getnames())

    def test_results_and_state_archives_and_unpacking_them_elsewhere(self):
        self.assertEqual(self.study(self.fake.grid, FAKE_FAIL="b-seed=1")[0], 1)
        runs = os.path.join(self.dir, "runs")
        with open(os.path.join(runs, "t-method=b-seed=0", "events.out.tfevents.1"), "w") as f:
            f.write("x" * archive.EVENTS_LIMIT)  # too large to travel
        os.remove(os.path.join(runs, "t-method=a-seed=1", "metrics.json"))  # "interrupted"
        os.makedirs(os.path.join(runs, "bench"))
        with open(os.path.join(runs, BENCH_TABLE), "w") as f:
            f.write("| table |")
        status, _, err = self.study(self.fake.grid, "--budget", "0", "--pack",
                                    "out/results.tar.gz", "--pack-state", "state.tar.gz")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.names("out/results.tar.gz"), [
            "runs/bench/train_throughput.md",
            "runs/t-method=a-seed=0/config.yaml", "runs/t-method=a-seed=0/events.out.tfevents.1",
            "runs/t-method=a-seed=0/metrics.json",
            "runs/t-method=b-seed=0/config.yaml", "runs/t-method=b-seed=0/metrics.json",
            "runs/t-summary.csv", "runs/t-summary.md"])
        self.assertEqual(self.names("state.tar.gz"), [
            "runs/t-method=a-seed=1/config.yaml", "runs/t-method=a-seed=1/events.out.tfevents.1",
            "runs/t-method=a-seed=1/last.pt",
            "runs/t-method=b-seed=1/config.yaml", "runs/t-method=b-seed=1/last.pt"])
        self.assertEqual([name for name in os.listdir(self.dir) if name.startswith(".tmp-")], [])

        elsewhere = os.path.join(self.dir, "elsewhere")
        kept = os.path.join(elsewhere, "runs", "t-method=a-seed=0")
        os.makedirs(kept)
        with open(os.path.join(kept, "config.yaml"), "w") as f:
            f.write("{}")
        with open(os.path.join(kept, "metrics.json"), "w") as f:
            json.dump({"finished": True, "mine": True}, f)
        behind = os.path.join(elsewhere, "runs", "t-method=a-seed=1")
        os.makedirs(behind)
        for name in ("config.yaml", "last.pt", "best.pt"):
            with open(os.path.join(behind, name), "w") as f:
                f.write("older")
        status, out, err = self.study("--unpack", os.path.join(self.dir, "out", "results.tar.gz"),
                                      "--unpack", os.path.join(self.dir, "state.tar.gz"),
                                      cwd=elsewhere)
        self.assertEqual(status, 0, err)
        self.assertIn("1 finished and 0 interrupted run(s), 3 other file(s); 1 run(s) already "
                      "finished here kept their files", out)
        self.assertIn("0 finished and 2 interrupted run(s)", out)
        self.assertEqual(load_run(kept)["metrics"], {"finished": True, "mine": True})
        self.assertEqual(sorted(os.listdir(kept)),
                         ["config.yaml", "events.out.tfevents.1", "metrics.json"])
        self.assertEqual(sorted(os.listdir(behind)),
                         ["config.yaml", "events.out.tfevents.1", "last.pt"])
        with open(os.path.join(behind, "last.pt")) as f:
            self.assertEqual(f.read(), "")
        self.assertTrue(load_run(os.path.join(elsewhere, "runs", "t-method=b-seed=0"))
                        ["finished"])
        self.assertTrue(load_run(os.path.join(elsewhere, "runs", "t-method=b-seed=1"))
                        ["resumable"])
        self.assertTrue(os.path.exists(os.path.join(elsewhere, "runs", BENCH_TABLE)))
        self.assertEqual([name for name in os.listdir(elsewhere) if name != "runs"], [])

    def test_state_holds_the_weights_an_unfinished_run_starts_from(self):
        self.write_grid({"stage": {"one": {"loss.name": "ce"},
                                   "two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "other": {"loss.name": "ce"}}})
        self.study(self.fake.grid, FAKE_FAIL="stage=two")
        for name in ("t-stage=one", "t-stage=other"):
            with open(os.path.join(self.dir, "runs", name, "best.pt"), "w") as f:
                f.write("weights")
        status, _, err = self.study(self.fake.grid, "--budget", "0", "--pack", "results.tar.gz",
                                    "--pack-state", "state.tar.gz")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.names("state.tar.gz"), [
            "runs/t-stage=one/best.pt", "runs/t-stage=one/config.yaml",
            "runs/t-stage=one/metrics.json",
            "runs/t-stage=two/config.yaml", "runs/t-stage=two/last.pt"])
        self.assertNotIn("runs/t-stage=one/best.pt", self.names("results.tar.gz"))

    def test_unpack_refuses_paths_outside_the_folder(self):
        bad = os.path.join(self.dir, "bad.tar.gz")
        with tarfile.open(bad, "w:gz") as tar:
            for name in ("fine.txt", "../escaped.txt"):
                info = tarfile.TarInfo(name)
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
        status, _, err = self.study("--unpack", bad)
        self.assertEqual(status, 2)
        self.assertRegex(err, r"^error: [^\n]*refusing to unpack\n$")
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.dir), "escaped.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "fine.txt")))

    def test_unpack_refuses_a_file_that_is_no_archive(self):
        with open(os.path.join(self.dir, "notes.tar.gz"), "w") as f:
            f.write("not an archive")
        status, _, err = self.study("--unpack", "notes.tar.gz")
        self.assertEqual(status, 2)
        self.assertRegex(err, r"^error: notes\.tar\.gz: cannot be unpacked [^\n]*\n$")

    def test_bench_runs_once_and_its_table_travels(self):
        bench = os.path.join(self.dir, "fake_bench.py")
        with open(bench, "w") as f:
            f.write(FAKE_BENCH)
        for _ in range(2):
            status, out, err = self.study("--bench", "--bench-script", bench, "--pack",
                                          "bench.tar.gz")
            self.assertEqual(status, 0, err)
        self.assertIn("already holds the benchmark", out)
        table = os.path.join(self.dir, "runs", BENCH_TABLE)
        with open(table + ".calls") as f:
            self.assertEqual(f.read().split(), ["--compile", "--full-run", "--out", table])
        with tarfile.open(os.path.join(self.dir, "bench.tar.gz")) as tar:
            self.assertEqual(tar.getnames(), ["runs/bench/train_throughput.md"])


class SyntheticStudyTest(unittest.TestCase):
    """Real runs on synthetic data: a study stopped by its budget mid-grid and continued ends
    with exactly the results of the same runs uninterrupted (the sweep's commands, run in this
    process), and its archive builds a report."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        config = synthetic_config(cls.dir, data={"synthetic": {
            "num_classes": 4, "train_per_class": 50, "test_per_class": 5, "image_size": 8,
            "channels": 3}}, train={"epochs": 3, "batch_size": 16, "lr": 0.01,
                                    "milestones": [2]})
        cls.grid = os.path.join(cls.dir, "grid.yaml")
        with open(cls.grid, "w") as f:
            yaml.safe_dump({"base": config, "prefix": "s",
                            "set": {"loss.reweight": "none"},
                            "axes": {"method": {"ce": {"loss.name": "ce"},
                                                "focal": {"loss.name": "focal"}}}}, f)
        cls.names = ["s-method=ce", "s-method=focal"]
        folders = [os.path.join(cls.dir, "runs", name) for name in cls.names]

        def clock():  # the budget runs out once both runs have saved an epoch (or one failed)
            saved = all(os.path.exists(f"{p}/last.pt") for p in folders)
            return 1e9 if saved or any(": failed" in line for line in cls.lines) else 0

        cls.lines = []
        with mock.patch.dict(os.environ, ENV):  # each run waits one epoch in for the budget
            cls.status = scheduler.run_grids(
                [(load_grid(cls.grid), os.path.join(cls.dir, "runs"))], "study", parallel=2,
                budget=scheduler.Budget(540, clock), main=STOP_WAITING_MAIN,
                log=cls.lines.append)
            cls.stopped = {name: load_run(os.path.join(cls.dir, "runs", name))
                           for name in cls.names}
            out = io.StringIO()
            with inside(cls.dir), contextlib.redirect_stdout(out):
                cls.second = study.main([cls.grid, "--parallel", "2"])
            cls.second_out = out.getvalue()
        torch.set_num_threads(1)
        grid_list = [(load_grid(cls.grid), os.path.join(cls.dir, "reference"))]
        for item in scheduler.plan_runs(grid_list):  # the sweep's commands, uninterrupted
            argv, _ = scheduler.command_for(item)
            errors = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
                assert main.main(argv[2:]) == 0, errors.getvalue()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def results(self, folder, name):
        run_dir = os.path.join(self.dir, folder, name)
        with open(os.path.join(run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        for key in ("wall_time_s", "run"):
            metrics.pop(key)
        for record in metrics["history"]:
            record.pop("seconds")
        return metrics, torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)["model"]

    def test_budget_leaves_every_run_resumable_and_the_next_call_finishes_exactly(self):
        self.assertEqual(self.status, 0, self.lines)
        self.assertTrue(any(line.endswith("to continue: run the same command")
                            for line in self.lines), self.lines)
        resumable = [run["name"] for run in self.stopped.values() if run["resumable"]]
        self.assertTrue(resumable, self.lines)  # both runs waited for the budget one epoch in
        self.assertTrue(all(run["resumable"] or run["finished"]
                            for run in self.stopped.values()), self.lines)
        self.assertEqual(self.second, 0, self.second_out)
        self.assertEqual(self.second_out.count(": resuming"), len(resumable), self.second_out)
        self.assertIn("2 finished, 0 in progress, 0 left", self.second_out)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "checkpoints")),
                         "runs of a study leave the single-run export alone")
        for name in self.names:
            metrics, weights = self.results("runs", name)
            expected_metrics, expected_weights = self.results("reference", name)
            self.assertEqual(metrics, expected_metrics)
            for key, value in expected_weights.items():
                self.assertTrue(torch.equal(weights[key], value), f"{name}: {key}")

    def test_pack_and_unpack_round_trip_into_a_report(self):
        packed = os.path.join(self.dir, "study.tar.gz")
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.makedirs(elsewhere)
        with contextlib.redirect_stdout(io.StringIO()):
            with inside(self.dir):
                self.assertEqual(study.main([self.grid, "--budget", "0", "--pack", packed]), 0)
            self.assertLess(os.path.getsize(packed), 1_000_000)
            with inside(elsewhere):
                self.assertEqual(study.main(["--unpack", packed]), 0)
        runs, out = os.path.join(elsewhere, "runs"), os.path.join(elsewhere, "report")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(report_build.main(["--runs", runs, "--out", out]), 0)
        with open(os.path.join(out, "README.md")) as f:
            readme = f.read()
        for method, name in (("CE", "s-method=ce"), ("Focal", "s-method=focal")):
            accuracy = self.results("runs", name)[0]["test"]["accuracy"]
            self.assertIn(f"| {method} | {100 * accuracy:.2f} (1) |", readme)


if __name__ == "__main__":
    unittest.main()
