"""Grid files: the runs of a sweep or study, their names, overrides and start order.

A grid file (YAML; paths are relative to the current folder, the repository root)::

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
seed's stage-2 run from the stage-1 run of the same seed. Run names are
``<prefix>-<axis>=<value>-...`` in axis order, where a list axis is named by the last part of
its key unless two axes would share it (``c10lt-method=ce-factor=100-seed=1``).

Every function here raises ValueError for a malformed grid, naming the file and the field.
"""
import itertools
import json
import re

import yaml

SEED_KEY = "seed"


def load_grid(path):
    """Read and check a grid file.

    Returns:
        dict with ``base``, ``prefix``, ``outdir``, ``set`` ({dotted key: value}),
        ``axes``: a list of dicts {``column``: the axis's name in run names and tables,
        ``key``: the dotted config key for a list axis or None for a bundle axis,
        ``values``: [(label, {dotted key: value}), ...]}, and ``first``: a list of
        {axis column: set of labels} (empty when the grid has none).

    Raises:
        ValueError: unreadable file, missing or unknown fields, empty or malformed axes.
    """
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot be read ({error})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with base, prefix and axes")
    unknown = sorted(set(raw) - {"base", "prefix", "outdir", "set", "axes", "first"})
    if unknown:
        raise ValueError(f"{path}: unknown field {unknown[0]!r}; expected base, prefix, outdir, "
                        "set, axes, first")
    for field in ("base", "prefix"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise ValueError(f"{path}: {field} must be a non-empty string")
    if not _is_label(raw["prefix"]):
        raise ValueError(f"{path}: prefix {raw['prefix']!r} may hold only letters, digits, "
                        "'.', '_', '+' and '-'")
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise ValueError(f"{path}: set must map dotted keys to values")
    axes = raw.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise ValueError(f"{path}: axes must map at least one axis to its values")
    parsed = _parse_axes(path, axes)
    return {"base": raw["base"], "prefix": raw["prefix"], "outdir": raw.get("outdir") or "runs",
            "set": fixed, "axes": parsed, "first": _parse_first(path, raw.get("first"), parsed)}


def expand(grid):
    """The runs of a grid: the cartesian product of its axes, first axis outermost.

    Returns:
        A list of dicts {``name``, ``labels`` ({axis column: label}), ``overrides``
        (["key=value", ...]: the grid's ``set``, then each axis's values in axis order)}.

    Raises:
        ValueError: two runs would get the same name.
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
            raise ValueError(f"two runs are both named {name!r}; make the axis values distinct")
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
        ValueError: runs that reference each other in a cycle.
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
        raise ValueError(f"runs {', '.join(run['name'] for run in waiting)} name each "
                        "other's folders in a cycle")
    return ordered


def fill_labels(value, labels):
    """``value`` with every ``{column}`` in a string replaced by the run's label on that axis,
    e.g. ``runs/c10lt-method=ce-seed={seed}/best.pt`` -> ``.../c10lt-method=ce-seed=1/...``
    (how a stage-2 run names the stage-1 run of its own seed); other values unchanged.

    Raises:
        ValueError: a placeholder names no axis.
    """
    if not isinstance(value, str):
        return value

    def label(match):
        if match.group(1) not in labels:
            raise ValueError(f"{value!r}: {{{match.group(1)}}} names no axis; expected one of "
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


def _parse_axes(path, axes):
    parsed = []
    for name, values in axes.items():
        if isinstance(values, list) and values:
            if any(isinstance(v, (dict, list)) for v in values):
                raise ValueError(f"{path}: axis {name!r}: list values must be scalars; use a "
                                "mapping of named bundles for several keys")
            parsed.append((name, name, [(_label(path, name, v), {name: v}) for v in values]))
        elif isinstance(values, dict) and values:
            for label, bundle in values.items():
                if not isinstance(bundle, dict) or not bundle:
                    raise ValueError(f"{path}: axis {name!r}, value {label!r}: expected a "
                                    "mapping of dotted keys to values")
            parsed.append((name, None, [(_label(path, name, label), dict(bundle))
                                        for label, bundle in values.items()]))
        else:
            raise ValueError(f"{path}: axis {name!r} must be a non-empty list of values or a "
                            "mapping of named bundles")
    shorts = [name.rsplit(".", 1)[-1] for name, _, _ in parsed]
    return [{"column": short if shorts.count(short) == 1 else name, "key": key, "values": entries}
            for (name, key, entries), short in zip(parsed, shorts)]


def _parse_first(path, first, axes):
    """``first`` as a list of {axis column: set of labels}, checked against the axes."""
    if first is None:
        return []
    if not isinstance(first, list) or not all(isinstance(e, dict) and e for e in first):
        raise ValueError(f"{path}: first must be a list of mappings from axes to labels")
    columns = {name: axis for axis in axes for name in (axis["column"], axis["key"]) if name}
    parsed = []
    for entry in first:
        selection = {}
        for name, labels in entry.items():
            if name not in columns:
                raise ValueError(f"{path}: first names axis {name!r}; expected one of "
                                f"{', '.join(axis['column'] for axis in axes)}")
            axis = columns[name]
            wanted = {_label(path, name, v) for v in (labels if isinstance(labels, list)
                                                      else [labels])}
            unknown = wanted - {label for label, _ in axis["values"]}
            if unknown:
                raise ValueError(f"{path}: first: axis {name!r} has no value "
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
        raise ValueError(f"{path}: axis {axis!r}: value {text!r} cannot be part of a run name; "
                        "use letters, digits, '.', '_', '+' and '-' (name bundles instead)")
    return text


def _is_label(text):
    return re.fullmatch(r"[A-Za-z0-9._+-]+", text) is not None
