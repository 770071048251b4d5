"""The adversarial table: every hostile or careless input a user has tried (issue 19 and the
reliability tests), one row each, run through the real entry points in this process.

Each row builds its own files in a fresh temporary folder (the working folder of the call),
runs one command line and asserts the exit code, the message (one line ``error: ...`` on stderr
naming the key or file, never a traceback) and that nothing on disk was written or changed: a
snapshot (path, size, mtime, content hash) of the folder, and of the shared finished run, before
and after. A row that legitimately writes names the files that may change; everything else must
stay as it was. Rows that need a real process (SIGTERM) are grouped at the end.
"""
import contextlib
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib
from dataclasses import dataclass
from typing import Callable, Optional, Tuple
from unittest import mock

import numpy as np
import torch
import yaml
from PIL import Image

import main
from engine.trainer import Trainer
from report import build as report_build
from scratch import image_data as scratch_data
from scratch import train as scratch_train
from tests.fake_runs import FakeRuns
from tests.holding import release, start_held
from tests.runs_helper import ENV, REPO, synthetic_config
from tools import study, sweep

ENTRIES = {"main": main.main, "sweep": sweep.main, "study": study.main,
           "report": report_build.main, "scratch": scratch_train.main}


@dataclass
class Row:
    """One case: ``setup(folder, shared)`` builds files under ``folder`` and returns the argv of
    ``entry``; the call must exit with ``code`` and (for a failure) print exactly one stderr line
    ``error: ...`` matching ``message``; for exit 0 ``message`` is searched in stdout + stderr.
    ``may_change``: paths (relative to ``folder``, regexes) allowed to appear or change;
    ``absent``: paths that must not exist afterwards (planted payloads' markers);
    ``usage``: an argparse error, printed after argparse's usage lines; ``one_line`` False: a
    stop that prints more (``message`` is searched in stdout + stderr); ``patch(folder)``: a
    context manager around the call; ``check(self, folder, out)``: further assertions."""
    name: str
    setup: Callable
    message: str
    code: int = 2
    entry: str = "main"
    may_change: Tuple[str, ...] = ()
    absent: Tuple[str, ...] = ()
    usage: bool = False
    one_line: bool = True
    patch: Optional[Callable] = None
    check: Optional[Callable] = None


def snapshot(folder):
    """{relative path: (size, mtime_ns, sha256)} of every file and link under ``folder``;
    folders as (None, None, None) so that a new empty folder counts too."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder) + "/"] = (None, None, None)
        for name in files:
            path = os.path.join(root, name)
            stat = os.lstat(path)
            if os.path.islink(path):
                digest = "link:" + os.readlink(path)
            else:
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            found[os.path.relpath(path, folder)] = (stat.st_size, stat.st_mtime_ns, digest)
    return found


@contextlib.contextmanager
def native_stderr(sink):
    """Capture what native libraries (libpng, libjpeg) write to file descriptor 2, which
    ``redirect_stderr`` does not see; the text is appended to the list ``sink``."""
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sink.append(capture.read().decode(errors="replace"))


def call(entry, argv, folder):
    """``entry``'s main(argv) in this process with ``folder`` as the working folder, on one
    thread: (exit code, stdout, stderr); argparse's SystemExit gives its code. stderr holds
    what native code wrote to the descriptor too."""
    torch.set_num_threads(1)
    out, err, native = io.StringIO(), io.StringIO(), []
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with native_stderr(native), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                code = ENTRIES[entry](list(argv))
            except SystemExit as stop:
                code = stop.code
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), native[0] + err.getvalue()


# ---------------------------------------------------------------- material the rows build

def write(folder, relative, content):
    """Write ``content`` (str or bytes) to ``folder/relative``; returns the path."""
    path = os.path.join(folder, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    return path


def config(folder, **sections):
    return synthetic_config(folder, **sections)


def config_with(folder, text):
    """The synthetic config with ``text`` (YAML) appended to the file."""
    path = synthetic_config(folder)
    with open(path, "a") as f:
        f.write(text)
    return path


def run_args(folder, *sets, **sections):
    return ["--config", config(folder, **sections), *[a for s in sets for a in ("--set", s)]]


def image_folder(root, classes=("a", "b"), per_class=2, modes=("RGB",), size=8, parts=None):
    """An ImageFolder of random PNGs, ``modes`` used in turn over the files; returns root."""
    rng = np.random.default_rng(0)
    index = 0
    for part in parts or ("train", "test"):
        for name in classes:
            os.makedirs(os.path.join(root, part, name), exist_ok=True)
            for number in range(per_class):
                mode = modes[index % len(modes)]
                index += 1
                if mode == "I;16":
                    image = Image.fromarray(rng.integers(0, 65536, (size, size), dtype=np.uint16))
                else:
                    image = Image.fromarray(rng.integers(0, 256, (size, size, 3),
                                                         dtype=np.uint8)).convert(mode)
                image.save(os.path.join(root, part, name, f"{number}.png"))
    return root


def folder_config(folder, root, *sets):
    """argv of a dry run on the ImageFolder ``root``."""
    return run_args(folder, *sets, data={"dataset": "imagefolder", "root": root,
                                         "val_fraction": 0.0,
                                         "imbalance": {"profile": "none"}}) + ["--dry-run"]


def copy_run(folder, shared):
    """A copy of the shared finished run (3 epochs) under ``folder/run``."""
    target = os.path.join(folder, "run")
    shutil.copytree(shared["run"], target)
    return target


def edit_yaml(path, dotted, value):
    """Change one key (``train.batch_size``) of a YAML file, as a user editing it would."""
    with open(path) as f:
        tree = yaml.safe_load(f)
    *sections, key = dotted.split(".")
    node = tree
    for section in sections:
        node = node[section]
    node[key] = value
    with open(path, "w") as f:
        yaml.safe_dump(tree, f)


def resume_edited(dotted, value):
    """A copy of the shared run whose config.yaml has ``dotted`` set to ``value``: the edit
    must be refused and the run's files (last.pt above all) left as they are."""
    def setup(folder, shared):
        run = copy_run(folder, shared)
        edit_yaml(os.path.join(run, "config.yaml"), dotted, value)
        return ["--resume", run]
    return setup


