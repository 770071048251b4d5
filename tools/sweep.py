"""Run a grid of training runs, one after another, and tabulate them (mean ± std over seeds).

    python -m tools.sweep configs/sweeps/cifar10_lt.yaml              # run (or continue) the grid
    python -m tools.sweep configs/sweeps/cifar10_lt.yaml --dry-list   # print the plan only
    python -m tools.sweep configs/sweeps/cifar10_lt.yaml --collect-only

A grid file (YAML; paths are relative to the current directory, the repository root)::

    base: configs/resnet32_ce.yaml     # the config every run starts from
    prefix: c10lt                      # run names start with it; names the summary files
    outdir: runs                       # optional (default runs): run.dir of every run
    set: {train.epochs: 200}           # optional: overrides for every run
    axes:                              # the runs are the cartesian product of the axes
      method:                          # a mapping: named bundles of overrides
        ce: {loss.name: ce}
        ldam_drw: {loss.name: ldam, loss.reweight: class_balanced, loss.reweight_epoch: 160}
      data.imbalance.factor: [10, 100] # a list: the values of one config key
      seed: [0, 1, 2]
    first:                             # optional: runs to start before the others
      - {factor: 100, seed: 0}         # every run with these labels first,
      - {factor: 100}                  # then these (a label or a list of labels per axis)

Runs go in grid order (the first axis outermost), except that those matching an entry of
``first`` go before the others, by the first entry they match; and a run whose overrides name
another run of the plan as a path component (``train.init_from: runs/<run>/best.pt``) goes
after that run. A string value may hold ``{column}`` placeholders, replaced by the run's
label on that axis: ``train.init_from: runs/c10lt-method=ce-seed={seed}/best.pt`` starts each
seed's stage-2 run from the stage-1 run of the same seed.
Run names are ``<prefix>-<axis>=<value>-...`` in axis order, where a list axis is named by
the last part of its key unless two axes would share it (``c10lt-method=ce-factor=100-seed=1``).
Each run is ``python main.py --config BASE --set KEY=VALUE ... --set run.name=NAME
--set run.dir=OUTDIR`` in a subprocess. A run whose metrics.json says finished is skipped; one
with ``last.pt`` is continued with ``main.py --resume OUTDIR/NAME``; the leftovers of a run that
stopped before saving anything (config.yaml, TensorBoard events) are removed and it starts
again. Ctrl-C stops the current run (it saves its progress) and the sweep; the same command
continues. At the end every finished run's test metrics are grouped by all axes except
``seed`` into ``OUTDIR/<prefix>-summary.csv`` and ``.md``.

Exit status: 0 all runs finished, 1 some failed, 2 bad grid file, 130 interrupted.
"""
import argparse
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # also runnable as python tools/sweep.py
from engine.files import write_text_atomic  # noqa: E402
from tools import collect  # noqa: E402
from tools.runs import load_run  # noqa: E402

DEFAULT_MAIN = os.path.join(REPO, "main.py")
SEED_KEY = "seed"
INTERRUPTED = 130
STALE_FILES = re.compile(r"^(config\.yaml|events\.out\.tfevents\..*|\.write-test)$")


class GridError(Exception):
    """The grid file is malformed; the message says where and what is expected."""


