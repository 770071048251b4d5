"""The report built from small fake runs: table numbers, missing cells, notes and figures."""
import contextlib
import io
import json
import os
import tempfile
import unittest

import torch
import yaml

from engine.config import LOSS_NAMES
from engine.metrics import summarize
from report import build, labels, records

CLASSES = ["plane", "car", "bird", "cat"]
COUNTS = [500, 200, 50, 30]  # no class below 20 images: the few-shot group is empty


def config(loss, factor=100, seed=0, model="resnet32", val_fraction=0.0, posthoc_tau=0.0):
    """The config.yaml of a run, with the keys the report reads."""
    return {
        "seed": seed, "model": {"name": model, "normed_classifier": False},
        "data": {"dataset": "imagefolder", "root": "data/cifar10-jpeg",
                 "imbalance": {"profile": "exp", "factor": float(factor)},
                 "val_fraction": val_fraction, "sampler": "instance", "sampler_epoch": 0},
        "loss": {"name": "ce", "gamma": 0.0, "reweight": "none", "reweight_epoch": 0, **loss},
        "train": {"epochs": 200, "batch_size": 128, "lr": 0.1, "momentum": 0.9,
                  "weight_decay": 2e-4, "schedule": "step", "warmup_epochs": 5,
                  "milestones": [160, 180], "lr_decay": 0.01},
        "eval": {"posthoc_tau": posthoc_tau},
    }


