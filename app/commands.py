"""What ``main.py`` does: dry runs, training runs (new or resumed) and checkpoint evaluation."""
import os
import time

import torch

import data
import losses
from engine import builders
from engine import checkpoint as ckpt
from engine import distributed
from engine.config import BLOCK_MODEL_NAMES, format_config
from engine.evaluate import collect_logits
from engine.metrics import (confusion_matrix, format_confusion, format_summary,
                            save_confusion_png, summarize)
from engine.trainer import Trainer, autocast_for
from fileio import remove_temporaries, write_json_atomic

from app import export, stage2, tau_norm
from app.run_folder import count_parameters, load_resume_state, new_run_dir
from app.settings import training_settings

# Evaluation batches hold at least this many images: without activations kept for the
# backward pass they cost little memory, and fewer, larger batches run faster.
EVAL_BATCH_SIZE = 500


def dry_run(cfg):
    """Print the resolved config, the training set's class counts and the model's size; a
    model built from the block keys (cnn, resnetbuilder) is printed layer by layer too, with
    the shape of its feature maps."""
    bundle = data.build_data(cfg.data, cfg.seed)
    model = _build_model(cfg, bundle)
    print(format_config(cfg))
    print(_describe_data(bundle))
    if cfg.model.name in BLOCK_MODEL_NAMES:
        print(model)
        print("feature maps before the classifier: "
              + " x ".join(map(str, model.feature_shape)) + " (C x H x W)")
    print(f"model {cfg.model.name}: {count_parameters(model):,} parameters")


def evaluate_checkpoint(cfg, path):
    """Evaluate a saved checkpoint on the test set and print the metrics.

    ``path`` is a Longtail record (``best.pt``, ``last.pt``) or a plain state dict (an
    exported ``checkpoints/<name>.pth``, whose model is the config's); its class list (the
    record's, or the exported ``.json``'s beside it) must be the data's.
    """
    context = distributed.Context(0, 1, distributed.choose_device(cfg.device))
    state = ckpt.load_weights(path)
    bundle = data.build_data(cfg.data, cfg.seed)
    model = _build_model(cfg, bundle)
    ckpt.check_compatible(state, path, cfg.model.name, bundle.num_classes, model)
    classes = state["classes"] if state["model_name"] is not None \
        else export.classes_beside(path)
    ckpt.check_classes(classes, path, bundle.classes)
    model.load_state_dict(state["model"])
    model.to(context.device)
    results = _test(cfg, bundle, model, context)
    print(format_summary(results["test"], bundle.classes, bundle.cls_num_list))
    print(format_confusion(torch.tensor(results["test"]["confusion"]), bundle.classes))
    _print_extras(cfg, bundle, results)


def train(cfg, resume_dir=None, export_best=True):
    """Train a model as ``cfg`` says, or continue the run in ``resume_dir``; write its results.

    With ``export_best`` the best weights are also exported to ``run.checkpoint_dir``
    (``app.export``); without, that folder is left alone.

    Returns:
        The path of the run's folder.
    """
    state = None
    if resume_dir is not None:
        cfg, state = load_resume_state(resume_dir, cfg)
    context = distributed.setup(cfg.device)
    try:
        return _train(cfg, state, resume_dir, context, export_best)
    finally:
        distributed.teardown(context)


