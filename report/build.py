"""Build report/README.md and its figures from the training runs on disk.

    python -m report.build --runs runs --out report

Each finished run (see tools/runs.py) is classified from its config.yaml: the *method* from the
loss section (and the sampler), the *setting* from data.imbalance ("1" = balanced, "100" =
exponential profile at factor 100, "step 100"), and the *study* from the dataset and the
training recipe, so that numbers from different data or recipes never share a table. A run
evaluated with post-hoc logit adjustment contributes a second method, "<method> + post-hoc LA",
and one scored with the tau-normalised classifier "<method> + τ-norm". A two-stage run
(``train.init_from``: cRT, LWS, weight balancing, MiSLAS) joins the study of its stage-1 run
when that run is among the runs, since its features were learnt with that recipe; the study
section names each two-stage method's stage-2 recipe. MyModel runs get their own section. The prose lives in report/template.md; ``{{name}}``
placeholders are filled here.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from engine.files import write_text_atomic  # noqa: E402  (also runnable as python report/build.py)
from tools import collect  # noqa: E402
from tools.runs import get, list_runs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "template.md")
FIGURES = "figures"
FOCUS = "100"  # the setting shown in detail: exponential profile, factor 100
MYMODEL = "mymodel"
EXPECTED_METHODS = ["CE", "Focal", "CB softmax", "CB sigmoid focal", "LDAM-DRW",
                    "Logit adjustment", "Balanced softmax"]
EXPECTED_SETTINGS = ["1", "10", "50", "100", "200", "step 100"]
LOSS_NAMES = {"ce": "CE", "focal": "Focal", "sigmoid": "Sigmoid", "sigmoid_focal":
              "Sigmoid focal", "ldam": "LDAM", "logit_adjusted": "Logit adjustment",
              "balanced_softmax": "Balanced softmax", "las": "LAS"}
# Two-stage method -> the stage-1 method its paper starts from (named only when another is used).
STAGE1_OF = {"cRT": "CE", "LWS": "CE", "WB": "CE", "MiSLAS": "CE + mixup"}
# method -> (published test accuracy on CIFAR-10-LT, exp, factor 100, in %; source)
PUBLISHED = {
    "CE": ("70.36", "Cui et al. 2019 / Cao et al. 2019 (error 29.64%)"),
    "Focal": ("70.38", "Cui et al. 2019 / Cao et al. 2019 (error 29.62%)"),
    "CB sigmoid focal": ("74.57", "Cui et al. 2019 (best class-balanced loss)"),
    "LDAM-DRW": ("77.03", "Cao et al. 2019"),
    "Logit adjustment": ("≈ 77.4 (≈ 80 with stronger recipes)", "Menon et al. 2021"),
    "Balanced softmax": ("≈ 79–80", "later reproductions of Ren et al. 2020"),
    "MiSLAS": ("82.5", "Zhong et al. 2021 (the authors' repository)"),
}


def method_name(config):
    """A readable method name from a run's config, e.g. "LDAM-DRW", "CB softmax", "CE + mixup",
    or for a two-stage run (``train.init_from``) its stage-2 method: "cRT", "LWS", "WB",
    "MiSLAS" (see ``stage2_name``)."""
    if get(config, "train.init_from", ""):
        return stage2_name(config)
    name = _loss_and_sampler_name(config)
    if get(config, "model.classifier_scales", False):
        name += " + LWS scales"
    if get(config, "train.maxnorm", 0) > 0:
        name += " + MaxNorm"
    return name + _augmentation_name(config)


def stage2_name(config):
    """The method of a two-stage run's stage 2: "LWS" (only the scales train), "MiSLAS"
    (label-aware smoothing), "WB" (MaxNorm), "cRT" (a re-initialised classifier on frozen
    features), else "classifier re-training (<loss and sampler>)" with frozen features or
    "fine-tuning (<loss and sampler>)"."""
    freeze = get(config, "train.freeze", "none")
    if freeze == "features_and_classifier":
        return "LWS"
    if config["loss"]["name"] == "las":
        return "MiSLAS"
    if get(config, "train.maxnorm", 0) > 0:
        return "WB"
    if freeze != "none" and get(config, "train.reinit_classifier", False):
        return "cRT"
    what = "classifier re-training" if freeze != "none" else "fine-tuning"
    return f"{what} ({_loss_and_sampler_name(config)}{_augmentation_name(config)})"


def _augmentation_name(config):
    """" + mixup", " + CutMix (α=0.5)", " + Cutout", " + RandAugment (2, 9)", or ""."""
    text = ""
    mix = get(config, "data.mix", "none")
    if mix != "none":
        alpha = get(config, "data.mix_alpha", 1.0)
        text += f" + {'mixup' if mix == 'mixup' else 'CutMix'}"
        text += f" (α={alpha:g})" if alpha != 1 else ""
    if get(config, "data.cutout", 0) > 0:
        text += " + Cutout"
    if get(config, "data.randaugment_ops", 0) > 0:
        text += (f" + RandAugment ({get(config, 'data.randaugment_ops')}, "
                 f"{get(config, 'data.randaugment_magnitude', 9)})")
    return text


def _loss_and_sampler_name(config):
    loss = config["loss"]
    name = LOSS_NAMES.get(loss["name"], loss["name"])
    if loss["name"] == "focal":
        name = f"Focal (γ={loss['gamma']:g})" if loss["gamma"] != 1 else "Focal"
    if loss["reweight"] == "class_balanced":
        if loss["reweight_epoch"] > 0:
            name = f"{name}-DRW"
        elif loss["name"] == "ce":
            name = "CB softmax"
        else:
            name = f"CB {name if name[:2].isupper() else name[0].lower() + name[1:]}"
    sampler = get(config, "data.sampler", "instance")
    if sampler != "instance":
        deferred = " (deferred)" if get(config, "data.sampler_epoch", 0) > 0 else ""
        name = f"{name} + {sampler.replace('_', '-')} sampler{deferred}"
    return name


def setting_name(config):
    """"1" (balanced), "<factor>" (exponential profile) or "step <factor>"."""
    profile = get(config, "data.imbalance.profile", "none")
    factor = get(config, "data.imbalance.factor", 1)
    if profile == "none" or factor == 1:
        return "1"
    text = f"{factor:g}"
    return text if profile == "exp" else f"{profile} {text}"


def dataset_name(config):
    """Which data a run used, in words."""
    data = config["data"]
    if data["dataset"] == "cifar10":
        return "CIFAR-10 (torchvision's original, PNG-exact images)"
    if data["dataset"] == "cifar100":
        return "CIFAR-100 (torchvision's original, PNG-exact images)"
    if data["dataset"] == "imagefolder":
        root = data["root"]
        if "cifar10-jpeg" in root:
            return (f"a JPEG (quality 75) re-encoding of CIFAR-10 in ImageFolder layout "
                    f"(`{root}`)")
        return f"the ImageFolder dataset at `{root}`"
    return f"{data['dataset']} data"


def recipe_text(config):
    """The training recipe and the model-selection rule of a run, in one line."""
    train = config["train"]
    schedule = train["schedule"]
    if schedule == "step":
        schedule = (f"step schedule: {train['warmup_epochs']} warm-up epochs, lr × "
                    f"{train['lr_decay']:g} at epochs {', '.join(map(str, train['milestones']))}")
    elif schedule == "cosine":
        schedule = f"cosine schedule after {train['warmup_epochs']} warm-up epochs"
    else:
        schedule = "constant lr"
    val = get(config, "data.val_fraction", 0)
    selection = ("model selection: the last epoch (no validation split)" if not val else
                 f"model selection: the epoch with the best balanced accuracy on a "
                 f"{val:.0%} stratified validation split")
    model = config["model"]["name"]
    if model == MYMODEL:
        model = f"{model} (width {get(config, 'model.width', 64)})"
    return (f"{model}, {train['epochs']} epochs, batch {train['batch_size']}, "
            f"SGD lr {train['lr']:g} (momentum {train['momentum']:g}, weight decay "
            f"{train['weight_decay']:g}), {schedule}; {selection}")


def load_records(runs_root):
    """Finished runs as records; also the names of the unfinished ones.

    Returns:
        (records, unfinished): records are dicts with ``run``, ``config``, ``metrics``,
        ``method``, ``setting``, ``seed``, ``study`` ((dataset, recipe) text; a two-stage
        run's is its stage-1 run's when that run is found), ``stage2`` (a two-stage run's own
        recipe text, else None), ``summary`` (the test summary; the post-hoc or tau-normalised
        one for "+ post-hoc LA" and "+ τ-norm" records, whose ``stage2`` is None).
    """
    records, unfinished = [], []
    runs = list_runs(runs_root)
    configs = {run["name"]: run["config"] for run in runs if run["finished"] and run["config"]}
    for run in runs:
        if not run["finished"] or run["config"] is None:
            unfinished.append(run["name"])
            continue
        config, metrics = run["config"], run["metrics"]
        method, study = method_name(config), (dataset_name(config), recipe_text(config))
        stage1 = configs.get(_stage1_run(config))
        if stage1 is not None:
            study = (dataset_name(stage1), recipe_text(stage1))
            if method_name(stage1) != STAGE1_OF.get(method):
                method += f" (from {method_name(stage1)})"
        base = {"run": run["name"], "config": config, "metrics": metrics,
                "method": method, "setting": setting_name(config),
                "seed": config.get("seed"), "study": study,
                "stage2": recipe_text(config) if _stage1_run(config) else None}
        records.append(dict(base, summary=metrics["test"]))
        if metrics.get("test_posthoc"):
            tau = get(config, "eval.posthoc_tau", 0)
            records.append(dict(base, method=f"{method} + post-hoc LA (τ={tau:g})",
                                summary=metrics["test_posthoc"], stage2=None))
        if metrics.get("test_tau_norm"):
            chosen = metrics.get("tau_norm") or {}
            tau = f"τ={chosen.get('tau', 0):g}" + (" on val." if chosen.get("searched") else "")
            records.append(dict(base, method=f"{method} + τ-norm ({tau})",
                                summary=metrics["test_tau_norm"], stage2=None))
    return records, unfinished


def _stage1_run(config):
    """The name of the run folder a two-stage run started from (None for one-stage runs)."""
    path = get(config, "train.init_from", "")
    return os.path.basename(os.path.dirname(os.path.normpath(path))) if path else None


def build(runs_root, out_dir):
    """Write ``out_dir``/README.md and ``out_dir``/figures/*.png from the runs in ``runs_root``.

    Returns:
        The README's path.

    Raises:
        ValueError: ``runs_root`` is no folder or holds no run, or holds no finished run while
            ``out_dir`` already has a report (which an empty one would replace).
    """
    if not os.path.isdir(runs_root):
        raise ValueError(f"--runs: {runs_root!r} is not a folder; expected the folder that "
                         "holds the run folders (e.g. runs)")
    records, unfinished = load_records(runs_root)
    path = os.path.join(out_dir, "README.md")
    if not records and not unfinished:
        raise ValueError(f"--runs: {runs_root!r} holds no run (no folder with a config.yaml); "
                         "nothing to report")
    if not records and os.path.exists(path):
        raise ValueError(f"--runs: {runs_root!r} holds no finished run; {path} is kept rather "
                         "than replaced with an empty report")
    figures_dir = os.path.join(out_dir, FIGURES)
    os.makedirs(figures_dir, exist_ok=True)
    all_studies = _group(records, "study")
    studies, models = {}, []
    # CIFAR-10 studies first: the comparison with published numbers uses the first study.
    for study, rows in sorted(all_studies.items(), key=lambda item: _is_cifar100(item[0])):
        if _compares_losses(rows):
            studies[study] = rows
        else:
            models += rows
    values = {
        "source": _source_text(runs_root, records, unfinished),
        "data_and_recipes": _recipes_text(all_studies),
        "jpeg_note": _jpeg_note(records),
        "results": "\n".join(_study_section(index, study, rows, figures_dir)
                             for index, (study, rows) in enumerate(studies.items(), 1))
                   or f"No finished runs of the methods were found under `{runs_root}`.",
        "key_numbers": _key_numbers(studies),
        "observations": _observations(studies),
        "models": _models_section(models),
    }
    with open(TEMPLATE, encoding="utf-8") as f:
        text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], f.read())
    write_text_atomic(text, path)
    return path


def _is_cifar100(study):
    return study[0].startswith("CIFAR-100")


def _compares_losses(records):
    """Whether a study's runs compare losses on imbalanced data; MyModel runs and studies
    of balanced runs only go to the models section instead."""
    return (records[0]["config"]["model"]["name"] != MYMODEL
            and any(r["setting"] != "1" for r in records))


def _group(records, field):
    groups = {}
    for record in records:
        groups.setdefault(record[field], []).append(record)
    return groups


def _rows(records):
    return [{"method": r["method"], "setting": r["setting"], **collect.metric_values(r["summary"])}
            for r in records]


def _ordered(present, expected, key=str):
    return [*[e for e in expected if e in present],
            *sorted((p for p in present if p not in expected), key=key)]


def _setting_key(setting):
    profile, _, factor = setting.rpartition(" ")
    return (profile, float(factor))


def _source_text(runs_root, records, unfinished):
    runs = len({r["run"] for r in records})
    text = (f"Generated by `python -m report.build` from {runs} finished run(s) under "
            f"`{runs_root}`.")
    if unfinished:
        text += (f" {len(unfinished)} unfinished run(s) were left out: "
                 f"{', '.join(f'`{name}`' for name in unfinished)}.")
    return text


def _recipes_text(studies):
    if not studies:
        return "No finished run was found, so no dataset or recipe can be named."
    lines = []
    for (dataset, recipe), rows in studies.items():
        devices = sorted({r["metrics"].get("device", "?") for r in rows})
        lines.append(f"- **{dataset}**; {recipe}. {len({r['run'] for r in rows})} run(s), "
                     f"trained on {', '.join(devices)}.")
    return "\n".join(lines)


def _jpeg_note(records):
    jpeg = [r for r in records if "JPEG" in r["study"][0]]
    if not jpeg:
        return ""
    text = ("The JPEG copy stores every image at quality 75: compression removes fine texture "
            "and adds block artefacts, so a network reaches lower accuracy than on the "
            "original CIFAR-10. All methods here see the same images, so they are compared on "
            "equal terms, but absolute numbers sit below the papers'.")
    balanced = [r for r in jpeg if r["method"] == "CE" and r["setting"] == "1"
                and r["config"]["model"]["name"] == "resnet32"]
    if balanced:
        stat = collect.aggregate(_rows(balanced), ["method"])[0]["accuracy"]
        text += (f" What it costs, measured: ResNet-32 with cross-entropy on the balanced JPEG "
                 f"copy reaches {collect.format_stat(stat)}% here, against the 92.49% that He "
                 f"et al. (2016) report for ResNet-32 on the original images.")
    return text


def _study_section(index, study, records, figures_dir):
    dataset, recipe = study
    prefix = f"s{index}"
    methods = _ordered({r["method"] for r in records}, EXPECTED_METHODS)
    settings = _ordered({r["setting"] for r in records}, EXPECTED_SETTINGS, key=_setting_key)
    grid = {(g["method"], g["setting"]): g["accuracy"]
            for g in collect.aggregate(_rows(records), ["method", "setting"])}
    header = ["method", *(f"{s} (n)" for s in settings)]
    lines = [f"### Study {index}: {dataset}", "", f"Recipe: {recipe}.", "",
             "Test accuracy (%) by imbalance factor (exponential profile unless marked "
             "*step*; 1 = balanced):", "",
             "| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    missing = []
    for method in methods:
        cells = []
        for setting in settings:
            stat = grid.get((method, setting))
            if stat is None or stat.n == 0:
                cells.append(collect.MISSING)
                if method in EXPECTED_METHODS and setting in EXPECTED_SETTINGS:
                    missing.append(f"{method} at {setting}")
            else:
                cells.append(f"{collect.format_stat(stat)} ({stat.n})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    absent = [m for m in EXPECTED_METHODS if m not in methods]
    absent_settings = [s for s in EXPECTED_SETTINGS if s not in settings]
    if missing or absent or absent_settings:
        lines += ["", "Not run yet (no finished run): " + "; ".join(
            [*(f"{m} (every setting)" for m in absent),
             *(f"setting {s} (every method)" for s in absent_settings), *missing]) + "."]
    two_stage = {r["method"]: r["stage2"] for r in records if r["stage2"]}
    if two_stage:
        lines += ["", "Two-stage methods start from this study's runs (the stage-1 method is "
                  "the paper's unless named) and then train with their own stage-2 recipe:", "",
                  *(f"- {method}: {recipe}." for method, recipe in sorted(two_stage.items()))]
    focus = [r for r in records if r["setting"] == FOCUS]
    lines += ["", *_focus_section(focus, methods, prefix, figures_dir)]
    lines += ["", *_class_count_section(records, settings, prefix, figures_dir)]
    return "\n".join(lines) + "\n"


def _focus_section(records, methods, prefix, figures_dir):
    if not records:
        return [f"No finished run at factor {FOCUS}, so the per-group table and the figures "
                "for it are left out."]
    methods = [m for m in methods if any(r["method"] == m for r in records)]
    groups = collect.aggregate(_rows(records), ["method"], [(m,) for m in methods])
    classes = records[0]["metrics"]["classes"]
    counts = records[0]["metrics"]["cls_num_list"]
    lines = [f"#### Factor {FOCUS} in detail", "",
             "All metrics in %, mean ± std over seeds; many/medium/few by training images "
             "(> 100, 20–100, < 20), head/middle/tail by thirds of the classes sorted by size:",
             "", collect.markdown_table(groups, ["method"]).rstrip()]
    per_class = f"{prefix}-per-class-{FOCUS}.png"
    _plot_per_class(records, methods, classes, counts, os.path.join(figures_dir, per_class))
    curves = f"{prefix}-learning-curves-{FOCUS}.png"
    _plot_learning_curves(records, methods, os.path.join(figures_dir, curves))
    lines += ["", "Per-class test accuracy, classes ordered by training images "
                  "(count under each name):", "", f"![per-class accuracy]({FIGURES}/{per_class})",
              "", "Learning curves of the lowest seed of each method (training loss; "
                  "validation balanced accuracy where the run had a validation split, "
                  "else training accuracy):", "",
              f"![learning curves]({FIGURES}/{curves})", "",
              "Test confusion matrices, summed over seeds (rows: true class; colour: fraction "
              "of the row):", ""]
    for method in methods:
        name = f"{prefix}-confusion-{FOCUS}-{_slug(method)}.png"
        _plot_confusion([r for r in records if r["method"] == method], classes,
                        os.path.join(figures_dir, name))
        lines.append(f"![{method}]({FIGURES}/{name}) ")
    return lines


def _class_count_section(records, settings, prefix, figures_dir):
    profiles = {}
    for record in records:
        profiles.setdefault(record["setting"], record["metrics"]["cls_num_list"])
    name = f"{prefix}-class-counts.png"
    _plot_class_counts([(s, profiles[s]) for s in settings], records[0]["metrics"]["classes"],
                       os.path.join(figures_dir, name))
    return ["Training images per class in each setting (log scale):", "",
            f"![class counts]({FIGURES}/{name})"]


def _key_numbers(studies):
    if not studies:
        return "No runs yet: nothing to compare."
    study, records = next(iter(studies.items()))
    focus = [r for r in records if r["setting"] == FOCUS]
    methods = _ordered({r["method"] for r in focus} | set(EXPECTED_METHODS), EXPECTED_METHODS)
    stats = {g["method"]: g["accuracy"]
             for g in collect.aggregate(_rows(focus), ["method"], [(m,) for m in methods])}
    lines = [f"CIFAR-10-LT, exponential profile, factor {FOCUS}, test accuracy in %. "
             f"Ours: {study[0]}; {study[1]}.", "",
             "| method | ours (n) | published | source |", "| --- | --- | --- | --- |"]
    for method in methods:
        stat = stats[method]
        ours = f"{collect.format_stat(stat)} ({stat.n})" if stat.n else collect.MISSING
        published, source = PUBLISHED.get(method, (collect.MISSING, ""))
        lines.append(f"| {method} | {ours} | {published} | {source} |")
    return "\n".join(lines)


def _observations(studies):
    if not studies:
        return ""
    records = next(iter(studies.values()))
    focus = [r for r in records if r["setting"] == FOCUS]
    groups = {g["method"]: g for g in collect.aggregate(_rows(focus), ["method"])}
    if not groups:
        return ""
    ranked = sorted(groups, key=lambda m: (-groups[m]["accuracy"].mean,
                                           -groups[m]["accuracy"].n, m))
    best = ranked[0]
    ties = [m for m in ranked[1:] if _within_noise(groups[best]["accuracy"],
                                                   groups[m]["accuracy"])]
    named = ", ".join(f"{m} ({collect.format_stat(groups[m]['accuracy'])}%)"
                      for m in [best, *ties])
    claim = (f"the best methods here are {named}, within one standard deviation of each other"
             if ties else f"the best method here is {named}")
    text = [f"**What the runs show.** At factor {FOCUS} {claim}."]
    baseline = groups.get("CE")
    if baseline is not None and best != "CE":
        gain = 100 * (groups[best]["accuracy"].mean - baseline["accuracy"].mean)
        text.append(f"{best} beats plain cross-entropy by {gain:.2f} points.")
        tail, base_tail = groups[best]["tail"], baseline["tail"]
        head, base_head = groups[best]["head"], baseline["head"]
        if tail.n and base_tail.n and head.n and base_head.n:
            text.append(f"The gain comes from the tail classes (tail third "
                        f"{collect.format_stat(base_tail)}% → {collect.format_stat(tail)}%) "
                        f"while the head third moves from {collect.format_stat(base_head)}% "
                        f"to {collect.format_stat(head)}%.")
    if baseline is not None:
        behind = [m for m in ranked if m != "CE"
                  and groups[m]["accuracy"].mean <= baseline["accuracy"].mean]
        if behind:
            text.append("Did not beat plain cross-entropy "
                        f"({collect.format_stat(baseline['accuracy'])}%) in this recipe: "
                        + ", ".join(f"{m} ({collect.format_stat(groups[m]['accuracy'])}%)"
                                    for m in behind) + ".")
    same = _identical_seeds(focus, "Balanced softmax", "Logit adjustment")
    if same:
        text.append(f"Balanced softmax and logit adjustment gave the same test confusion matrix "
                    f"at seed {', '.join(map(str, same))}, as the equivalence predicts.")
    return " ".join(text)


def _within_noise(best, other):
    """Whether ``other``'s mean is within the larger of the two seed standard deviations of
    ``best``'s (a single run has no deviation and counts as 0)."""
    return best.mean - other.mean <= max(best.std or 0.0, other.std or 0.0)


def _identical_seeds(records, method, other):
    """The seeds at which runs of ``method`` and ``other`` have equal test confusion matrices
    (empty if they differ at any seed both were run with)."""
    confusion = {}
    for r in records:
        if r["method"] in (method, other):
            confusion.setdefault(r["seed"], {})[r["method"]] = r["summary"]["confusion"]
    pairs = {seed: pair for seed, pair in confusion.items() if len(pair) == 2}
    if not pairs or any(pair[method] != pair[other] for pair in pairs.values()):
        return []
    return sorted(pairs)


def _models_section(records):
    """The MyModel design and a table of the runs that compare models rather than losses."""
    design = ("MyModel is a ResNet-9 in the style of the fast CIFAR-10 training entries "
              "(models/my_model.py): a 3×3 convolution stem, three stages that double the "
              "width and halve the resolution with max-pooling, residual blocks after the "
              "first and third stage, global max-pooling and a scaled linear classifier. Few, "
              "wide layers keep a GPU busy, so it trains to high accuracy in a few epochs "
              "with a large batch, Nesterov momentum and a short cosine schedule.")
    if not any(r["config"]["model"]["name"] == MYMODEL for r in records):
        design += "\n\nNo finished MyModel run was found, so its accuracy is not shown."
    if not records:
        return design
    lines = [design, "", "Runs that compare models rather than losses (the recipe names the "
             "model):", "", "| recipe | data | setting | n | accuracy | balanced acc. |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (dataset, recipe), rows in _group(records, "study").items():
        for group in collect.aggregate(_rows(rows), ["setting"]):
            lines.append(f"| {recipe} | {dataset} | {group['setting']} | {group['n']} | "
                         f"{collect.format_stat(group['accuracy'])} | "
                         f"{collect.format_stat(group['balanced_accuracy'])} |")
    return "\n".join(lines)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _plot_per_class(records, methods, classes, counts, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    order = sorted(range(len(classes)), key=lambda c: (-counts[c], c))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(classes) * max(1, len(methods) / 3)), 4))
    for i, method in enumerate(methods):
        runs = [r["summary"]["per_class"] for r in records if r["method"] == method]
        means = [100 * sum(run[c] for run in runs) / len(runs) for c in order]
        ax.bar([x + (i - (len(methods) - 1) / 2) * width for x in range(len(order))], means,
               width, label=method)
    ax.set_xticks(range(len(order)), [f"{classes[c]}\n{counts[c]}" for c in order])
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)


def _plot_learning_curves(records, methods, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for method in methods:
        run = min((r for r in records if r["method"] == method),
                  key=lambda r: (r["seed"] is None, r["seed"] or 0))
        history = run["metrics"]["history"]
        epochs = [h["epoch"] for h in history]
        loss_ax.plot(epochs, [h["train_loss"] for h in history], label=method)
        has_val = all(h.get("val_balanced_accuracy") is not None for h in history)
        accuracy = [100 * (h["val_balanced_accuracy"] if has_val else h["train_accuracy"])
                    for h in history]
        acc_ax.plot(epochs, accuracy, label=f"{method} ({'val bal.' if has_val else 'train'})")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy (%)")
    acc_ax.legend(fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)


def _plot_confusion(records, classes, path):
    import torch
    from engine.metrics import save_confusion_png
    total = sum(torch.tensor(r["summary"]["confusion"]) for r in records)
    save_confusion_png(total, classes, path)


def _plot_class_counts(profiles, classes, path):
    from engine.metrics import savefig_atomic
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(profiles), figsize=(2.6 * len(profiles) + 1, 3),
                             squeeze=False, sharey=True)
    for ax, (setting, counts) in zip(axes[0], profiles):
        ax.bar(range(len(counts)), counts)
        ax.set_yscale("log")
        ax.set_title(f"factor {setting}", fontsize=9)
        ax.set_xticks(range(len(counts)), classes, rotation=90, fontsize=7)
    axes[0][0].set_ylabel("training images")
    fig.tight_layout()
    savefig_atomic(fig, path)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m report.build",
        description="Build the report (README.md and figures/*.png) from the finished "
                    "training runs: results tables with mean ± std over seeds, per-class "
                    "accuracy, learning curves, confusion matrices and class counts.",
        epilog="Prose comes from report/template.md. Unfinished runs are left out and named.")
    parser.add_argument("--runs", default="runs", help="folder of run folders (default: runs)")
    parser.add_argument("--out", default="report", help="where README.md and figures/ go "
                                                        "(default: report)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        path = build(args.runs, args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
