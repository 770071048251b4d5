"""The training loop: epochs of SGD steps, validation, best-checkpoint keeping, exact resume.

Progress is a position (epoch, step). ``last.pt`` is written at the end of every epoch and when
the run is interrupted, with everything needed to continue from that position; the batches,
augmentations and learning rates of a step depend on (seed, epoch, step) alone, so a resumed
run ends with exactly the weights of an uninterrupted one.
"""
import contextlib
import os
import signal
import sys
import time

import torch
from tqdm import tqdm

from engine import checkpoint as ckpt
from engine.compiled_step import CompiledStep
from engine.config import config_to_dict
from engine.distributed import all_reduce_sum
from engine.errors import Interrupted, NonFiniteLoss
from engine.evaluate import confusion_matrices
from engine.metrics import summarize
from engine.schedule import lr_factor


class Trainer:
    """Trains one model on one data bundle, as the config says.

    Args:
        cfg: the validated Config.
        bundle: data.DataBundle (train, val, test, classes, cls_num_list, ...).
        model: the model, already on ``context.device``; with ``train.channels_last`` the
            Trainer converts it to the channels-last memory format.
        criterion: loss module from ``engine.builders.build_loss``, on the same device.
        train_loader, val_loader: data.BatchLoader objects (val_loader may be None).
        context: engine.distributed.Context.
        run_dir: folder of this run (written by the main process only).
        writer: TensorBoard SummaryWriter, or None on non-main processes.
        eval_modules: modules kept in eval mode while training (the frozen BatchNorm layers
            of a stage-2 run); parameters with ``requires_grad`` False are not optimised.
        post_step: optional ``post_step(model)`` run without gradients after every optimizer
            step (the MaxNorm projection of weight balancing).
    """

    def __init__(self, cfg, bundle, model, criterion, train_loader, val_loader, context,
                 run_dir, writer, eval_modules=(), post_step=None):
        self.cfg = cfg
        self.bundle = bundle
        self.model = model
        self.criterion = criterion
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.context = context
        self.run_dir = run_dir
        self.writer = writer
        self.eval_modules = list(eval_modules)
        self.post_step = post_step
        self.device = context.device
        self.use_cuda = self.device.type == "cuda"
        if cfg.train.channels_last:  # faster convolutions on CUDA and CPU (oneDNN) alike
            model.to(memory_format=torch.channels_last)
        self.optimizer = _build_optimizer(model, cfg.train, self.use_cuda)
        self.step_model = _wrap_model(model, cfg.train, context)
        self.position = (0, 0)
        # The same tensors all run long (zeroed in place): the compiled step updates them.
        self.stats = _zero_stats(self.device)
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=self.device)
        self.compiled_step = _compiled_step(self, cfg.train, context)
        self.best = {"metric": None, "epoch": None}
        self.history = []
        self.wall_time_s = 0.0
        self.stop_requested = False

    def autocast(self):
        return autocast_for(self.cfg.train, self.device)()

    def restore(self, state):
        """Continue from a ``last.pt`` dict (see ``engine.checkpoint``)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.position = tuple(state["position"])
        for key, value in self.stats.items():
            value.fill_(state["train_stats"][key] if self.context.is_main else 0)
        self.best = dict(state["best"])
        self.history = list(state["history"])
        self.wall_time_s = float(state["wall_time_s"])
        ckpt.restore_rng_state(state["rng"])

    def fit(self):
        """Train from ``self.position`` to ``train.epochs``; leave the best weights in the model.

        Raises:
            Interrupted: after Ctrl-C, once ``last.pt`` holds the position reached.
            NonFiniteLoss: the loss was NaN or infinite; ``best.pt`` is kept as it was.
        """
        previous_handler = signal.signal(signal.SIGINT, self._request_stop)
        try:
            start_epoch, start_step = self.position
            for epoch in range(start_epoch, self.cfg.train.epochs):
                started = time.perf_counter()
                self._train_epoch(epoch, start_step if epoch == start_epoch else 0)
                self._end_epoch(epoch, time.perf_counter() - started)
                if self._stop_agreed(synchronise=True) and epoch + 1 < self.cfg.train.epochs:
                    raise Interrupted(self.run_dir)
        finally:
            signal.signal(signal.SIGINT, previous_handler)
        self._load_best_weights()

    def _live_progress(self):
        """A live progress bar only on a terminal: a log file gets the per-epoch lines alone."""
        return self.context.is_main and sys.stderr.isatty()

    def _request_stop(self, signum, frame):
        self.stop_requested = True

    def _train_epoch(self, epoch, start_step):
        cfg = self.cfg.train
        self.model.train()
        for module in self.eval_modules:
            module.eval()
        self.train_loader.set_epoch(epoch)
        self.criterion.set_epoch(epoch)
        steps = len(self.train_loader)
        if start_step == 0:
            for value in self.stats.values():
                value.zero_()
        first_bad_step = self.first_bad_step.fill_(-1)
        check_every = 1 if not self.use_cuda else 25
        bar = tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   leave=False, dynamic_ncols=True, disable=not self._live_progress())
        batches = iter(self.train_loader)
        for _ in range(start_step):
            next(batches)
        for step in range(start_step, steps):
            images, labels = next(batches)
            lr = cfg.lr * lr_factor(epoch, step, steps, cfg)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            if self.compiled_step is not None:
                self.compiled_step(images, labels, step)
            else:
                loss, correct = self.train_step(images, labels)
                bad = ~torch.isfinite(loss) & (first_bad_step < 0)
                first_bad_step.copy_(torch.where(bad, step, first_bad_step))
                self.stats["loss_sum"] += loss.double() * labels.shape[0]
                self.stats["correct"] += correct.double()
                self.stats["seen"] += labels.shape[0]
            bar.update(1)
            last = step == steps - 1
            checkpoint = step % check_every == 0 or last
            if checkpoint:
                self._check_finite(epoch, first_bad_step)
                seen = self.stats["seen"].item()
                bar.set_postfix(loss=f"{self.stats['loss_sum'].item() / seen:.4f}",
                                acc=f"{self.stats['correct'].item() / seen:.3f}", lr=f"{lr:.4g}",
                                refresh=False)
            if not last and self._stop_agreed(synchronise=checkpoint):
                bar.close()
                for key, value in self._stats_gathered_on_main().items():
                    self.stats[key].copy_(value)
                self.position = (epoch, step + 1)
                self._save_last()
                raise Interrupted(self.run_dir)
        bar.close()
        self._check_finite(epoch, first_bad_step)

    def train_step(self, images, labels):
        """One SGD step on a batch; returns (loss, number correct) as device tensors."""
        if self.cfg.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            logits = self.step_model(images)
        loss = self.criterion(logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.post_step is not None:
            with torch.no_grad():
                self.post_step(self.model)
        # Mixed (N, C) targets count as correct when the largest label weight is predicted.
        hard = labels.argmax(1) if labels.dim() == 2 else labels
        return loss.detach(), (logits.detach().argmax(1) == hard).sum()

    def _check_finite(self, epoch, first_bad_step):
        bad = all_reduce_sum((first_bad_step >= 0).to(torch.int64), self.context)
        if bad.item() > 0:
            step = int(first_bad_step.item())
            where = f"step {step + 1}" if step >= 0 else "a step on another process"
            raise NonFiniteLoss(f"the training loss became non-finite at epoch {epoch + 1}, "
                                f"{where}; lower train.lr or check the data")

    def _stop_agreed(self, synchronise):
        """Whether to stop for Ctrl-C. Under DDP the processes agree with an all-reduce,
        only when ``synchronise`` (at the steps where the host reads metrics anyway)."""
        if not self.context.distributed:
            return self.stop_requested
        if not synchronise:
            return False
        flag = torch.tensor([float(self.stop_requested)], device=self.device)
        return all_reduce_sum(flag, self.context).item() > 0

    def _stats_gathered_on_main(self):
        """The epoch's running sums over all processes on the main one, zeros elsewhere, so
        that the sums saved in ``last.pt`` and restored on every process add up once."""
        totals = {k: all_reduce_sum(v.clone(), self.context) for k, v in self.stats.items()}
        return totals if self.context.is_main else _zero_stats(self.device)

    def _end_epoch(self, epoch, seconds):
        stats = {k: all_reduce_sum(v.clone(), self.context).item() for k, v in self.stats.items()}
        train_loss = stats["loss_sum"] / stats["seen"]
        train_accuracy = stats["correct"] / stats["seen"]
        lr = self.optimizer.param_groups[0]["lr"]
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": train_loss,
                  "train_accuracy": train_accuracy, "val_accuracy": None,
                  "val_balanced_accuracy": None, "seconds": seconds}
        val_summary = None
        if self.val_loader is not None:
            confusion, _ = confusion_matrices(self.model, self.val_loader,
                                              self.bundle.num_classes, self.autocast)
            val_summary = summarize(confusion, self.bundle.cls_num_list,
                                    self.cfg.eval.many_shot, self.cfg.eval.few_shot)
            record["val_accuracy"] = val_summary["accuracy"]
            record["val_balanced_accuracy"] = val_summary["balanced_accuracy"]
            if self.best["metric"] is None or val_summary["balanced_accuracy"] > self.best["metric"]:
                self.best = {"metric": val_summary["balanced_accuracy"], "epoch": epoch + 1}
                self._save_best()
        else:
            self.best = {"metric": None, "epoch": epoch + 1}
        self.history.append(record)
        self.wall_time_s += seconds
        self.position = (epoch + 1, 0)
        if self.context.is_main:
            self._log_epoch(record, val_summary)
        self._save_last()

    def _log_epoch(self, record, val_summary):
        epoch = record["epoch"]
        line = (f"epoch {epoch}/{self.cfg.train.epochs}  lr {record['lr']:.4g}  "
                f"train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f}")
        if val_summary is not None:
            line += (f"  val acc {val_summary['accuracy']:.4f} "
                     f"mean-class {val_summary['balanced_accuracy']:.4f}")
        print(f"{line}  ({record['seconds']:.1f} s)", flush=True)
        writer = self.writer
        writer.add_scalar("lr", record["lr"], epoch)
        writer.add_scalar("train/loss", record["train_loss"], epoch)
        writer.add_scalar("train/accuracy", record["train_accuracy"], epoch)
        if val_summary is not None:
            writer.add_scalar("val/accuracy", val_summary["accuracy"], epoch)
            writer.add_scalar("val/balanced_accuracy", val_summary["balanced_accuracy"], epoch)
            for name, accuracy in zip(self.bundle.classes, val_summary["per_class"]):
                writer.add_scalar(f"val_class/{name}", accuracy, epoch)
        writer.flush()

    def _weights_record(self):
        return ckpt.model_record(self.cfg.model.name, self.bundle.num_classes,
                                 self.bundle.input_shape, self.bundle.classes,
                                 self.model.state_dict())

    def _save_best(self):
        if not self.context.is_main:
            return
        record = self._weights_record()
        record["epoch"] = self.best["epoch"]
        ckpt.atomic_save(record, os.path.join(self.run_dir, "best.pt"))

    def _save_last(self):
        if not self.context.is_main:
            return
        record = self._weights_record()
        record.update({
            "config": config_to_dict(self.cfg),
            "position": list(self.position),
            "optimizer": self.optimizer.state_dict(),
            "train_stats": {k: v.item() for k, v in self.stats.items()},
            "best": dict(self.best),
            "history": list(self.history),
            "rng": ckpt.rng_state(),
            "wall_time_s": self.wall_time_s,
        })
        ckpt.atomic_save(record, os.path.join(self.run_dir, "last.pt"))

    def _load_best_weights(self):
        """Without validation the last epoch's weights are the best ones: save them as such."""
        best_path = os.path.join(self.run_dir, "best.pt")
        if self.val_loader is None:
            self._save_best()
        if self.context.distributed:
            torch.distributed.barrier()
        state = ckpt.load_checkpoint(best_path)
        self.model.load_state_dict(state["model"])


