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
from engine.distributed import all_reduce_sum
from engine.errors import Interrupted, NonFiniteLoss
from engine.evaluate import confusion_matrices
from engine.metrics import summarize
from engine.schedule import lr_factor

# Ctrl-C and what schedulers, ``timeout`` and container stops send: both save and stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Trainer:
    """Trains one model with one loss on one training loader, as ``settings`` say.

    Args:
        settings: engine.train_settings.TrainSettings (epochs, schedule, precision, ...).
        model: the model, already on ``context.device``; with ``settings.channels_last`` the
            Trainer converts it to the channels-last memory format.
        criterion: loss module from ``builders.build_loss``, on the same device.
        train_loader, val_loader: data.BatchLoader objects (val_loader may be None: the last
            epoch's weights are then the best).
        context: engine.distributed.Context.
        run_dir: folder of this run (written by the main process only).
        writer: TensorBoard SummaryWriter, or None on non-main processes.
        optimizer: an optimizer over the model's parameters, or None for SGD as ``settings``
            say over every parameter with ``requires_grad``.
        eval_modules: modules kept in eval mode while training (the frozen BatchNorm layers
            of a stage-2 run).
        post_step: optional ``post_step(model)`` run without gradients after every optimizer
            step (the MaxNorm projection of weight balancing).
    """

    def __init__(self, settings, model, criterion, train_loader, val_loader, *, context,
                 run_dir=None, writer=None, optimizer=None, eval_modules=(), post_step=None):
        self.settings = settings
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
        if settings.channels_last:  # faster convolutions on CUDA and CPU (oneDNN) alike
            model.to(memory_format=torch.channels_last)
        self.optimizer = optimizer or _build_optimizer(model, settings, self.use_cuda)
        self.step_model = _wrap_model(model, settings, context)
        self.position = (0, 0)
        # The same tensors all run long (zeroed in place): the compiled step updates them.
        self.stats = _zero_stats(self.device)
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=self.device)
        self.compiled_step = _compiled_step(self, settings, context)
        self.best = {"metric": None, "epoch": None}
        self.history = []
        self.wall_time_s = 0.0
        self.stop_requested = False

    def autocast(self):
        return autocast_for(self.settings, self.device)()

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
            Interrupted: after Ctrl-C or SIGTERM, once ``last.pt`` holds the position reached.
            NonFiniteLoss: the loss was NaN or infinite; ``best.pt`` is kept as it was.
        """
        previous = {signum: signal.signal(signum, self._request_stop) for signum in STOP_SIGNALS}
        try:
            start_epoch, start_step = self.position
            epochs = self.settings.epochs
            for epoch in range(start_epoch, epochs):
                started = time.perf_counter()
                self._train_epoch(epoch, start_step if epoch == start_epoch else 0)
                self._end_epoch(epoch, time.perf_counter() - started)
                if self._stop_agreed(synchronise=True) and epoch + 1 < epochs:
                    raise Interrupted(self.run_dir)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self._load_best_weights()

    def _live_progress(self):
        """A live progress bar only on a terminal: a log file gets the per-epoch lines alone."""
        return self.context.is_main and sys.stderr.isatty()

    def _request_stop(self, signum, frame):
        self.stop_requested = True

    def _train_epoch(self, epoch, start_step):
        settings = self.settings
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
        check_every = settings.host_sync_steps if self.use_cuda else 1
        bar = tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}/{settings.epochs}",
                   leave=False, dynamic_ncols=True, disable=not self._live_progress())
        batches = iter(self.train_loader)
        for _ in range(start_step):
            next(batches)
        for step in range(start_step, steps):
            images, labels = next(batches)
            lr = settings.lr * lr_factor(epoch, step, steps, settings)
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
                self._save_progress(epoch, step + 1)
                raise Interrupted(self.run_dir)
        bar.close()
        self._check_finite(epoch, first_bad_step)

    def _save_progress(self, epoch, next_step):
        """The mid-epoch save before a stop: ``last.pt`` continues at step ``next_step`` of
        ``epoch`` (0-based) with the epoch's running sums over every process."""
        for key, value in self._stats_gathered_on_main().items():
            self.stats[key].copy_(value)
        self.position = (epoch, next_step)
        self._save_last()

    def train_step(self, images, labels):
        """One SGD step on a batch; returns (loss, number correct) as device tensors."""
        if self.settings.channels_last:
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
                                f"{where}; lower train.lr or check the data; "
                                f"{self._best_so_far()}")

    def _best_so_far(self):
        """What the run keeps after a stop, for messages: best.pt and its epoch, or none."""
        if self.run_dir is not None and self.best["epoch"] is not None and \
                os.path.isfile(os.path.join(self.run_dir, "best.pt")):
            return (f"{os.path.join(self.run_dir, 'best.pt')} keeps the best weights so far "
                    f"(epoch {self.best['epoch']})")
        return "no best.pt was saved (no epoch finished)"

    def _stop_agreed(self, synchronise):
        """Whether to stop for Ctrl-C or SIGTERM. Under DDP the processes agree with an all-reduce,
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
            settings = self.settings
            confusion, _ = confusion_matrices(self.model, self.val_loader,
                                              settings.num_classes, self.autocast)
            val_summary = summarize(confusion, list(settings.cls_num_list),
                                    settings.many_shot, settings.few_shot)
            record["val_accuracy"] = val_summary["accuracy"]
            record["val_balanced_accuracy"] = val_summary["balanced_accuracy"]
            score = val_summary["balanced_accuracy"]
            if self.best["metric"] is None or score > self.best["metric"]:
                self.best = {"metric": score, "epoch": epoch + 1}
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
        line = (f"epoch {epoch}/{self.settings.epochs}  lr {record['lr']:.4g}  "
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
            for name, accuracy in zip(self.settings.classes, val_summary["per_class"]):
                writer.add_scalar(f"val_class/{name}", accuracy, epoch)
        writer.flush()

    def _weights_record(self):
        settings = self.settings
        return ckpt.model_record(settings.model_name, settings.num_classes,
                                 settings.input_shape, settings.classes, self.model.state_dict())

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
            "config": self.settings.run_config,
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


def autocast_for(settings, device):
    """Context-manager factory: bf16 autocast on CUDA when ``settings.amp``, else plain fp32."""
    if device.type == "cuda" and settings.amp:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def _zero_stats(device):
    return {k: torch.zeros((), dtype=torch.float64, device=device)
            for k in ("loss_sum", "correct", "seen")}


def _build_optimizer(model, settings, use_cuda):
    """SGD with momentum and weight decay on every trainable parameter (the CIFAR ResNet
    recipe)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=settings.lr, momentum=settings.momentum,
                           weight_decay=settings.weight_decay, nesterov=settings.nesterov,
                           fused=bool(use_cuda and settings.fused_optimizer) or None)


def _wrap_model(model, settings, context):
    """The model as the eager step calls it: DDP-wrapped for several processes, whose forward
    pass is compiled with ``train.compile`` on CUDA (one process compiles the whole step)."""
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    if context.device.type == "cuda" and settings.compile:
        wrapped = torch.compile(wrapped)  # DDP's gradient hooks do not fit in a CUDA graph
    return wrapped


def _compiled_step(trainer, settings, context):
    """With ``settings.compile`` in a single process, the whole step compiled (one CUDA graph per
    step on CUDA, inductor's C++ kernels on the CPU); else None: the eager ``train_step``."""
    if not settings.compile or context.distributed:
        return None
    return CompiledStep(trainer.model, trainer.criterion, trainer.optimizer, trainer.stats,
                        trainer.first_bad_step, channels_last=settings.channels_last,
                        autocast=autocast_for(settings, context.device),
                        post_step=trainer.post_step,
                        mode="reduce-overhead" if context.device.type == "cuda" else None)
