"""End-to-end runs of main.py on synthetic data: training, dry run, evaluation, input errors."""
import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

import torch

import main
from engine import checkpoint as ckpt
from engine.trainer import Trainer
from tests.runs_helper import (ENV, REPO, main_command, main_in_process as in_process,
                               run_main, synthetic_config)


def call_main(*argv):
    """``main.main(argv)`` in this process on one thread: (exit code, stdout, stderr)."""
    torch.set_num_threads(1)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def snapshot(folder):
    """{relative path: (size, mtime_ns, sha of bytes)} of every file under ``folder``."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                content = hash(f.read())
            found[os.path.relpath(path, folder)] = (os.path.getsize(path),
                                                    os.stat(path).st_mtime_ns, content)
    return found


class TrainRunTest(unittest.TestCase):
    """One short training run, shared by the checks on what it writes and prints."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = synthetic_config(cls.tmp.name)
        cls.result = in_process("--config", cls.config)
        cls.run_dir = os.path.join(cls.tmp.name, "runs", "e2e")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_cleanly(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_writes_the_run_folder(self):
        for name in ("config.yaml", "best.pt", "last.pt", "metrics.json", "confusion.png"):
            self.assertTrue(os.path.isfile(os.path.join(self.run_dir, name)), name)
        events = [f for f in os.listdir(self.run_dir) if f.startswith("events.out.tfevents")]
        self.assertTrue(events)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp.name, "checkpoints",
                                                    "vanillacnn.pth")))

    def test_metrics_json_is_consistent(self):
        with open(os.path.join(self.run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        self.assertTrue(metrics["finished"])
        self.assertEqual(len(metrics["history"]), 3)
        self.assertEqual(metrics["cls_num_list"], sorted(metrics["cls_num_list"], reverse=True))
        test = metrics["test"]
        confusion = torch.tensor(test["confusion"])
        self.assertEqual(confusion.sum().item(), 40)
        self.assertAlmostEqual(test["accuracy"], confusion.trace().item() / 40)
        self.assertGreater(test["accuracy"], 0.25, "no better than chance on learnable data")
        self.assertIn(metrics["best_epoch"], (1, 2, 3))

    def test_prints_per_class_accuracy_and_confusion(self):
        for name in ("class0", "class3"):
            self.assertIn(name, self.result.stdout)
        self.assertIn("epoch 3/3", self.result.stdout)

    def test_eval_reproduces_the_test_accuracy(self):
        with open(os.path.join(self.run_dir, "metrics.json")) as f:
            accuracy = json.load(f)["test"]["accuracy"]
        result = in_process("--config", self.config, "--eval",
                            os.path.join(self.run_dir, "best.pt"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{accuracy:.4f}", result.stdout)

    def test_second_run_gets_a_new_folder(self):
        result = in_process("--config", self.config, "--set", "train.epochs=2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp.name, "runs", "e2e-2",
                                                    "metrics.json")))


class LogFileTest(unittest.TestCase):
    def test_a_redirected_run_logs_epoch_lines_and_no_progress_bar(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"epochs": 2, "milestones": []}, data={
                "synthetic": {"num_classes": 4, "train_per_class": 10, "test_per_class": 2,
                              "image_size": 8, "channels": 3}})
            log_path = os.path.join(tmp, "train.log")
            with open(log_path, "wb") as log:
                code = subprocess.run(main_command("--config", config), cwd=REPO, env=ENV,
                                      stdout=log, stderr=subprocess.STDOUT).returncode
            with open(log_path, "rb") as log:
                text = log.read()
        self.assertEqual(code, 0, text.decode())
        self.assertNotIn(b"\r", text)
        self.assertEqual([line.split()[1] for line in text.decode().splitlines()
                          if line.startswith("epoch ")], ["1/2", "2/2"])


class DryRunTest(unittest.TestCase):
    def test_prints_counts_and_parameters_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = in_process("--config", synthetic_config(tmp), "--dry-run")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("parameters", result.stdout)
            self.assertIn("class0", result.stdout)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs")))


class BlockModelDryRunTest(unittest.TestCase):
    """model.name cnn / resnet_builder through main.main, in process."""

    def test_dry_run_prints_the_block_model_and_its_parameter_count(self):
        from models import ResNet
        with tempfile.TemporaryDirectory() as tmp:
            model = {"name": "resnet_builder", "channels": [4, 4, 8], "pool_every": 2,
                     "hidden_dims": [6], "batchnorm": True}
            code, out, err = call_main("--config", synthetic_config(tmp, model=model),
                                       "--dry-run")
            self.assertEqual(code, 0, err)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs")))
        expected = ResNet((3, 16, 16), 4, [4, 4, 8], 2, [6], batchnorm=True)
        count = sum(p.numel() for p in expected.parameters())
        self.assertIn(repr(expected), out)
        self.assertIn("feature maps before the classifier: 8 x 8 x 8 (C x H x W)", out)
        self.assertIn(f"model resnetbuilder: {count:,} parameters", out)

    def test_a_too_deep_cnn_is_refused_on_one_line_before_training(self):
        model = {"name": "cnn", "channels": [4] * 5, "pool_every": 1}  # 16 px, 5 halvings
        for extra in (["--dry-run"], []):
            with self.subTest(argv=extra), tempfile.TemporaryDirectory() as tmp:
                code, out, err = call_main("--config", synthetic_config(tmp, model=model),
                                           *extra)
                self.assertEqual(code, 2, err)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith("error: CNN(channels=[4]*5, pool_every=1"),
                                lines[0])
                self.assertIn("shrink to 0x0", lines[0])
                self.assertNotIn("epoch", out)
                self.assertFalse(os.path.exists(os.path.join(tmp, "runs")))