def rewritten_checkpoint(folder, shared, drop=(), **changes):
    """A copy of the shared run's best.pt without ``drop`` and with ``changes``."""
    state = torch.load(os.path.join(shared["run"], "best.pt"), weights_only=True)
    for key in drop:
        del state[key]
    state.update(changes)
    path = os.path.join(folder, "cut.pt")
    torch.save(state, path)
    return path


def eval_of(**how):
    def setup(folder, shared):
        return ["--config", shared["config"], "--eval", rewritten_checkpoint(folder, shared,
                                                                             **how)]
    return setup


class Planted:
    """Unpickling this creates ``marker``: a file appears if the pickle is ever loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def planted_cifar(folder):
    """data/cifar-10-batches-py with every batch a pickle that would create ``marker``."""
    marker = os.path.join(folder, "marker")
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch", "batches.meta"):
        write(folder, os.path.join("data", "cifar-10-batches-py", name),
              pickle.dumps(Planted(marker)))
    return os.path.join(folder, "data")


def fake_grid(folder, axes):
    """A fake-run grid (tests/fake_runs.py) with these axes; returns the FakeRuns."""
    fake = FakeRuns(folder)
    fake.write_grid(axes)
    return fake


def grid_args(fake, *extra):
    return [fake.grid, "--main", fake.main, "--outdir", fake.runs, *extra]


def scratch_folder(folder, classes=10, per_class=5):
    """A scratch-shaped ImageFolder: 32x32 RGB PNGs under folder/images/train/<class>/."""
    root = os.path.join(folder, "images")
    image_folder(root, classes=[f"c{n}" for n in range(classes)], per_class=per_class,
                 size=32, parts=("train",))
    return root


def first_image(root):
    return os.path.join(root, "train", sorted(os.listdir(os.path.join(root, "train")))[0],
                        "0.png")


def broken_image(content):
    def setup(folder, shared):
        root = image_folder(os.path.join(folder, "images"))
        write(folder, os.path.join("images", "train", "b", "0.png"), content)
        return folder_config(folder, root)
    return setup


def scratch_broken(content):
    def setup(folder, shared):
        root = scratch_folder(folder)
        with open(first_image(root), "wb") as f:
            f.write(content)
        return ["--data", root, "--out", os.path.join(folder, "c.png")]
    return setup


def a_file(folder, name="a-file"):
    return write(folder, name, "not a folder")


def crafted_png(fault):
    """An 8x8 RGB PNG with one fault in its image data, every chunk's CRC right unless the fault
    is ``crc``: files that crashed torchvision's decoder."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    rows = {"filter": b"".join(b"\x09" + bytes(24) for _ in range(8)),
            "short": b"".join(b"\x00" + bytes(24) for _ in range(4))}
    data = zlib.compress(rows.get(fault, bytes(8 * 25)))
    if fault == "zlib":
        data = data[:-6] + bytes(6)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    if fault == "crc":
        png = png[:40] + bytes([png[40] ^ 0xFF]) + png[41:]
    return png


