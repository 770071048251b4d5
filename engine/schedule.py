"""Learning-rate schedules as a pure function of training progress.

The schedule keeps no state of its own: the learning rate of a step follows from the epoch and
the step within it, so a resumed run gets exactly the learning rates of an uninterrupted one.
"""
import math


def lr_factor(epoch, step, steps_per_epoch, train_cfg):
    """Multiplier of the base learning rate for one optimisation step.

    Args:
        epoch: 0-based epoch of the step.
        step: 0-based index of the step within the epoch.
        steps_per_epoch: optimisation steps in one epoch (>= 1).
        train_cfg: object with ``epochs``, ``schedule`` ("step" | "cosine" | "constant"),
            ``warmup_epochs``, ``milestones`` (epochs, increasing) and ``lr_decay``.

    Returns:
        A float. During the first ``warmup_epochs`` the factor rises linearly per step and
        reaches 1 at the last warm-up step; afterwards:
        - step: ``lr_decay ** k``, k the number of milestones <= epoch (so with milestones
          [160, 180] and lr_decay 0.01, epochs 160-179 run at 0.01 and 180 on at 1e-4);
        - cosine: half a cosine from 1 down to 0 over the epochs after warm-up;
        - constant: 1.
    """
    progress = epoch + (step + 1) / steps_per_epoch
    if progress <= train_cfg.warmup_epochs:
        return progress / train_cfg.warmup_epochs
    if train_cfg.schedule == "step":
        passed = sum(1 for milestone in train_cfg.milestones if epoch >= milestone)
        return train_cfg.lr_decay ** passed
    if train_cfg.schedule == "cosine":
        span = train_cfg.epochs - train_cfg.warmup_epochs
        done = (progress - train_cfg.warmup_epochs) / span
        return 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0)))
    return 1.0
