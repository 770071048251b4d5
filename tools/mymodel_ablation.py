"""MyModel's ablation: each design choice switched off in turn, all at one small CPU budget.

Every variant trains from the same seed, on the same stratified subset of the training set,
with the recipe of ``configs/mymodel.yaml`` (its schedule and its share of downscaled epochs
squeezed into ``--epochs``), and is
scored on the same stratified subset of the test set. Rows print as they finish:

    python -m tools.mymodel_ablation --data data/cifar10-jpeg   # 10k images x 3 epochs, 5k test

The variants (models/my_model.py's switches, and three of the recipe's): the full model; no
PCA stem; no mirror averaging at evaluation; no identity skips in the residual blocks;
residual branches not zero-initialised; stage 1 pooling after its convolution; a max-pooled
head only; no logit scale, and the smaller scale 1/8; plain cross-entropy instead of label
smoothing; every epoch at full size instead of the downscaled early epochs.
"""
import argparse
import sys
import time

import torch

import data
import models
from data.split import stratified_split
from engine.builders import build_loss
from engine.config import load_config
from engine.errors import INPUT_ERRORS, report
from engine.schedule import lr_factor
from tools import argtypes

# name -> (MyModel keyword arguments, config overrides of the recipe)
VARIANTS = {
    "MyModel (every choice on)": ({}, []),
    "no PCA stem": ({"pca_stem": False}, []),
    "no mirror averaging": ({"mirror_average": False}, []),
    "no identity skips": ({"residual": False}, []),
    "no zero-init of branches": ({"zero_init": False}, []),
    "stage 1 pools after conv": ({"pool_first": False}, []),
    "max-pooled head only": ({"head_pool": "max"}, []),
    "no logit scale (1.0)": ({"logit_scale": 1.0}, []),
    "logit scale 1/8": ({"logit_scale": 0.125}, []),
    "cross-entropy, no smoothing": ({}, ["loss.name=ce"]),
    "no downscaled epochs": ({}, ["data.downscale_size=0", "data.downscale_until=0"]),
}


def subset(image_set, count, seed):
    """A stratified, seeded subset of about ``count`` images of ``image_set``."""
    if count >= len(image_set.labels):
        return image_set
    _, kept = stratified_split(image_set.labels, count / len(image_set.labels), seed)
    return image_set.subset(kept)


def train_and_score(cfg, bundle, train_set, test_set, model_kwargs):
    """Train MyModel(``model_kwargs``) with ``cfg``'s recipe on ``train_set`` (CPU).

    Returns:
        (test accuracy on ``test_set``, CPU seconds of this process spent).
    """
    start = time.process_time()
    torch.manual_seed(cfg.seed)
    model = models.MyModel(bundle.input_shape[0], bundle.num_classes, width=cfg.model.width,
                           **model_kwargs)
    model.init_from_data(data.training_sample(train_set, bundle.mean, bundle.std, cfg.seed))
    criterion = build_loss(cfg.loss, bundle.cls_num_list)
    t = cfg.train
    optimizer = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum,
                                nesterov=t.nesterov, weight_decay=t.weight_decay)
    loader = data.BatchLoader(train_set, t.batch_size, device="cpu", mean=bundle.mean,
                              std=bundle.std, train=True, augment=cfg.data.augment,
                              seed=cfg.seed, drop_last=True, num_classes=bundle.num_classes,
                              downscale_size=cfg.data.downscale_size,
                              downscale_until=cfg.data.downscale_until)
    for epoch in range(t.epochs):
        model.train()
        loader.set_epoch(epoch)
        for step, (images, targets) in enumerate(loader):
            for group in optimizer.param_groups:
                group["lr"] = t.lr * lr_factor(epoch, step, len(loader), t)
            optimizer.zero_grad(set_to_none=True)
            criterion(model(images), targets).backward()
            optimizer.step()
    test_loader = data.BatchLoader(test_set, 500, device="cpu", mean=bundle.mean,
                                   std=bundle.std, train=False, augment=False)
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += int((model(images).argmax(1) == labels).sum())
    return correct / len(test_set.labels), time.process_time() - start


def squeezed_downscale(recipe, epochs):
    """Overrides that keep the recipe's share of downscaled epochs in ``epochs`` epochs (at
    least one downscaled and one full-size epoch): 5 of 8 become 2 of 3; one epoch is
    full-size."""
    if not recipe.data.downscale_size:
        return []
    if epochs < 2:
        return ["data.downscale_size=0", "data.downscale_until=0"]
    share = recipe.data.downscale_until / recipe.train.epochs
    return [f"data.downscale_until={min(max(round(share * epochs), 1), epochs - 1)}"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.mymodel_ablation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/mymodel.yaml")
    parser.add_argument("--data", required=True, help="ImageFolder copy of CIFAR-10")
    parser.add_argument("--train-images", type=argtypes.positive, default=10000)
    parser.add_argument("--test-images", type=argtypes.positive, default=5000)
    parser.add_argument("--epochs", type=argtypes.positive, default=3)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS),
                        help="variants to run (default: all)")
    args = parser.parse_args(argv)
    base = ["data.dataset=imagefolder", f"data.root={args.data}", "data.val_fraction=0",
            f"train.epochs={args.epochs}", "device=cpu"]
    try:
        recipe = load_config(args.config, warn=lambda line: None)
        base += squeezed_downscale(recipe, args.epochs)
        cfg = load_config(args.config, base, warn=lambda line: None)
        bundle = data.build_data(cfg.data, cfg.seed)
    except INPUT_ERRORS as exc:
        return report(exc)
    train_set = subset(bundle.train, args.train_images, cfg.seed)
    test_set = subset(bundle.test, args.test_images, cfg.seed)
    print(f"{len(train_set.labels)} training images x {args.epochs} epochs, "
          f"{len(test_set.labels)} test images, width {cfg.model.width}, "
          f"{torch.get_num_threads()} threads", flush=True)
    print("| variant | test accuracy | vs. MyModel | CPU s |\n| --- | ---: | ---: | ---: |",
          flush=True)
    reference = None
    for name in args.only:
        model_kwargs, overrides = VARIANTS[name]
        variant_cfg = load_config(args.config, base + overrides, warn=lambda line: None)
        acc, seconds = train_and_score(variant_cfg, bundle, train_set, test_set, model_kwargs)
        reference = acc if reference is None and not model_kwargs and not overrides \
            else reference
        delta = f"{100 * (acc - reference):+.2f}" if reference is not None else ""
        print(f"| {name} | {100 * acc:.2f}% | {delta} | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
