"""The depth x width study: block CNNs and ResNets trained on a fixed budget, one JSON per run.

    python -m tools.experiments run-exp -n exp1_1 -K 32 -L 4 -P 3 -H 100 -M cnn
    python -m tools.experiments run-grid exp1_1 exp1_4   # named grids (resumable)
    python -m tools.experiments run-all                  # all four grids, 26 runs
    python -m tools.experiments estimate exp1_4          # projected CPU time, from timed batches
    python -m tools.experiments plot                     # results/<experiment>.png, summary.md

A run trains ``channels = [k for k in K for _ in range(L)]`` (K = [32, 64], L = 2: conv 32,
conv 32, conv 64, conv 64) with ``pool_every`` P and hidden layers H, on ``--batches-per-epoch``
random training batches per epoch (a new order each epoch), and measures the loss and accuracy
on a fixed random subset of ``--test-batches`` test batches after every epoch. Training loss
and accuracy are the means over the epoch's batches, as they were trained. It stops after
``--epochs`` or after ``--early-stopping`` epochs without a better test accuracy, and writes
``OUT_DIR/{name}_L{L}_K{K joined by '-'}.json``: ``config`` (every setting, the channels and
the parameter count), ``device`` ("cpu" or the GPU's name) and ``threads`` (torch's CPU
threads), which time the epochs, ``macs_per_image`` (forward multiply-accumulates),
``epochs`` (per epoch: train_loss, train_acc, test_loss, test_acc, seconds),
``best_test_acc``, ``best_epoch``, ``finished`` and, for a continued run,
``resumed_after_epochs``. The file is rewritten after every epoch, and until the run ends
``{run}.resume.pt`` beside it holds the weights, optimizer and random state, so an
interrupted run continues after its last finished epoch with the same result as an
uninterrupted one. ``run-grid`` skips runs whose file says finished, continues the others,
and copies the result of a finished run trained identically under another grid's name
(``same_as``). ``--device`` picks the GPU when there is one (``estimate`` times the CPU).

A configuration that cannot run (feature maps shrinking below 1x1) is refused with one line
naming the run before training (for CIFAR-10 before the data is read); ``run-grid`` reports
it and goes on with the rest.
Data: ``--data`` names an ImageFolder root (train/<class>/*, test/<class>/*); without it
CIFAR-10 is read (or downloaded) through torchvision under ``data/``.
Exit status: 0 done, 1 some run of a grid refused, 2 bad input.
"""
import argparse
import json
import os
import re
import sys
import time

import torch

from engine.distributed import choose_device
from engine.errors import INPUT_ERRORS, Interrupted, report
from fileio import write_text_atomic
from tools import argtypes
from tools.experiment_figures import load_results, plot, write_summary
from tools.experiment_training import (build, evaluate, forward_macs, load_dataset,
                                       make_optimizer, train_epoch, train_run)

# experiment -> (model, [(K, L, pool_every), ...]); hidden_dims [100] throughout. P = 3 gives
# a plain CNN of 16 convolutions 5 poolings (32 -> 1). The ResNets pool every 8 convolutions
# with K = [32] (4 poolings at L = 32) and once per width with K = [64, 128, 256] (P = L).
GRIDS = {
    "exp1_1": ("cnn", [([k], n, 3) for k in (32, 64) for n in (2, 4, 8, 16)]),
    "exp1_2": ("cnn", [([k], n, 3) for n in (2, 4, 8) for k in (32, 64, 128)]),
    "exp1_3": ("cnn", [([64, 128], n, 3) for n in (2, 3, 4)]),
    "exp1_4": ("resnet", [([32], n, 8) for n in (8, 16, 32)]
               + [([64, 128, 256], n, n) for n in (2, 4, 8)]),
}
HIDDEN_DIMS = [100]
IN_SIZE_CIFAR = (3, 32, 32)


def run_name(name, filters, layers):
    """``exp1_3``, [64, 128], 2 -> ``exp1_3_L2_K64-128``."""
    return f"{name}_L{layers}_K{'-'.join(str(k) for k in filters)}"


def make_config(args, name, filters, layers, pool_every, model):
    """Every setting of one run, as plain data (the JSON's ``config``)."""
    return dict(run=run_name(name, filters, layers), experiment=name, model=model,
                filters_per_layer=list(filters), layers_per_block=layers,
                pool_every=pool_every, hidden_dims=list(args.hidden_dims),
                channels=[k for k in filters for _ in range(layers)],
                activation=args.activation, pooling=args.pooling, batchnorm=args.batchnorm,
                dropout=args.dropout, bottleneck=args.bottleneck, epochs=args.epochs,
                batches_per_epoch=args.batches_per_epoch, test_batches=args.test_batches,
                batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                momentum=args.momentum, weight_decay=args.weight_decay,
                early_stopping=args.early_stopping, data=args.data or "cifar10", seed=args.seed)


def check(config, in_size):
    """Build the model on the meta device (no memory): ValueError for an unrunnable config."""
    with torch.device("meta"):
        build(config, in_size, 10)


