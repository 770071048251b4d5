"""The course's config format, translated into our schema by one table.

A course file has up to four sections, ``Train``, ``network``, ``data`` and ``loss``, each of
which may hold any course key (the course's own files put ``gamma`` in Train or loss,
``save_best`` in network or data, ...). ``COURSE_KEYS`` maps each course key to the key of our
schema it sets and, for keys with a fixed set of values, the value each one stands for.
``COURSE_SETTINGS`` are set for every course file, so that a run trains as the course's solver
does where grading depends on it: its normalisation constants, crop and flip, and its step
schedule (the rate multiplied by 0.1 at each of ``steps``).
"""
import copy
import difflib

from engine.config.errors import ConfigError

COURSE_SECTIONS = ("Train", "network", "data", "loss")
# The course's CIFAR-10 normalisation (its solver's and its grader's transforms.Normalize).
COURSE_MEAN = [0.4914, 0.4822, 0.4465]
COURSE_STD = [0.2023, 0.1994, 0.2010]

# Course key -> (our key, None to copy the value, or {course value: our value}).
COURSE_KEYS = {
    "batch_size": ("train.batch_size", None),
    "learning_rate": ("train.lr", None),
    "reg": ("train.weight_decay", None),
    "epochs": ("train.epochs", None),
    "steps": ("train.milestones", None),
    "warmup": ("train.warmup_epochs", None),
    "momentum": ("train.momentum", None),
    "gamma": ("loss.gamma", None),
    "model": ("model.name", None),
    "beta": ("loss.beta", None),
    "imbalance": ("data.imbalance", {"regular": {"profile": "none", "factor": 1.0},
                                     "imbalance": {"profile": "exp", "factor": 100.0}}),
    # save_best true keeps our validation split, on which the best checkpoint is chosen;
    # false keeps the last epoch.
    "save_best": ("data.val_fraction", {True: None, False: 0.0}),
    "reweight": ("loss.reweight", {True: "class_balanced", False: "none"}),
    "loss_type": ("loss.name", {"CE": "ce", "Focal": "focal"}),
}

# Our key -> value, for every course file (overrides may still change them).
COURSE_SETTINGS = {
    "train.schedule": "step",
    "train.lr_decay": 0.1,
    "data.augment": True,
    "data.mean": COURSE_MEAN,
    "data.std": COURSE_STD,
}


def is_course_format(raw):
    """Whether a YAML document is in the course's format (a ``Train`` or ``network`` section)."""
    return isinstance(raw, dict) and ("Train" in raw or "network" in raw)


def translate(raw):
    """Translate a course config into our schema (plain dicts, to be validated by the caller).

    Returns:
        (raw, origins): the config in our schema, and for each copied key of our schema the
        place it came from (``"Train.gamma"``), so that errors name the user's own key.

    Raises:
        ValueError: an unknown section or key (naming the closest valid one), a key given in
            two sections with different values, or a value outside a key's fixed choices.
        TypeError: a section that is not a mapping.
    """
    out, origins = {}, {}
    for ours, value in COURSE_SETTINGS.items():
        _set(out, ours, copy.deepcopy(value))
    for key, (value, place) in _course_values(raw).items():
        ours, choices = COURSE_KEYS[key]
        if choices is None:
            _set(out, ours, value)
            origins[ours] = place
            continue
        result = _choice(place, value, choices)
        if result is not None:
            _set(out, ours, copy.deepcopy(result))
    return out, origins


def _course_values(raw):
    """{course key: (value, "Section.key")} over all sections of a course config."""
    found = {}
    for section, values in raw.items():
        if section not in COURSE_SECTIONS:
            raise _unknown(str(section), str(section), COURSE_SECTIONS)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise TypeError(f"{section}: got {values!r}; expected a section with keys "
                            f"{', '.join(COURSE_KEYS)}")
        for key, value in values.items():
            place = f"{section}.{key}"
            if key not in COURSE_KEYS:
                raise _unknown(place, str(key), COURSE_KEYS, prefix=f"{section}.")
            if key in found and not _same_value(found[key][0], value):
                first_value, first_place = found[key]
                raise ValueError(f"{place}: got {value!r}, but {first_place} is "
                                 f"{first_value!r}; expected the key once, or the same value "
                                 "in both places")
            found.setdefault(key, (value, place))
    return found


def _same_value(a, b):
    """Equal values of the same type (``True`` and ``1`` differ)."""
    return type(a) is type(b) and a == b


def _choice(place, value, choices):
    """``choices[value]`` for a course key whose values are a fixed set (bools must be bools)."""
    for choice, result in choices.items():
        if _same_value(value, choice):
            return result
    raise ConfigError(place, value, " or ".join(str(choice) for choice in choices))


def _unknown(dotted, key, valid, prefix=""):
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f"; did you mean {prefix}{close[0]}?" if close else ""
    return ValueError(f"{dotted}: got an unknown key; expected one of "
                      f"{', '.join(valid)}{hint}")


def _set(raw, key, value):
    """``raw[a][b] = value`` for the key ``a.b``, creating the sections."""
    *path, name = key.split(".")
    for part in path:
        raw = raw.setdefault(part, {})
    raw[name] = value


def describe():
    """Markdown lines: what a course-format config sets, for docs/configuration.md."""
    lines = ["| course key | our key | value |", "| --- | --- | --- |"]
    for key, (ours, choices) in COURSE_KEYS.items():
        value = "copied" if choices is None else ", ".join(
            f"{_text(choice)} → {'unchanged' if result is None else _text(result)}"
            for choice, result in choices.items())
        lines.append(f"| `{key}` | `{ours}` | {value} |")
    lines += ["", "Every course-format config also sets:", ""]
    lines += [f"- `{key}`: {_text(value)}" for key, value in COURSE_SETTINGS.items()]
    return lines


def _text(value):
    """A value as YAML writes it inline: ``true``, ``[0.1, 0.2]``, ``{profile: exp}``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_text, value)) + "]"
    return str(value)
