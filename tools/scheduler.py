"""The run scheduler behind sweeps and studies: the runs of grids started (or continued) as
``main.py`` subprocesses, ``parallel`` at a time, until all have ended or a time budget is
used up; then one summary per grid.

Each run is in one state, read from its folder (tools/runs.py describes the folder):

``finished``
    metrics.json says so: skipped.
``in progress``
    last.pt but not finished: continued with ``main.py --resume DIR``.
``left``
    no folder, or the leftovers of a run that saved nothing (config.yaml, TensorBoard events),
    which are removed: started anew. A folder holding anything else is never touched: the
    run fails and the message says to move the folder away.

A run naming another run's folder (``train.init_from``) starts once that run has finished, and
fails unstarted when that run failed. When a run ends, it *finished* (exit 0 and metrics.json
says so), was *interrupted* (exit 130, or ended by SIGINT/SIGTERM: it saved last.pt; every
other run is then interrupted too and the scheduler returns 130) or *failed* (anything else;
the others go on). Runs start with ``--no-export``: ``checkpoints/`` is left to single runs.
"""
import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from engine.config import load_config
from tools import grid as grids
from tools.runs import load_run
from tools.summary import write_summary

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MAIN = os.path.join(REPO, "main.py")
INTERRUPTED = 130
STOP_GRACE_S = 60   # seconds interrupted runs get to save before they are killed
POLL_S = 0.1        # seconds between looks at the running runs
STALE_FILES = re.compile(r"^(config\.yaml|events\.out\.tfevents\..*|\.write-test)$")


class Budget:
    """Seconds since ``clock()`` was first read, against an optional limit (None: no limit)."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self.started = clock()

    def used_up(self):
        return self.seconds is not None and self.clock() - self.started >= self.seconds


def plan_runs(grid_list):
    """Every run of ``grid_list`` in the order to start them.

    Args:
        grid_list: [(grid, outdir), ...] in priority order (``grid.load_grid`` dicts).

    Returns:
        A list of dicts {``run`` (a ``grid.expand`` run), ``grid``, ``outdir``, ``index``
        (1-based place in the list), ``dir`` (the run's folder), ``needs`` (folders of the runs
        it starts from, which must finish first)}.

    Raises:
        ValueError: a malformed grid or runs that name each other's folders in a cycle.
    """
    runs = [(grid, outdir, run) for grid, outdir in grid_list for run in grids.plan(grid)]
    items = [{"run": run, "grid": grid, "outdir": outdir, "index": index,
              "dir": os.path.join(outdir, run["name"])}
             for index, (grid, outdir, run) in enumerate(runs, 1)]
    folders = collections.defaultdict(list)
    for item in items:
        folders[item["run"]["name"]].append(item["dir"])
    for item in items:
        item["needs"] = [folder for name in grids.references(item["run"], list(folders))
                         for folder in folders[name]]
    return items


def new_run_overrides(item, extra=()):
    """The ``--set`` values of a new run: the grid's, ``extra``, then its name and folder."""
    return [*item["run"]["overrides"], *extra, f"run.name={item['run']['name']}",
            f"run.dir={item['outdir']}"]


def validate(items, extra=()):
    """Load every run's config as ``main.py`` would, before anything starts.

    Raises:
        ValueError: ``run <name>: <the config's one-line error>`` for the first bad run.
    """
    for item in items:
        try:
            load_config(item["grid"]["base"], new_run_overrides(item, extra),
                        warn=lambda line: None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"run {item['run']['name']}: {error}") from None


def run_state(folder):
    """"finished", "in progress" (a last.pt to resume from) or "left" (see the docstring)."""
    if not os.path.isdir(folder):
        return "left"
    run = load_run(folder)
    return "finished" if run["finished"] else "in progress" if run["resumable"] else "left"


