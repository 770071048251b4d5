"""Tests of tools/experiments.py on a tiny generated ImageFolder: run names and the issue's grids,
a run's JSON against an independent evaluation, early stopping, refusals before training,
grid resume, and the figures."""
import contextlib
import io
import json
import os
import tempfile
import unittest
from unittest import mock

import torch
import torch.nn.functional as F

import data
from fileio import write_text_atomic
from models.block_cnn import CNN
from tests.runs_helper import write_image_folder
from tools import experiment_training, experiments

SIZE, CLASSES, PER_CLASS = 16, 3, 8       # 24 training and 24 test images


def run_main(argv):
    """(exit status, stdout, stderr) of experiments.main(argv), in process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = experiments.main(argv)
    return status, out.getvalue(), err.getvalue()


class TestGrids(unittest.TestCase):
    def test_names_and_channels(self):
        self.assertEqual(experiments.run_name("exp1_3", [64, 128], 2), "exp1_3_L2_K64-128")
        args = experiments.parse_args(["run-exp", "-n", "e", "-K", "32", "64", "-L", "2",
                                       "-P", "3", "-H", "100", "50"])
        config = experiments.make_config(args, "e", args.filters_per_layer,
                                         args.layers_per_block, args.pool_every, "cnn")
        self.assertEqual(config["channels"], [32, 32, 64, 64])
        self.assertEqual(config["hidden_dims"], [100, 50])
        self.assertEqual(config["run"], "e_L2_K32-64")

    def test_the_issues_four_grids(self):
        args = experiments.parse_args(["run-all"])
        configs = experiments.grid_configs(args, list(experiments.GRIDS))
        runs = [c["run"] for c in configs]
        self.assertEqual(len(runs), 26)
        self.assertEqual(len(set(runs)), 26)
        self.assertEqual(sorted(r for r in runs if r.startswith("exp1_1")),
                         sorted(f"exp1_1_L{n}_K{k}" for k in (32, 64) for n in (2, 4, 8, 16)))
        self.assertEqual(sum(r.startswith("exp1_2") for r in runs), 9)
        self.assertEqual([r for r in runs if r.startswith("exp1_3")],
                         ["exp1_3_L2_K64-128", "exp1_3_L3_K64-128", "exp1_3_L4_K64-128"])
        self.assertEqual([r for r in runs if r.startswith("exp1_4")],
                         ["exp1_4_L8_K32", "exp1_4_L16_K32", "exp1_4_L32_K32",
                          "exp1_4_L2_K64-128-256", "exp1_4_L4_K64-128-256",
                          "exp1_4_L8_K64-128-256"])
        self.assertEqual({c["model"] for c in configs if c["experiment"] == "exp1_4"},
                         {"resnet"})
        for config in configs:  # every grid run fits CIFAR's 32x32 images
            experiments.check(config, (3, 32, 32))

    def test_bad_flags(self):
        one = ["run-exp", "-n", "e", "-K", "32", "-L", "2", "-P", "3"]
        for flags, expected in [(["-K", "0"], "integers >= 1"), (["-L", "two"], ">= 1"),
                                (["-n", "../e"], "it names the JSON file"),
                                (["-n", "a/b"], "it names the JSON file"),
                                (["--lr", "-0.1"], "a number >= 0"), (["--lr", "nan"], ">= 0"),
                                (["--momentum", "1"], "[0, 1)"), (["--dropout", "-0.1"], "[0, 1)"),
                                (["--weight-decay", "-0.0001"], ">= 0"),
                                (["--early-stopping", "-1"], ">= 0"), (["--seed", "-1"], ">= 0")]:
            with self.subTest(flags=flags):
                err = io.StringIO()
                with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as stop:
                    experiments.parse_args(one + flags)
                self.assertEqual(stop.exception.code, 2)
                self.assertIn(f"got {flags[1]!r}; expected", err.getvalue())
                self.assertIn(expected, err.getvalue())
        args = experiments.parse_args(one + ["-n", "lr2.5e-4", "--lr", "2.5e-4", "--dropout", "0",
                                             "--early-stopping", "0"])
        self.assertEqual((args.name, args.lr, args.dropout, args.early_stopping),
                         ("lr2.5e-4", 2.5e-4, 0.0, 0))

    def test_ctrl_c_is_one_message_and_exit_130(self):
        with mock.patch.object(experiments, "run_grid", side_effect=KeyboardInterrupt):
            status, _, err = run_main(["run-grid", "exp1_1"])
        self.assertEqual(status, 130)
        self.assertEqual(err.strip().splitlines(), [
            "interrupted: finished epochs are kept; the same command continues the "
            "interrupted run after its last finished epoch"])


class TestRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = os.path.join(cls.tmp.name, "images")
        write_image_folder(cls.root, CLASSES, PER_CLASS, SIZE)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def budget(self, out_dir, *extra):
        return ["--data", self.root, "--out-dir", out_dir, "--batch-size", "8",
                "--batches-per-epoch", "2", "--test-batches", "3", *extra]

    def test_json_matches_an_independent_evaluation_and_early_stopping(self):
        out_dir = os.path.join(self.tmp.name, "lr0")
        # lr 0: the weights stay at their seeded initialisation, so the test accuracy never
        # improves after epoch 1 and early stopping (1 epoch) ends the run after epoch 2.
        status, out, err = run_main(["run-exp", "-n", "exp9", "-K", "4", "8", "-L", "1",
                                     "-P", "2", "-H", "6", "-M", "cnn", "--lr", "0",
                                     "--epochs", "5", "--early-stopping", "1",
                                     *self.budget(out_dir)])
        self.assertEqual((status, err), (0, ""))
        self.assertIn("stopped", out)
        with open(os.path.join(out_dir, "exp9_L1_K4-8.json"), encoding="utf-8") as f:
            result = json.load(f)
        self.assertTrue(result["finished"])
        self.assertEqual([e["epoch"] for e in result["epochs"]], [1, 2])
        self.assertEqual((result["best_epoch"], result["config"]["channels"]), (1, [4, 8]))
        train, test, _ = data.load_image_folder(self.root)
        mean, std = data.channel_stats(train.images)
        torch.manual_seed(0)
        model = CNN((3, SIZE, SIZE), CLASSES, [4, 8], 2, [6]).eval()
        self.assertEqual(result["config"]["parameters"],
                         sum(p.numel() for p in model.parameters()))
        images = (test.images.double() / 255 - torch.tensor(mean).view(3, 1, 1)) \
            / torch.tensor(std).view(3, 1, 1)
        with torch.no_grad():
            logits = model(images.float())
        for epoch in result["epochs"]:  # all 24 test images: 3 batches of 8
            self.assertAlmostEqual(epoch["test_loss"],
                                   float(F.cross_entropy(logits, test.labels)), places=5)
            self.assertAlmostEqual(epoch["test_acc"],
                                   float((logits.argmax(1) == test.labels).float().mean()))

    def resnet_run(self, out_dir, *extra):
        """run-exp of a ResNet with BatchNorm and dropout (running statistics and random
        masks, which a continued run must restore), 3 epochs, no early stopping."""
        return run_main(["run-exp", "-n", "exp7", "-K", "4", "-L", "2", "-P", "2", "-H", "6",
                         "-M", "resnet", "--batchnorm", "--dropout", "0.2", "--epochs", "3",
                         "--early-stopping", "0", "--lr", "0.01", *self.budget(out_dir),
                         *extra])

    def test_an_interrupted_run_continues_exactly(self):
        whole_dir, cut_dir = (os.path.join(self.tmp.name, name) for name in ("whole", "cut"))
        status, _, err = self.resnet_run(whole_dir)
        self.assertEqual((status, err), (0, ""))
        with open(os.path.join(whole_dir, "exp7_L2_K4.json"), encoding="utf-8") as f:
            whole = json.load(f)
        epochs_trained = []

        def interrupt_in_epoch_2(*args):  # Ctrl-C during the second epoch's training
            epochs_trained.append(1)
            if len(epochs_trained) == 2:
                raise KeyboardInterrupt
            return train_epoch(*args)
        train_epoch = experiment_training.train_epoch
        with mock.patch.object(experiment_training, "train_epoch", interrupt_in_epoch_2):
            status, _, _ = self.resnet_run(cut_dir)
        self.assertEqual(status, 130)
        path = os.path.join(cut_dir, "exp7_L2_K4.json")
        resume_path = os.path.join(cut_dir, "exp7_L2_K4.resume.pt")
        with open(path, encoding="utf-8") as f:
            self.assertEqual(len(json.load(f)["epochs"]), 1)
        self.assertTrue(os.path.exists(resume_path))
        status, out, err = self.resnet_run(cut_dir)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("exp7_L2_K4: continuing after epoch 1", out)
        self.assertNotIn("epoch 1:", out)
        self.assertFalse(os.path.exists(resume_path))
        with open(path, encoding="utf-8") as f:
            cut = json.load(f)
        self.assertEqual(cut["resumed_after_epochs"], [1])
        timeless = lambda epochs: [dict(e, seconds=0) for e in epochs]  # noqa: E731
        self.assertEqual(timeless(cut["epochs"]), timeless(whole["epochs"]))
        self.assertEqual((cut["best_test_acc"], cut["best_epoch"], cut["finished"]),
                         (whole["best_test_acc"], whole["best_epoch"], True))

    def test_progress_saved_with_other_settings_is_not_continued(self):
        out_dir = os.path.join(self.tmp.name, "changed")
        with mock.patch.object(experiment_training, "evaluate",
                               side_effect=[(1.0, 0.5), KeyboardInterrupt]):
            self.assertEqual(self.resnet_run(out_dir)[0], 130)
        status, out, _ = self.resnet_run(out_dir, "--lr", "0.02")
        self.assertEqual(status, 0)
        self.assertIn("is not this run's progress (other settings); starting again", out)
        self.assertIn("exp7_L2_K4 epoch 1:", out)
        with open(os.path.join(out_dir, "exp7_L2_K4.json"), encoding="utf-8") as f:
            result = json.load(f)
        self.assertEqual((result["config"]["lr"], len(result["epochs"])), (0.02, 3))
        self.assertNotIn("resumed_after_epochs", result)
        resume_path = os.path.join(out_dir, "exp7_L2_K4.resume.pt")
        torch.save([1, 2], resume_path)  # data, but not a run's progress
        status, out, _ = self.resnet_run(out_dir, "--lr", "0.02")
        self.assertEqual(status, 0)
        self.assertIn("is not this run's progress", out)
        self.assertFalse(os.path.exists(resume_path))

    def test_cuda_without_a_gpu_is_one_line(self):
        if torch.cuda.is_available():
            self.skipTest("a GPU is present")
        status, out, err = self.resnet_run(os.path.join(self.tmp.name, "nogpu"),
                                           "--device", "cuda")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "error: device: got 'cuda'; no CUDA device is available "
                              "(use auto or cpu)\n")

    @unittest.skipUnless(torch.cuda.is_available(), "needs a CUDA GPU")
    def test_gpu_run_matches_the_cpu_run(self):
        results = {}
        for device in ("cpu", "cuda"):
            out_dir = os.path.join(self.tmp.name, f"on_{device}")
            status, _, err = self.resnet_run(out_dir, "--device", device, "--dropout", "0")
            self.assertEqual((status, err), (0, ""))
            with open(os.path.join(out_dir, "exp7_L2_K4.json"), encoding="utf-8") as f:
                results[device] = json.load(f)
        self.assertNotEqual(results["cuda"]["device"], "cpu")
        for on_cpu, on_gpu in zip(results["cpu"]["epochs"], results["cuda"]["epochs"]):
            self.assertAlmostEqual(on_cpu["train_loss"], on_gpu["train_loss"], places=3)

    def test_copies_are_made_before_training(self):
        out_dir = os.path.join(self.tmp.name, "copies_first")
        grid = {"exp6": ("cnn", [([4], 1, 1)]),
                "exp5": ("cnn", [([8], 1, 1), ([4], 1, 1)])}  # its second run: exp6's twin
        with mock.patch.dict(experiments.GRIDS, grid):
            self.assertEqual(run_main(["run-grid", "exp6", *self.budget(out_dir)])[0], 0)
            with mock.patch.object(experiments, "train_run", side_effect=KeyboardInterrupt):
                status, out, _ = run_main(["run-grid", "exp5", *self.budget(out_dir)])
        self.assertEqual(status, 130)
        self.assertIn("exp5_L1_K4: trained exactly like exp6_L1_K4; its result copied", out)
        self.assertEqual(sorted(os.listdir(out_dir)), ["exp5_L1_K4.json", "exp6_L1_K4.json"])

    def test_unrunnable_config_is_refused_before_training(self):
        out_dir = os.path.join(self.tmp.name, "refused")
        status, out, err = run_main(["run-exp", "-n", "deep", "-K", "4", "-L", "5", "-P", "1",
                                     "-M", "resnet", *self.budget(out_dir)])
        self.assertEqual(status, 2)
        self.assertEqual(len(err.splitlines()), 1)
        self.assertIn("run deep_L5_K4: ResNet(channels=[4]*5", err)
        self.assertNotIn("epoch", out)  # the ImageFolder's own summary line only
        self.assertFalse(os.path.exists(out_dir))

    def test_grid_resumes_refuses_and_plots(self):
        out_dir = os.path.join(self.tmp.name, "grid")
        grid = {"exp9": ("resnet", [([4], 2, 2), ([4], 6, 1)]),  # 16 px: 6 pools too many
                "exp8": ("resnet", [([4], 2, 2)])}  # trained like exp9_L2_K4
        os.makedirs(out_dir)
        # an interrupted run: started again
        write_text_atomic(json.dumps({"finished": False}),
                          os.path.join(out_dir, "exp9_L2_K4.json"))
        with mock.patch.dict(experiments.GRIDS, grid):
            status, out, err = run_main(["run-grid", "exp9", "--epochs", "2",
                                         *self.budget(out_dir)])
            self.assertEqual(status, 1)
            self.assertIn("error: run exp9_L6_K4:", err)
            self.assertIn("exp9_L2_K4 epoch 2", out)
            path = os.path.join(out_dir, "exp9_L2_K4.json")
            with open(path, encoding="utf-8") as f:
                first = f.read()
            self.assertTrue(json.loads(first)["finished"])
            status, out, _ = run_main(["run-grid", "exp8", "--epochs", "2",
                                       *self.budget(out_dir)])
            self.assertEqual(status, 0)
            self.assertNotIn("epoch", out)
            with open(os.path.join(out_dir, "exp8_L2_K4.json"), encoding="utf-8") as f:
                copy = json.load(f)
            self.assertEqual((copy["same_as"], copy["config"]["run"],
                              copy["config"]["experiment"]), ("exp9_L2_K4", "exp8_L2_K4", "exp8"))
            self.assertEqual(copy["epochs"], json.loads(first)["epochs"])
            status, out, _ = run_main(["run-grid", "exp8", "--epochs", "3",
                                       *self.budget(out_dir)])
            self.assertIn("exp8_L2_K4: finished already", out)
            status, out, _ = run_main(["run-grid", "exp9", *self.budget(out_dir)])
            self.assertIn("exp9_L2_K4: finished already, skipped", out)
            self.assertNotIn("epoch", out)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), first)
        figures = os.path.join(self.tmp.name, "figures")
        status, out, _ = run_main(["plot", "--results", out_dir, "--out", figures])
        self.assertEqual(status, 0)
        with open(os.path.join(figures, "exp9.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        # ResNet [4, 4], P = 2 on 16x16: 3x3 convs 3->4 and 4->4, the 1x1 shortcut 3->4, then
        # after one pooling the classifier 4*8*8 -> 100 -> 3 (biases are not multiplies).
        macs = 9 * 3 * 4 * 256 + 9 * 4 * 4 * 256 + 3 * 4 * 256 + 256 * 100 + 100 * 3
        with open(os.path.join(figures, "summary.md"), encoding="utf-8") as f:
            rows = [line for line in f if line.startswith("| exp")]
        self.assertEqual(rows[0].split(" | ")[:5],
                         ["| exp8_L2_K4 (= exp9_L2_K4)", f"{copy['config']['parameters']:,}",
                          f"{macs / 1e6:.1f}", "2", "{:.2f}% (epoch {})".format(
                              100 * copy["best_test_acc"], copy["best_epoch"])])
        self.assertEqual(rows[1].split(" | ")[0], "| exp9_L2_K4")
        threads = torch.get_num_threads()
        self.assertEqual(rows[0].split(" | ")[-1].strip(" |\n"),
                         "1 CPU thread" if threads == 1 else f"{threads} CPU threads")
        self.assertEqual(copy["macs_per_image"], macs)
        status, _, err = run_main(["plot", "--results", figures])
        self.assertEqual(status, 2)
        self.assertIn("no run JSON files", err)


if __name__ == "__main__":
    unittest.main()
