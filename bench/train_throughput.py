"""Training throughput: the reference loop against Longtail's engine, side by side in one run.

(a) reference: a Dataset of uint8 images with per-sample PIL transforms (random crop with
    padding 4, flip, ToTensor, Normalize), a DataLoader with worker processes, fp32 eager model
    and SGD, as the course's main.py and the LDAM-DRW code train;
(b) engine: Longtail's Trainer on device-resident data with batched augmentation and
    channels_last, and on CUDA the config's bf16 autocast, fused SGD and (with --compile)
    torch.compile.

Both train the same model on the same images with the same batch size; images/s is measured
after warm-up steps. With --full-run, the wall time of a whole ``main.py`` run of
``configs/resnet32_focal.yaml`` (start-up and per-epoch work included) is measured too.

    python bench/train_throughput.py                          # CPU: small sizes
    python bench/train_throughput.py --steps 200 --compile    # GPU
    python bench/train_throughput.py --full-run --data-root data/cifar10-jpeg
"""
import argparse
import os
import subprocess
import sys
import time

import torch
import torchvision.transforms as T
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import data  # noqa: E402
import losses  # noqa: E402
import models  # noqa: E402
from engine.config import Config  # noqa: E402
from engine.distributed import Context, choose_device  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


class PILImages(torch.utils.data.Dataset):
    """uint8 (N, C, H, W) images served one by one as PIL images through ``transform``."""

    def __init__(self, images, labels, transform):
        self.images = images.permute(0, 2, 3, 1).numpy()
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


def time_steps(step, batches, warmup, steps, device):
    """Seconds for ``steps`` calls of ``step`` after ``warmup`` untimed ones."""
    iterator = iter(batches)
    for _ in range(warmup):
        step(*next(iterator))
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step(*next(iterator))
    synchronize(device)
    return time.perf_counter() - started


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cycle(loader):
    """Batches from ``loader`` forever, epoch after epoch."""
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        yield from loader
        epoch += 1


def reference_images_per_s(train_set, args, device):
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(CIFAR_MEAN, CIFAR_STD)])
    loader = torch.utils.data.DataLoader(
        PILImages(train_set.images, train_set.labels, transform), batch_size=args.batch_size,
        shuffle=True, num_workers=args.workers, pin_memory=device.type == "cuda",
        drop_last=True, persistent_workers=args.workers > 0)
    torch.manual_seed(0)
    model = models.build_model(args.model).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    criterion = torch.nn.CrossEntropyLoss()

    def step(images, labels):
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    seconds = time_steps(step, cycle(loader), args.warmup, args.steps, device)
    return args.steps * args.batch_size / seconds


def engine_images_per_s(bundle, args, device):
    cfg = Config()
    cfg.model.name = args.model
    cfg.train.batch_size = args.batch_size
    cfg.train.compile = args.compile
    torch.manual_seed(0)
    model = models.build_model(args.model, bundle.input_shape, bundle.num_classes).to(device)
    criterion = losses.build_loss(cfg.loss, bundle.cls_num_list).to(device)
    loader = data.BatchLoader(bundle.train, args.batch_size, device=device, mean=bundle.mean,
                              std=bundle.std, train=True, augment=True, drop_last=True)
    trainer = Trainer(cfg, bundle, model, criterion, loader, None, Context(0, 1, device),
                      run_dir=None, writer=None)
    seconds = time_steps(trainer.train_step, cycle(loader), args.warmup, args.steps, device)
    return args.steps * args.batch_size / seconds


def full_run_seconds(args):
    command = [sys.executable, "main.py", "--config", "configs/resnet32_focal.yaml",
               "--set", f"device={args.device}", "--set", "run.name=bench-full-run",
               "--set", "run.dir=/tmp/longtail-bench", "--set", f"train.compile={args.compile}"]
    if args.data_root:
        command += ["--set", "data.dataset=imagefolder", "--set", f"data.root={args.data_root}"]
    if args.full_run_epochs:
        command += ["--set", f"train.epochs={args.full_run_epochs}",
                    "--set", "train.warmup_epochs=0"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return time.perf_counter() - started


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--model", default="resnet32")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=12406,
                        help="training images (random CIFAR-shaped data; 12,406 = CIFAR-10-LT)")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps (default 200 on CUDA, 10 on CPU)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps first (default 30 on CUDA, 3 on CPU)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="DataLoader worker processes of the reference loop")
    parser.add_argument("--compile", action="store_true", help="engine uses torch.compile")
    parser.add_argument("--full-run", action="store_true",
                        help="also time a whole main.py run of configs/resnet32_focal.yaml")
    parser.add_argument("--full-run-epochs", type=int, default=None,
                        help="epochs of that run (default: the config's 200)")
    parser.add_argument("--data-root", default=None,
                        help="ImageFolder root for the full run (default: CIFAR-10 under data/)")
    args = parser.parse_args()
    cuda = choose_device(args.device).type == "cuda"
    args.steps = args.steps or (200 if cuda else 10)
    args.warmup = args.warmup or (30 if cuda else 3)
    return args


def main():
    args = parse_args()
    device = choose_device(args.device)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8,
                           generator=generator)
    labels = torch.randint(0, 10, (args.images,), generator=generator)
    train_set = data.ImageSet(images, labels)
    bundle = data.DataBundle(train_set, None, train_set, [f"class_{i}" for i in range(10)],
                             CIFAR_MEAN, CIFAR_STD)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"{torch.get_num_threads()} threads, model {args.model}, batch {args.batch_size}, "
          f"{args.steps} timed steps after {args.warmup}")
    reference = reference_images_per_s(train_set, args, device)
    engine = engine_images_per_s(bundle, args, device)
    print(f"\n| loop | images/s |\n| --- | ---: |\n| reference (PIL + DataLoader, fp32 eager) | "
          f"{reference:,.0f} |\n| Longtail engine | {engine:,.0f} |")
    print(f"\nengine / reference: {engine / reference:.2f}x")
    if args.full_run:
        print(f"whole resnet32_focal.yaml run: {full_run_seconds(args):.1f} s wall")


if __name__ == "__main__":
    main()
