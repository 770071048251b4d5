"""A study on the machine at hand: sweep grids run side by side within a time budget, packed for
another machine.

    python tools/study.py GRID [GRID ...] --parallel 4 --budget 540   # run / continue the grids
    python tools/study.py GRID --budget 540 --pack results.tar.gz --pack-state state.tar.gz
    python tools/study.py --unpack state.tar.gz GRID --budget 540 ...   # on a fresh machine
    python tools/study.py --bench --pack bench.tar.gz                 # the speed benchmark
    python tools/study.py --unpack results.tar.gz                     # back on this machine
    python -m report.build --runs runs --out report                   # then the report

The grids (tools/sweep.py describes them) run in the order given, each in its plan's order
(``first`` before the rest; a run naming another run's folder waits until that run has
finished), ``--parallel N`` runs at a time (on one GPU, several small ResNets share it). With
``--budget SECONDS`` every running run is interrupted once that many seconds have passed since
the command started: it saves ``last.pt`` (``main.py``'s Ctrl-C) and the command exits 0 with a
line saying how many runs have finished, are in progress and are left. The same command
continues: finished runs are skipped, interrupted ones resumed (``main.py --resume``). Leave
time for the runs to save and for ``--pack``: about a minute (``--budget 540`` under a
ten-minute limit). Each run's output goes to ``OUTDIR/study-logs/<run>.log``.

After the runs, if any, ``--pack FILE.tar.gz`` writes one archive of the results, a few MB:
every finished run's ``config.yaml``, ``metrics.json`` and, when under 1 MB, its TensorBoard
events; the grids' summaries; the benchmark table. ``--pack-state FILE.tar.gz`` writes what the
unfinished runs need to continue on another machine: an interrupted run's ``config.yaml``,
``last.pt`` (about 4 MB for ResNet-32), ``best.pt`` and events, and the ``best.pt`` of a
finished run that an unfinished run starts from. Without grids both take every run folder
under ``--outdir`` (default runs). Paths in the archives are relative to the current folder (the
repository root), and ``--unpack FILE.tar.gz`` (repeatable; done before anything else) puts
them back there (``runs/...``): a run already finished here keeps its files and only gains those
it lacks; any other run in the archive is replaced by the archive's.

``--bench`` first runs ``bench/train_throughput.py --compile --full-run`` (images/s of the
reference loop, the engine eager and with the whole step compiled, and the wall time of a whole
``configs/resnet32_focal.yaml`` run) on ``--data-root``, and saves its table as
``RESULTS/bench/train_throughput.md`` (RESULTS: ``--outdir`` or runs), which ``--pack`` takes
along. A table already there is kept; delete it to measure again.

Exit status: 0 every run finished, or the budget stopped them cleanly; 1 some run failed; 2 bad
grid file or archive; 130 interrupted (Ctrl-C or SIGTERM: the runs save as for the budget).
"""
import argparse
import collections
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # also runnable as python tools/study.py
from tools import sweep  # noqa: E402
from tools.runs import load_run  # noqa: E402

DEFAULT_BENCH = os.path.join(REPO, "bench", "train_throughput.py")
BENCH_TABLE = os.path.join("bench", "train_throughput.md")
LOGS = "study-logs"
EVENTS_LIMIT = 1_000_000  # bytes: a run's TensorBoard events travel when smaller
STOP_GRACE_S = 60         # how long interrupted runs get to save before they are killed
POLL_S = 0.1
RUN_FILES = ("config.yaml", "metrics.json", "last.pt", "best.pt", "confusion.png")


class ArchiveError(Exception):
    """An archive that cannot be read or holds paths it may not write."""


