"""Run a grid of training runs, one after another, and tabulate them (mean ± std over seeds).

    python -m tools.sweep configs/sweeps/cifar10_lt.yaml              # run (or continue) the grid
    python -m tools.sweep configs/sweeps/cifar10_lt.yaml --dry-list   # print the plan only
    python -m tools.sweep configs/sweeps/cifar10_lt.yaml --collect-only

tools/grid.py describes grid files; tools/scheduler.py the run states (a finished run is
skipped, an interrupted one resumed) and how runs end. Every run's config is validated before
the first starts. Each run is ``python main.py --no-export --config BASE --set KEY=VALUE ...
--set run.name=NAME --set run.dir=OUTDIR``. Ctrl-C or SIGTERM stops the current run (it saves
its progress) and the sweep; the same command continues. At the end the finished runs' test
metrics are grouped by every axis but ``seed`` into ``OUTDIR/<prefix>-summary.csv`` and
``.md``. ``python -m tools.study`` runs grids several runs at a time within a time budget.

Exit status: 0 all runs finished, 1 some failed, 2 bad grid or output folder, 130 interrupted.
"""
import argparse
import os
import shlex
import sys

from engine.errors import INPUT_ERRORS, report
from tools import grid as grids
from tools import scheduler
from tools.folders import check_output_folder
from tools.summary import write_summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.sweep",
        description="Run every run of a grid file (cartesian product of its axes) with "
                    "main.py, skipping finished runs and resuming interrupted ones, then "
                    "write OUTDIR/<prefix>-summary.csv and .md (mean ± std over seeds).",
        epilog="Grid files are described in docs/sweeps.md. Ctrl-C stops the current run and "
               "the sweep; the same command continues where it stopped.")
    parser.add_argument("grid", help="grid file (YAML)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-list", action="store_true",
                      help="print every run with its state and command, run nothing")
    mode.add_argument("--collect-only", action="store_true",
                      help="only write the summary of the runs already finished")
    parser.add_argument("--outdir", help="folder of the run folders (default: the grid's "
                                         "outdir, else runs)")
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override added to every new run, e.g. --set "
                             "data.dataset=imagefolder (not part of run names; repeatable)")
    parser.add_argument("--main", default=scheduler.DEFAULT_MAIN, metavar="PATH",
                        help="the training script to run (default: this repository's main.py)")
    return parser.parse_args(argv)


PLAN_WORDS = {"finished": "finished", "in progress": "resume", "left": "new"}


def print_plan(items, main, extra):
    """Print every run with what the sweep would do (new, resume, finished) and its shell
    command; stop quietly if the reader (e.g. ``head``) closes the pipe."""
    try:
        for item in items:
            command, state = scheduler.command_for(item, main, extra)
            shown = "" if command is None else "  python " + shlex.join(command[1:])
            print(f"{item['run']['name']}  [{PLAN_WORDS[state]}]{shown}", flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv=None):
    args = parse_args(argv)
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        grid = grids.load_grid(args.grid)
        outdir = args.outdir or grid["outdir"]
        items = scheduler.plan_runs([(grid, outdir)])
        scheduler.validate(items, args.extra)
        if not args.dry_list:
            check_output_folder(outdir, "--outdir")
    except INPUT_ERRORS as error:
        return report(error)
    if args.dry_list:
        print_plan(items, args.main, args.extra)
        return 0
    if args.collect_only:
        paths = write_summary(grid, outdir)
        print(f"wrote {paths[0]} and {paths[1]}" if paths else
              f"sweep: no run of {args.grid} has finished in {outdir}; no summary written")
        return 0
    log = lambda line: print(line, flush=True)  # noqa: E731
    with scheduler.sigterm_as_ctrl_c():
        try:
            return scheduler.run_grids([(grid, outdir)], "sweep", main=args.main,
                                       extra=args.extra, log=log,
                                       hint=shlex.join(["python", "-m", "tools.sweep", *words]))
        except KeyboardInterrupt:  # a second Ctrl-C while the run was saving
            print("sweep: interrupted again; the run was killed", file=sys.stderr)
            return scheduler.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
