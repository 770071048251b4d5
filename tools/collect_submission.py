"""Pack the course submission: ``part1.zip`` (the NumPy CNN) and ``part2.zip`` (the PyTorch
application with its exported checkpoints), after checking that the grader can load them.

    python -m tools.collect_submission                 # writes part1.zip and part2.zip here
    python -m tools.collect_submission --out submission --checkpoints checkpoints

The grader of part 2 does ``from models import *``, builds each course model with the course's
arguments and loads ``checkpoints/<name>.pth`` with ``torch.load(..., weights_only=True)``.
Every exported checkpoint is loaded exactly that way before anything is packed; one that fails
(a full training record instead of a state dict, another model's weights) stops the tool with
one line naming the file, and nothing is written.
"""
import argparse
import os
import sys
import zipfile

import torch

import models
from engine.errors import INPUT_ERRORS, report
from fileio import atomic_path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The course's part 1 layout: its layers, optimizers, trainer and training script.
PART1 = {"scratch/modules": "modules", "scratch/optimizer": "optimizer",
         "scratch/trainer.py": "trainer.py", "scratch/train.py": "train.py"}
# Part 2: the handout's folders and main.py, plus everything main.py imports to run; each
# folder with the file endings it contributes.
CODE = (".py",)
PART2 = {"configs": (".yaml", ".yml"), "losses": CODE, "models": CODE, "main.py": CODE,
         "app": CODE, "data": CODE, "engine": CODE, "fileio": CODE, "requirements.txt": CODE}
# Exported checkpoint name -> how the course's grader builds that model.
COURSE_MODELS = {
    "twolayernet": lambda: models.TwoLayerNet(3072, 256, 10),
    "vanillacnn": lambda: models.VanillaCNN(),
    "mymodel": lambda: models.MyModel(),
    "resnet-32": lambda: models.resnet32(),
}
SKIPPED = {"__pycache__", ".pytest_cache"}


def check_checkpoint(path, build):
    """Load ``path`` the grader's way into ``build()``; ValueError (one line) if it cannot."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to unpickle is the grader's failure
        raise ValueError(f"{path}: torch.load(weights_only=True) fails "
                         f"({type(error).__name__}: {str(error).splitlines()[0]})") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a plain state_dict of tensors (a training record? "
                         "export it with a main.py run, which writes checkpoints/<model>.pth)")
    try:
        build().load_state_dict(state)
    except RuntimeError as error:
        first = " ".join(str(error).split())[:200]
        raise ValueError(f"{path}: does not load into the course's model ({first})") from None


def files_under(source, endings=CODE):
    """(path on disk, path in the archive) of the repository path ``source``.

    A file is itself. A folder contributes its files whose names end with one of ``endings``,
    and those of its sub-folders; inside a Python package (a folder with ``__init__.py``) only
    the subpackages are walked, so data kept in one (``data/cifar10-jpeg``, a downloaded
    ``data/cifar-10-batches-py``) is never packed.
    """
    full = os.path.join(REPO, source)
    if os.path.isfile(full):
        yield full, source
        return
    package = os.path.isfile(os.path.join(full, "__init__.py"))
    for folder, subfolders, names in os.walk(full):
        subfolders[:] = sorted(s for s in subfolders if s not in SKIPPED and (
            not package or os.path.isfile(os.path.join(folder, s, "__init__.py"))))
        for name in sorted(names):
            if name.endswith(endings):
                path = os.path.join(folder, name)
                yield path, os.path.relpath(path, REPO).replace(os.sep, "/")


def write_zip(path, entries):
    """Write the zip ``path`` atomically from (file on disk, name in the archive) pairs."""
    with atomic_path(path, suffix=".zip") as tmp_path:
        with zipfile.ZipFile(tmp_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for source, name in entries:
                archive.write(source, name)


def part1_entries():
    """The files of part1.zip: scratch/'s course folders, renamed to the course's layout."""
    entries = []
    for source, target in PART1.items():
        for path, name in files_under(source):
            entries.append((path, target + name[len(source):]))
    return entries


def part2_entries(checkpoint_dir):
    """The files of part2.zip and the names of the checkpoints in it (each one checked)."""
    entries = [entry for source, endings in PART2.items()
               for entry in files_under(source, endings)]
    packed = []
    for name, build in COURSE_MODELS.items():
        path = os.path.join(checkpoint_dir, f"{name}.pth")
        if os.path.isfile(path):
            check_checkpoint(path, build)
            entries.append((path, f"checkpoints/{name}.pth"))
            packed.append(name)
    if not packed:
        raise ValueError(f"--checkpoints: {checkpoint_dir!r} holds none of "
                         f"{', '.join(n + '.pth' for n in COURSE_MODELS)}; train a model "
                         "with main.py first")
    return entries, packed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.collect_submission",
        description="Write part1.zip (scratch/: modules, optimizer, trainer, train.py) and "
                    "part2.zip (configs, losses, models, checkpoints, main.py and what it "
                    "imports), after loading every checkpoint the way the course grades it.")
    parser.add_argument("--out", default=".", help="folder for the two zips (default: here)")
    parser.add_argument("--checkpoints", default=os.path.join(REPO, "checkpoints"),
                        help="folder of the exported <model>.pth files (default: checkpoints/)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise ValueError(f"--out: {args.out!r} is a file; expected a folder")
        part1 = part1_entries()
        part2, packed = part2_entries(args.checkpoints)
        os.makedirs(args.out, exist_ok=True)
        write_zip(os.path.join(args.out, "part1.zip"), part1)
        write_zip(os.path.join(args.out, "part2.zip"), part2)
    except INPUT_ERRORS as error:
        return report(error)
    missing = [n for n in COURSE_MODELS if n not in packed]
    print(f"part1.zip: {', '.join(PART1.values())} ({len(part1)} files)")
    print(f"part2.zip: {', '.join(PART2)}, checkpoints/ ({len(part2)} files)")
    print(f"checkpoints (each loads into the course's model): "
          f"{', '.join(n + '.pth' for n in packed)}")
    if missing:
        print(f"not packed (no export yet): {', '.join(n + '.pth' for n in missing)}")
    print(f"wrote {os.path.join(args.out, 'part1.zip')} and {os.path.join(args.out, 'part2.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
