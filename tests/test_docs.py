"""docs/configuration.md is the text generated from the config schema, and that text covers
every key of the schema."""
import contextlib
import dataclasses
import io
import os
import re
import unittest
from typing import get_type_hints

import main
from engine.config import Config, docs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "configuration.md")


def schema_keys(cls=Config, prefix=""):
    """Every dotted leaf key of the config schema, e.g. ``train.lr``."""
    keys = set()
    for name, kind in get_type_hints(cls).items():
        if dataclasses.is_dataclass(kind):
            keys |= schema_keys(kind, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def table_keys(text):
    """The keys in the first column of the "Every key" table."""
    section = text.split("## Every key", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([\w.*]+)` \|", section, flags=re.MULTILINE))


class KeyTableTest(unittest.TestCase):
    def test_committed_page_is_the_generated_text(self):
        with open(PAGE, encoding="utf-8") as f:
            committed = f.read()
        self.assertEqual(committed, docs.render(), "docs/configuration.md is out of date: run "
                         "python -m engine.config.docs > docs/configuration.md")

    def test_table_and_schema_agree(self):
        documented = table_keys(docs.render())
        schema = schema_keys()
        self.assertEqual(sorted(schema - documented), [], "config keys missing from the table")
        self.assertEqual(sorted(documented - schema), [], "table keys that are not config keys")

    def test_every_row_has_a_default_allowed_values_and_a_meaning(self):
        rows = {row[0]: row for row in docs.key_rows()}
        self.assertEqual(rows["train.lr"], ("train.lr", "0.1", "a number > 0",
                                            "base learning rate"))
        self.assertEqual(rows["train.milestones"][1:3],
                         ("[160, 180]", "a list of integers (epochs >= 1)"))
        self.assertEqual(rows["data.sampler"][1:3],
                         ("instance", "instance, class_balanced, sqrt"))
        self.assertEqual(rows["run.name"][1], '""')
        self.assertEqual(rows["data.mean"][1], "null")
        for key, default, allowed, meaning in rows.values():
            with self.subTest(key=key):
                self.assertTrue(default and allowed and meaning)
                self.assertNotIn("\n", meaning)

    def test_the_page_says_what_a_course_file_changes(self):
        text = docs.render()
        for fragment in ("`learning_rate` | `train.lr`", "`data.mean`: [0.4914, 0.4822, 0.4465]",
                         "`data.std`: [0.2023, 0.1994, 0.201]", "`train.lr_decay`: 0.1",
                         "`data.augment`: true"):
            self.assertIn(fragment, text)

    def test_the_table_parser_sees_rows(self):
        documented = table_keys("## Every key\n\n| key | default |\n| --- | --- |\n"
                                "| `seed` | 0 |\n| `data.synthetic.x` | ... |\n\n## Next\n"
                                "| `not.this` | 1 |\n")
        self.assertEqual(documented, {"seed", "data.synthetic.x"})

    def test_main_prints_the_same_text_with_keys(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(main.main(["--keys"]), 0)
        self.assertEqual(out.getvalue(), docs.render())


if __name__ == "__main__":
    unittest.main()