def command_for(item, main=DEFAULT_MAIN, extra=()):
    """The argv that starts or continues ``item``'s run, and its state (argv None when
    finished)."""
    state = run_state(item["dir"])
    if state == "finished":
        return None, state
    if state == "in progress":
        return [sys.executable, main, "--no-export", "--resume", item["dir"]], state
    argv = [sys.executable, main, "--no-export", "--config", item["grid"]["base"]]
    for text in new_run_overrides(item, extra):
        argv += ["--set", text]
    return argv, state


def counts(items, failed=()):
    """``"3 finished, 1 in progress, 2 left"`` (+ ``" (1 failed)"``)."""
    states = collections.Counter(run_state(item["dir"]) for item in items)
    text = (f"{states['finished']} finished, {states['in progress']} in progress, "
            f"{states['left']} left")
    return text + (f" ({len(failed)} failed)" if failed else "")


def run_grids(grid_list, who, parallel=1, budget=None, main=DEFAULT_MAIN, extra=(), logs=None,
              hint="run the same command", log=print):
    """Run every unfinished run of ``grid_list``, then write each grid's summary.

    Args:
        grid_list: [(grid, outdir), ...] in priority order; validate them first.
        who: the name that starts every progress line ("sweep", "study").
        parallel: runs at a time.
        budget: a Budget; once used up, the running runs are interrupted (they save last.pt)
            and no other starts.
        main: the script that trains one run (``main.py``'s command line).
        extra: "key=value" overrides added to every new run, after the grid's.
        logs: None: the runs print to this process's output; else the name of a folder under
            each outdir that receives ``<run>.log``.
        hint: how to continue, printed when the runs were stopped before the end.
        log: where progress lines go.

    Returns:
        The exit status: 0 every run finished or the budget stopped them, 1 some failed,
        130 interrupted.
    """
    items = plan_runs(grid_list)
    run = _Run(items, who, main, extra, logs, log)
    log(f"{who}: {len(items)} run(s) in {len(grid_list)} grid(s): {counts(items)}; "
        f"{parallel} at a time")
    stopped = run.loop(parallel, budget or Budget(None))
    for grid, outdir in grid_list:
        paths = write_summary(grid, outdir)
        if paths:
            log(f"{who}: summary in {paths[0]} and {paths[1]}")
    log(f"{who}: {counts(items, run.failed)}" + (f"; to continue: {hint}" if stopped else ""))
    if run.failed:
        log(f"{who}: {len(run.failed)} run(s) failed: "
            f"{', '.join(sorted(os.path.basename(folder) for folder in run.failed))}")
    return INTERRUPTED if stopped == "interrupted" else 1 if run.failed else 0


