"""One writer: every file the project writes goes through ``fileio`` (atomic writes).

The scan reads every .py outside tests/ and lists each call that writes a file by itself:
``open``/``tarfile.open`` with a write mode, ``.write_text``/``.write_bytes``, ``shutil.copy*``,
``torch.save``, ``.savefig``, ``numpy.save*``. Only the writer package and ALLOWED may.
"""
import ast
import os
import unittest

from tests.runs_helper import REPO

WRITER_PACKAGE = "fileio"
SKIPPED_FOLDERS = {"tests", ".git", ".venv", "venv", "__pycache__", "data", "runs",
                   "checkpoints"}
# (path, what) -> why it may write by itself. Entries of other areas are pending their move
# to fileio; remove each once its module writes through fileio.
ALLOWED = {
    ("tools/scheduler.py", "open(mode='a')"):
        "a child process's log, appended while it runs: a stream, not a file replaced whole",
}
WRITE_MODE_LETTERS = set("wax+")


def writes_in(source):
    """The file-writing calls in Python ``source`` that write by themselves: a sorted list of
    (line, what). A call whose target (first argument) is the temporary path bound by an
    enclosing ``with atomic_path(...) as tmp`` writes through the writer and is not listed."""
    found = []
    tree = ast.parse(source)
    through_writer = _calls_on_atomic_temporaries(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in through_writer:
            what = _what_it_writes(node)
            if what:
                found.append((node.lineno, what))
    return sorted(found)


def _calls_on_atomic_temporaries(tree):
    """ids of the calls inside ``with atomic_path(...) as tmp`` that take ``tmp`` as an argument,
    or a file opened on it in the same ``with`` (``open(tmp, "wb") as out``)."""
    ids = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.With):
            continue
        names = set()
        for item in node.items:
            call = item.context_expr
            if not (isinstance(call, ast.Call) and isinstance(item.optional_vars, ast.Name)):
                continue
            callee = getattr(call.func, "id", getattr(call.func, "attr", None))
            if callee == "atomic_path" or _takes_one_of(call, names):
                if callee != "atomic_path":
                    ids.add(id(call))
                names.add(item.optional_vars.id)
        for statement in node.body:
            for call in ast.walk(statement):
                if isinstance(call, ast.Call) and _takes_one_of(call, names):
                    ids.add(id(call))
    return ids


def _takes_one_of(call, names):
    return any(isinstance(arg, ast.Name) and arg.id in names for arg in call.args)


def _what_it_writes(call):
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    owner = func.value.id if isinstance(func, ast.Attribute) and \
        isinstance(func.value, ast.Name) else None
    if name == "open" and owner != "os":
        mode = _mode(call)
        if mode == "?" or (mode is not None and WRITE_MODE_LETTERS & set(mode)):
            return f"{owner + '.' if owner else ''}open(mode={mode!r})"
    if name in ("write_text", "write_bytes", "savefig") and isinstance(func, ast.Attribute):
        return f".{name}"
    if owner == "shutil" and name.startswith("copy"):
        return f"shutil.{name}"
    if owner == "torch" and name == "save":
        return "torch.save"
    if owner in ("np", "numpy") and name in ("save", "savez", "savez_compressed", "savetxt"):
        return f"numpy.{name}"
    return None


def _mode(call):
    """The constant mode string of an open() call, or None (read-only, or not a constant)."""
    for keyword in call.keywords:
        if keyword.arg == "mode":
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else "?"
    if len(call.args) >= 2:
        arg = call.args[1]
        return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "?"
    return None


def project_files():
    """Paths (relative, '/'-separated) of every .py outside tests/ and the writer package."""
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = sorted(s for s in subfolders if s not in SKIPPED_FOLDERS)
        relative = os.path.relpath(folder, REPO).replace(os.sep, "/")
        if relative == WRITER_PACKAGE or relative.startswith(WRITER_PACKAGE + "/"):
            continue
        for name in sorted(files):
            if name.endswith(".py"):
                yield name if relative == "." else f"{relative}/{name}"


class ScannerTest(unittest.TestCase):
    """The scanner finds each kind of writer and passes readers by."""

    def test_each_kind_of_write_is_found_and_reads_are_not(self):
        cases = {
            "open(p, 'w')": ["open(mode='w')"],
            "open(p, mode='ab')": ["open(mode='ab')"],
            "open(p, 'x')": ["open(mode='x')"],
            "open(p, 'r+')": ["open(mode='r+')"],
            "open(p, m)": ["open(mode='?')"],
            "tarfile.open(p, 'w:gz')": ["tarfile.open(mode='w:gz')"],
            "Path(p).write_text('x')": [".write_text"],
            "Path(p).write_bytes(b'x')": [".write_bytes"],
            "shutil.copyfile(a, b)": ["shutil.copyfile"],
            "shutil.copy2(a, b)": ["shutil.copy2"],
            "torch.save(x, p)": ["torch.save"],
            "plt.savefig(p)": [".savefig"],
            "np.save(p, x)": ["numpy.save"],
            "open(p)": [],
            "open(p, 'rb')": [],
            "Image.open(p)": [],
            "os.open(p, os.O_RDONLY)": [],
            "with atomic_path(p) as tmp:\n    np.savez(tmp, x=x)": [],
            "with atomic_path(p) as tmp, open(tmp, 'wb') as out:\n    out.write(b)": [],
            "with atomic_path(p) as tmp:\n    np.savez(p, x=x)": ["numpy.savez"],
            "with open(p, 'w') as tmp:\n    np.savez(tmp, x=x)": ["open(mode='w')",
                                                             "numpy.savez"],
            "torch.load(p)": [],
        }
        for source, expected in cases.items():
            with self.subTest(source=source):
                self.assertEqual([what for _, what in writes_in(source)], expected)


class OneWriterTest(unittest.TestCase):
    def test_no_module_writes_a_file_outside_the_writer_package(self):
        offenders, seen = [], 0
        for path in project_files():
            seen += 1
            with open(os.path.join(REPO, path), encoding="utf-8") as f:
                for line, what in writes_in(f.read()):
                    if (path, what) not in ALLOWED:
                        offenders.append(f"{path}:{line}: {what}")
        self.assertGreater(seen, 50, "the scan found too few files to be looking in the repo")
        self.assertEqual(offenders, [], "write through fileio instead:\n" + "\n".join(offenders))

    def test_the_writer_package_imports_nothing_of_the_project(self):
        ours = {name.split(".")[0] for name in os.listdir(REPO)
                if os.path.isdir(os.path.join(REPO, name, ""))
                and os.path.isfile(os.path.join(REPO, name, "__init__.py"))} - {WRITER_PACKAGE}
        folder = os.path.join(REPO, WRITER_PACKAGE)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for module in modules:
                    self.assertNotIn(module.split(".")[0], ours, f"{name} imports {module}")


if __name__ == "__main__":
    unittest.main()
