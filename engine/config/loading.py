"""Reading a config: YAML files (duplicate keys refused), ``--set`` overrides, building the
dataclasses with unknown keys named, and writing a config back as YAML."""
import dataclasses
import difflib
import os
import re
import sys
from typing import get_type_hints

import yaml

from engine.config import course
from engine.config.errors import ConfigError, ConfigTypeError
from engine.config.rules import validate
from engine.config.schema import Config
from fileio import write_text_atomic


class DuplicateKeyError(ValueError):
    """A YAML mapping that gives one key twice."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that reads ``5e-4`` (no dot) as a number, as YAML 1.2 does, and
    refuses a key given twice in one mapping (PyYAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise DuplicateKeyError(f"key {key!r} is given twice (lines {seen[key]} "
                                            f"and {line}); expected each key once")
                if isinstance(key, (str, int, float, bool)):
                    seen[key] = line
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper that writes lists inline: ``milestones: [160, 180]``."""


_Dumper.add_representer(
    list, lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items,
                                                          flow_style=True))


def print_warning(line):
    """Print ``warning: <line>`` to stderr, from the main process only under torchrun."""
    if os.environ.get("RANK", "0") == "0":
        print(f"warning: {line}", file=sys.stderr, flush=True)


def load_config(path, overrides=(), warn=print_warning):
    """Read, translate, override and validate a config file.

    Args:
        path: YAML file in our schema or the course's format (``engine.config.course``).
        overrides: strings ``dotted.key=value`` applied in order after reading (and after
            translating a course file); the value is read as YAML: ``3``, ``0.1``, ``5e-4``,
            ``true``, ``[100, 150]``, ``focal``.
        warn: called with one line for each schedule key clipped to a short run.

    Returns:
        A validated Config. An empty ``run.name`` becomes the file's name without extension.

    Raises:
        OSError: the file cannot be read (the message names it).
        ValueError / TypeError: an empty file, bad YAML, a key given twice, a bad override,
            an unknown key, a wrong type or value; one line naming the file or the key.
    """
    raw = read_yaml(path)
    course_origins = {}
    if course.is_course_format(raw):
        raw, course_origins = course.translate(raw)
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(raw, key, value)
        course_origins.pop(key, None)
    try:
        cfg = build(Config, raw, "")
        if not cfg.run.name:
            cfg.run.name = os.path.splitext(os.path.basename(path))[0]
        validate(cfg, warn)
    except ConfigError as error:
        if error.key not in course_origins:
            raise
        raise type(error)(course_origins[error.key], error.value, error.expected) from None
    return cfg


def parse_override(text):
    """``"train.lr=0.05"`` -> ``("train.lr", 0.05)``: the key must exist, the value is YAML.

    An empty value is the empty string. Raises ValueError for a missing '=', an unknown key
    (naming the closest valid one) or a value that is not YAML.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("--set", text, "KEY=VALUE, e.g. train.epochs=10")
    check_key(key)
    if not value.strip():
        return key, ""
    try:
        return key, yaml.load(value, Loader=_Loader)
    except (yaml.YAMLError, DuplicateKeyError):
        raise ConfigError(key, value, "a YAML value, e.g. 3, 0.1, true, focal or [100, 150]") \
            from None


def config_to_dict(cfg):
    """Plain nested dicts, lists and scalars of a Config (``config.yaml``, checkpoints)."""
    return dataclasses.asdict(cfg)


def format_config(cfg):
    """The config as readable YAML, keys in schema order; ``load_config`` reads it back."""
    return yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False)


def dump_config(cfg, path):
    """Write ``format_config(cfg)`` to the file ``path``, atomically."""
    write_text_atomic(format_config(cfg), path)


def read_yaml(path):
    """The YAML mapping in ``path``.

    Raises:
        OSError: the file cannot be read; ValueError: it is empty, not valid YAML, gives a key
            twice, or holds something other than a mapping. Each names the path.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ValueError(f"config file {path!r} cannot be read (not a text file)") from None
    except OSError as exc:
        raise type(exc)(f"config file {path!r} cannot be read "
                        f"({exc.strerror or 'not a file'})") from None
    try:
        raw = yaml.load(text, Loader=_Loader)
    except DuplicateKeyError as exc:
        raise ValueError(f"config file {path!r}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValueError(f"config file {path!r} is not valid YAML{where}: {problem}") from None
    if raw is None:
        raise ValueError(f"config file {path!r} is empty; expected keys and sections such as "
                         "train: {epochs: 10}")
    if not isinstance(raw, dict):
        raise TypeError(f"config file {path!r}: got a {type(raw).__name__}; expected a mapping "
                        "of keys and sections such as train: {epochs: 10}")
    return raw


def check_key(dotted):
    """Raise a ValueError naming the closest valid key unless ``dotted`` is in the schema."""
    cls, prefix = Config, ""
    for part in dotted.split("."):
        if cls is None:
            raise ValueError(f"{dotted}: got an unknown key; expected no key under "
                             f"{prefix.rstrip('.')}, which holds a value")
        hints = get_type_hints(cls)
        if part not in hints:
            raise unknown_key(prefix + part, part, list(hints), prefix=prefix)
        cls = hints[part] if dataclasses.is_dataclass(hints[part]) else None
        prefix += part + "."


def unknown_key(dotted, key, valid, prefix=""):
    """The error for an unknown key, suggesting the closest of ``valid`` (keys under prefix)."""
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean {prefix}{close[0]}?" if close else ""
    return ValueError(f"{dotted}: got an unknown key; expected one of "
                      f"{', '.join(valid)}{hint}")


def set_dotted(raw, key, value):
    """Set ``raw[a][b][c] = value`` for key ``a.b.c``, creating missing sections."""
    node, parts = raw, key.split(".")
    for depth, part in enumerate(parts[:-1]):
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigTypeError(".".join(parts[:depth + 1]), node, "a section of keys")
    node[parts[-1]] = value


def build(cls, raw, prefix):
    """Dataclass ``cls`` from the mapping ``raw`` (None = all defaults), checking the keys.

    Values are stored as given; ``rules.validate`` checks them.
    """
    hints = get_type_hints(cls)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigTypeError(prefix.rstrip("."), raw, f"a section with keys {', '.join(hints)}")
    values = {}
    for key, value in raw.items():
        if key not in hints:
            raise unknown_key(f"{prefix}{key}", str(key), list(hints), prefix=prefix)
        if dataclasses.is_dataclass(hints[key]):
            value = build(hints[key], value, f"{prefix}{key}.")
        values[key] = value
    return cls(**values)