def read_json(folder, relative):
    with open(os.path.join(folder, relative)) as f:
        return json.load(f)


ONE_EPOCH = {"epochs": 1, "milestones": [], "warmup_epochs": 0}


def _second_run(folder, shared):
    code, _, err = call("main", run_args(folder, "run.name=first", train=ONE_EPOCH), folder)
    assert code == 0, err
    return ["--config", os.path.join(folder, "config.yaml"), "--set", "run.name=second"]


def _with_leftovers(folder, shared):
    write(folder, "checkpoints/.tmp-ab12.pth", b"half a checkpoint")
    write(folder, "checkpoints/notes.tmp", "mine")
    return run_args(folder, train=ONE_EPOCH)


def _stop_after_epoch(trainer, epoch, seconds):
    """Trainer._end_epoch, then a stop request, as Ctrl-C or SIGTERM would make."""
    _END_EPOCH(trainer, epoch, seconds)
    trainer.stop_requested = True


_END_EPOCH = Trainer._end_epoch


def _stopped_in_odd_folder(folder, shared):
    return run_args(folder, "run.name=q", "run.dir=" + os.path.join(folder, "a b;c"),
                    train={"epochs": 2, "milestones": [], "warmup_epochs": 0})


def _with_empty_class(folder):
    root = image_folder(os.path.join(folder, "i"))
    os.makedirs(os.path.join(root, "train", "c"))
    os.makedirs(os.path.join(root, "test", "c"))
    return root


def _other_test_classes(folder):
    root = image_folder(os.path.join(folder, "i"), parts=("train",))
    image_folder(root, classes=("a", "z"), parts=("test",))
    return root


def _truncated(folder):
    root = image_folder(os.path.join(folder, "images"), size=32)
    path = os.path.join(root, "train", "b", "0.png")
    with open(path, "rb") as f:
        head = f.read()[:200]
    write(folder, path, head)
    return folder_config(folder, root)


def _linked(folder, name):
    root = image_folder(os.path.join(folder, "images"))
    if name is None:
        os.symlink("loop", os.path.join(root, "train", "loop"))
    else:
        os.remove(os.path.join(root, "train", "b", name))
        os.symlink(name, os.path.join(root, "train", "b", name))
    return folder_config(folder, root)


def _truncated_cifar(folder):
    """Real-looking file names whose contents are cut short: not what torchvision published."""
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch", "batches.meta"):
        write(folder, os.path.join("data", "cifar-10-batches-py", name), b"\x80\x02}q\x00")
    return run_args(folder, "data.root=" + os.path.join(folder, "data"), "data.dataset=cifar10",
                    "data.download=false")


def _payload(folder):
    path = os.path.join(folder, "evil.pt")
    torch.save({"format": "longtail-checkpoint/1", "model": Planted(os.path.join(folder,
                                                                                 "marker"))},
               path)
    return path


def _run_without(folder, shared, name):
    run = copy_run(folder, shared)
    os.remove(os.path.join(run, name))
    return ["--resume", run]


def _resume_cut(folder, shared, key):
    run = copy_run(folder, shared)
    last = os.path.join(run, "last.pt")
    state = torch.load(last, weights_only=True)
    del state[key]
    torch.save(state, last)
    return ["--resume", run]


# ---------------------------------------------------------------------------------- the table

BLOCK = r"'?[^ ]*a-file'?"

