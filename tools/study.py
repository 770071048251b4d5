"""A study on the machine at hand: grids run several runs at a time within a time budget, packed
for another machine.

    python -m tools.study GRID [GRID ...] --parallel 4 --budget 540   # run / continue the grids
    python -m tools.study GRID --budget 540 --pack results.tar.gz --pack-state state.tar.gz
    python -m tools.study --unpack state.tar.gz GRID --budget 540 ...   # on a fresh machine
    python -m tools.study --bench --pack bench.tar.gz                 # the speed benchmark
    python -m tools.study --unpack results.tar.gz                     # back on this machine
    python -m report.build --runs runs --out report                   # then the report

The grids (tools/grid.py) run through the same scheduler as ``tools.sweep`` (tools/scheduler.py:
finished runs skipped, interrupted ones resumed, every config validated first), in the order
given, ``--parallel N`` runs at a time (on one GPU, several small ResNets share it). With
``--budget SECONDS`` every running run is interrupted once that many seconds have passed since
the command started: it saves ``last.pt`` and the command exits 0 with a line saying how many
runs have finished, are in progress and are left, and the command that continues. Leave time for
the runs to save and for ``--pack``: about a minute (``--budget 540`` under a ten-minute limit).
Each run's output goes to ``OUTDIR/study-logs/<run>.log``.

``--pack`` and ``--pack-state`` write the archives tools/archive.py describes (results: a few
MB; state: about 4 MB per interrupted ResNet-32 run); ``--unpack`` (repeatable; done before
anything else) puts an archive's files back under the current folder. ``--bench`` first runs
the training-speed benchmark once (bench/runner.py) and keeps its table in
``RESULTS/bench/train_throughput.md`` (RESULTS: ``--outdir`` or runs), which ``--pack`` takes.

Exit status: 0 every run finished, or the budget stopped them cleanly; 1 some run failed; 2 bad
grid, output folder or archive; 130 interrupted (Ctrl-C or SIGTERM: the runs save as for the
budget).
"""
import argparse
import os
import shlex
import sys

from bench.runner import BENCH_TABLE, DEFAULT_COMMAND, run_bench
from engine.errors import INPUT_ERRORS, report
from tools import archive, argtypes, scheduler
from tools.folders import check_output_folder
from tools.grid import load_grid

LOGS = "study-logs"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.study",
        description="Run grids several runs at a time within a time budget (resumable), "
                    "benchmark the training speed, and pack or unpack the results.",
        epilog="docs/sweeps.md describes grids, studies and their archives.")
    parser.add_argument("grids", nargs="*", metavar="GRID", help="grid files, in priority order")
    parser.add_argument("--parallel", type=argtypes.positive, default=1, metavar="N",
                        help="runs at a time (default 1)")
    parser.add_argument("--budget", type=argtypes.seconds, default=None, metavar="SECONDS",
                        help="interrupt every run (it saves last.pt) this many seconds after "
                             "the start, and stop")
    parser.add_argument("--bench", action="store_true",
                        help="first run bench/train_throughput.py (eager, compiled, whole run)")
    parser.add_argument("--data-root", default="data/cifar10-jpeg", metavar="PATH",
                        help="ImageFolder copy of CIFAR-10 for the benchmark's whole run "
                             "(default data/cifar10-jpeg; CIFAR-10 under data/ when missing)")
    parser.add_argument("--pack", metavar="FILE.tar.gz",
                        help="then write the results here (a few MB)")
    parser.add_argument("--pack-state", metavar="FILE.tar.gz",
                        help="then write what the unfinished runs need to continue elsewhere "
                             "here (about 4 MB per interrupted ResNet-32 run)")
    parser.add_argument("--unpack", action="append", default=[], metavar="FILE.tar.gz",
                        help="first put an archive's files under the current folder "
                             "(repeatable)")
    parser.add_argument("--outdir", help="folder of the run folders of every grid (default: "
                                         "each grid's outdir); without grids, what --pack "
                                         "packs and where --bench writes (default runs)")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="override added to every new run (repeatable)")
    parser.add_argument("--main", default=scheduler.DEFAULT_MAIN, metavar="PATH",
                        help="the training script (default: this repository's main.py)")
    parser.add_argument("--bench-script", default=None, metavar="PATH",
                        help="the benchmark script (default: python -m bench.train_throughput)")
    args = parser.parse_args(argv)
    if not (args.grids or args.bench or args.pack or args.pack_state or args.unpack):
        parser.error("nothing to do: give grid files, --bench, --pack, --pack-state or "
                     "--unpack")
    return args


def main(argv=None):
    args = parse_args(argv)
    words = sys.argv[1:] if argv is None else list(argv)
    log = lambda line: print(line, flush=True)  # noqa: E731
    budget = scheduler.Budget(args.budget)
    results = args.outdir or "runs"
    try:
        grid_list = [(grid, args.outdir or grid["outdir"])
                     for grid in (load_grid(path) for path in args.grids)]
        scheduler.validate(scheduler.plan_runs(grid_list), args.extra)
        for folder in dict.fromkeys([outdir for _, outdir in grid_list]
                                    + ([results] if args.bench else [])):
            check_output_folder(folder, "--outdir")
        for path in args.unpack:
            archive.unpack(path, log)
    except INPUT_ERRORS as error:
        return report(error)
    hint = shlex.join(["python", "-m", "tools.study", *_without_unpack(words)])
    status = 0
    with scheduler.sigterm_as_ctrl_c():
        try:
            if args.bench:
                command = ((sys.executable, os.path.abspath(args.bench_script))
                           if args.bench_script else DEFAULT_COMMAND)
                status = run_bench(results, command, args.data_root, budget, log)
            if grid_list and status != scheduler.INTERRUPTED:
                status = max(status, scheduler.run_grids(
                    grid_list, "study", args.parallel, budget, args.main, args.extra, LOGS,
                    hint, log))
        except KeyboardInterrupt:
            log(f"study: interrupted; to continue: {hint}")
            status = scheduler.INTERRUPTED
    try:
        for path, state in ((args.pack, False), (args.pack_state, True)):
            if path:
                archive.pack(path, grid_list, results, state,
                             also=[os.path.join(results, BENCH_TABLE)], log=log)
    except INPUT_ERRORS as error:
        return report(error)
    return 0 if status == scheduler.INTERRUPTED and budget.used_up() else status


def _without_unpack(words):
    """The command line without its ``--unpack FILE`` pairs: archives already unpacked."""
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "--unpack":
            skip = True
        elif not word.startswith("--unpack="):
            kept.append(word)
    return kept


if __name__ == "__main__":
    sys.exit(main())