class Budget:
    """Seconds since ``clock()`` was first read, against an optional limit."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self.started = clock()

    def used_up(self):
        return self.seconds is not None and self.clock() - self.started >= self.seconds


def study_plan(grids):
    """Every run of ``grids`` in the order to start them.

    Args:
        grids: [(grid, outdir), ...] in priority order (``sweep.load_grid`` dicts).

    Returns:
        A list of dicts {``run`` (a ``sweep.expand`` run), ``grid``, ``outdir``, ``index``
        (1-based place in the list), ``dir`` (the run's folder), ``needs`` (folders of the runs
        it starts from, which must finish first)}.
    """
    runs = [(grid, outdir, run) for grid, outdir in grids for run in sweep.plan(grid)]
    items = [{"run": run, "grid": grid, "outdir": outdir, "index": index,
              "dir": os.path.join(outdir, run["name"])}
             for index, (grid, outdir, run) in enumerate(runs, 1)]
    folders = collections.defaultdict(list)
    for item in items:
        folders[item["run"]["name"]].append(item["dir"])
    names = list(folders)
    for item in items:
        item["needs"] = [folder for name in sweep.references(item["run"], names)
                         for folder in folders[name]]
    return items


def run_study(grids, parallel=1, budget=None, main=sweep.DEFAULT_MAIN, extra=(), log=print):
    """Run every unfinished run of ``grids``, ``parallel`` at a time, until done or out of budget.

    Args:
        grids: [(grid, outdir), ...] in priority order.
        parallel: runs at a time.
        budget: a Budget; when used up, the running runs are interrupted (they save
            ``last.pt``) and no other starts.
        main: the script that trains one run (``main.py``'s command line).
        extra: "key=value" overrides added to every new run.
        log: where progress lines go.

    Returns:
        The exit status: 0 all finished or stopped by the budget, 1 some failed, 130 interrupted.
    """
    items = study_plan(grids)
    budget = budget or Budget(None)
    finished = {item["dir"] for item in items if _state(item["dir"]) == "finished"}
    failed, running = set(), {}
    pending = [item for item in items if item["dir"] not in finished]
    log(f"study: {len(items)} runs in {len(grids)} grid(s): {_counts(items, failed)}; "
        f"{parallel} at a time")
    status = 0
    try:
        while True:
            for folder, child in list(running.items()):
                if child["process"].poll() is not None:
                    del running[folder]
                    if _reap(child, items, log):
                        finished.add(folder)
                    elif not child["stopped"]:
                        failed.add(folder)
            if budget.used_up():
                if running:
                    log(f"study: the {budget.seconds:g} s budget is used up; interrupting "
                        f"{len(running)} run(s) so that they save")
                    _stop(running, items, log)
                log(f"study: {_counts(items, failed)}; run the same command to continue")
                break
            for item in list(pending):
                if len(running) >= parallel:
                    break
                if any(need in failed for need in item["needs"]):
                    log(f"{_tag(item, items)}: not started: a run it starts from failed")
                    failed.add(item["dir"])
                    pending.remove(item)
                elif all(need in finished for need in item["needs"]):
                    pending.remove(item)
                    child = _start(item, items, main, extra, log)
                    if child is None:
                        failed.add(item["dir"])
                    else:
                        running[item["dir"]] = child
            if not running and not any(all(need in finished for need in item["needs"])
                                       for item in pending):
                log(f"study: {_counts(items, failed)}")
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _stop(running, items, log)
        log(f"study interrupted: {_counts(items, failed)}; run the same command to continue")
        status = sweep.INTERRUPTED
    for grid, outdir in grids:
        sweep.write_summary(grid, outdir)
    if failed:
        log(f"study: {len(failed)} run(s) failed: "
            f"{', '.join(sorted(os.path.basename(folder) for folder in failed))}")
    return status or (1 if failed else 0)


def _state(folder):
    """finished | in progress (a last.pt to resume from) | left."""
    if not os.path.isdir(folder):
        return "left"
    run = load_run(folder)
    return "finished" if run["finished"] else "in progress" if run["resumable"] else "left"


def _counts(items, failed):
    states = collections.Counter(_state(item["dir"]) for item in items)
    text = (f"{states['finished']} finished, {states['in progress']} in progress, "
            f"{states['left']} left")
    return text + (f" ({len(failed)} failed)" if failed else "")


def _tag(item, items):
    return f"study [{item['index']}/{len(items)}] {item['run']['name']}"


def _start(item, items, main, extra, log):
    """Start ``item``'s run (new or resumed) in its own process group; None if it cannot."""
    argv, state = sweep.command_for(item["run"], item["grid"], item["outdir"], main, extra)
    if state == "new" and os.path.isdir(item["dir"]) and not sweep.clear_stale(item["dir"]):
        log(f"{_tag(item, items)}: {item['dir']} holds files but no last.pt to resume from; "
            "move it away to run it again")
        return None
    log_path = os.path.join(item["outdir"], LOGS, f"{item['run']['name']}.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
    log(f"{_tag(item, items)}: {'resuming' if state == 'resume' else 'starting'}")
    return {"process": process, "item": item, "log": log_path, "started": time.monotonic(),
            "stopped": False}


def _reap(child, items, log):
    """Report a run's end; True when it finished."""
    item, code = child["item"], child["process"].returncode
    tag = _tag(item, items)
    if _state(item["dir"]) == "finished" and code == 0:
        log(f"{tag}: finished in {time.monotonic() - child['started']:.0f} s")
        return True
    if child["stopped"] or code in (sweep.INTERRUPTED, -signal.SIGINT):
        log(f"{tag}: stopped ({_state(item['dir'])})")
        child["stopped"] = True
        return False
    log(f"{tag}: failed (exit status {code}); the end of {child['log']}:\n{_tail(child['log'])}")
    return False


def _stop(running, items, log):
    """Interrupt every running run (SIGINT: it saves last.pt) and wait for them; kill those
    still running after STOP_GRACE_S, or at once on a second Ctrl-C.

    A Ctrl-C in the terminal reaches the runs too (they share the study's process group); the
    SIGINT is also sent here for a budget, a SIGTERM, or a SIGINT aimed at the study alone.
    """
    for child in running.values():
        child["stopped"] = True
        if child["process"].poll() is None:
            child["process"].send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    try:
        for child in running.values():
            try:
                child["process"].wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child["process"].kill()
                child["process"].wait()
            _reap(child, items, log)
    except KeyboardInterrupt:
        for child in running.values():
            child["process"].kill()
            child["process"].wait()
        raise
    finally:
        running.clear()


def _tail(path, lines=15):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:]).rstrip()


