"""The key table of the config schema, rendered from the fields' metadata.

``python -m engine.config.docs > docs/configuration.md`` writes the page; ``main.py --keys``
prints the same text; a test keeps the committed page equal to ``render()``.
"""
import dataclasses
from typing import Literal, get_args, get_origin

from engine.config import course
from engine.config.schema import TYPE_NAMES, leaf_fields

INTRO = """\
# Configuration

A run is configured by one YAML file (`python main.py --config FILE`) whose sections and keys
are listed below; a key left out keeps its default, and `--set KEY=VALUE` overrides any key
(`--set train.epochs=10`, the value read as YAML). Every value is checked before anything
starts: a misspelt key, a value of the wrong type or out of range, a key given twice, an empty
file or keys that contradict each other end the command with one line naming the key
(`error: train.lr: got -1; expected a number > 0`) and exit code 2.

This page is generated from the schema (`engine/config/schema.py`) by
`python -m engine.config.docs > docs/configuration.md`; `python main.py --keys` prints it.
"""

COURSE_INTRO = """\
## The course's config format

A file with a `Train` or `network` section is in the course's format: four sections (`Train`,
`network`, `data`, `loss`), each of which may hold any course key. It is translated into the
keys above on load, so `--set` overrides use our names; an error in a course key names the
course key where it sits (`Train.learning_rate`).
"""

COURSE_WHY = """\
These settings make a course-format run train as the course's solver does where grading
depends on it: the course's grader scores a checkpoint with `ToTensor()` and `Normalize` by
the constants above, so a model trained with CIFAR-10's own statistics (std 0.2470, 0.2435,
0.2616) would see inputs about 1.2 times larger than in training when graded; the course
trains with random crop and flip, and multiplies the learning rate by 0.1 at each of its
`steps`.
"""


def _allowed(kind, metadata):
    if get_origin(kind) is Literal:
        return ", ".join(get_args(kind))
    return f"{TYPE_NAMES[kind]} {metadata['allowed']}".strip()


def _default(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if value == "":
        return '""'
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def key_rows():
    """``(key, default, allowed, meaning)`` for every leaf key of the schema, in order."""
    rows = []
    for dotted, item, kind in leaf_fields():
        default = item.default if item.default_factory is dataclasses.MISSING \
            else item.default_factory()
        rows.append((dotted, _default(default), _allowed(kind, item.metadata),
                     item.metadata["meaning"]))
    return rows


def key_table():
    """The Markdown table of every key: key, default, allowed values, meaning."""
    lines = ["| key | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    for dotted, default, allowed, meaning in key_rows():
        cells = (f"`{dotted}`", default, allowed, meaning)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def render():
    """The whole page docs/configuration.md: the key table and the course's format."""
    return "\n".join([INTRO, "## Every key", "", key_table(), "", COURSE_INTRO,
                      *course.describe(), "", COURSE_WHY])


if __name__ == "__main__":
    print(render(), end="")