ROWS = [
    # --- the config file and --set
    Row("config path does not exist", lambda f, s: ["--config", "no/such.yaml"], r"no/such\.yaml"),
    Row("config path is a folder", lambda f, s: ["--config", f],
        r"config file .* cannot be read \(Is a directory\)"),
    Row("config is empty", lambda f, s: ["--config", write(f, "c.yaml", "")], r"c\.yaml.*empty"),
    Row("config is only a comment", lambda f, s: ["--config", write(f, "c.yaml", "# x\n")],
        r"c\.yaml.*empty"),
    Row("config is a YAML list", lambda f, s: ["--config", write(f, "c.yaml", "- seed\n- 1\n")],
        r"c\.yaml.*(mapping|list)"),
    Row("config is not YAML", lambda f, s: ["--config", write(f, "c.yaml", "seed: [1, 2\n")],
        r"c\.yaml"),
    Row("config is binary", lambda f, s: ["--config", write(f, "c.yaml", b"\xff\xfe\x00\x81")],
        r"c\.yaml"),
    Row("duplicate key", lambda f, s: ["--config", config_with(f, "seed: 5\n")], r"seed"),
    Row("second train: section", lambda f, s: ["--config", config_with(f, "train: {lr: 1}\n")],
        r"train"),
    Row("duplicate key inside a section",
        lambda f, s: ["--config", write(f, "c.yaml", "train:\n  lr: 0.1\n  lr: 0.2\n")],
        r"train\.lr|lr"),
    Row("unknown key in the file", lambda f, s: ["--config", config_with(f, "sede: 1\n")],
        r"sede"),
    Row("--set of an unknown key suggests one", lambda f, s: run_args(f, "train.epochz=3"),
        r"train\.epochz.*train\.epochs"),
    Row("--set without '='", lambda f, s: run_args(f, "train.epochs"), r"train\.epochs"),
    Row("--set without --config", lambda f, s: ["--set", "seed=1"], r"--config is required",
        usage=True),
    Row("--set with --resume", lambda f, s: ["--resume", f, "--set", "seed=1"],
        r"--set needs --config", usage=True),
    Row("no arguments at all", lambda f, s: [], r"--config", usage=True),
    Row("--eval and --resume together", lambda f, s: ["--eval", "x", "--resume", "y"],
        r"not allowed with", usage=True),
    Row("key of the wrong type", lambda f, s: run_args(f, "train.epochs=three"),
        r"train\.epochs.*three"),
    Row("section given as a value", lambda f, s: ["--config", config_with(f, "loss: 3\n")],
        r"loss"),
    Row("unknown model name", lambda f, s: run_args(f, "model.name=resnet33"),
        r"model\.name.*resnet33"),
    Row("negative lr", lambda f, s: run_args(f, "train.lr=-0.1"), r"train\.lr.*-0\.1"),
    Row("lr not a number", lambda f, s: run_args(f, "train.lr=.nan"), r"train\.lr"),
    Row("milestones not increasing", lambda f, s: run_args(f, "train.milestones=[3,2]"),
        r"train\.milestones"),
    Row("zero epochs", lambda f, s: run_args(f, "train.epochs=0"), r"train\.epochs.*0"),
    Row("beta out of range", lambda f, s: run_args(f, "loss.beta=1.5"), r"loss\.beta.*1\.5"),
    Row("val_fraction of 1", lambda f, s: run_args(f, "data.val_fraction=1"),
        r"data\.val_fraction"),
    Row("mixup with a hard-label loss",
        lambda f, s: run_args(f, "data.mix=mixup", "loss.name=ldam"), r"data\.mix.*ldam"),
    Row("batch larger than the training set",
        lambda f, s: run_args(f, "train.batch_size=100000"), r"train\.batch_size.*100000"),
    Row("seed 2**70", lambda f, s: run_args(f, f"seed={2 ** 70}"), rf"seed.*{2 ** 70}"),
    Row("negative seed", lambda f, s: run_args(f, "seed=-1"), r"seed.*-1"),
    Row("synthetic set too large for memory",
        lambda f, s: run_args(f, "data.synthetic.train_per_class=1000000000"),
        r"data\.synthetic"),
    Row("synthetic class count too large",
        lambda f, s: run_args(f, "data.synthetic.num_classes=100000000"), r"data\.synthetic"),
    Row("NUL byte in run.name from the YAML file",
        lambda f, s: ["--config", config(f, run={"name": "a\0b", "dir": "runs",
                                                 "checkpoint_dir": "c"})], r"run\.name"),
    Row("over-long run.name blamed on run.name",
        lambda f, s: run_args(f, "run.name=" + "n" * 300), r"run\.name.*300"),
    Row("run.name with a slash", lambda f, s: run_args(f, "run.name=a/b"), r"run\.name"),
    Row("run.dir is a file",
        lambda f, s: run_args(f, f"run.dir={a_file(f)}"), r"run\.dir.*" + BLOCK),
    Row("run.dir under a file",
        lambda f, s: run_args(f, f"run.dir={a_file(f)}/runs"), r"run\.dir.*" + BLOCK),
    Row("run.checkpoint_dir is a file",
        lambda f, s: run_args(f, f"run.checkpoint_dir={a_file(f)}"),
        r"run\.checkpoint_dir.*" + BLOCK),
    Row("run.checkpoint_dir under a file",
        lambda f, s: run_args(f, f"run.checkpoint_dir={a_file(f)}/c"),
        r"run\.checkpoint_dir.*" + BLOCK),
    Row("train.init_from does not exist",
        lambda f, s: run_args(f, "train.init_from=" + os.path.join(f, "gone.pt")), r"gone\.pt"),

    # --- data
    Row("ImageFolder root missing",
        lambda f, s: folder_config(f, os.path.join(f, "nowhere")), r"nowhere"),
    Row("one-class ImageFolder",
        lambda f, s: folder_config(f, image_folder(os.path.join(f, "i"), classes=("a",))),
        r"holds only 'a' as class folders; expected at least 2"),
    Row("empty class folder", lambda f, s: folder_config(f, _with_empty_class(f)),
        r"holds no images"),
    Row("test classes differ from train",
        lambda f, s: folder_config(f, _other_test_classes(f)), r"test"),
    Row("zero-byte image", broken_image(b""), r"0\.png.*empty"),
    Row("PNG with a wrong row filter byte (valid CRCs)", broken_image(crafted_png("filter")),
        r"cannot decode image .*0\.png"),
    Row("PNG with too few rows (valid CRCs)", broken_image(crafted_png("short")),
        r"cannot decode image .*0\.png"),
    Row("PNG with a bad zlib stream (valid CRCs)", broken_image(crafted_png("zlib")),
        r"cannot decode image .*0\.png"),
    Row("PNG with a bad chunk CRC", broken_image(crafted_png("crc")),
        r"cannot decode image .*0\.png"),
    Row("corrupt image", broken_image(b"\x89PNG\r\n\x1a\n garbage"),
        r"cannot decode image .*0\.png"),
    Row("truncated image", lambda f, s: _truncated(f), r"cannot decode image .*0\.png"),
    Row("symlink loop as an image", lambda f, s: _linked(f, "0.png"),
        r"0\.png.*symbolic links"),
    Row("symlink loop as a class folder", lambda f, s: _linked(f, None),
        r"loop.*symbolic links"),
    Row("mixed-mode ImageFolder loads with the channel choice printed",
        lambda f, s: folder_config(f, image_folder(os.path.join(f, "i"), per_class=3,
                                                   modes=("RGB", "L", "RGBA", "P"))),
        r"converting all to RGB \(3 channels\)", code=0),
    Row("16-bit PNGs are scaled, and that is printed",
        lambda f, s: folder_config(f, image_folder(os.path.join(f, "i"), modes=("I;16",))),
        r"16 bits per channel \(scaled to 8\)", code=0),
    Row("planted pickle in data/cifar-10-batches-py is never unpickled",
        lambda f, s: run_args(f, f"data.root={planted_cifar(f)}", "data.dataset=cifar10",
                              "data.download=false"),
        r"CIFAR-10.*corrupted", absent=("marker",)),
    Row("CIFAR-10 missing with download off",
        lambda f, s: run_args(f, "data.root=" + os.path.join(f, "empty"),
                              "data.dataset=cifar10", "data.download=false"),
        r"CIFAR-10.*empty.*data\.download"),
    Row("corrupt CIFAR folder says corrupted", lambda f, s: _truncated_cifar(f),
        r"corrupted"),

    # --- checkpoints: --eval and --resume
    Row("--eval of a folder", lambda f, s: ["--config", s["config"], "--eval", f],
        r"is a folder"),
    Row("--eval of a missing file",
        lambda f, s: ["--config", s["config"], "--eval", os.path.join(f, "gone.pt")],
        r"gone\.pt"),
    Row("--eval of a zero-byte file",
        lambda f, s: ["--config", s["config"], "--eval", write(f, "z.pt", b"")], r"z\.pt"),
    Row("--eval of a text file",
        lambda f, s: ["--config", s["config"], "--eval", write(f, "t.pt", "hello\n")],
        r"t\.pt"),
    Row("--eval of a pickle that runs code",
        lambda f, s: ["--config", s["config"], "--eval", _payload(f)],
        r"evil\.pt.*cannot be loaded safely", absent=("marker",)),
    Row("checkpoint without model_name", eval_of(drop=["model_name"]), r"cut\.pt.*'model_name'"),
    Row("checkpoint without model", eval_of(drop=["model"]), r"cut\.pt.*'model'"),
    Row("--eval with other class names", eval_of(classes=["cat", "class1", "class2", "class3"]),
        r"cut\.pt.*'cat'.*'class0'|'class0'.*'cat'"),
    Row("--eval with another model",
        lambda f, s: ["--config", s["config"], "--set", "model.name=twolayernet", "--eval",
                      os.path.join(s["run"], "best.pt")], r"vanillacnn.*twolayernet|twolayernet"
        r".*vanillacnn"),
    Row("--resume of a missing folder", lambda f, s: ["--resume", os.path.join(f, "gone")],
        r"gone"),
    Row("--resume of a folder without last.pt",
        lambda f, s: ["--resume", os.path.dirname(write(f, "r/config.yaml", "seed: 0\n"))],
        r"last\.pt"),
    Row("--resume of a run without config.yaml", lambda f, s: _run_without(f, s, "config.yaml"),
        r"config\.yaml"),
    Row("--resume of last.pt without optimizer", lambda f, s: _resume_cut(f, s, "optimizer"),
        r"last\.pt.*'optimizer'"),
    Row("--resume of last.pt without model_name", lambda f, s: _resume_cut(f, s, "model_name"),
        r"last\.pt.*'model_name'"),
    Row("resume after editing the batch size", resume_edited("train.batch_size", 8),
        r"train\.batch_size.*8.*16|train\.batch_size.*16.*8"),
    Row("resume after editing the model", resume_edited("model.name", "twolayernet"),
        r"model\.name"),
    Row("resume after editing the loss", resume_edited("loss.name", "ce"), r"loss\.name"),
    Row("resume after editing the data", resume_edited("data.val_fraction", 0.5),
        r"data\.val_fraction"),
    Row("resume after editing the seed", resume_edited("seed", 3), r"seed"),
    Row("resume with fewer epochs than done", resume_edited("train.epochs", 2),
        r"train\.epochs.*at least 3"),
    Row("resume with more epochs is accepted with a warning",
        lambda f, s: resume_edited("train.epochs", 4)(f, s) + ["--no-export"],
        r"warning: train\.epochs changed from 3 to 4", code=0,
        may_change=(r"run/(last|best)\.pt", r"run/metrics\.json", r"run/confusion\.png",
                    r"run/events\.out\.tfevents.*"),
        check=lambda test, f, out: test.assertEqual(
            [r["epoch"] for r in read_json(f, "run/metrics.json")["history"]], [1, 2, 3, 4])),

    # --- what runs leave behind
    Row("dry run writes nothing", lambda f, s: run_args(f) + ["--dry-run"], r"parameters",
        code=0),
    Row("two runs of one model: the second says what it replaced", _second_run,
        r"replaced the earlier .*vanillacnn\.pth.*run .*runs/first", code=0,
        may_change=(r"runs/", r"runs/second/?.*", r"checkpoints/vanillacnn\.(pth|json)"),
        check=lambda test, f, out: test.assertEqual(
            read_json(f, "checkpoints/vanillacnn.json")["run_dir"],
            os.path.join(f, "runs", "second"))),
    Row("stale .tmp-* files are removed when a run starts", _with_leftovers,
        r"removed 1 temporary file\(s\) .*\.tmp-ab12\.pth", code=0,
        may_change=(r"runs/", r"runs/e2e/?.*", r"checkpoints/vanillacnn\.(pth|json)",
                    r"checkpoints/\.tmp-ab12\.pth"),
        check=lambda test, f, out: test.assertFalse(
            os.path.exists(os.path.join(f, "checkpoints", ".tmp-ab12.pth")))),
    Row("stopped run prints a shell-quoted resume command", _stopped_in_odd_folder,
        r"python main\.py --resume '.*/a b;c/q'\s*$", code=130, one_line=False,
        patch=lambda f: mock.patch.object(Trainer, "_end_epoch", _stop_after_epoch),
        may_change=(r"a b;c/", r"a b;c/q/?.*")),

    # --- sweep and study
    Row("sweep: misspelt key in the grid",
        lambda f, s: grid_args(fake_grid(f, {"method": {"a": {"loss.name": "ce"},
                                                        "b": {"loss.gama": 2}},
                                             "seed": [0]})),
        r"t-method=b-seed=0: loss\.gama", entry="sweep"),
    Row("sweep: --outdir is a file",
        lambda f, s: [*grid_args(FakeRuns(f))[:-1], a_file(f)], r"--outdir.*" + BLOCK,
        entry="sweep"),
    Row("sweep: grid file missing", lambda f, s: [os.path.join(f, "gone.yaml")], r"gone\.yaml",
        entry="sweep"),
    Row("sweep: grid is a list", lambda f, s: [write(f, "g.yaml", "- 1\n")], r"g\.yaml",
        entry="sweep"),
    Row("sweep: grid base config missing",
        lambda f, s: [write(f, "g.yaml", "base: gone.yaml\nprefix: t\naxes: {seed: [0]}\n")],
        r"gone\.yaml", entry="sweep"),
    Row("sweep: empty axis",
        lambda f, s: grid_args(fake_grid(f, {"seed": []})), r"seed", entry="sweep"),
    Row("sweep: --set of an unknown key",
        lambda f, s: grid_args(FakeRuns(f), "--set", "train.epochz=1"), r"train\.epochz",
        entry="sweep"),
    Row("study: misspelt key in the grid",
        lambda f, s: grid_args(fake_grid(f, {"method": {"b": {"loss.gama": 2}}, "seed": [0]})),
        r"loss\.gama", entry="study"),
    Row("study: --outdir is a file",
        lambda f, s: [*grid_args(FakeRuns(f))[:-1], a_file(f)], r"--outdir.*" + BLOCK,
        entry="study"),
    Row("study: negative budget", lambda f, s: [FakeRuns(f).grid, "--budget", "-1"],
        r"--budget", entry="study", usage=True),
    Row("study: --unpack of a missing archive",
        lambda f, s: [*grid_args(FakeRuns(f)), "--unpack", os.path.join(f, "gone.tar.gz")],
        r"gone\.tar\.gz", entry="study"),

    # --- report
    Row("report: --out is a file",
        lambda f, s: ["--runs", os.path.dirname(s["run"]), "--out", a_file(f)], BLOCK,
        entry="report"),
    Row("report: --runs missing",
        lambda f, s: ["--runs", os.path.join(f, "gone"), "--out", os.path.join(f, "r")],
        r"gone", entry="report"),
    Row("report: --runs holds no runs",
        lambda f, s: ["--runs", os.path.dirname(a_file(f, "x/y")), "--out",
                      os.path.join(f, "r")], r"x", entry="report"),

    # --- scratch/train.py
    Row("scratch: planted pickle at the default CIFAR path is never unpickled",
        lambda f, s: ["--out", os.path.join(f, "c.png")],
        r"data_batch_1: md5 does not match", entry="scratch", absent=("marker",),
        patch=lambda f: mock.patch.object(
            scratch_data.load_cifar_sample, "__defaults__",
            (os.path.join(planted_cifar(f), "cifar-10-batches-py", "data_batch_1"), 50, 0))),
    Row("scratch: --data with a corrupt image", scratch_broken(b"not an image"),
        r"0\.png: not a readable image", entry="scratch"),
    Row("scratch: --data with a zero-byte image", scratch_broken(b""),
        r"0\.png: not a readable image", entry="scratch"),
    Row("scratch: --data missing",
        lambda f, s: ["--data", os.path.join(f, "gone"), "--out", os.path.join(f, "c.png")],
        r"gone", entry="scratch"),
    Row("scratch: --out under a file",
        lambda f, s: ["--data", scratch_folder(f), "--out", os.path.join(a_file(f), "c.png")],
        BLOCK + r" is a file", entry="scratch"),
    Row("scratch: --out with an unknown extension",
        lambda f, s: ["--data", scratch_folder(f), "--out", os.path.join(f, "c.txt")],
        r"unknown figure extension '\.txt'", entry="scratch"),
    Row("scratch: --out is a folder",
        lambda f, s: ["--data", scratch_folder(f), "--out",
                      os.path.dirname(write(f, "c.png/x", ""))],
        r"c\.png is a folder",
        entry="scratch"),
    Row("scratch: --epochs 0", lambda f, s: ["--epochs", "0"], r"--epochs.*got 0",
        entry="scratch", usage=True),
    Row("scratch: --epochs -2", lambda f, s: ["--epochs", "-2"], r"--epochs.*got -2",
        entry="scratch", usage=True),
]