def run_bench(results, bench=DEFAULT_BENCH, data_root="data/cifar10-jpeg", budget=None,
              log=print):
    """Run the throughput benchmark unless ``results``/bench holds its table already.

    Returns:
        The exit status: 0 measured or already there, 1 the benchmark failed, 130 stopped.
    """
    table = os.path.join(results, BENCH_TABLE)
    if os.path.isfile(table):
        log(f"study: {table} already holds the benchmark; delete it to measure again")
        return 0
    os.makedirs(os.path.dirname(table), exist_ok=True)
    argv = [sys.executable, bench, "--compile", "--full-run", "--out", table]
    if os.path.isdir(data_root):
        argv += ["--data-root", data_root]
    log(f"study: benchmark: {' '.join(argv[1:])}")
    process = subprocess.Popen(argv)
    budget = budget or Budget(None)
    try:
        while process.poll() is None:
            if budget.used_up():
                log("study: the budget is used up during the benchmark; stopping it")
                _interrupt(process)
                return sweep.INTERRUPTED
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _interrupt(process)
        raise
    if process.returncode != 0 or not os.path.isfile(table):
        log(f"study: the benchmark failed (exit status {process.returncode})")
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


def pack_members(grids, results, state=False):
    """The files ``pack`` writes: {path relative to the current folder: path on disk}.

    Args:
        grids: [(grid, outdir), ...]; empty: every run folder under ``results``.
        results: the folder holding ``bench/``.
        state: False: the results (every finished run's config.yaml, metrics.json and small
            TensorBoard events; the grids' summaries; the benchmark table). True: what the
            unfinished runs need to continue elsewhere (an interrupted run's config.yaml,
            last.pt, best.pt and small events; a finished run's config.yaml, metrics.json and
            best.pt when an unfinished run of the grids starts from it).

    Raises:
        ArchiveError: a file outside the current folder.
    """
    if grids:
        items = study_plan(grids)
        folders = [item["dir"] for item in items]
        needed = {need for item in items if _state(item["dir"]) != "finished"
                  for need in item["needs"]}
        extra = [os.path.join(outdir, f"{grid['prefix']}-summary.{suffix}")
                 for grid, outdir in grids for suffix in ("csv", "md")]
    else:
        folders = sorted(root for root, _, files in os.walk(results) if "config.yaml" in files)
        needed, extra = set(), []
    files = [] if state else extra + [os.path.join(results, BENCH_TABLE)]
    for folder in folders:
        finished = _state(folder) == "finished"
        if state and finished and folder in needed:
            files += _in(folder, "config.yaml", "metrics.json", "best.pt")
        elif state and _state(folder) == "in progress":
            files += _in(folder, "config.yaml", "last.pt", "best.pt") + _small_events(folder)
        elif not state and finished:
            files += _in(folder, "config.yaml", "metrics.json") + _small_events(folder)
    members = {}
    for path in files:
        if os.path.isfile(path):
            name = os.path.relpath(path)
            if name.startswith(os.pardir + os.sep) or os.path.isabs(name):
                raise ArchiveError(f"{path} is outside the current folder; run the study from "
                                   "the folder that holds its run folders")
            members[name] = path
    return members


def _in(folder, *names):
    return [os.path.join(folder, name) for name in names]


def _small_events(folder):
    events = sorted(os.path.join(folder, name) for name in os.listdir(folder)
                    if name.startswith("events.out.tfevents."))
    return events if sum(os.path.getsize(path) for path in events) < EVENTS_LIMIT else []