def write_run(root, name, cfg, hits, posthoc_hits=None):
    """A finished run whose 4 x 10 test images have ``hits[c]`` correct in class c (the
    misses go to the next class)."""
    folder = os.path.join(root, name)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f)

    def test_summary(correct):
        confusion = torch.zeros(4, 4, dtype=torch.int64)
        for c, k in enumerate(correct):
            confusion[c, c] = k
            confusion[c, (c + 1) % 4] = 10 - k
        return summarize(confusion, COUNTS)

    history = [{"epoch": e, "lr": 0.1, "train_loss": 2.0 / e, "train_accuracy": 0.2 * e,
                "val_accuracy": None, "val_balanced_accuracy": None} for e in (1, 2, 3)]
    metrics = {"run": name, "finished": True, "dataset": "imagefolder", "classes": CLASSES,
               "cls_num_list": COUNTS, "best_epoch": 3, "best_val_balanced_accuracy": None,
               "epochs": 3, "wall_time_s": 1.0, "device": "cuda:0", "test": test_summary(hits),
               "test_posthoc": test_summary(posthoc_hits) if posthoc_hits else None,
               "history": history}
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump(metrics, f)


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        runs = os.path.join(cls.tmp.name, "runs")
        ldam = {"name": "ldam", "reweight": "class_balanced", "reweight_epoch": 160}
        # CE at factor 100: accuracies 24/40 and 28/40; seed 0 also post-hoc adjusted.
        write_run(runs, "ce-100-s0", config({}, posthoc_tau=1.0), [10, 9, 5, 0],
                  posthoc_hits=[9, 9, 8, 6])
        write_run(runs, "ce-100-s1", config({}, seed=1), [10, 9, 6, 3])
        write_run(runs, "ce-10-s0", config({}, factor=10), [10, 10, 9, 7])
        write_run(runs, "ldam-100-s0", config(ldam), [9, 9, 7, 7])
        write_run(runs, "mine", config({}, factor=1, model="mymodel", val_fraction=0.1),
                  [10, 10, 10, 6])
        os.makedirs(os.path.join(runs, "unfinished"))
        with open(os.path.join(runs, "unfinished", "config.yaml"), "w") as f:
            yaml.safe_dump(config({}), f)
        cls.out = os.path.join(cls.tmp.name, "report")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            cls.status = build.main(["--runs", runs, "--out", cls.out])
        cls.printed = printed.getvalue()
        with open(os.path.join(cls.out, "README.md"), encoding="utf-8") as f:
            cls.readme = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_command_line(self):
        self.assertEqual(self.status, 0)
        self.assertEqual(self.printed, f"wrote {os.path.join(self.out, 'README.md')}\n")

    def test_results_table_numbers(self):
        # CE at 100: mean of 0.60 and 0.70, sample std 0.0707; one run elsewhere.
        self.assertIn("| CE | 90.00 (1) | 65.00 ± 7.07 (2) |", self.readme)
        self.assertIn("| LDAM-DRW | — | 80.00 (1) |", self.readme)
        self.assertIn("| CE + post-hoc LA (τ=1) | — | 80.00 (1) |", self.readme)

    def test_missing_runs_are_named(self):
        self.assertIn("Focal (every setting)", self.readme)
        self.assertIn("LDAM-DRW at 10", self.readme)
        self.assertIn("setting 200 (every method)", self.readme)
        self.assertIn("1 unfinished run(s) were left out: `unfinished`", self.readme)

    def test_factor_100_detail_with_an_empty_few_shot_group(self):
        # LDAM-DRW: recalls .9 .9 .7 .7; many = classes 0, 1 (> 100); medium = 2, 3; no few.
        # Thirds of 4 classes: head [0], middle [1, 2], tail [3]. Misses go to the next class, so
        # F1 = 2TP / (2TP + FN + FP) = 18/22, 18/20, 14/18, 14/20: macro-F1 79.90.
        self.assertIn("| LDAM-DRW | 1 | 80.00 | 80.00 | 79.90 | 90.00 | 70.00 | — | 90.00 | "
                      "80.00 | 70.00 |", self.readme)

    def test_published_comparison(self):
        self.assertIn("| CE | 65.00 ± 7.07 (2) | 70.36 |", self.readme)
        self.assertIn("| Balanced softmax | — |", self.readme)

    def test_dataset_and_recipe_are_named(self):
        self.assertIn("a JPEG (quality 75) re-encoding of CIFAR-10 in ImageFolder layout "
                      "(`data/cifar10-jpeg`)", self.readme)
        self.assertIn("200 epochs", self.readme)
        self.assertIn("lr × 0.01 at epochs 160, 180", self.readme)
        self.assertIn("model selection: the last epoch (no validation split)", self.readme)
        self.assertIn("best balanced accuracy on a 10% stratified validation split", self.readme)

    def test_models_section(self):
        models = self.readme.split("## Models", 1)[1]
        self.assertIn("| 1 | 1 | 90.00 | 90.00 |", models)
        self.assertNotIn("No finished MyModel run", models)
        self.assertNotIn("mymodel", self.readme.split("## Models", 1)[0].split(
            "## Results", 1)[1])

    def test_no_placeholder_left(self):
        self.assertNotIn("{{", self.readme)

    def test_figures_exist_and_are_linked(self):
        figures = os.path.join(self.out, "figures")
        expected = ["s1-per-class-100.png", "s1-learning-curves-100.png",
                    "s1-confusion-100-ce.png", "s1-confusion-100-ldam-drw.png",
                    "s1-class-counts.png"]
        for name in expected:
            with self.subTest(name=name):
                with open(os.path.join(figures, name), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
                self.assertIn(f"(figures/{name})", self.readme)


class JpegCostTest(unittest.TestCase):
    def test_balanced_ce_run_measures_the_jpeg_cost(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_run(os.path.join(tmp, "runs"), "ce-1", config({}, factor=1), [10, 9, 9, 8])
            path = build.build(os.path.join(tmp, "runs"), tmp)
            with open(path, encoding="utf-8") as f:
                readme = f.read()
        self.assertIn("balanced JPEG copy reaches 90.00% here", readme)
        results, models = readme.split("## Results", 1)[1].split("## Models", 1)
        self.assertIn("No finished runs of the methods were found", results,
                      "balanced runs alone compare models, not losses")
        self.assertIn("| 1 | 1 | 90.00 | 90.00 |", models)
        self.assertIn("No finished MyModel run", models)


class EquivalenceTest(unittest.TestCase):
    readmes = {}  # balanced softmax hits: the report's README.md, built once for every test

    def readme(self, balanced_softmax_hits):
        key = tuple(balanced_softmax_hits)
        if key not in self.readmes:
            self.readmes[key] = self.build_readme(balanced_softmax_hits)
        return self.readmes[key]

    @staticmethod
    def build_readme(balanced_softmax_hits):
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "runs")
            write_run(runs, "ce", config({}), [10, 9, 5, 0])
            write_run(runs, "la", config({"name": "logit_adjusted"}), [9, 8, 7, 6])
            write_run(runs, "bs", config({"name": "balanced_softmax"}), balanced_softmax_hits)
            with open(build.build(runs, tmp), encoding="utf-8") as f:
                return f.read()

    def test_identical_balanced_softmax_and_logit_adjustment_runs_are_pointed_out(self):
        self.assertIn("Balanced softmax and logit adjustment gave the same test confusion "
                      "matrix at seed 0", self.readme([9, 8, 7, 6]))

    def test_methods_within_seed_noise_are_named_together(self):
        self.assertIn("the best methods here are Balanced softmax (75.00%), Logit adjustment "
                      "(75.00%), within one standard deviation", self.readme([9, 8, 7, 6]))
        self.assertIn("the best method here is Logit adjustment (75.00%).",
                      self.readme([9, 8, 6, 5]))

    def test_methods_that_do_not_beat_cross_entropy_are_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "runs")
            write_run(runs, "ce", config({}), [10, 9, 5, 0])
            write_run(runs, "la", config({"name": "logit_adjusted"}), [9, 8, 7, 6])
            write_run(runs, "focal", config({"name": "focal", "gamma": 1.0}), [10, 8, 4, 0])
            with open(build.build(runs, tmp), encoding="utf-8") as f:
                readme = f.read()
        self.assertIn("Did not beat plain cross-entropy (60.00%) in this recipe: "
                      "Focal (55.00%).", readme)
        self.assertNotIn("Logit adjustment (75.00%).", readme.split("Did not beat")[1])

    def test_different_runs_are_not_called_identical(self):
        self.assertNotIn("gave the same test confusion", self.readme([9, 8, 6, 7]))


