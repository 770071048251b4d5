"""What the stronger augmentations cost on the device-resident batch path, side by side.

For each setting (crop and flip alone, then with Cutout, RandAugment, mixup, CutMix and all
together) it measures
(a) the loader alone: images/s of ``BatchLoader`` producing augmented, normalised batches;
(b) training: images/s of the Trainer's step (ResNet-32 by default) fed by that loader;
and the ratio of each to crop-and-flip. The settings take turns in every round and the median
round counts, so a machine busy with other work slows them all alike.

    python -m bench.augment_throughput                  # CPU: small sizes
    python -m bench.augment_throughput --steps 100      # GPU
"""
import argparse
import itertools
import statistics
import time

from bench.common import (cycle, engine_trainer, model_flags, random_cifar, synchronize,
                          time_steps)
import data
from engine.distributed import choose_device
from tools import argtypes

SETTINGS = {
    "crop + flip": {},
    "+ Cutout 16": {"cutout": 16},
    "+ RandAugment 2, 9": {"randaugment_ops": 2, "randaugment_magnitude": 9},
    "+ mixup": {"mix": "mixup"},
    "+ CutMix": {"mix": "cutmix"},
    "+ all (RandAugment, Cutout, CutMix)": {"randaugment_ops": 2, "randaugment_magnitude": 9,
                                            "cutout": 16, "mix": "cutmix"},
}


def make_loader(bundle, args, device, options):
    return data.BatchLoader(bundle.train, args.batch_size, device=device, mean=bundle.mean,
                            std=bundle.std, train=True, augment=True, drop_last=True,
                            num_classes=bundle.num_classes, **options)


def loader_seconds(loader, steps, device):
    """Seconds to produce ``steps`` batches (the epoch's draws included)."""
    synchronize(device)
    started = time.perf_counter()
    for _ in itertools.islice(cycle(loader), steps):
        pass
    synchronize(device)
    return time.perf_counter() - started


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     parents=[model_flags()])
    parser.add_argument("--steps", type=argtypes.positive, default=None,
                        help="timed training steps per round (default 100 on CUDA, 4 on CPU)")
    parser.add_argument("--loader-steps", type=argtypes.positive, default=None,
                        help="batches per loader round (default: one epoch, whose draws it "
                             "includes)")
    parser.add_argument("--rounds", type=argtypes.positive, default=3)
    parser.add_argument("--no-train", action="store_true", help="measure the loader alone")
    return parser.parse_args()


def main():
    args = parse_args()
    device = choose_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (100 if cuda else 4)
    bundle = random_cifar(args.images)
    loaders = {name: make_loader(bundle, args, device, options)
               for name, options in SETTINGS.items()}
    loader_steps = args.loader_steps or len(loaders["crop + flip"])
    steppers = {} if args.no_train else {
        name: engine_trainer(bundle, args, device, loader).train_step
        for name, loader in loaders.items()}
    for name, loader in loaders.items():   # warm-up: first calls, allocator, kernels
        loader_seconds(loader, 2, device)
        if name in steppers:
            time_steps(steppers[name], cycle(loader), 1, 1, device)
    loader_rounds = {name: [] for name in SETTINGS}
    train_rounds = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, loader in loaders.items():
            loader_rounds[name].append(loader_seconds(loader, loader_steps, device))
            if name in steppers:
                train_rounds[name].append(
                    time_steps(steppers[name], cycle(loader), 1, steps, device))
    print(f"device {device}, {args.model}, batch {args.batch_size}, median of {args.rounds} "
          f"rounds ({loader_steps} loader batches, {steps} training steps each)\n")
    print("| setting | loader images/s | x crop + flip | training images/s | x crop + flip |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base_loader = statistics.median(loader_rounds["crop + flip"])
    base_train = statistics.median(train_rounds["crop + flip"]) if steppers else None
    for name in SETTINGS:
        seconds = statistics.median(loader_rounds[name])
        row = (f"| {name} | {loader_steps * args.batch_size / seconds:,.0f} | "
               f"{base_loader / seconds:.2f} |")
        if steppers:
            train_s = statistics.median(train_rounds[name])
            row += f" {steps * args.batch_size / train_s:,.0f} | {base_train / train_s:.2f} |"
        else:
            row += " | |"
        print(row)


if __name__ == "__main__":
    main()
