"""The training-speed benchmark as one step of a study: ``bench.train_throughput --compile
--full-run`` run once, its table kept in ``RESULTS/bench/train_throughput.md``.

``python -m tools.study --bench`` calls ``run_bench`` before the grids; a table already there is
kept (delete it to measure again), and ``--pack`` takes it along.
"""
import os
import signal
import subprocess
import sys
import time

from tools.scheduler import INTERRUPTED, POLL_S, REPO, STOP_GRACE_S, Budget

BENCH_TABLE = os.path.join("bench", "train_throughput.md")
DEFAULT_COMMAND = (sys.executable, "-m", "bench.train_throughput")


def run_bench(results, command=DEFAULT_COMMAND, data_root="data/cifar10-jpeg", budget=None,
              log=print):
    """Run the throughput benchmark unless ``results``/bench holds its table already.

    Args:
        results: the folder that receives ``bench/train_throughput.md``.
        command: the argv prefix that runs the benchmark (run from the repository root).
        data_root: ImageFolder copy of CIFAR-10 for the whole run, when that folder exists.
        budget: a ``tools.scheduler.Budget``; once used up the benchmark is interrupted.
        log: where progress lines go.

    Returns:
        The exit status: 0 measured or already there, 1 the benchmark failed, 130 stopped.
    """
    table = os.path.join(results, BENCH_TABLE)
    if os.path.isfile(table):
        log(f"bench: {table} already holds the benchmark; delete it to measure again")
        return 0
    os.makedirs(os.path.dirname(table), exist_ok=True)
    argv = [*command, "--compile", "--full-run", "--out", os.path.abspath(table)]
    if os.path.isdir(data_root):
        argv += ["--data-root", os.path.abspath(data_root)]
    log(f"bench: {' '.join(argv[1:])}")
    process = subprocess.Popen(argv, cwd=REPO)
    budget = budget or Budget(None)
    try:
        while process.poll() is None:
            if budget.used_up():
                log("bench: the budget is used up during the benchmark; stopping it")
                _interrupt(process)
                return INTERRUPTED
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _interrupt(process)
        raise
    if process.returncode != 0 or not os.path.isfile(table):
        log(f"bench: the benchmark failed (exit status {process.returncode})")
        return 1
    with open(table) as f:
        log(f.read().rstrip())
    return 0


def _interrupt(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