class InputErrorTest(unittest.TestCase):
    """Each bad input: one line on stderr naming what is wrong, exit code 2, nothing written."""

    def assert_user_error(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def run_in_tmp(self, *args, **sections):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, **sections)
            result = in_process("--config", config, *args)
            self.assertFalse(os.path.exists(os.path.join(tmp, "runs")), "wrote a run folder")
            return result

    def test_missing_config_file(self):
        self.assert_user_error(run_main("--config", "no/such/file.yaml"), "no/such/file.yaml")

    def test_unknown_key_from_set(self):
        self.assert_user_error(self.run_in_tmp("--set", "train.epochz=3"), "train.epochz")

    def test_out_of_range_value(self):
        self.assert_user_error(self.run_in_tmp("--set", "loss.beta=1.5"), "loss.beta", "1.5")

    def test_batch_larger_than_training_set(self):
        self.assert_user_error(self.run_in_tmp("--set", "train.batch_size=100000"),
                               "train.batch_size", "100000")

    def test_missing_dataset_root(self):
        self.assert_user_error(
            self.run_in_tmp(data={"dataset": "imagefolder", "root": "/no/such/folder"}),
            "/no/such/folder")

    def test_unwritable_run_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "a-file")
            open(blocker, "w").close()
            config = synthetic_config(tmp, run={"name": "x", "dir": os.path.join(blocker, "runs"),
                                                "checkpoint_dir": tmp})
            self.assert_user_error(in_process("--config", config), "run.dir")

    def test_checkpoint_of_another_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, train={"epochs": 2, "milestones": [1]})
            self.assertEqual(in_process("--config", config).returncode, 0)
            best = os.path.join(tmp, "runs", "e2e", "best.pt")
            self.assert_user_error(
                in_process("--config", config, "--set", "model.name=twolayernet", "--eval", best),
                "vanillacnn", "twolayernet")


def edit_yaml(path, section, key, value):
    """Change one key of a YAML config file, as a user editing it would."""
    import yaml

    with open(path) as f:
        tree = yaml.safe_load(f)
    tree[section][key] = value
    with open(path, "w") as f:
        yaml.safe_dump(tree, f)


def rewrite_checkpoint(source, target, drop=(), **changes):
    """Save a copy of the checkpoint ``source`` at ``target`` without the keys ``drop`` and
    with ``changes``."""
    state = torch.load(source, weights_only=True)
    for key in drop:
        del state[key]
    state.update(changes)
    torch.save(state, target)