def grid_configs(args, experiments):
    """The configs of the named grids' runs, in grid order."""
    return [make_config(args, name, filters, layers, pool_every, GRIDS[name][0])
            for name in experiments for filters, layers, pool_every in GRIDS[name][1]]


def run_grid(args, experiments, log):
    """Run the grids' unfinished runs one after another, after refusing the unrunnable ones
    (one line each); returns 1 when some were refused, else 0. A run trained exactly like a
    finished one of another grid (same settings and seed: the same batches and weights) gets
    a copy of that run's JSON, renamed, with ``same_as`` naming it; the copies are made
    before anything is trained."""
    device = choose_device(args.device)
    configs = []
    for config in grid_configs(args, experiments):
        if (_read_result(os.path.join(args.out_dir, config["run"] + ".json")) or {}).get(
                "finished"):
            log(f"{config['run']}: finished already, skipped")
        else:
            configs.append(config)
    dataset = load_dataset(args.data) if args.data and configs else None
    in_size = tuple(dataset[0].images.shape[1:]) if dataset else IN_SIZE_CIFAR
    runnable = [config for config in configs if _runnable(config, in_size)]
    # copies first: they take no time, so a stop in a long training run keeps them
    for config in sorted(runnable, key=lambda c: _same_training(c, args.out_dir) is None):
        twin = _same_training(config, args.out_dir)
        if twin is None:
            dataset = dataset or load_dataset(args.data)
            train_run(config, dataset, args.out_dir, log, device)
            continue
        names = dict(run=config["run"], experiment=config["experiment"])
        copy = dict(twin, config=dict(twin["config"], **names),
                    same_as=twin.get("same_as", twin["config"]["run"]))
        write_text_atomic(json.dumps(copy, indent=1) + "\n",
                          os.path.join(args.out_dir, config["run"] + ".json"))
        log(f"{config['run']}: trained exactly like {copy['same_as']}; its result copied")
    return 0 if len(runnable) == len(configs) else 1


def _read_result(path):
    """A run's JSON as a dict, or None when there is no such file."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _same_training(config, out_dir):
    """The finished result in ``out_dir`` whose settings equal ``config``'s but for the
    names, or None."""
    unnamed = lambda c: {k: v for k, v in c.items()  # noqa: E731
                         if k not in ("run", "experiment", "parameters")}
    if not os.path.isdir(out_dir):
        return None
    for name in sorted(os.listdir(out_dir)):
        result = _read_result(os.path.join(out_dir, name)) if name.endswith(".json") else None
        if result and result.get("finished") and \
                unnamed(result.get("config", {})) == unnamed(config):
            return result
    return None


def _runnable(config, in_size):
    try:
        check(config, in_size)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    return True


def estimate(args, experiments, log):
    """Time ``--timed-batches`` training and test batches of ``--timed-batch-size`` random
    CIFAR-sized images per run of the grids (after one warm-up step), scale them linearly to
    the budget's batch size, and print the projected seconds per epoch and per run (all
    ``--epochs``, no early stopping), and the total. Runs that ``run-grid`` copies from an
    identical run of another grid are counted once."""
    total, seen = 0.0, set()
    log(f"{'run':24} {'params':>10} {'MMAC/img':>9} {'s/batch':>8} {'s/epoch':>8} {'s/run':>7}")
    for config in grid_configs(args, experiments):
        torch.manual_seed(0)
        model = build(config, IN_SIZE_CIFAR, 10)
        optimizer = make_optimizer(config, model)
        batch = [(torch.randn(args.timed_batch_size, *IN_SIZE_CIFAR),
                  torch.randint(0, 10, (args.timed_batch_size,)))] * args.timed_batches
        macs = forward_macs(model, IN_SIZE_CIFAR)
        train_epoch(model, optimizer, batch[:1], 1)
        start = time.perf_counter()
        train_epoch(model, optimizer, batch, args.timed_batches)
        middle = time.perf_counter()
        evaluate(model, batch)
        scale = config["batch_size"] / args.timed_batch_size / args.timed_batches
        per_train, per_test = (middle - start) * scale, (time.perf_counter() - middle) * scale
        epoch = config["batches_per_epoch"] * per_train + config["test_batches"] * per_test
        twin = tuple((k, str(v)) for k, v in config.items() if k not in ("run", "experiment"))
        total += 0 if twin in seen else epoch * config["epochs"]
        seen.add(twin)
        params = sum(p.numel() for p in model.parameters())
        log(f"{config['run']:24} {params:>10,} {macs / 1e6:>9.1f} {per_train:>8.2f} "
            f"{epoch:>8.0f} {epoch * config['epochs']:>7.0f}")
    log(f"total at most {total:.0f} s ({total / 3600:.1f} h) for {args.epochs} epochs per run")


def _experiment(text):
    if text not in GRIDS:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected one of {', '.join(GRIDS)}")
    return text


def _name(text):
    """An experiment name: it starts the JSON file's name, so no path separators."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected letters, digits, '_', '-' and '.' (it names the JSON file)")
    return text


