"""One run of the depth x width study (``tools/experiments.py``): its model built from the
run's config, its data, and the training loop that writes the run's JSON file after every
epoch."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

import data
from data.seeding import make_generator
from engine.checkpoint import restore_rng_state, rng_state, safe_load
from fileio import torch_save_atomic, write_text_atomic
from models.block_cnn import CNN, ResNet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESUME_SUFFIX = ".resume.pt"


def build(config, in_size, classes):
    """The config's model for (C, H, W) images; ValueError prefixed with the run's name."""
    common = dict(in_size=in_size, out_classes=classes, channels=config["channels"],
                  pool_every=config["pool_every"], hidden_dims=config["hidden_dims"],
                  activation_type=config["activation"], pooling_type=config["pooling"])
    try:
        if config["model"] == "cnn":
            return CNN(**common)
        return ResNet(**common, batchnorm=config["batchnorm"], dropout=config["dropout"],
                      bottleneck=config["bottleneck"])
    except ValueError as error:
        raise ValueError(f"run {config['run']}: {error}") from None


def forward_macs(model, in_size):
    """Multiply-accumulates of one forward pass of one (C, H, W) image (convolutions and
    linear layers, as torch.utils.flop_counter counts them)."""
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *in_size))
    return counter.get_total_flops() // 2


def load_dataset(path):
    """(train ImageSet, test ImageSet, number of classes, mean, std) of ``path`` or CIFAR-10."""
    if path:
        train, test, classes = data.load_image_folder(path)
        mean, std = data.channel_stats(train.images)
    else:
        train, test, classes = data.load_cifar10(os.path.join(REPO, "data"), download=True)
        mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    return train, test, len(classes), mean, std


def train_run(config, dataset, out_dir, log, device=torch.device("cpu")):
    """Train one run on ``dataset`` (``load_dataset``'s tuple) on ``device``; write and return
    its JSON. After every unfinished epoch the model, optimizer and random state are saved
    beside the JSON (``{run}.resume.pt``), so an interrupted run continues from its last
    finished epoch, exactly as if it had not stopped; the file is deleted when the run ends."""
    train, test, classes, mean, std = dataset
    batch, per_epoch = config["batch_size"], config["batches_per_epoch"]
    for flag, wanted, have in (("--batches-per-epoch", per_epoch, len(train) // batch),
                               ("--test-batches", config["test_batches"], len(test) // batch)):
        if wanted > have:
            raise ValueError(f"{flag}: got {wanted}; the data holds only {have} batches of "
                             f"{batch}")
    pick = torch.randperm(len(test), generator=make_generator(config["seed"], "test subset"))
    test = test.subset(pick[:config["test_batches"] * batch])
    torch.manual_seed(config["seed"])
    model = build(config, tuple(train.images.shape[1:]), classes)
    config = dict(config, parameters=sum(p.numel() for p in model.parameters()))
    macs = forward_macs(model, tuple(train.images.shape[1:]))
    model.to(device)
    optimizer = make_optimizer(config, model)
    train_loader = data.BatchLoader(train, batch, device=device, mean=mean, std=std,
                                    train=True, augment=False, seed=config["seed"],
                                    drop_last=True)
    test_loader = data.BatchLoader(test, batch, device=device, mean=mean, std=std,
                                   train=False, augment=False)
    path = os.path.join(out_dir, config["run"] + ".json")
    resume_path = os.path.join(out_dir, config["run"] + RESUME_SUFFIX)
    result = _resume(resume_path, config, model, optimizer, log) or dict(
        config=config, device=device_name(device), threads=torch.get_num_threads(),
        macs_per_image=macs, epochs=[], best_test_acc=0.0, best_epoch=None, finished=False)
    os.makedirs(out_dir, exist_ok=True)
    for epoch in range(len(result["epochs"]), config["epochs"]):
        start = time.perf_counter()
        train_loader.set_epoch(epoch)
        train_loss, train_acc = train_epoch(model, optimizer, train_loader, per_epoch,
                                            f"{config['run']} epoch {epoch + 1}")
        test_loss, test_acc = evaluate(model, test_loader)
        result["epochs"].append(dict(epoch=epoch + 1, train_loss=train_loss,
                                     train_acc=train_acc, test_loss=test_loss,
                                     test_acc=test_acc,
                                     seconds=round(time.perf_counter() - start, 2)))
        if result["best_epoch"] is None or test_acc > result["best_test_acc"]:
            result["best_test_acc"], result["best_epoch"] = test_acc, epoch + 1
        stop = epoch + 1 - result["best_epoch"] >= config["early_stopping"] > 0
        result["finished"] = stop or epoch + 1 == config["epochs"]
        if not result["finished"]:
            torch_save_atomic(dict(config=config, result=result, model=model.state_dict(),
                                   optimizer=optimizer.state_dict(), rng=rng_state()),
                              resume_path)
        write_text_atomic(json.dumps(result, indent=1) + "\n", path)
        if result["finished"] and os.path.exists(resume_path):
            os.remove(resume_path)
        log(f"{config['run']} epoch {epoch + 1}: train loss {train_loss:.4f} acc "
            f"{train_acc:.4f}, test loss {test_loss:.4f} acc {test_acc:.4f} "
            f"({result['epochs'][-1]['seconds']:.0f} s)")
        if stop:
            log(f"{config['run']}: no better test accuracy for {config['early_stopping']} "
                "epochs; stopped")
            break
    return result


def _resume(path, config, model, optimizer, log):
    """Load the saved progress of ``config``'s run into ``model`` and ``optimizer`` and the
    global random state, and return its result so far; None when there is none, or when it
    holds anything else, such as progress saved with other settings (it is then replaced as
    the run starts again)."""
    if not os.path.exists(path):
        return None
    saved = safe_load(path)
    if not isinstance(saved, dict) or saved.get("config") != config:
        log(f"{config['run']}: {path} is not this run's progress (other settings); "
            "starting again")
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    restore_rng_state(saved["rng"])
    result = saved["result"]
    result.setdefault("resumed_after_epochs", []).append(len(result["epochs"]))
    log(f"{config['run']}: continuing after epoch {len(result['epochs'])} ({path})")
    return result


def device_name(device):
    """"cpu", or the CUDA device's name (what timed the epochs)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def make_optimizer(config, model):
    if config["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"],
                               weight_decay=config["weight_decay"])
    return torch.optim.Adam(model.parameters(), lr=config["lr"],
                            weight_decay=config["weight_decay"])


def train_epoch(model, optimizer, loader, batches, desc="train"):
    """``batches`` SGD steps; returns (mean loss, accuracy) over them, as trained. On a
    terminal a progress bar named ``desc`` counts the steps (a log file gets no bar)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    steps = tqdm(zip(range(batches), loader), total=batches, desc=desc, leave=False,
                 dynamic_ncols=True, disable=not sys.stderr.isatty())
    for _, (images, labels) in steps:
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
    return loss_sum / seen, correct / seen


@torch.no_grad()
def evaluate(model, loader):
    """(mean cross-entropy, accuracy) over every batch of ``loader``, in eval mode."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        logits = model(images)
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
    return loss_sum / seen, correct / seen
