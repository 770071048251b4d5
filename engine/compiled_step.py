"""The whole training step as one compiled function: on CUDA, one CUDA graph replays per step.

One call does the forward pass (under the config's autocast), the loss, the backward pass
(``torch.func.grad_and_value``, so no autograd graph leaves the function), the SGD update of every
parameter the optimizer holds, an optional projection of the weights after the update, and the
running metric sums. The learning rates and the step's index reach the graph through a small
device tensor, so a new learning rate does not recompile anything.

The update is torch.optim.SGD's (no dampening): with g the gradient, p the parameter and b the
momentum buffer, d = g + weight_decay p; b = momentum b + d; p -= lr (d + momentum b) with
Nesterov momentum, p -= lr b without. The momentum buffers live in ``optimizer.state`` (zeros
before the first step, which gives torch's first step b = d exactly), so ``last.pt`` is the same
whichever path trained, and a run can switch between this step and the eager
``Trainer.train_step``, the reference this step is tested against.

Not for data-parallel runs: DistributedDataParallel's gradient hooks do not fit in one graph.
"""
import contextlib

import torch
from torch.func import functional_call, grad_and_value


class CompiledStep:
    """forward, loss, backward, SGD update, projection and metric sums in one ``torch.compile``.

    Args:
        model: the network, on its device (already channels-last when asked).
        criterion: ``criterion(logits (N, C), targets) ->`` scalar loss; ``targets`` are int64
            labels (N,) or float class probabilities (N, C).
        optimizer: torch.optim.SGD over the trainable parameters (any subset of the model's:
            the others stay as they are). Each group's momentum, weight_decay and nesterov are
            read once; its ``lr`` on every call.
        stats: {"loss_sum", "correct", "seen"}: 0-dim float64 tensors on the device, updated in
            place (loss x batch size, correct predictions, images). They must stay the same
            tensors across calls (zero them in place).
        first_bad_step: 0-dim int64 device tensor, updated in place: where it is -1 and the loss
            is not finite, it becomes the step's index.
        channels_last: convert each batch to the channels-last memory format first.
        autocast: context-manager factory for the forward pass (e.g. bf16 autocast on CUDA).
        post_step: optional ``post_step(model)``, run without gradients after every update
            (e.g. a max-norm projection of the classifier); must be traceable by torch.compile.
        mode, backend: passed to ``torch.compile``. On CUDA, mode "reduce-overhead" records the
            step as a CUDA graph; backend "aot_eager" traces without generating code.

    Calling ``step(images float (N, C, H, W), targets, index)`` trains on one batch.
    """

    def __init__(self, model, criterion, optimizer, stats, first_bad_step, *,
                 channels_last=False, autocast=None, post_step=None, mode=None,
                 backend="inductor"):
        self.model = model
        self.criterion = criterion
        self.optimizer = optimizer
        self.stats = stats
        self.first_bad_step = first_bad_step
        self.channels_last = channels_last
        self.autocast = autocast or contextlib.nullcontext
        self.post_step = post_step
        self.groups = [_group_settings(group) for group in optimizer.param_groups]
        names = {id(p): name for name, p in model.named_parameters()}
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        missing = [p for p in self.params if id(p) not in names]
        if missing:
            raise ValueError("the optimizer holds parameters that are not the model's")
        self.names = [names[id(p)] for p in self.params]
        self.sizes = [len(group["params"]) for group in optimizer.param_groups]
        device = self.params[0].device
        self.use_cuda = device.type == "cuda"
        # The learning rate of every group, then the step's index.
        self.control = torch.zeros(len(self.groups) + 1, dtype=torch.float64, device=device)
        self.momenta, self.bound_state = None, None
        for tensor in (*model.parameters(), *model.buffers(), *stats.values(), first_bad_step,
                       self.control):
            torch._dynamo.mark_static_address(tensor)
        self.compiled = torch.compile(self._step, mode=mode, backend=backend, fullgraph=True)

    def __call__(self, images, targets, index):
        """Train on one batch: images float (N, C, H, W), targets int64 (N,) or float (N, C),
        index the step's position in its epoch (reported by ``first_bad_step``)."""
        self._bind_momenta()
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        # From pageable memory without waiting for the GPU: staged at once, then queued.
        self.control.copy_(torch.tensor([*lrs, index], dtype=torch.float64), non_blocking=True)
        if self.use_cuda:
            torch.compiler.cudagraph_mark_step_begin()
        self.compiled(images, targets)

    def _bind_momenta(self):
        """The momentum buffers of ``optimizer.state``, created as zeros where missing; found
        again after ``optimizer.load_state_dict`` replaced the state."""
        if self.optimizer.state is self.bound_state:
            return
        momenta = []
        for params, group in zip(self._grouped(self.params), self.groups):
            for p in params:
                if group["momentum"] == 0:
                    momenta.append(None)
                    continue
                state = self.optimizer.state[p]
                if state.get("momentum_buffer") is None:
                    state["momentum_buffer"] = torch.zeros_like(p)
                torch._dynamo.mark_static_address(state["momentum_buffer"])
                momenta.append(state["momentum_buffer"])
        self.momenta = momenta
        self.bound_state = self.optimizer.state

    def _grouped(self, items):
        """``items`` (one per parameter, in optimizer order) split by parameter group."""
        out, start = [], 0
        for size in self.sizes:
            out.append(items[start:start + size])
            start += size
        return out

    def _step(self, images, targets):
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        buffers = dict(self.model.named_buffers())

        def loss_of(params, buffers):
            with self.autocast():
                logits = functional_call(self.model, (params, buffers), (images,))
            return self.criterion(logits, targets), logits.detach()

        grads, (loss, logits) = grad_and_value(loss_of, has_aux=True)(
            dict(zip(self.names, self.params)), buffers)
        with torch.no_grad():
            grouped = zip(self._grouped(self.params), self._grouped(self.names),
                          self._grouped(self.momenta), self.groups)
            for g, (params, names, momenta, group) in enumerate(grouped):
                lr = self.control[g]
                for p, name, buf in zip(params, names, momenta):
                    _sgd_update(p, grads[name], buf, lr, group)
            if self.post_step is not None:
                self.post_step(self.model)
            labels = targets.argmax(1) if targets.is_floating_point() else targets
            count = labels.shape[0]
            self.stats["loss_sum"].add_(loss.detach().double() * count)
            self.stats["correct"].add_((logits.argmax(1) == labels).sum().double())
            self.stats["seen"].add_(count)
            bad = ~torch.isfinite(loss.detach()) & (self.first_bad_step < 0)
            self.first_bad_step.copy_(torch.where(bad, self.control[-1].long(),
                                                  self.first_bad_step))


def _sgd_update(p, grad, buf, lr, group):
    """torch.optim.SGD's update of one parameter, in place (see the module docstring)."""
    d = grad.to(p.dtype)
    if group["weight_decay"] != 0:
        d = d + group["weight_decay"] * p
    if buf is not None:
        buf.mul_(group["momentum"]).add_(d)
        d = d + group["momentum"] * buf if group["nesterov"] else buf
    p.sub_(lr.to(p.dtype) * d)


def _group_settings(group):
    if group.get("dampening", 0) != 0 or group.get("maximize", False):
        raise ValueError("the compiled step implements SGD without dampening or maximize")
    return {"momentum": group["momentum"], "weight_decay": group["weight_decay"],
            "nesterov": group["nesterov"]}