def load_grid(path):
    """Read and check a grid file.

    Returns:
        dict with ``base``, ``prefix``, ``outdir``, ``set`` ({dotted key: value}),
        ``axes``: a list of dicts {``column``: the axis's name in run names and tables,
        ``key``: the dotted config key for a list axis or None for a bundle axis,
        ``values``: [(label, {dotted key: value}), ...]}, and ``first``: a list of
        {axis column: set of labels} (empty when the grid has none).

    Raises:
        GridError: unreadable file, missing or unknown fields, empty or malformed axes.
    """
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        raise GridError(f"{path}: cannot be read ({error})") from None
    if not isinstance(raw, dict):
        raise GridError(f"{path}: expected a mapping with base, prefix and axes")
    unknown = sorted(set(raw) - {"base", "prefix", "outdir", "set", "axes", "first"})
    if unknown:
        raise GridError(f"{path}: unknown field {unknown[0]!r}; expected base, prefix, outdir, "
                        "set, axes, first")
    for field in ("base", "prefix"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise GridError(f"{path}: {field} must be a non-empty string")
    if not _is_label(raw["prefix"]):
        raise GridError(f"{path}: prefix {raw['prefix']!r} may hold only letters, digits, "
                        "'.', '_', '+' and '-'")
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise GridError(f"{path}: set must map dotted keys to values")
    axes = raw.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise GridError(f"{path}: axes must map at least one axis to its values")
    parsed = _parse_axes(path, axes)
    return {"base": raw["base"], "prefix": raw["prefix"], "outdir": raw.get("outdir") or "runs",
            "set": fixed, "axes": parsed, "first": _parse_first(path, raw.get("first"), parsed)}


def expand(grid):
    """The runs of a grid: the cartesian product of its axes, first axis outermost.

    Returns:
        A list of dicts {``name``, ``labels`` ({axis column: label}), ``overrides``
        (["key=value", ...]: the grid's ``set``, then each axis's values in axis order)}.

    Raises:
        GridError: two runs would get the same name.
    """
    axes = grid["axes"]
    runs, seen = [], set()
    for combination in itertools.product(*(axis["values"] for axis in axes)):
        labels = {axis["column"]: label for axis, (label, _) in zip(axes, combination)}
        settings = dict(grid["set"])
        for _, values in combination:
            settings.update(values)
        settings = {key: fill_labels(value, labels) for key, value in settings.items()}
        name = "-".join([grid["prefix"], *(f"{c}={v}" for c, v in labels.items())])
        if name in seen:
            raise GridError(f"two runs are both named {name!r}; make the axis values distinct")
        seen.add(name)
        runs.append({"name": name, "labels": labels,
                     "overrides": [f"{k}={format_value(v)}" for k, v in settings.items()]})
    return runs


def plan(grid):
    """The runs of ``expand(grid)`` in the order to start them (see the module docstring)."""
    runs = expand(grid)
    rank = {run["name"]: _first_rank(run, grid["first"]) for run in runs}
    return order_runs(sorted(runs, key=lambda run: rank[run["name"]]))


def references(run, names):
    """The names among ``names`` (other runs) that ``run``'s overrides name as a path component,
    e.g. the stage-1 run of ``train.init_from=runs/<name>/best.pt``."""
    parts = {part for text in run["overrides"]
             for part in re.split(r"[/\\]", text.partition("=")[2])}
    return sorted((parts & set(names)) - {run["name"]})


def order_runs(runs):
    """``runs`` in the same order, except that a run waiting for the runs it ``references``
    goes right after the last of them.

    Raises:
        GridError: runs that reference each other in a cycle.
    """
    names = [run["name"] for run in runs]
    needs = {run["name"]: set(references(run, names)) for run in runs}
    ordered, placed, waiting = [], set(), []

    def place(run):
        ordered.append(run)
        placed.add(run["name"])
        for other in list(waiting):
            if other in waiting and needs[other["name"]] <= placed:
                waiting.remove(other)
                place(other)

    for run in runs:
        if needs[run["name"]] <= placed:
            place(run)
        else:
            waiting.append(run)
    if waiting:
        raise GridError(f"runs {', '.join(run['name'] for run in waiting)} name each "
                        "other's folders in a cycle")
    return ordered


def fill_labels(value, labels):
    """``value`` with every ``{column}`` in a string replaced by the run's label on that axis,
    e.g. ``runs/c10lt-method=ce-seed={seed}/best.pt`` -> ``.../c10lt-method=ce-seed=1/...``
    (how a stage-2 run names the stage-1 run of its own seed); other values unchanged.

    Raises:
        GridError: a placeholder names no axis.
    """
    if not isinstance(value, str):
        return value

    def label(match):
        if match.group(1) not in labels:
            raise GridError(f"{value!r}: {{{match.group(1)}}} names no axis; expected one of "
                            f"{', '.join('{' + column + '}' for column in labels)}")
        return labels[match.group(1)]

    return re.sub(r"\{([\w.]+)\}", label, value)


def format_value(value):
    """A value as ``--set`` reads it (YAML): strings bare when YAML keeps them strings, else
    JSON (``true``, ``0.5``, ``[160, 180]``, ``"100"``)."""
    if isinstance(value, str) and value and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def group_columns(grid):
    """The axis columns a summary groups by: every axis except the seed."""
    return [axis["column"] for axis in grid["axes"] if axis["key"] != SEED_KEY]


def command_for(run, grid, outdir, main=DEFAULT_MAIN, extra=()):
    """The argv that starts (or continues, when resumable) ``run``, and its state.

    Returns:
        (argv, state) with state "finished" (argv None), "resume" or "new".
    """
    run_dir = os.path.join(outdir, run["name"])
    state = load_run(run_dir) if os.path.isdir(run_dir) else None
    if state is not None and state["finished"]:
        return None, "finished"
    if state is not None and state["resumable"]:
        return [sys.executable, main, "--resume", run_dir], "resume"
    sets = [*run["overrides"], *extra, f"run.name={run['name']}", f"run.dir={outdir}"]
    argv = [sys.executable, main, "--config", grid["base"]]
    for text in sets:
        argv += ["--set", text]
    return argv, "new"


def run_sweep(grid, outdir, main=DEFAULT_MAIN, extra=(), log=print, shard=(0, 1)):
    """Run every unfinished run of ``grid`` in turn, then write the summary.

    Args:
        grid: a ``load_grid`` dict.
        outdir: the folder holding the run folders (passed as run.dir).
        main: the script that trains one run (``main.py``'s command line).
        extra: "key=value" overrides added to every new run (after the grid's).
        log: where progress lines go.
        shard: (k, n): run only the runs whose 0-based position in ``plan(grid)`` is k modulo n,
            so that n sweeps started side by side (e.g. on one GPU) share the grid.

    Returns:
        The exit status: 0 all finished, 1 some failed, 130 interrupted.
    """
    runs = plan(grid)
    failed = []
    k, n = shard
    for index, run in enumerate(runs, 1):
        if (index - 1) % n != k:
            continue
        argv, state = command_for(run, grid, outdir, main, extra)
        tag = f"sweep [{index}/{len(runs)}] {run['name']}"
        if state == "finished":
            log(f"{tag}: finished, skipped")
            continue
        run_dir = os.path.join(outdir, run["name"])
        if state == "new" and os.path.isdir(run_dir) and not clear_stale(run_dir):
            log(f"{tag}: {run_dir} holds files but no last.pt to resume from; move it away "
                "to run it again")
            failed.append(run["name"])
            continue
        log(f"{tag}: {'resuming' if state == 'resume' else 'starting'}")
        code = _run_child(argv)
        if code == INTERRUPTED:
            log(f"sweep interrupted during {run['name']}; run the same command to continue")
            return INTERRUPTED
        if code != 0 or not load_run(run_dir)["finished"]:
            log(f"{tag}: failed (exit status {code})")
            failed.append(run["name"])
    csv_path, md_path = write_summary(grid, outdir)
    log(f"sweep: summary in {csv_path} and {md_path}")
    if failed:
        log(f"sweep: {len(failed)} run(s) failed: {', '.join(failed)}")
        return 1
    return 0


def summary_rows(runs, outdir):
    """One row per finished run of ``runs``: its axis labels and test metrics."""
    rows = []
    for run in runs:
        state = load_run(os.path.join(outdir, run["name"]))
        if state["finished"]:
            rows.append({**run["labels"], **collect.metric_values(state["metrics"]["test"])})
    return rows


def write_summary(grid, outdir):
    """Write ``<outdir>/<prefix>-summary.csv`` and ``.md`` for the finished runs of the grid.

    Every group of the grid appears, in grid order; one without finished runs has n = 0.

    Returns:
        (csv path, markdown path).
    """
    runs = expand(grid)
    by = group_columns(grid)
    keys = list(dict.fromkeys(tuple(run["labels"][c] for c in by) for run in runs))
    groups = collect.aggregate(summary_rows(runs, outdir), by, keys)
    os.makedirs(outdir, exist_ok=True)
    stem = os.path.join(outdir, f"{grid['prefix']}-summary")
    write_text_atomic(collect.csv_text(groups, by), f"{stem}.csv")
    seeds = [label for axis in grid["axes"] if axis["key"] == SEED_KEY
             for label, _ in axis["values"]]
    note = (f"Test metrics of the runs `{grid['prefix']}-*` in `{outdir}` (base config "
            f"`{grid['base']}`), in percent: mean ± sample std over "
            f"{'seeds ' + ', '.join(seeds) if seeds else 'runs'}; n = finished runs; "
            f"{collect.MISSING} = no finished run or no class in the group.\n\n")
    write_text_atomic(f"# {grid['prefix']} summary\n\n{note}"
                      f"{collect.markdown_table(groups, by)}", f"{stem}.md")
    return f"{stem}.csv", f"{stem}.md"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.sweep",
        description="Run every run of a grid file (cartesian product of its axes) with "
                    "main.py, skipping finished runs and resuming interrupted ones, then "
                    "write OUTDIR/<prefix>-summary.csv and .md (mean ± std over seeds).",
        epilog="The grid file's format is described in tools/sweep.py. Ctrl-C stops the "
               "current run and the sweep; the same command continues where it stopped.")
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
    parser.add_argument("--main", default=DEFAULT_MAIN, metavar="PATH",
                        help="the training script to run (default: this repository's main.py)")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="K/N",
                        help="run only every N-th run starting at the K-th (0-based), to run N "
                             "sweeps side by side, e.g. 0/4 ... 3/4 on one GPU")
    return parser.parse_args(argv)


