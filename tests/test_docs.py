"""The README's "Every key" table and the config schema describe the same keys."""
import dataclasses
import os
import re
import unittest
from typing import get_type_hints

from engine.config import Config

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def schema_keys(cls=Config, prefix=""):
    """Every dotted leaf key of the config schema, e.g. ``train.lr``."""
    keys = set()
    for name, kind in get_type_hints(cls).items():
        if dataclasses.is_dataclass(kind):
            keys |= schema_keys(kind, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def readme_keys(text):
    """The keys in the first column of the README's "Every key" table; ``a.b.*`` rows stand
    for every key under ``a.b``."""
    section = text.split("### Every key", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([\w.*]+)` \|", section, flags=re.MULTILINE))


class KeyTableTest(unittest.TestCase):
    def test_readme_table_and_schema_agree(self):
        with open(README, encoding="utf-8") as f:
            documented = readme_keys(f.read())
        schema = schema_keys()
        covered = set()
        for key in documented:
            if key.endswith(".*"):
                under = {k for k in schema if k.startswith(key[:-1])}
                self.assertTrue(under, f"README documents {key}, which matches no config key")
                covered |= under
            else:
                covered.add(key)
        self.assertEqual(sorted(schema - covered), [], "config keys missing from README.md")
        self.assertEqual(sorted(covered - schema), [], "README.md keys that are not config keys")

    def test_the_table_parser_sees_rows(self):
        documented = readme_keys("### Every key\n\n| key | default |\n| --- | --- |\n"
                                 "| `seed` | 0 |\n| `data.synthetic.*` | ... |\n\n## Next\n"
                                 "| `not.this` | 1 |\n")
        self.assertEqual(documented, {"seed", "data.synthetic.*"})


if __name__ == "__main__":
    unittest.main()