def autocast_for(train_cfg, device):
    """Context-manager factory: bf16 autocast on CUDA when ``train.amp``, else plain fp32."""
    if device.type == "cuda" and train_cfg.amp:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def _zero_stats(device):
    return {k: torch.zeros((), dtype=torch.float64, device=device)
            for k in ("loss_sum", "correct", "seen")}


def _build_optimizer(model, train_cfg, use_cuda):
    """SGD with momentum and weight decay on every trainable parameter (the CIFAR ResNet
    recipe)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=train_cfg.lr, momentum=train_cfg.momentum,
                           weight_decay=train_cfg.weight_decay, nesterov=train_cfg.nesterov,
                           fused=bool(use_cuda and train_cfg.fused_optimizer) or None)


def _wrap_model(model, train_cfg, context):
    """The model as the eager step calls it: DDP-wrapped for several processes, whose forward
    pass is compiled with ``train.compile`` on CUDA (one process compiles the whole step)."""
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    if context.device.type == "cuda" and train_cfg.compile:
        wrapped = torch.compile(wrapped)  # DDP's gradient hooks do not fit in a CUDA graph
    return wrapped


def _compiled_step(trainer, train_cfg, context):
    """With ``train.compile`` in a single process, the whole step compiled (one CUDA graph per
    step on CUDA, inductor's C++ kernels on the CPU); else None: the eager ``train_step``."""
    if not train_cfg.compile or context.distributed:
        return None
    return CompiledStep(trainer.model, trainer.criterion, trainer.optimizer, trainer.stats,
                        trainer.first_bad_step, channels_last=train_cfg.channels_last,
                        autocast=autocast_for(train_cfg, context.device),
                        post_step=trainer.post_step,
                        mode="reduce-overhead" if context.device.type == "cuda" else None)