def _shard(text):
    """``"2/8"`` -> (2, 8), with 0 <= K < N."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
        raise argparse.ArgumentTypeError(f"got {text!r}; expected K/N with 0 <= K < N, e.g. 0/4")
    return int(k), int(n)


def _print_plan(grid, outdir, args):
    """Print every run with its state and shell command; stop quietly if the reader (e.g.
    ``head``) closes the pipe."""
    try:
        for run in plan(grid):
            command, state = command_for(run, grid, outdir, args.main, args.extra)
            shown = "" if command is None else "  python " + shlex.join(command[1:])
            print(f"{run['name']}  [{state}]{shown}", flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        grid = load_grid(args.grid)
        outdir = args.outdir or grid["outdir"]
        if args.dry_list:
            return _print_plan(grid, outdir, args)
        if args.collect_only:
            for path in write_summary(grid, outdir):
                print(f"wrote {path}")
            return 0
    except (GridError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return run_sweep(grid, outdir, args.main, args.extra,
                         log=lambda line: print(line, flush=True), shard=args.shard)
    except KeyboardInterrupt:
        print("sweep interrupted; run the same command to continue", file=sys.stderr)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parse_axes(path, axes):
    parsed = []
    for name, values in axes.items():
        if isinstance(values, list) and values:
            if any(isinstance(v, (dict, list)) for v in values):
                raise GridError(f"{path}: axis {name!r}: list values must be scalars; use a "
                                "mapping of named bundles for several keys")
            parsed.append((name, name, [(_label(path, name, v), {name: v}) for v in values]))
        elif isinstance(values, dict) and values:
            for label, bundle in values.items():
                if not isinstance(bundle, dict) or not bundle:
                    raise GridError(f"{path}: axis {name!r}, value {label!r}: expected a "
                                    "mapping of dotted keys to values")
            parsed.append((name, None, [(_label(path, name, label), dict(bundle))
                                        for label, bundle in values.items()]))
        else:
            raise GridError(f"{path}: axis {name!r} must be a non-empty list of values or a "
                            "mapping of named bundles")
    shorts = [name.rsplit(".", 1)[-1] for name, _, _ in parsed]
    return [{"column": short if shorts.count(short) == 1 else name, "key": key, "values": entries}
            for (name, key, entries), short in zip(parsed, shorts)]


def _parse_first(path, first, axes):
    """``first`` as a list of {axis column: set of labels}, checked against the axes."""
    if first is None:
        return []
    if not isinstance(first, list) or not all(isinstance(e, dict) and e for e in first):
        raise GridError(f"{path}: first must be a list of mappings from axes to labels")
    columns = {name: axis for axis in axes for name in (axis["column"], axis["key"]) if name}
    parsed = []
    for entry in first:
        selection = {}
        for name, labels in entry.items():
            if name not in columns:
                raise GridError(f"{path}: first names axis {name!r}; expected one of "
                                f"{', '.join(axis['column'] for axis in axes)}")
            axis = columns[name]
            wanted = {_label(path, name, v) for v in (labels if isinstance(labels, list)
                                                      else [labels])}
            unknown = wanted - {label for label, _ in axis["values"]}
            if unknown:
                raise GridError(f"{path}: first: axis {name!r} has no value "
                                f"{sorted(unknown)[0]!r}")
            selection[axis["column"]] = wanted
        parsed.append(selection)
    return parsed


def _first_rank(run, first):
    """The index of the first entry of ``first`` that ``run``'s labels match; len(first) if
    none does."""
    for rank, selection in enumerate(first):
        if all(run["labels"][column] in labels for column, labels in selection.items()):
            return rank
    return len(first)


def _label(path, axis, value):
    text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
    if not _is_label(text):
        raise GridError(f"{path}: axis {axis!r}: value {text!r} cannot be part of a run name; "
                        "use letters, digits, '.', '_', '+' and '-' (name bundles instead)")
    return text


def _is_label(text):
    return re.fullmatch(r"[A-Za-z0-9._+-]+", text) is not None


def clear_stale(run_dir):
    """Remove a run folder left by a run that saved nothing; False if it holds more."""
    entries = os.listdir(run_dir)
    if not all(STALE_FILES.match(entry) for entry in entries):
        return False
    shutil.rmtree(run_dir)
    return True


def _run_child(argv):
    """Run one training run; on Ctrl-C let it save and stop, and report INTERRUPTED.

    The terminal sends Ctrl-C's SIGINT to the child too; it is forwarded anyway, for a
    SIGINT/SIGTERM aimed at the sweep alone. A second Ctrl-C kills the child.
    """
    child = subprocess.Popen(argv)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        try:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            child.wait()
        except KeyboardInterrupt:
            child.kill()
            child.wait()
        return INTERRUPTED
    if code in (INTERRUPTED, -signal.SIGINT, -signal.SIGTERM):
        return INTERRUPTED
    return code


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