class _Run:
    """The state of one ``run_grids`` call: folders finished and failed, processes running."""

    def __init__(self, items, who, main, extra, logs, log):
        self.items, self.who, self.main, self.extra, self.logs = items, who, main, extra, logs
        self.log = log
        self.finished, self.failed, self.running = set(), set(), {}

    def tag(self, item):
        return f"{self.who} [{item['index']}/{len(self.items)}] {item['run']['name']}"

    def loop(self, parallel, budget):
        """Start and reap runs until none is left; returns None, "budget" or "interrupted"."""
        pending = []
        for item in self.items:
            if run_state(item["dir"]) == "finished":
                self.log(f"{self.tag(item)}: finished, skipped")
                self.finished.add(item["dir"])
            else:
                pending.append(item)
        try:
            while True:
                if self.reap_ended() == "interrupted":
                    self.stop()
                    return "interrupted"
                if budget.used_up():
                    left = bool(pending or self.running)
                    if self.running:
                        self.log(f"{self.who}: the {budget.seconds:g} s budget is used up; "
                                 f"interrupting {len(self.running)} run(s) so that they save")
                        self.stop()
                    return "budget" if left else None
                self.start_ready(pending, parallel)
                if not self.running and not any(self.ready(item) for item in pending):
                    return None
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            self.log(f"{self.who}: interrupted; stopping {len(self.running)} run(s) so that "
                     "they save")
            self.stop()
            return "interrupted"

    def ready(self, item):
        return all(need in self.finished for need in item["needs"])

    def start_ready(self, pending, parallel):
        for item in list(pending):
            if len(self.running) >= parallel:
                return
            if any(need in self.failed for need in item["needs"]):
                self.log(f"{self.tag(item)}: not started: a run it starts from failed")
                self.failed.add(item["dir"])
                pending.remove(item)
            elif self.ready(item):
                pending.remove(item)
                child = self.start(item)
                if child is None:
                    self.failed.add(item["dir"])
                else:
                    self.running[item["dir"]] = child

    def start(self, item):
        """Start ``item``'s run (new or resumed); None if its folder blocks it."""
        argv, state = command_for(item, self.main, self.extra)
        if state == "left" and os.path.isdir(item["dir"]) and not clear_stale(item["dir"]):
            self.log(f"{self.tag(item)}: {item['dir']} holds files but no last.pt to resume "
                     "from; move it away to run it again")
            return None
        self.log(f"{self.tag(item)}: {'resuming' if state == 'in progress' else 'starting'}")
        log_path = None
        if self.logs is None:
            process = subprocess.Popen(argv)
        else:
            log_path = os.path.join(item["outdir"], self.logs, f"{item['run']['name']}.log")
            os.makedirs(os.path.dirname(log_path), exist_ok=True)
            with open(log_path, "a") as output:  # a stream that grows: not written atomically
                process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
        return {"process": process, "item": item, "log": log_path, "stopped": False,
                "started": time.monotonic()}

    def reap_ended(self):
        """Report the runs that have ended; "interrupted" when one was interrupted."""
        outcome = None
        for folder, child in list(self.running.items()):
            if child["process"].poll() is not None:
                del self.running[folder]
                if self.reap(child) == "interrupted":
                    outcome = "interrupted"
        return outcome

    def reap(self, child):
        """Report one run's end; returns "finished", "interrupted" or "failed"."""
        item, code = child["item"], child["process"].returncode
        if code == 0 and run_state(item["dir"]) == "finished":
            self.log(f"{self.tag(item)}: finished in "
                     f"{time.monotonic() - child['started']:.0f} s")
            self.finished.add(item["dir"])
            return "finished"
        if child["stopped"] or code in (INTERRUPTED, -signal.SIGINT, -signal.SIGTERM):
            self.log(f"{self.tag(item)}: stopped ({run_state(item['dir'])})")
            return "interrupted"
        tail = f"; the end of {child['log']}:\n{_tail(child['log'])}" if child["log"] else ""
        self.log(f"{self.tag(item)}: failed (exit status {code}){tail}")
        self.failed.add(item["dir"])
        return "failed"

    def stop(self):
        """Interrupt every running run (SIGINT: it saves last.pt) and wait for them; kill those
        still running after STOP_GRACE_S, or at once on another Ctrl-C.

        A Ctrl-C in the terminal reaches the runs too (they share the process group); SIGINT is
        also sent here for a budget, a SIGTERM, or a signal aimed at the scheduler alone.
        """
        children = list(self.running.values())
        self.running.clear()
        for child in children:
            child["stopped"] = True
            if child["process"].poll() is None:
                child["process"].send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        try:
            for child in children:
                try:
                    child["process"].wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child["process"].kill()
                    child["process"].wait()
                self.reap(child)
        except KeyboardInterrupt:
            for child in children:
                child["process"].kill()
                child["process"].wait()
            raise


def clear_stale(run_dir):
    """Remove a run folder left by a run that saved nothing; False if it holds more."""
    if not all(STALE_FILES.match(entry) for entry in os.listdir(run_dir)):
        return False
    shutil.rmtree(run_dir)
    return True


@contextlib.contextmanager
def sigterm_as_ctrl_c():
    """Within the block, SIGTERM (schedulers, ``timeout``, container stops) raises
    KeyboardInterrupt as Ctrl-C does, so that the runs save before the command exits."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _tail(path, lines=15):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:]).rstrip()
