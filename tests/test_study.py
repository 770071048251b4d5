"""Studies: runs side by side, in priority order, stopped by a time budget and continued; packing
the results and unpacking them into a report on another machine; the benchmark step.

Most tests drive a small fake ``main.py`` (written here) that writes run folders; one class
trains real runs on synthetic data.
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

from report import build as report_build
from tests.runs_helper import ENV, REPO, synthetic_config
from tools import study, sweep
from tools.runs import load_run

STUDY = os.path.join(REPO, "tools", "study.py")
SWEEP = os.path.join(REPO, "tools", "sweep.py")

# Logs ["start" | "end" | "stopped", run name, time] to FAKE_LOG; saves last.pt at once, then
# works FAKE_SECONDS; SIGINT makes it stop (exit 130) with last.pt kept; a run whose name holds
# FAKE_FAIL exits 1.
FAKE_MAIN = textwrap.dedent("""\
    import json, os, signal, sys, time
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    args = sys.argv[1:]
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
    name = os.path.basename(run_dir)
    def note(event):
        with open(os.environ["FAKE_LOG"], "a") as log:
            log.write(json.dumps([event, name, time.time(), args[0]]) + "\\n")
    note("start")
    open(os.path.join(run_dir, "last.pt"), "w").close()
    if os.environ.get("FAKE_FAIL") and os.environ["FAKE_FAIL"] in name:
        sys.exit(1)
    deadline = time.time() + float(os.environ["FAKE_SECONDS"])
    while time.time() < deadline and not stop:
        time.sleep(0.01)
    if stop:
        note("stopped")
        sys.exit(130)
    summary = {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 0.5,
               "groups": {"many": 0.5, "medium": 0.5, "few": None},
               "thirds": {"head": 0.5, "middle": 0.5, "tail": 0.5}}
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump({"run": name, "finished": True, "test": summary}, f)
    with open(os.path.join(run_dir, "events.out.tfevents.1"), "w") as f:
        f.write("x" * int(os.environ.get("FAKE_EVENTS", "10")))
    note("end")
    """)

FAKE_BENCH = textwrap.dedent("""\
    import sys
    out = sys.argv[sys.argv.index("--out") + 1]
    with open(out, "w") as f:
        f.write("| loop | images/s |\\n| --- | ---: |\\n| engine | 123 |\\n")
    with open(out + ".calls", "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    """)