def _budget_flags():
    parser = argparse.ArgumentParser(add_help=False)
    add = parser.add_argument
    add("-H", "--hidden-dims", type=argtypes.positive_list, nargs="+", default=[HIDDEN_DIMS],
        help="hidden layer widths (default 100)")
    add("--epochs", type=argtypes.positive, default=3, help="at most this many epochs (default 3)")
    add("--batches-per-epoch", type=argtypes.positive, default=235,
        help="training batches per epoch (default 235: 30,080 images at batch 128)")
    add("--test-batches", type=argtypes.positive, default=40,
        help="test batches after each epoch (default 40: 5,120 images)")
    add("--batch-size", type=argtypes.positive, default=128)
    add("--optimizer", choices=("adam", "sgd"), default="adam")
    add("--lr", type=argtypes.non_negative_real, default=1e-3, help="learning rate (default 1e-3)")
    add("--momentum", type=argtypes.fraction, default=0.9, help="SGD momentum (default 0.9)")
    add("--weight-decay", type=argtypes.non_negative_real, default=0.0)
    add("--early-stopping", type=argtypes.non_negative, default=1, metavar="N",
        help="stop after N epochs without a better test accuracy; 0 = never (default 1)")
    add("--activation", choices=("relu", "lrelu"), default="relu")
    add("--pooling", choices=("max", "avg"), default="max")
    add("--batchnorm", action="store_true", help="BatchNorm in the ResNet blocks")
    add("--dropout", type=argtypes.fraction, default=0.0, help="dropout in the ResNet blocks")
    add("--bottleneck", action="store_true", help="ResNet bottleneck blocks where they fit")
    add("--data", metavar="PATH", help="ImageFolder root (default: CIFAR-10 via torchvision)")
    add("--seed", type=argtypes.non_negative, default=0)
    add("--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="where to train (default auto: the GPU when there is one)")
    add("--out-dir", default="results", help="folder of the JSON files (default results)")
    return parser


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.experiments",
                                     description="The depth x width study of block CNNs and "
                                                 "ResNets (docs/architecture_experiments.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    budget = _budget_flags()
    one = commands.add_parser("run-exp", parents=[budget], help="train one configuration")
    one.add_argument("-n", "--name", type=_name, required=True, help="experiment name, e.g. exp1_1")
    one.add_argument("-K", "--filters-per-layer", type=argtypes.positive_list, nargs="+",
                     required=True)
    one.add_argument("-L", "--layers-per-block", type=argtypes.positive, required=True)
    one.add_argument("-P", "--pool-every", type=argtypes.positive, required=True)
    one.add_argument("-M", "--model", choices=("cnn", "resnet"), default="cnn")
    grid = commands.add_parser("run-grid", parents=[budget], help="run the named grids")
    grid.add_argument("experiments", nargs="+", choices=sorted(GRIDS))
    commands.add_parser("run-all", parents=[budget], help="run all four grids")
    cost = commands.add_parser("estimate", parents=[budget], help="projected CPU time")
    cost.add_argument("experiments", nargs="*", type=_experiment, help="default: all")
    cost.add_argument("--timed-batches", type=argtypes.positive, default=1)
    cost.add_argument("--timed-batch-size", type=argtypes.positive, default=32)
    figures = commands.add_parser("plot", help="draw every experiment's curves")
    figures.add_argument("--results", default="results", help="folder of the JSON files")
    figures.add_argument("--out", help="folder of the PNGs (default: the --results folder)")
    args = parser.parse_args(argv)
    for key in ("hidden_dims", "filters_per_layer"):
        if hasattr(args, key):
            setattr(args, key, [v for values in getattr(args, key) for v in values])
    return args


def main(argv=None):
    args = parse_args(argv)
    log = lambda line: print(line, flush=True)  # noqa: E731
    try:
        if args.command == "run-exp":
            config = make_config(args, args.name, args.filters_per_layer,
                                 args.layers_per_block, args.pool_every, args.model)
            if not args.data:  # refused before CIFAR-10 is read; an ImageFolder's size is
                check(config, IN_SIZE_CIFAR)  # known once loaded, before training starts
            device = choose_device(args.device)
            train_run(config, load_dataset(args.data), args.out_dir, log, device)
            return 0
        if args.command in ("run-grid", "run-all"):
            experiments = args.experiments if args.command == "run-grid" else list(GRIDS)
            return run_grid(args, experiments, log)
        if args.command == "estimate":
            estimate(args, args.experiments or list(GRIDS), log)
            return 0
        runs = load_results(args.results)
        plot(runs, args.out or args.results, log)
        write_summary(runs, args.out or args.results, log)
        return 0
    except INPUT_ERRORS as error:
        return report(error)
    except KeyboardInterrupt:
        print("\ninterrupted: finished epochs are kept; the same command continues the "
              "interrupted run after its last finished epoch", file=sys.stderr)
        return Interrupted.exit_code


if __name__ == "__main__":
    sys.exit(main())