class BadInputTableTest(unittest.TestCase):
    """Each bad input, in-process: exit 2, one line ``error: ...`` naming the key or file, and
    nothing written or changed on disk. One finished 3-epoch run is the shared material."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = synthetic_config(cls.tmp.name, train={"epochs": 3, "milestones": [1],
                                                           "warmup_epochs": 0})
        code, _, err = call_main("--config", cls.config, "--no-export")
        assert code == 0, err
        cls.run_dir = os.path.join(cls.tmp.name, "runs", "e2e")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def copy_of_run(self, folder):
        target = os.path.join(folder, "run")
        shutil.copytree(self.run_dir, target)
        return target

    def case_checkpoint_dir_is_a_file(self, folder):
        blocker = os.path.join(folder, "a-file")
        open(blocker, "w").close()
        config = synthetic_config(folder, run={"name": "x", "dir": os.path.join(folder, "runs"),
                                               "checkpoint_dir": blocker})
        return ["--config", config], ["run.checkpoint_dir", blocker]

    def case_checkpoint_dir_under_a_file(self, folder):
        blocker = os.path.join(folder, "a-file")
        open(blocker, "w").close()
        config = synthetic_config(folder, run={"name": "x", "dir": os.path.join(folder, "runs"),
                                               "checkpoint_dir": os.path.join(blocker, "c")})
        return ["--config", config], ["run.checkpoint_dir", blocker]

    def case_run_dir_is_a_file(self, folder):
        blocker = os.path.join(folder, "a-file")
        open(blocker, "w").close()
        config = synthetic_config(folder, run={"name": "x", "dir": blocker,
                                               "checkpoint_dir": os.path.join(folder, "c")})
        return ["--config", config], ["run.dir", blocker]

    def case_run_name_too_long(self, folder):
        return ["--config", synthetic_config(folder), "--set", "run.name=" + "n" * 300], \
            ["run.name", "300 bytes"]

    def case_eval_a_folder(self, folder):
        return ["--config", self.config, "--eval", self.run_dir], [self.run_dir, "is a folder"]

    def case_eval_record_without_model_name(self, folder):
        path = os.path.join(folder, "cut.pt")
        rewrite_checkpoint(os.path.join(self.run_dir, "best.pt"), path, drop=["model_name"])
        return ["--config", self.config, "--eval", path], [path, "'model_name'"]

    def case_eval_record_without_model(self, folder):
        path = os.path.join(folder, "cut.pt")
        rewrite_checkpoint(os.path.join(self.run_dir, "best.pt"), path, drop=["model"])
        return ["--config", self.config, "--eval", path], [path, "'model'"]

    def case_eval_other_classes(self, folder):
        path = os.path.join(folder, "animals.pt")
        rewrite_checkpoint(os.path.join(self.run_dir, "best.pt"), path,
                           classes=["cat", "class1", "class2", "class3"])
        return ["--config", self.config, "--eval", path], [path, "'cat'", "'class0'"]

    def case_resume_last_without_optimizer(self, folder):
        run = self.copy_of_run(folder)
        last = os.path.join(run, "last.pt")
        rewrite_checkpoint(last, last, drop=["optimizer"])
        return ["--resume", run], [last, "'optimizer'"]

    def case_resume_with_another_batch_size(self, folder):
        run = self.copy_of_run(folder)
        edit_yaml(os.path.join(run, "config.yaml"), "train", "batch_size", 8)
        return ["--resume", run], ["train.batch_size", "8", "16"]

    def case_resume_with_another_loss(self, folder):
        run = self.copy_of_run(folder)
        edit_yaml(os.path.join(run, "config.yaml"), "loss", "name", "ce")
        return ["--resume", run], ["loss.name", "'ce'", "'focal'"]

    def case_resume_with_fewer_epochs_than_done(self, folder):
        run = self.copy_of_run(folder)
        edit_yaml(os.path.join(run, "config.yaml"), "train", "epochs", 2)
        return ["--resume", run], ["train.epochs", "at least 3"]

    def test_every_case(self):
        cases = [name for name in dir(self) if name.startswith("case_")]
        self.assertGreaterEqual(len(cases), 12)
        for name in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as folder:
                argv, fragments = getattr(self, name)(folder)
                before, shared = snapshot(folder), snapshot(self.tmp.name)
                code, out, err = call_main(*argv)
                self.assertEqual(code, 2, err)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith("error: "), lines[0])
                for fragment in fragments:
                    self.assertIn(fragment, lines[0])
                self.assertEqual(snapshot(folder), before, "changed a file")
                self.assertEqual(snapshot(self.tmp.name), shared, "changed the shared run")
                self.assertFalse(os.path.exists(os.path.join(folder, "runs")))

    def test_a_longer_run_is_accepted_with_a_warning(self):
        with tempfile.TemporaryDirectory() as folder:
            run = self.copy_of_run(folder)
            edit_yaml(os.path.join(run, "config.yaml"), "train", "epochs", 4)
            code, _, err = call_main("--resume", run, "--no-export")
            self.assertEqual(code, 0, err)
            self.assertIn("warning: train.epochs changed from 3 to 4", err)
            with open(os.path.join(run, "metrics.json")) as f:
                self.assertEqual([r["epoch"] for r in json.load(f)["history"]], [1, 2, 3, 4])

    def test_any_value_type_or_os_error_is_one_line_and_exit_2(self):
        cases = [(TypeError("bad\n  thing"), "error: bad thing"),
                 (ValueError("model.name: got 'x'"), "error: model.name: got 'x'"),
                 (PermissionError(13, "Permission denied", "/x/y"),
                  "error: '/x/y': Permission denied"),
                 (IsADirectoryError(21, "Is a directory", "/x"), "error: '/x': Is a directory")]
        for error, expected in cases:
            with self.subTest(error=repr(error)), \
                    mock.patch("app.dry_run", side_effect=error):
                code, _, err = call_main("--config", self.config, "--dry-run")
                self.assertEqual((code, err.strip()), (2, expected))

    def test_the_tools_share_main_py_s_error_line(self):
        """A tool's OSError names its file exactly as main.py does, with exit code 2."""
        import tools.grade
        import tools.export_imagefolder
        error = PermissionError(13, "Permission denied", "/x/y")
        calls = [("tools.grade.grade", tools.grade.main, ["c.pth", "--data", "d"]),
                 ("data.load_cifar10", tools.export_imagefolder.main,
                  ["--out", os.path.join(self.tmp.name, "new")])]
        for target, tool_main, argv in calls:
            with self.subTest(target=target), mock.patch(target, side_effect=error):
                err = io.StringIO()
                with contextlib.redirect_stderr(err):
                    code = tool_main(argv)
                self.assertEqual((code, err.getvalue()), (2, "error: '/x/y': Permission denied\n"))


