"""Archives of runs, to carry results (or the state of unfinished runs) between machines.

A *results* archive holds every finished run's ``config.yaml``, ``metrics.json`` and, when
under EVENTS_LIMIT, its TensorBoard events, plus the grids' summaries and any extra files given
(a benchmark table). A *state* archive holds what the unfinished runs need to continue
elsewhere: an interrupted run's ``config.yaml``, ``last.pt``, ``best.pt`` and small events, and
the ``config.yaml``, ``metrics.json`` and ``best.pt`` of a finished run that an unfinished run
starts from. Paths inside are relative to the current folder (the repository root). Every file
is written through the atomic writer (``fileio``).
"""
import collections
import json
import os
import shutil
import tarfile

from fileio import atomic_path
from tools.scheduler import plan_runs, run_state

EVENTS_LIMIT = 1_000_000  # bytes: a run's TensorBoard events travel when smaller
RUN_FILES = ("config.yaml", "metrics.json", "last.pt", "best.pt", "confusion.png")


def pack_members(grid_list, results, state=False, also=()):
    """The files ``pack`` writes: {path relative to the current folder: path on disk}.

    Args:
        grid_list: [(grid, outdir), ...]; empty: every run folder under ``results``.
        results: the folder searched for run folders when ``grid_list`` is empty.
        state: False: the results archive; True: the state archive (see the module docstring).
        also: more files for a results archive, taken when they exist.

    Raises:
        ValueError: a file outside the current folder.
    """
    if grid_list:
        items = plan_runs(grid_list)
        folders = [item["dir"] for item in items]
        needed = {need for item in items if run_state(item["dir"]) != "finished"
                  for need in item["needs"]}
        extra = [os.path.join(outdir, f"{grid['prefix']}-summary.{suffix}")
                 for grid, outdir in grid_list for suffix in ("csv", "md")]
    else:
        folders = sorted(root for root, _, files in os.walk(results) if "config.yaml" in files)
        needed, extra = set(), []
    files = [] if state else [*extra, *also]
    for folder in folders:
        current = run_state(folder)
        if state and current == "finished" and folder in needed:
            files += _in(folder, "config.yaml", "metrics.json", "best.pt")
        elif state and current == "in progress":
            files += _in(folder, "config.yaml", "last.pt", "best.pt") + _small_events(folder)
        elif not state and current == "finished":
            files += _in(folder, "config.yaml", "metrics.json") + _small_events(folder)
    members = {}
    for path in files:
        if os.path.isfile(path):
            name = os.path.relpath(path)
            if name.startswith(os.pardir + os.sep) or os.path.isabs(name):
                raise ValueError(f"{path} is outside the current folder; run the study from "
                                 "the folder that holds its run folders")
            members[name] = path
    return members


def pack(path, grid_list, results, state=False, also=(), log=print):
    """Write the archive ``path`` (tar.gz) with ``pack_members``."""
    members = pack_members(grid_list, results, state, also)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path, suffix=".tar.gz") as tmp_path:
        with tarfile.open(tmp_path, "w:gz") as tar:
            for name, source in sorted(members.items()):
                tar.add(source, arcname=name, recursive=False)
    runs = {os.path.dirname(name) for name in members if name.endswith("config.yaml")}
    what = "the state of" if state else "the results of"
    log(f"archive: packed {what} {len(runs)} run(s), {len(members)} files, into {path} "
        f"({os.path.getsize(path) / 1e6:.1f} MB)")


def unpack(path, log=print):
    """Put the files of a ``pack`` archive under the current folder.

    A run already finished here keeps its files; it only gains those it lacks (e.g. the
    best.pt of a state archive). Any other run folder named in the archive has its run files
    replaced by the archive's. Other files (summaries, benchmark tables) are replaced.

    Raises:
        ValueError: the file is no readable tar.gz, or holds anything but plain files at
            relative paths inside the current folder (then nothing is written).
    """
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {}
            for member in tar.getmembers():
                name = os.path.normpath(member.name)
                if (not member.isfile() or os.path.isabs(name)
                        or name.split(os.sep)[0] == os.pardir):
                    raise ValueError(f"{path}: {member.name!r} is not a plain file inside the "
                                     "current folder; refusing to unpack")
                members[name] = member
            _write_members(tar, members, path, log)
    except (OSError, tarfile.TarError) as error:
        raise ValueError(f"{path}: cannot be unpacked ({error})") from None


def _write_members(tar, members, path, log):
    folders = {os.path.dirname(name) for name in members
               if os.path.basename(name) == "config.yaml"}
    kept = {folder for folder in folders if run_state(folder) == "finished"}
    states = collections.Counter(_archived_state(tar, members, folder)
                                 for folder in folders - kept)
    for folder in sorted(folders - kept):
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name in RUN_FILES or name.startswith("events.out.tfevents."):
                    os.remove(os.path.join(folder, name))
    for name, member in sorted(members.items()):
        if os.path.dirname(name) in kept and os.path.exists(name):
            continue
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        with atomic_path(name) as tmp_path, open(tmp_path, "wb") as out:
            shutil.copyfileobj(tar.extractfile(member), out)
    others = sum(1 for name in members if os.path.dirname(name) not in folders)
    log(f"archive: unpacked {path}: {states['finished']} finished and "
        f"{states['in progress']} interrupted run(s), {others} other file(s); {len(kept)} "
        "run(s) already finished here kept their files")


def _archived_state(tar, members, folder):
    """A run's state as the archive holds it: "finished", "in progress" or "left"."""
    metrics = members.get(os.path.join(folder, "metrics.json"))
    if metrics is not None:
        try:
            if json.load(tar.extractfile(metrics)).get("finished") is True:
                return "finished"
        except (ValueError, AttributeError):
            pass
    return "in progress" if os.path.join(folder, "last.pt") in members else "left"


def _in(folder, *names):
    return [os.path.join(folder, name) for name in names]


def _small_events(folder):
    events = sorted(os.path.join(folder, name) for name in os.listdir(folder)
                    if name.startswith("events.out.tfevents."))
    return events if sum(os.path.getsize(path) for path in events) < EVENTS_LIMIT else []