def _train(cfg, state, resume_dir, context, export_best):
    bundle = data.build_data(cfg.data, cfg.seed)
    _check_batch_size(cfg, bundle, context)
    if state is not None:
        ckpt.check_classes(state["classes"], os.path.join(resume_dir, "last.pt"),
                           bundle.classes)
    if export_best and context.is_main:
        export.check_checkpoint_dir(cfg.run.checkpoint_dir)
    torch.manual_seed(cfg.seed)
    two_stage = bool(cfg.train.init_from)
    model = _build_model(cfg, bundle, classifier_scales=not two_stage)
    init_from = stage2.start_from(cfg, bundle, model) if two_stage else None
    if state is None and not two_stage and hasattr(model, "init_from_data"):
        model.init_from_data(data.training_sample(bundle.train, bundle.mean, bundle.std,
                                                  cfg.seed))   # MyModel's PCA stem
    if state is not None:
        ckpt.check_compatible(state, os.path.join(resume_dir, "last.pt"), cfg.model.name,
                              bundle.num_classes, model)
    run_dir = resume_dir or new_run_dir(cfg, model, context)
    if context.is_main:
        _clean_leftovers([run_dir] + ([cfg.run.checkpoint_dir] if export_best else []))
    model.to(context.device)
    if context.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if context.distributed and context.device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    eval_modules = stage2.freeze(model, cfg.train)
    post_step = stage2.maxnorm_step(model, cfg.train)
    criterion = builders.build_loss(cfg.loss, bundle.cls_num_list).to(context.device)
    train_loader = _loader(cfg, bundle, bundle.train, context, train=True)
    val_loader = _loader(cfg, bundle, bundle.val, context, train=False) if bundle.val else None
    writer = None
    if context.is_main:
        from torch.utils.tensorboard import SummaryWriter
        start_epoch = state["position"][0] if state is not None else 0
        writer = SummaryWriter(run_dir, purge_step=start_epoch + 1)
        print(f"run {run_dir}  device {context.device}  world size {context.world_size}  "
              f"model {cfg.model.name} ({count_parameters(model):,} parameters)  "
              f"loss {cfg.loss.name}  train/val/test "
              f"{len(bundle.train)}/{len(bundle.val) if bundle.val else 0}/{len(bundle.test)}",
              flush=True)
        if init_from is not None:
            print(stage2.describe(init_from), flush=True)
    trainer = Trainer(training_settings(cfg, bundle), model, criterion, train_loader,
                      val_loader, context=context, run_dir=run_dir, writer=writer,
                      eval_modules=eval_modules, post_step=post_step)
    if state is not None:
        trainer.restore(state)
    try:
        trainer.fit()
        if context.is_main:
            _finish(cfg, bundle, trainer, context, run_dir, init_from, export_best)
    finally:
        if writer is not None:
            writer.close()
    return run_dir


def _clean_leftovers(folders):
    """Remove the temporary files that a crashed writer left in ``folders``; say so."""
    for folder in folders:
        removed = remove_temporaries(folder)
        if removed:
            print(f"removed {len(removed)} temporary file(s) left by an interrupted write in "
                  f"{folder}: {', '.join(removed)}", flush=True)


def _finish(cfg, bundle, trainer, context, run_dir, init_from, export_best):
    """Test the best weights once, print and save every result of the run."""
    started = time.perf_counter()
    results = _test(cfg, bundle, trainer.model, context)
    summary = results["test"]
    print(f"\ntest set, best weights (epoch {trainer.best['epoch']}):")
    print(format_summary(summary, bundle.classes, bundle.cls_num_list))
    print(format_confusion(torch.tensor(summary["confusion"]), bundle.classes))
    _print_extras(cfg, bundle, results)
    save_confusion_png(torch.tensor(summary["confusion"]), bundle.classes,
                       os.path.join(run_dir, "confusion.png"))
    metrics = {
        "run": os.path.basename(os.path.normpath(run_dir)),
        "finished": True,
        "dataset": cfg.data.dataset,
        "classes": list(bundle.classes),
        "cls_num_list": list(bundle.cls_num_list),
        "best_epoch": trainer.best["epoch"],
        "best_val_balanced_accuracy": trainer.best["metric"],
        "epochs": cfg.train.epochs,
        "wall_time_s": trainer.wall_time_s + time.perf_counter() - started,
        "device": str(context.device),
        "init_from": init_from,
        **results,
        "history": trainer.history,
    }
    write_json_atomic(metrics, os.path.join(run_dir, "metrics.json"))
    print(f"\nsaved {run_dir}/metrics.json, best.pt and last.pt; TensorBoard: tensorboard "
          f"--logdir {os.path.dirname(os.path.normpath(run_dir)) or '.'}")
    if export_best:
        record = {"run": metrics["run"], "run_dir": run_dir,
                  "config": os.path.join(run_dir, "config.yaml"), "model": cfg.model.name,
                  "epoch": trainer.best["epoch"], "test_accuracy": summary["accuracy"],
                  "classes": list(bundle.classes)}
        for line in export.export_best(trainer.model, cfg.model.name, cfg.run.checkpoint_dir,
                                       record):
            print(line)