class StopMessagesTest(unittest.TestCase):
    """Ctrl-C / SIGTERM and a diverging loss, in-process: what the last lines say."""

    def test_the_resume_command_is_shell_quoted(self):
        original_end_epoch = Trainer._end_epoch

        def stop_after_first_epoch(trainer, epoch, seconds):
            original_end_epoch(trainer, epoch, seconds)
            trainer.stop_requested = True

        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "a b;c")
            config = synthetic_config(tmp, train={"epochs": 2, "milestones": []},
                                      run={"name": "q", "dir": runs,
                                           "checkpoint_dir": os.path.join(tmp, "c")})
            with mock.patch.object(Trainer, "_end_epoch", stop_after_first_epoch):
                code, _, err = call_main("--config", config)
            run_dir = os.path.join(runs, "q")
            self.assertEqual(code, 130, err)
            command = err.strip().splitlines()[-1]
            self.assertEqual(shlex.split(command), ["python", "main.py", "--resume", run_dir])
            self.assertEqual(ckpt.load_checkpoint(os.path.join(run_dir, "last.pt"))["position"],
                             [1, 0])

    def test_non_finite_loss_says_whether_best_pt_exists(self):
        def explode_in(epoch_index):
            return lambda epoch, step, steps, settings: 1e30 if epoch >= epoch_index else 1.0

        expectations = {0: "no best.pt was saved", 1: "best.pt keeps the best weights so far "
                                                        "(epoch 1)"}
        for epoch_index, expected in expectations.items():
            with self.subTest(epoch=epoch_index + 1), tempfile.TemporaryDirectory() as tmp:
                config = synthetic_config(tmp, train={"epochs": 2, "milestones": [],
                                                      "warmup_epochs": 0})
                with mock.patch("engine.trainer.lr_factor", side_effect=explode_in(epoch_index)):
                    code, _, err = call_main("--config", config)
                self.assertEqual(code, 3, err)
                line = err.strip()
                self.assertRegex(line, rf"^error: .*non-finite at epoch {epoch_index + 1}, step")
                self.assertIn(expected, line)
                self.assertNotIn("\n", line)
                self.assertEqual(os.path.exists(os.path.join(tmp, "runs", "e2e", "best.pt")),
                                 epoch_index > 0)


if __name__ == "__main__":
    unittest.main()
