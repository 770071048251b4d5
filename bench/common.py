"""What the throughput benchmarks share: their data and model flags, random CIFAR-shaped data,
the engine's Trainer, and timing that waits for the GPU."""
import argparse
import time

import torch

from app.settings import training_settings
import data
from engine import builders
from engine.config import Config
from engine.distributed import Context
from engine.trainer import Trainer
from tools import argtypes


def model_flags():
    """A parent parser with --device, --model, --batch-size and --images."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--model", default="resnet32")
    parser.add_argument("--batch-size", type=argtypes.positive, default=128)
    parser.add_argument("--images", type=argtypes.positive, default=12406,
                        help="training images (random CIFAR-shaped data; 12,406 = CIFAR-10-LT)")
    return parser


def random_cifar(images):
    """A DataBundle of ``images`` random uint8 (3, 32, 32) images in 10 classes, train = test,
    with CIFAR-10's mean and std: the speed of a step does not depend on what the pixels show."""
    generator = torch.Generator().manual_seed(0)
    train = data.ImageSet(torch.randint(0, 256, (images, 3, 32, 32), dtype=torch.uint8,
                                        generator=generator),
                          torch.randint(0, 10, (images,), generator=generator))
    return data.DataBundle(train, None, train, [f"class_{i}" for i in range(10)],
                           data.CIFAR10_MEAN, data.CIFAR10_STD)


def engine_trainer(bundle, args, device, loader, compile=False):
    """The app's Trainer for ``args.model`` at ``args.batch_size`` with the default config
    (cross-entropy, SGD), fed by ``loader``; ``compile`` compiles the whole step."""
    cfg = Config()
    cfg.model.name = args.model
    cfg.train.batch_size = args.batch_size
    cfg.train.compile = compile
    torch.manual_seed(0)
    model = builders.build_model(args.model, bundle.input_shape, bundle.num_classes).to(device)
    criterion = builders.build_loss(cfg.loss, bundle.cls_num_list).to(device)
    return Trainer(training_settings(cfg, bundle), model, criterion, loader, None,
                   context=Context(0, 1, device))


def synchronize(device):
    """Wait for the GPU's queued work (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cycle(loader):
    """Batches from ``loader`` forever, epoch after epoch (``set_epoch`` called when it has one)."""
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        yield from loader
        epoch += 1


def time_steps(step, batches, warmup, steps, device):
    """Seconds for ``steps`` calls of ``step(images, labels)`` after ``warmup`` untimed ones,
    on batches from the iterable ``batches``."""
    iterator = iter(batches)
    for _ in range(warmup):
        step(*next(iterator))
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step(*next(iterator))
    synchronize(device)
    return time.perf_counter() - started
