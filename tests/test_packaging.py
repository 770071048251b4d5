"""pyproject.toml installs every package of the repository, so `pip install -e .` then
`python -m tools.<name>` works from any folder."""
import fnmatch
import os
import re
import unittest

from tests.runs_helper import REPO


class PackagingTest(unittest.TestCase):
    def test_every_top_level_package_is_included(self):
        with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
            text = f.read()
        block = re.search(r"include = \[(.*?)\]", text, re.S).group(1)
        patterns = re.findall(r'"([^"]+)"', block)
        packages = sorted(name for name in os.listdir(REPO)
                          if os.path.isfile(os.path.join(REPO, name, "__init__.py"))
                          and name != "tests")
        self.assertIn("fileio", packages)
        missing = [p for p in packages if not any(fnmatch.fnmatch(p, pat) for pat in patterns)]
        self.assertEqual(missing, [], "add these packages to pyproject.toml's include list")


if __name__ == "__main__":
    unittest.main()