def _test(cfg, bundle, model, context):
    """Every test-set result of ``model``, keyed as in metrics.json.

    Returns:
        {"test": summary, "test_posthoc": summary with post-hoc logit adjustment or None,
        "test_tau_norm": summary with the tau-normalised classifier or None, "tau_norm":
        {"tau", "searched", "val_balanced_accuracy"} or None}; summaries as
        ``engine.metrics.summarize`` gives them.
    """
    single = distributed.Context(0, 1, context.device)
    autocast = autocast_for(training_settings(cfg, bundle), context.device)
    logits, labels = collect_logits(model, _loader(cfg, bundle, bundle.test, single,
                                                   train=False), autocast)

    def score(adjusted):
        confusion = confusion_matrix(adjusted.argmax(1), labels, bundle.num_classes)
        return summarize(confusion, bundle.cls_num_list, cfg.eval.many_shot, cfg.eval.few_shot)

    results = {"test": score(logits), "test_posthoc": None, "test_tau_norm": None,
               "tau_norm": None}
    if cfg.eval.posthoc_tau > 0:
        results["test_posthoc"] = score(losses.posthoc_adjust(
            logits, cls_num_list=bundle.cls_num_list, tau=cfg.eval.posthoc_tau))
    if cfg.eval.tau_norm > 0 or cfg.eval.tau_norm_search:
        record = {"tau": cfg.eval.tau_norm, "searched": False, "val_balanced_accuracy": None}
        if cfg.eval.tau_norm_search:
            val_logits, val_labels = collect_logits(
                model, _loader(cfg, bundle, bundle.val, single, train=False), autocast)
            tau, accuracy = tau_norm.search_tau(model, val_logits, val_labels,
                                                bundle.cls_num_list)
            record = {"tau": tau, "searched": True, "val_balanced_accuracy": accuracy}
        results["tau_norm"] = record
        results["test_tau_norm"] = score(tau_norm.adjust_for(model, record["tau"])(logits))
    return results


def _print_extras(cfg, bundle, results):
    """Print the post-hoc and tau-normalised test results that ``_test`` computed."""
    if results["test_posthoc"] is not None:
        print(f"\nwith post-hoc logit adjustment (tau {cfg.eval.posthoc_tau:g}):")
        print(format_summary(results["test_posthoc"], bundle.classes, bundle.cls_num_list))
    record = results["tau_norm"]
    if record is not None:
        chosen = (f", chosen on the validation split: balanced accuracy "
                  f"{record['val_balanced_accuracy']:.4f}" if record["searched"] else "")
        print(f"\nwith the tau-normalised classifier (tau {record['tau']:g}{chosen}):")
        print(format_summary(results["test_tau_norm"], bundle.classes, bundle.cls_num_list))


def _loader(cfg, bundle, image_set, context, train):
    d = cfg.data
    augmentation = dict(mix=d.mix, mix_alpha=d.mix_alpha, mix_until=d.mix_until,
                        cutout=d.cutout, randaugment_ops=d.randaugment_ops,
                        randaugment_magnitude=d.randaugment_magnitude,
                        downscale_size=d.downscale_size,
                        downscale_until=d.downscale_until) if train else {}
    return data.BatchLoader(
        image_set,
        cfg.train.batch_size if train else max(cfg.train.batch_size, EVAL_BATCH_SIZE),
        device=context.device, mean=bundle.mean, std=bundle.std, train=train,
        augment=train and cfg.data.augment, sampler=cfg.data.sampler,
        sampler_epoch=cfg.data.sampler_epoch, seed=cfg.seed, drop_last=train,
        rank=context.rank if train else 0, world_size=context.world_size if train else 1,
        num_classes=bundle.num_classes, **augmentation)


def _build_model(cfg, bundle, classifier_scales=True):
    """The model of ``cfg`` for ``bundle``'s data; with ``classifier_scales`` False, without
    the LWS scales even if the config has them (a stage-2 run adds them after loading its
    stage-1 weights)."""
    model = builders.build_model(cfg.model.name, bundle.input_shape, bundle.num_classes,
                                 normed_classifier=cfg.model.normed_classifier,
                                 classifier_scales=classifier_scales
                                 and cfg.model.classifier_scales,
                                 **builders.architecture_of(cfg.model))
    builders.init_final_bias(model, cfg.loss)
    return model


def _check_batch_size(cfg, bundle, context):
    batch = cfg.train.batch_size
    if batch > len(bundle.train):
        raise ValueError(f"train.batch_size: got {batch}; expected at most the "
                        f"{len(bundle.train)} images of the training set")
    if batch % context.world_size:
        raise ValueError(f"train.batch_size: got {batch}; expected a multiple of the "
                        f"{context.world_size} processes (it is the global batch)")


def _describe_data(bundle):
    lines = [f"training set: {len(bundle.train)} images, "
             f"validation {len(bundle.val) if bundle.val else 0}, test {len(bundle.test)}",
             "class                 train images"]
    for name, count in zip(bundle.classes, bundle.cls_num_list):
        lines.append(f"  {name:<20}{count:>12}")
    return "\n".join(lines)