class EmptyReportTest(unittest.TestCase):
    def test_only_unfinished_runs_give_a_report_that_says_so(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "runs")
            os.makedirs(os.path.join(runs, "stopped"))
            with open(os.path.join(runs, "stopped", "config.yaml"), "w") as f:
                yaml.safe_dump(config({}), f)
            path = build.build(runs, os.path.join(tmp, "report"))
            with open(path, encoding="utf-8") as f:
                readme = f.read()
        self.assertIn("No finished runs of the methods were found", readme)
        self.assertIn("stopped", readme)
        self.assertIn("No finished MyModel run", readme)
        self.assertNotIn("{{", readme)


class RefusedRunsFolderTest(unittest.TestCase):
    """A misspelt or empty --runs folder stops with one line and leaves the report alone."""

    def main(self, *argv):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = build.main(list(argv))
        return code, stderr.getvalue()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.out = os.path.join(self.tmp.name, "report")
        os.makedirs(self.out)
        self.readme = os.path.join(self.out, "README.md")
        with open(self.readme, "w") as f:
            f.write("the committed report\n")

    def assert_report_kept(self):
        with open(self.readme) as f:
            self.assertEqual(f.read(), "the committed report\n")
        self.assertEqual(os.listdir(self.out), ["README.md"])

    def test_missing_folder(self):
        code, err = self.main("--runs", os.path.join(self.tmp.name, "rusn"), "--out", self.out)
        self.assertEqual(code, 2)
        self.assertRegex(err, r"^error: --runs: '.*rusn' is not a folder; [^\n]*\n$")
        self.assert_report_kept()

    def test_folder_without_runs(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(os.path.join(empty, "not-a-run"))
        code, err = self.main("--runs", empty, "--out", self.out)
        self.assertEqual(code, 2)
        self.assertIn("holds no run", err)
        self.assertEqual(err.count("\n"), 1)
        self.assert_report_kept()

    def test_an_out_that_is_a_file_is_refused_before_anything(self):
        runs = os.path.join(self.tmp.name, "runs")
        write_run(runs, "ce", config({}), [10, 9, 5, 0])
        code, err = self.main("--runs", runs, "--out", self.readme)
        self.assertEqual(code, 2)
        self.assertEqual(err, f"error: --out: {self.readme!r} is a file; expected a folder\n")
        self.assert_report_kept()

    def test_no_finished_run_keeps_an_existing_report(self):
        runs = os.path.join(self.tmp.name, "runs")
        os.makedirs(os.path.join(runs, "stopped"))
        with open(os.path.join(runs, "stopped", "config.yaml"), "w") as f:
            yaml.safe_dump(config({}), f)
        code, err = self.main("--runs", runs, "--out", self.out)
        self.assertEqual(code, 2)
        self.assertIn("holds no finished run", err)
        self.assert_report_kept()


def stage2(cfg, stage1, **train):
    """``cfg`` as a stage-2 run that starts from the run folder ``stage1`` with 10 epochs of
    cosine schedule; ``train`` adds train keys."""
    out = json.loads(json.dumps(cfg))
    out["train"].update({"init_from": f"runs/{stage1}/best.pt", "freeze": "features",
                         "epochs": 10, "lr": 0.05, "schedule": "cosine", "warmup_epochs": 0,
                         **train})
    return out


class NewMethodsReportTest(unittest.TestCase):
    """Two-stage methods join their stage-1 run's study; tau-norm is an extra scored method;
    mixing, augmentation and CIFAR-100 are named."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        runs = os.path.join(cls.tmp.name, "runs")
        ce = config({})
        write_run(runs, "ce", ce, [10, 9, 5, 0])
        with open(os.path.join(runs, "ce", "metrics.json")) as f:
            metrics = json.load(f)
        metrics["test_tau_norm"] = metrics["test"]
        metrics["tau_norm"] = {"tau": 1.0, "searched": False, "val_balanced_accuracy": None}
        with open(os.path.join(runs, "ce", "metrics.json"), "w") as f:
            json.dump(metrics, f)
        crt = stage2(ce, "ce", reinit_classifier=True)
        crt["data"]["sampler"] = "class_balanced"
        write_run(runs, "crt", crt, [9, 9, 8, 7])
        lws = stage2(ce, "ce", freeze="features_and_classifier")
        lws["model"]["classifier_scales"] = True
        write_run(runs, "lws", lws, [9, 9, 7, 7])
        mixup = json.loads(json.dumps(ce))
        mixup["data"].update({"mix": "mixup", "mix_alpha": 1.0})
        write_run(runs, "mixup", mixup, [10, 9, 6, 1])
        mislas = stage2(mixup, "mixup", bn_stats="update")
        mislas["data"]["mix"] = "none"
        mislas["loss"]["name"] = "las"
        write_run(runs, "mislas", mislas, [9, 9, 9, 8])
        wb1 = config({})
        wb1["train"].update({"lr": 0.01, "weight_decay": 5e-3, "schedule": "cosine",
                             "warmup_epochs": 0})
        write_run(runs, "wb1", wb1, [10, 9, 6, 2])
        write_run(runs, "wb2", stage2(wb1, "wb1", maxnorm=0.1, weight_decay=0.1), [9, 8, 8, 8])
        c100 = config({})
        c100["data"]["dataset"] = "cifar100"
        write_run(runs, "c100", c100, [10, 8, 4, 1])
        cls.out = os.path.join(cls.tmp.name, "report")
        with contextlib.redirect_stdout(io.StringIO()):
            build.main(["--runs", runs, "--out", cls.out])
        with open(os.path.join(cls.out, "README.md"), encoding="utf-8") as f:
            cls.readme = f.read()
        cls.records = {r["method"] if r["run"] != "wb1" else "WB stage 1": r
                       for r in records.load_records(runs)[0]}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_two_stage_runs_join_their_stage_one_study(self):
        ce_study = self.records["CE"]["study"]
        for method in ("cRT", "LWS", "MiSLAS", "CE + mixup", "CE + τ-norm (τ=1)"):
            self.assertEqual(self.records[method]["study"], ce_study, method)
        self.assertEqual(self.records["WB"]["study"], self.records["WB stage 1"]["study"])
        self.assertNotEqual(self.records["WB"]["study"], ce_study)
        self.assertIn("weight decay 0.005", self.records["WB"]["study"][1])

    def test_rows_and_stage_two_recipes_in_the_report(self):
        self.assertIn("| cRT | 82.50 (1) |", self.readme)
        self.assertIn("| MiSLAS | 87.50 (1) |", self.readme)
        self.assertIn("| CE + τ-norm (τ=1) | 60.00 (1) |", self.readme)
        self.assertIn("- cRT: resnet32, 10 epochs, batch 128, SGD lr 0.05", self.readme)
        self.assertIn("| MiSLAS | 87.50 (1) | 82.5 | Zhong et al. 2021", self.readme)
        self.assertIn("### Study 3: CIFAR-100", self.readme)

    def test_method_names(self):
        ce = config({})
        drw = config({"reweight": "class_balanced", "reweight_epoch": 160})
        drw["data"].update({"mix": "mixup", "mix_alpha": 1.0})
        self.assertEqual(labels.method_name(drw), "CE-DRW + mixup")
        cutmix = json.loads(json.dumps(ce))
        cutmix["data"].update({"mix": "cutmix", "mix_alpha": 0.5, "cutout": 8,
                               "randaugment_ops": 2, "randaugment_magnitude": 9})
        self.assertEqual(labels.method_name(cutmix),
                         "CE + CutMix (α=0.5) + Cutout + RandAugment (2, 9)")
        self.assertEqual(labels.method_name(config({"name": "las"})), "LAS")
        self.assertEqual(labels.method_name(stage2(ce, "x")), "classifier re-training (CE)")
        self.assertEqual(labels.method_name(stage2(ce, "x", freeze="none")), "fine-tuning (CE)")
        maxnorm = json.loads(json.dumps(ce))
        maxnorm["train"]["maxnorm"] = 1.0
        self.assertEqual(labels.method_name(maxnorm), "CE + MaxNorm")

    def test_every_loss_of_the_schema_has_its_own_label(self):
        names = [labels.method_name(config({"name": name, "gamma": 1.0})) for name in LOSS_NAMES]
        self.assertEqual(len(set(names)), len(LOSS_NAMES))
        self.assertEqual(names[:3], ["CE", "Focal", "Sigmoid"])
        self.assertEqual(labels.loss_label("logit_adjusted"), "Logit adjustment")
        self.assertEqual(labels.loss_label("balanced_softmax"), "Balanced softmax")
        self.assertEqual(labels.loss_label("ldam"), "LDAM")

    def test_a_stage_two_run_from_another_stage_one_method_says_so(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "runs")
            focal = config({"name": "focal", "gamma": 1.0})
            write_run(runs, "focal", focal, [10, 9, 5, 0])
            write_run(runs, "crt", stage2(focal, "focal", reinit_classifier=True), [9, 9, 8, 7])
            methods = {r["method"] for r in records.load_records(runs)[0]}
        self.assertEqual(methods, {"Focal", "cRT (from Focal)"})


if __name__ == "__main__":
    unittest.main()