def pack(path, grids, results, state=False, log=print):
    """Write the archive ``path`` (tar.gz) with ``pack_members``."""
    members = pack_members(grids, results, state)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with tarfile.open(partial, "w:gz") as tar:
        for name, source in sorted(members.items()):
            tar.add(source, arcname=name, recursive=False)
    os.replace(partial, path)
    runs = {os.path.dirname(name) for name in members if name.endswith("config.yaml")}
    what = "the state of" if state else "the results of"
    log(f"study: packed {what} {len(runs)} run(s), {len(members)} files, into {path} "
        f"({os.path.getsize(path) / 1e6:.1f} MB)")


def unpack(path, log=print):
    """Put the files of a ``pack`` archive under the current folder.

    A run already finished here keeps its files; it only gains those it lacks (e.g. the
    best.pt of a state archive). Any other run folder named in the archive has its run files
    replaced by the archive's. Other files (summaries, benchmark tables) are replaced.

    Raises:
        ArchiveError: the file is no readable tar.gz, or holds anything but plain files at
            relative paths inside the current folder.
    """
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                name = os.path.normpath(member.name)
                if (not member.isfile() or os.path.isabs(name)
                        or name.split(os.sep)[0] == os.pardir):
                    raise ArchiveError(f"{path}: {member.name!r} is not a plain file inside the "
                                       "current folder; refusing to unpack")
            with tempfile.TemporaryDirectory(dir=".") as staging:
                tar.extractall(staging, filter="data")
                _move_unpacked(staging, sorted(os.path.normpath(m.name) for m in members),
                               path, log)
    except (OSError, tarfile.TarError) as error:
        raise ArchiveError(f"{path}: cannot be unpacked ({error})") from None


def _move_unpacked(staging, names, path, log):
    folders = {os.path.dirname(name) for name in names if os.path.basename(name) == "config.yaml"}
    kept, states = set(), collections.Counter()
    for folder in sorted(folders):
        if _state(folder) == "finished":
            kept.add(folder)
            continue
        states[_state(os.path.join(staging, folder))] += 1
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name in RUN_FILES or name.startswith("events.out.tfevents."):
                    os.remove(os.path.join(folder, name))
    for name in names:
        if os.path.dirname(name) in kept and os.path.exists(name):
            continue
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        os.replace(os.path.join(staging, name), name)
    others = sum(1 for name in names if os.path.dirname(name) not in folders)
    log(f"study: unpacked {path}: {states['finished']} finished and {states['in progress']} "
        f"interrupted run(s), {others} other file(s); {len(kept)} run(s) already finished "
        "here kept their files")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python tools/study.py",
        description="Run sweep grids side by side within a time budget (resumable), benchmark "
                    "the training speed, and pack or unpack the results.",
        epilog="tools/study.py's docstring describes the archive; tools/sweep.py the grids.")
    parser.add_argument("grids", nargs="*", metavar="GRID", help="grid files, in priority order")
    parser.add_argument("--parallel", type=_positive, default=1, metavar="N",
                        help="runs at a time (default 1)")
    parser.add_argument("--budget", type=_seconds, default=None, metavar="SECONDS",
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
    parser.add_argument("--main", default=sweep.DEFAULT_MAIN, metavar="PATH",
                        help="the training script (default: this repository's main.py)")
    parser.add_argument("--bench-script", default=DEFAULT_BENCH, metavar="PATH",
                        help="the benchmark script (default: bench/train_throughput.py)")
    args = parser.parse_args(argv)
    if not (args.grids or args.bench or args.pack or args.pack_state or args.unpack):
        parser.error("nothing to do: give grid files, --bench, --pack, --pack-state or "
                     "--unpack")
    return args


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected an integer >= 1")
    return int(text)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected seconds >= 0")
    return value


def main(argv=None):
    args = parse_args(argv)
    log = lambda line: print(line, flush=True)  # noqa: E731
    budget = Budget(args.budget)
    results = args.outdir or "runs"
    try:
        for path in args.unpack:
            unpack(path, log)
        grids = [(grid, args.outdir or grid["outdir"])
                 for grid in (sweep.load_grid(path) for path in args.grids)]
        study_plan(grids)  # a cycle between runs is reported before anything starts
    except (sweep.GridError, ArchiveError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    status = 0
    try:
        if args.bench:
            status = run_bench(results, args.bench_script, args.data_root, budget, log)
        if grids and status != sweep.INTERRUPTED:
            status = max(status, run_study(grids, args.parallel, budget, args.main,
                                           args.extra, log))
    except KeyboardInterrupt:
        log("study interrupted; run the same command to continue")
        status = sweep.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        for path, state in ((args.pack, False), (args.pack_state, True)):
            if path:
                pack(path, grids, results, state, log)
    except ArchiveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if status == sweep.INTERRUPTED and budget.used_up() else status


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
