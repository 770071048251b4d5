"""A fake ``main.py`` for the scheduler's tests (sweep and study): it takes the real command line
and writes a run folder as a training run would, without torch or training.

Environment:
    FAKE_LOG: every event is appended as a JSON line [event, run name, argv]; event is
        "start", "end" or "stopped". The order of the lines is the order of the events.
    FAKE_MODE: "ok" (default); "interrupt_once" (the first call saves last.pt and exits 130
        by itself); "hold_once" (the first call saves last.pt, then waits for SIGINT and exits
        130); "hold" (every call does so).
    FAKE_FAIL: a run whose name holds this text saves last.pt, then exits 1.
    FAKE_BARRIER: N: a run finishes only once N runs have started (so that runs overlap).
    FAKE_EVENTS: bytes of the TensorBoard events file a finished run writes (default 10).
"""
import json
import os
import textwrap

import yaml

from tests.runs_helper import synthetic_config

SCRIPT = textwrap.dedent("""\
    import argparse, json, os, signal, sys, time
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--resume")
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()
    assert args.no_export, "the scheduler must pass --no-export"
    if args.resume:
        run_dir = args.resume
        with open(os.path.join(run_dir, "config.yaml")) as f:
            sets = json.load(f)
    else:
        sets = dict(text.split("=", 1) for text in args.set)
        run_dir = os.path.join(sets["run.dir"], sets["run.name"])
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, "config.yaml"), "w") as f:
            json.dump(sets, f)
    name = os.path.basename(run_dir)
    log_path, mode = os.environ["FAKE_LOG"], os.environ.get("FAKE_MODE", "ok")

    def note(event):
        with open(log_path, "a") as log:
            log.write(json.dumps([event, name, sys.argv[1:]]) + "\\n")

    def starts():
        with open(log_path) as log:
            return sum(json.loads(line)[0] == "start" for line in log)

    note("start")
    open(os.path.join(run_dir, "last.pt"), "w").close()
    if os.environ.get("FAKE_FAIL") and os.environ["FAKE_FAIL"] in name:
        sys.exit(1)
    first = not os.path.exists(log_path + ".held")
    if mode == "hold" or (mode in ("interrupt_once", "hold_once") and first):
        open(log_path + ".held", "a").close()
        while mode != "interrupt_once" and not stop:   # until the test sends SIGINT
            time.sleep(0.01)
        note("stopped")
        sys.exit(130)
    while starts() < int(os.environ.get("FAKE_BARRIER", "0")):
        time.sleep(0.01)
    accuracy = 0.5 + 0.1 * int(sets.get("seed", 0)) + (0.2 if "method=b" in name else 0.0)
    summary = {"accuracy": accuracy, "balanced_accuracy": accuracy / 2, "macro_f1": 0.25,
               "groups": {"many": 0.9, "medium": 0.4, "few": None},
               "thirds": {"head": 0.9, "middle": 0.5, "tail": 0.1}}
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump({"run": name, "finished": True, "test": summary}, f)
    with open(os.path.join(run_dir, "events.out.tfevents.1"), "w") as f:
        f.write("x" * int(os.environ.get("FAKE_EVENTS", "10")))
    note("end")
    """)

# Two methods by two seeds; the loss names are real, so every run's config validates.
AXES = {"method": {"a": {"loss.name": "ce"}, "b": {"loss.name": "ldam"}}, "seed": [0, 1]}


class FakeRuns:
    """A folder with the fake main, a valid synthetic base config, a grid and an events log."""

    def __init__(self, folder):
        self.dir = folder
        self.main = os.path.join(folder, "fake_main.py")
        with open(self.main, "w") as f:
            f.write(SCRIPT)
        self.base = synthetic_config(folder)
        self.log = os.path.join(folder, "calls.log")
        self.runs = os.path.join(folder, "runs")
        self.write_grid(AXES)

    def write_grid(self, axes, **fields):
        self.grid = os.path.join(self.dir, "grid.yaml")
        with open(self.grid, "w") as f:
            yaml.safe_dump({"base": self.base, "prefix": "t", "axes": axes, **fields}, f,
                           sort_keys=False)
        return self.grid

    def env(self, **values):
        """The environment variables of the fake runs: FAKE_LOG and ``values``."""
        return {"FAKE_LOG": self.log, "FAKE_MODE": "ok", "FAKE_FAIL": "", "FAKE_BARRIER": "0",
                **{key: str(value) for key, value in values.items()}}

    def events(self):
        """The logged [event, run name, argv] lines, in order."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def named(self, event):
        return [name for kind, name, _ in self.events() if kind == event]