class FakeStudyTest(unittest.TestCase):
    """The scheduling, budget, pack and unpack logic, with the fake main in a folder of its own."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.main = os.path.join(self.dir, "fake_main.py")
        with open(self.main, "w") as f:
            f.write(FAKE_MAIN)
        self.log = os.path.join(self.dir, "calls.log")
        self.write_grid({"method": {"a": {"loss.name": "ce"}, "b": {"loss.name": "focal"}},
                         "seed": [0, 1]})

    def write_grid(self, axes, **fields):
        self.grid = os.path.join(self.dir, "grid.yaml")
        with open(self.grid, "w") as f:
            yaml.safe_dump({"base": "base.yaml", "prefix": "t", "axes": axes, **fields}, f,
                           sort_keys=False)

    def study(self, *args, seconds=0.3, cwd=None, **env):
        env = dict(os.environ, FAKE_LOG=self.log, FAKE_SECONDS=str(seconds), **env)
        return subprocess.run([sys.executable, STUDY, *args, "--main", self.main],
                              cwd=cwd or self.dir, env=env, capture_output=True, text=True,
                              timeout=120)

    def events(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def starts(self):
        return [name for event, name, _, _ in self.events() if event == "start"]

    def test_parallel_runs_side_by_side_and_never_more(self):
        result = self.study(self.grid, "--parallel", "2", seconds=1.0)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        running, most = 0, 0
        for event, _, _, _ in sorted(self.events(), key=lambda e: e[2]):
            running += 1 if event == "start" else -1
            most = max(most, running)
        self.assertEqual(most, 2)
        self.assertEqual(len(self.starts()), 4)
        self.assertIn("4 finished, 0 in progress, 0 left", result.stdout)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "runs", "t-summary.md")))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "runs", "study-logs",
                                                    "t-method=a-seed=0.log")))

    def test_runs_marked_first_start_first(self):
        self.write_grid({"method": {"a": {"loss.name": "ce"}, "b": {"loss.name": "focal"}},
                         "seed": [0, 1]}, first=[{"seed": 1}, {"method": "b"}])
        result = self.study(self.grid, seconds=0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.starts(), ["t-method=a-seed=1", "t-method=b-seed=1",
                                         "t-method=b-seed=0", "t-method=a-seed=0"])

    def test_a_run_starting_from_another_waits_until_it_has_finished(self):
        self.write_grid({"stage": {"two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "one": {"loss.name": "ce"}, "other": {"loss.name": "ce"}}})
        result = self.study(self.grid, "--parallel", "3", seconds=0.5)
        self.assertEqual(result.returncode, 0, result.stderr)
        times = {(event, name): at for event, name, at, _ in self.events()}
        self.assertGreaterEqual(times[("start", "t-stage=two")], times[("end", "t-stage=one")])
        self.assertLess(times[("start", "t-stage=other")], times[("end", "t-stage=one")])

    def test_a_failed_run_stops_neither_the_others_nor_the_study(self):
        self.write_grid({"stage": {"one": {"loss.name": "ce"},
                                   "two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "other": {"loss.name": "ce"}}})
        result = self.study(self.grid, "--parallel", "2", seconds=0, FAKE_FAIL="stage=one")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(sorted(self.starts()), ["t-stage=one", "t-stage=other"])
        self.assertIn("t-stage=two: not started: a run it starts from failed", result.stdout)
        self.assertIn("2 run(s) failed: t-stage=one, t-stage=two", result.stdout)

    def test_budget_interrupts_running_runs_and_the_same_command_continues(self):
        grid = sweep.load_grid(self.grid)
        outdir = os.path.join(self.dir, "runs")
        folders = [os.path.join(outdir, name) for name in ("t-method=a-seed=0",
                                                           "t-method=a-seed=1")]

        def clock():  # the budget runs out once both first runs have saved
            return 0 if not all(os.path.exists(f"{p}/last.pt") for p in folders) else 1e9

        lines = []
        env = {"FAKE_LOG": self.log, "FAKE_SECONDS": "60"}
        with mock.patch.dict(os.environ, env):
            status = study.run_study([(grid, outdir)], parallel=2,
                                     budget=study.Budget(540, clock), main=self.main,
                                     log=lines.append)
        self.assertEqual(status, 0)
        self.assertIn("study: 0 finished, 2 in progress, 2 left; run the same command to "
                      "continue", lines)
        self.assertEqual(sorted(name for event, name, _, _ in self.events()
                                if event == "stopped"), ["t-method=a-seed=0", "t-method=a-seed=1"])
        self.assertTrue(all(load_run(folder)["resumable"] for folder in folders))

        again = self.study(self.grid, "--parallel", "2", seconds=0)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("4 finished, 0 in progress, 0 left", again.stdout)
        resumed = [name for event, name, _, how in self.events()[4:] if how == "--resume"]
        self.assertEqual(sorted(set(resumed)), ["t-method=a-seed=0", "t-method=a-seed=1"])
        self.assertEqual(len(self.starts()), 6)

    def test_ctrl_c_stops_every_run_so_that_it_saves(self):
        env = dict(os.environ, FAKE_LOG=self.log, FAKE_SECONDS="60")
        process = subprocess.Popen([sys.executable, STUDY, self.grid, "--parallel", "2",
                                    "--main", self.main], cwd=self.dir, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        deadline = time.monotonic() + 60
        while len(self.starts()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        stdout, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130, stdout + stderr)
        self.assertIn("0 finished, 2 in progress, 2 left", stdout)
        self.assertEqual(sorted(name for event, name, _, _ in self.events() if event == "stopped"),
                         ["t-method=a-seed=0", "t-method=a-seed=1"])

    def test_a_used_up_budget_starts_nothing_and_exits_0(self):
        result = self.study(self.grid, "--budget", "0")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("0 finished, 0 in progress, 4 left", result.stdout)
        self.assertEqual(self.events(), [])

    def names(self, archive):
        with tarfile.open(os.path.join(self.dir, archive)) as tar:
            return sorted(tar.getnames())

    def test_results_and_state_archives_and_unpacking_them_elsewhere(self):
        self.assertEqual(self.study(self.grid, seconds=0, FAKE_FAIL="b-seed=1").returncode, 1)
        runs = os.path.join(self.dir, "runs")
        with open(os.path.join(runs, "t-method=b-seed=0", "events.out.tfevents.1"), "w") as f:
            f.write("x" * study.EVENTS_LIMIT)  # too large to travel
        os.remove(os.path.join(runs, "t-method=a-seed=1", "metrics.json"))  # "interrupted"
        os.makedirs(os.path.join(runs, "bench"))
        with open(os.path.join(runs, study.BENCH_TABLE), "w") as f:
            f.write("| table |")
        result = self.study(self.grid, "--budget", "0", "--pack", "out/results.tar.gz",
                            "--pack-state", "state.tar.gz")
        self.assertEqual(result.returncode, 0, result.stderr)
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
        result = self.study("--unpack", os.path.join(self.dir, "out", "results.tar.gz"),
                            "--unpack", os.path.join(self.dir, "state.tar.gz"), cwd=elsewhere)
        self.assertEqual(result.returncode, 0, result.stderr)
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
        self.assertTrue(os.path.exists(os.path.join(elsewhere, "runs", study.BENCH_TABLE)))
        self.assertEqual([name for name in os.listdir(elsewhere) if name != "runs"], [])

    def test_state_holds_the_weights_an_unfinished_run_starts_from(self):
        self.write_grid({"stage": {"one": {"loss.name": "ce"},
                                   "two": {"train.init_from": "runs/t-stage=one/best.pt"},
                                   "other": {"loss.name": "ce"}}})
        self.study(self.grid, seconds=0, FAKE_FAIL="stage=two")
        for name in ("t-stage=one", "t-stage=other"):
            with open(os.path.join(self.dir, "runs", name, "best.pt"), "w") as f:
                f.write("weights")
        result = self.study(self.grid, "--budget", "0", "--pack", "results.tar.gz",
                            "--pack-state", "state.tar.gz")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.names("state.tar.gz"), [
            "runs/t-stage=one/best.pt", "runs/t-stage=one/config.yaml",
            "runs/t-stage=one/metrics.json",
            "runs/t-stage=two/config.yaml", "runs/t-stage=two/last.pt"])
        self.assertNotIn("runs/t-stage=one/best.pt", self.names("results.tar.gz"))

    def test_unpack_refuses_paths_outside_the_folder(self):
        archive = os.path.join(self.dir, "bad.tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo("../escaped.txt")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        result = self.study("--unpack", archive)
        self.assertEqual(result.returncode, 2)
        self.assertIn("refusing to unpack", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.dir), "escaped.txt")))

    def test_bench_runs_once_and_its_table_travels(self):
        bench = os.path.join(self.dir, "fake_bench.py")
        with open(bench, "w") as f:
            f.write(FAKE_BENCH)
        for _ in range(2):
            result = self.study("--bench", "--bench-script", bench, "--pack", "bench.tar.gz")
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("already holds the benchmark", result.stdout)
        table = os.path.join(self.dir, "runs", study.BENCH_TABLE)
        with open(table + ".calls") as f:
            self.assertEqual(f.read().split(), ["--compile", "--full-run", "--out",
                                                os.path.join("runs", study.BENCH_TABLE)])
        with tarfile.open(os.path.join(self.dir, "bench.tar.gz")) as tar:
            self.assertEqual(tar.getnames(), ["runs/bench/train_throughput.md"])


class SyntheticStudyTest(unittest.TestCase):
    """Real runs on synthetic data: a study stopped by its budget mid-grid and continued ends
    with exactly the results of an uninterrupted sweep, and its archive builds a report."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        config = synthetic_config(cls.dir, data={"synthetic": {
            "num_classes": 4, "train_per_class": 150, "test_per_class": 10, "image_size": 16,
            "channels": 3}}, train={"epochs": 5, "batch_size": 16, "lr": 0.01,
                                    "milestones": [4]})
        cls.grid = os.path.join(cls.dir, "grid.yaml")
        with open(cls.grid, "w") as f:
            yaml.safe_dump({"base": config, "prefix": "s",
                            "set": {"loss.reweight": "none"},
                            "axes": {"method": {"ce": {"loss.name": "ce"},
                                                "focal": {"loss.name": "focal"}}}}, f)
        cls.names = ["s-method=ce", "s-method=focal"]
        reference = [subprocess.Popen([sys.executable, SWEEP, cls.grid, "--outdir", "reference",
                                       "--shard", f"{k}/2"], cwd=cls.dir, env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True) for k in range(2)]
        folders = [os.path.join(cls.dir, "runs", name) for name in cls.names]

        def clock():  # the budget runs out once both runs have saved an epoch
            return 0 if not all(os.path.exists(f"{p}/last.pt") for p in folders) else 1e9

        cls.lines = []
        with mock.patch.dict(os.environ, ENV):
            cls.status = study.run_study(
                [(sweep.load_grid(cls.grid), os.path.join(cls.dir, "runs"))], parallel=2,
                budget=study.Budget(540, clock), log=cls.lines.append)
        cls.stopped = {name: load_run(os.path.join(cls.dir, "runs", name)) for name in cls.names}
        cls.second = subprocess.run([sys.executable, STUDY, cls.grid, "--parallel", "2"],
                                    cwd=cls.dir, env=ENV, capture_output=True, text=True,
                                    timeout=300)
        for process in reference:
            _, errors = process.communicate(timeout=300)
            assert process.returncode == 0, errors

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
        self.assertTrue(any(line.endswith("run the same command to continue")
                            for line in self.lines), self.lines)
        resumable = [run["name"] for run in self.stopped.values() if run["resumable"]]
        self.assertTrue(resumable, self.lines)  # the last run to save is one epoch in
        self.assertTrue(all(run["resumable"] or run["finished"]
                            for run in self.stopped.values()), self.lines)
        self.assertEqual(self.second.returncode, 0, self.second.stdout + self.second.stderr)
        self.assertEqual(self.second.stdout.count(": resuming"), len(resumable),
                         self.second.stdout)
        self.assertIn("2 finished, 0 in progress, 0 left", self.second.stdout)
        for name in self.names:
            metrics, weights = self.results("runs", name)
            expected_metrics, expected_weights = self.results("reference", name)
            self.assertEqual(metrics, expected_metrics)
            for key, value in expected_weights.items():
                self.assertTrue(torch.equal(weights[key], value), f"{name}: {key}")

    def test_pack_and_unpack_round_trip_into_a_report(self):
        archive = os.path.join(self.dir, "study.tar.gz")
        packed = subprocess.run([sys.executable, STUDY, self.grid, "--budget", "0", "--pack",
                                 archive], cwd=self.dir, env=ENV, capture_output=True,
                                text=True, timeout=120)
        self.assertEqual(packed.returncode, 0, packed.stderr)
        self.assertLess(os.path.getsize(archive), 1_000_000)
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.makedirs(elsewhere)
        unpacked = subprocess.run([sys.executable, STUDY, "--unpack", archive], cwd=elsewhere,
                                  env=ENV, capture_output=True, text=True, timeout=120)
        self.assertEqual(unpacked.returncode, 0, unpacked.stderr)
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