class TableTest(unittest.TestCase):
    """Every row of ROWS, each in its own temporary working folder."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        folder = cls.tmp.name
        path = synthetic_config(folder, train={"epochs": 3, "milestones": [1],
                                               "warmup_epochs": 0})
        code, _, err = call("main", ["--config", path, "--no-export"], folder)
        assert code == 0, err
        cls.shared = {"config": path, "run": os.path.join(folder, "runs", "e2e")}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_row(self, row, folder):
        argv = row.setup(folder, self.shared)
        patch = row.patch(folder) if row.patch else contextlib.nullcontext()
        before, shared = snapshot(folder), snapshot(self.tmp.name)
        with patch:
            code, out, err = call(row.entry, argv, folder)
        self.assertNotIn("Traceback", out + err)
        self.assertEqual(code, row.code, (out, err))
        if row.code == 0 or not row.one_line:
            self.assertRegex(out + err, row.message)
        else:
            lines = err.strip().splitlines()
            if row.usage:
                self.assertTrue(all(line.startswith(("usage:", " ")) for line in lines[:-1]),
                                err)
                lines = lines[-1:]
            self.assertEqual(len(lines), 1, err)
            self.assertRegex(lines[0], r"^(error: |.+: error: )" if row.usage else r"^error: ")
            self.assertRegex(lines[0], row.message)
        after = snapshot(folder)
        changed = {path for path in set(before) | set(after)
                   if before.get(path) != after.get(path)}
        allowed = {path for path in changed
                   if any(re.fullmatch(pattern, path) for pattern in row.may_change)}
        self.assertEqual(changed - allowed, set(), "changed on disk")
        self.assertEqual(snapshot(self.tmp.name), shared, "changed the shared run")
        for path in row.absent:
            self.assertFalse(os.path.exists(os.path.join(folder, path)), path)
        if row.check:
            row.check(self, folder, out)

    def test_every_row(self):
        self.assertGreaterEqual(len(ROWS), 60)
        self.assertEqual(len({row.name for row in ROWS}), len(ROWS), "row names repeat")
        for row in ROWS:
            with self.subTest(row.name), tempfile.TemporaryDirectory() as folder:
                self.assert_row(row, folder)


def wait_for(process, path):
    """Wait until ``path`` exists while ``process`` runs; fail if it ends first."""
    while not os.path.exists(path):
        if process.poll() is not None:
            process.kill()
            raise AssertionError("ended before the signal: " + process.communicate()[1])
        time.sleep(0.01)


class SignalTest(unittest.TestCase):
    """SIGTERM, as schedulers, ``timeout`` and container stops send it, to real processes."""

    def test_sigterm_mid_run_saves_and_prints_a_quoted_resume_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "a b;c")
            path = synthetic_config(tmp, train={"epochs": 3, "milestones": []},
                                    run={"name": "q", "dir": runs,
                                         "checkpoint_dir": os.path.join(tmp, "c")})
            run_dir = os.path.join(runs, "q")
            process = start_held(["--config", path], step=2, cwd=tmp)
            process.send_signal(signal.SIGTERM)
            _, err = release(process)
            self.assertEqual(process.returncode, 130, err)
            self.assertNotIn("Traceback", err)
            self.assertEqual(err.strip().splitlines()[-1].strip(),
                             f"python main.py --resume '{run_dir}'")
            self.assertFalse(os.path.exists(os.path.join(run_dir, "metrics.json")))
            position = torch.load(os.path.join(run_dir, "last.pt"), weights_only=True)["position"]
            self.assertEqual(tuple(position), (0, 2))
            edit_yaml(os.path.join(run_dir, "config.yaml"), "train.batch_size", 8)
            before = snapshot(tmp)
            code, _, err = call("main", ["--resume", run_dir], tmp)
            self.assertEqual((code, len(err.strip().splitlines())), (2, 1), err)
            self.assertRegex(err, r"^error: .*train\.batch_size")
            self.assertEqual(snapshot(tmp), before, "a refused resume changed files")

    def test_sigterm_stops_a_sweep_and_its_run_and_says_how_to_continue(self):
        with tempfile.TemporaryDirectory() as tmp:
            fake = FakeRuns(tmp)
            env = dict(ENV, **fake.env(FAKE_MODE="hold"))
            process = subprocess.Popen([sys.executable, "-m", "tools.sweep",
                                        *grid_args(fake)], cwd=REPO, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for(process, fake.log + ".held")
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate()
            self.assertEqual(process.returncode, 130, out + err)
            self.assertNotIn("Traceback", out + err)
            self.assertIn("to continue: python -m tools.sweep", out)
            self.assertEqual([event for event, _, _ in fake.events()], ["start", "stopped"])
            self.assertFalse(os.path.exists(os.path.join(fake.runs, "t-summary.csv")))


if __name__ == "__main__":
    unittest.main()
