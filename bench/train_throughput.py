"""Training throughput: the reference loop against Longtail's engine, side by side in one run.

(a) reference: a Dataset of uint8 images with per-sample PIL transforms (random crop with
    padding 4, flip, ToTensor, Normalize), a DataLoader with worker processes, fp32 eager model
    and SGD, as the course's main.py and the LDAM-DRW code train;
(b) engine, eager: Longtail's Trainer on device-resident data with batched augmentation and
    channels_last, and on CUDA the config's bf16 autocast and fused SGD;
(c) engine, compiled (with --compile): the same with ``train.compile``: the whole step
    (forward, loss, backward, SGD update, metric sums) compiled, one CUDA graph per step on
    CUDA. Its warm-up steps include the compilation.

All train the same model on the same images with the same batch size; images/s is measured
after warm-up steps. With --full-run, the wall time of a whole ``main.py`` run of
``configs/resnet32_focal.yaml`` (start-up, compilation and testing included; compiled with
--compile) is measured too. A measurement that fails is reported in the table and the others
still run. --out also writes the table (markdown) to a file.

    python -m bench.train_throughput                          # CPU: small sizes
    python -m bench.train_throughput --compile --full-run --data-root data/cifar10-jpeg   # GPU
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import torch
import torchvision.transforms as T
from PIL import Image

from bench.common import cycle, engine_trainer, model_flags, random_cifar, time_steps
import data
from engine import builders
from engine.distributed import choose_device
from fileio import write_text_atomic
from tools import argtypes


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


def reference_images_per_s(train_set, args, device):
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(data.CIFAR10_MEAN, data.CIFAR10_STD)])
    loader = torch.utils.data.DataLoader(
        PILImages(train_set.images, train_set.labels, transform), batch_size=args.batch_size,
        shuffle=True, num_workers=args.workers, pin_memory=device.type == "cuda",
        drop_last=True, persistent_workers=args.workers > 0)
    torch.manual_seed(0)
    model = builders.build_model(args.model).to(device)
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


def engine_images_per_s(bundle, args, device, compile):
    """images/s of the Trainer's step (the compiled whole step when ``compile``)."""
    loader = data.BatchLoader(bundle.train, args.batch_size, device=device, mean=bundle.mean,
                              std=bundle.std, train=True, augment=True, drop_last=True)
    trainer = engine_trainer(bundle, args, device, loader, compile)
    if trainer.compiled_step is None:
        step = trainer.train_step
    else:
        def step(images, labels):
            trainer.compiled_step(images, labels, 0)
    seconds = time_steps(step, cycle(loader), args.warmup, args.steps, device)
    return args.steps * args.batch_size / seconds


def full_run_seconds(args):
    """Wall seconds of a whole ``main.py`` run of configs/resnet32_focal.yaml."""
    folder = tempfile.mkdtemp(prefix="longtail-bench-")
    command = [sys.executable, "main.py", "--config", "configs/resnet32_focal.yaml",
               "--set", f"device={args.device}", "--set", "run.name=bench-full-run",
               "--set", f"run.dir={folder}", "--set", f"run.checkpoint_dir={folder}",
               "--set", f"train.compile={str(args.compile).lower()}"]
    if args.data_root:
        command += ["--set", "data.dataset=imagefolder", "--set", f"data.root={args.data_root}"]
    if args.full_run_epochs:
        command += ["--set", f"train.epochs={args.full_run_epochs}",
                    "--set", "train.warmup_epochs=0", "--set", "train.milestones=[]"]
    started = time.perf_counter()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = subprocess.run(command, stdout=subprocess.DEVNULL, cwd=repo).returncode
    if code != 0:
        raise RuntimeError(f"main.py exited with status {code} (its error is printed above)")
    return time.perf_counter() - started


def measure(what):
    """``what()``, or the error it raised, in words: a failed measurement does not stop the
    others."""
    try:
        return what()
    except Exception as error:  # noqa: BLE001 (reported in the table)
        return f"failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def images_cell(value):
    return f"{value:,.0f}" if isinstance(value, float) else value


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     parents=[model_flags()])
    parser.add_argument("--steps", type=argtypes.positive, default=None,
                        help="timed steps (default 200 on CUDA, 10 on CPU)")
    parser.add_argument("--warmup", type=argtypes.non_negative, default=None,
                        help="untimed steps first (default 30 on CUDA, 3 on CPU)")
    parser.add_argument("--workers", type=argtypes.non_negative,
                        default=min(4, os.cpu_count() or 1),
                        help="DataLoader worker processes of the reference loop")
    parser.add_argument("--compile", action="store_true",
                        help="also measure the engine with the whole step compiled")
    parser.add_argument("--full-run", action="store_true",
                        help="also time a whole main.py run of configs/resnet32_focal.yaml")
    parser.add_argument("--full-run-epochs", type=argtypes.positive, default=None,
                        help="epochs of that run (default: the config's 200)")
    parser.add_argument("--data-root", default=None,
                        help="ImageFolder root for the full run (default: CIFAR-10 under data/)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the results (markdown) to this file")
    args = parser.parse_args()
    cuda = choose_device(args.device).type == "cuda"
    if args.steps is None:
        args.steps = 200 if cuda else 10
    if args.warmup is None:
        args.warmup = 30 if cuda else 3
    return args


def main():
    args = parse_args()
    device = choose_device(args.device)
    bundle = random_cifar(args.images)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    lines = [f"device {device} ({name or 'CPU'}), torch {torch.__version__}, "
             f"{torch.get_num_threads()} threads, model {args.model}, batch {args.batch_size}, "
             f"{args.steps} timed steps after {args.warmup}", ""]
    print(lines[0], flush=True)
    loops = [("reference (PIL + DataLoader, fp32 eager)",
              lambda: reference_images_per_s(bundle.train, args, device)),
             ("Longtail engine, eager",
              lambda: engine_images_per_s(bundle, args, device, compile=False))]
    if args.compile:
        loops.append(("Longtail engine, whole step compiled",
                      lambda: engine_images_per_s(bundle, args, device, compile=True)))
    rows = []
    for loop, images_per_s in loops:  # each as it comes: a stopped run still shows some
        rows.append((loop, measure(images_per_s)))
        print(f"{loop}: {images_cell(rows[-1][1])} images/s", flush=True)
    lines += ["| loop | images/s |", "| --- | ---: |"]
    lines += [f"| {loop} | {images_cell(value)} |" for loop, value in rows]
    reference = rows[0][1]
    ratios = [f"{loop} / reference: {value / reference:.2f}x" for loop, value in rows[1:]
              if isinstance(value, float) and isinstance(reference, float)]
    lines += [""] + ratios if ratios else []
    if args.full_run:
        seconds = measure(lambda: full_run_seconds(args))
        epochs = args.full_run_epochs or "200"
        how = "compiled" if args.compile else "eager"
        lines += ["", f"whole resnet32_focal.yaml run ({epochs} epochs, {how}): "
                      f"{f'{seconds:.1f} s wall' if isinstance(seconds, float) else seconds}"]
    print("\n" + "\n".join(lines[2:]))
    if args.out:
        write_text_atomic("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
