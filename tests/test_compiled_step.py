"""The compiled whole training step against the eager one, on CPU.

One test compiles through torch.compile's default backend (inductor: C++ kernels built with the
system compiler, about 40 s the first time on two cores, a few seconds once its cache holds
them) inside the Trainer; the others trace the same function with the ``aot_eager`` backend,
which runs the traced graph without generating code, to check the parts of the step one at a
time in seconds.
"""
import copy
import unittest

import torch
from torch import nn
from torch._dynamo.testing import CompileCounterWithBackend

from app.settings import training_settings
import data
from engine import builders
from engine.compiled_step import CompiledStep
from engine.config import Config
from engine.distributed import Context
from engine.trainer import Trainer

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


class TinyNet(nn.Module):
    """Conv 3x3 -> BatchNorm -> ReLU -> global average -> linear: (N, 3, H, W) -> (N, classes)."""

    def __init__(self, classes=4):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, classes)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def pair_of_nets(seed=0):
    torch.manual_seed(seed)
    first, second = TinyNet(), TinyNet()
    second.load_state_dict(first.state_dict())
    return first, second


def zero_stats():
    return {k: torch.zeros((), dtype=torch.float64) for k in ("loss_sum", "correct", "seen")}


def batches(count, seed=1, soft=False):
    """``count`` batches of 16 random 8x8 images with labels in 0..3 (or soft targets)."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        images = torch.randn(16, 3, 8, 8, generator=generator)
        if soft:
            targets = torch.rand(16, 4, generator=generator).softmax(1)
        else:
            targets = torch.randint(0, 4, (16,), generator=generator)
        out.append((images, targets))
    return out


def max_norm(model):
    """Rows of the classifier's weight scaled down to norm <= 0.5 (a post-step projection)."""
    weight = model.fc.weight
    weight.mul_(torch.clamp(0.5 / weight.norm(dim=1, keepdim=True), max=1.0))


def assert_same_state(test, model, reference, optimizer, reference_optimizer, **tolerance):
    for (name, value), expected in zip(model.state_dict().items(),
                                       reference.state_dict().values()):
        torch.testing.assert_close(value, expected, msg=name, **tolerance)
    expected = reference_optimizer.state_dict()["state"]
    momenta = optimizer.state_dict()["state"]
    test.assertEqual(sorted(momenta), sorted(expected))
    for index, state in momenta.items():
        torch.testing.assert_close(state["momentum_buffer"], expected[index]["momentum_buffer"],
                                   msg=f"momentum of parameter {index}", **tolerance)


class TrainerCompiledStepTest(unittest.TestCase):
    """``train.compile`` in the Trainer, through the default backend, against the eager path."""

    def trainer(self, model, compile):
        cfg = Config()
        cfg.train.compile = compile
        cfg.train.batch_size = 16
        cfg.train.nesterov = True
        cfg.train.weight_decay = 5e-3
        cfg.train.warmup_epochs = 1  # a new learning rate every step of the first epoch
        cfg.train.epochs = 2
        cfg.train.lr = 0.05
        cfg.loss.name, cfg.loss.reweight, cfg.loss.reweight_epoch = "focal", "class_balanced", 1
        cfg.loss.gamma = 1.0
        generator = torch.Generator().manual_seed(2)
        images = torch.randint(0, 256, (80, 3, 8, 8), dtype=torch.uint8, generator=generator)
        labels = torch.arange(80) % 4
        train = data.ImageSet(images, labels)
        bundle = data.DataBundle(train, None, train, list("abcd"), MEAN, STD)
        counts = [40, 20, 12, 8]
        loader = data.BatchLoader(train, 16, device="cpu", mean=MEAN, std=STD, train=True,
                                  augment=True, drop_last=True)
        return Trainer(training_settings(cfg, bundle), model,
                       builders.build_loss(cfg.loss, counts), loader, None,
                       context=Context(0, 1, torch.device("cpu")))

    def test_two_epochs_give_the_eager_weights_statistics_and_momenta(self):
        model, reference = pair_of_nets()
        compiled, eager = self.trainer(model, True), self.trainer(reference, False)
        self.assertIsNotNone(compiled.compiled_step)
        self.assertIsNone(eager.compiled_step)
        for epoch in range(2):  # deferred class weights switch on in the second epoch
            compiled._train_epoch(epoch, 0)
            eager._train_epoch(epoch, 0)
            for key, value in eager.stats.items():
                torch.testing.assert_close(compiled.stats[key], value, rtol=1e-5, atol=1e-5,
                                           msg=key)
        self.assertEqual(compiled.stats["seen"].item(), 80)
        assert_same_state(self, model, reference, compiled.optimizer, eager.optimizer,
                          rtol=1e-5, atol=1e-6)
        self.assertEqual(model.bn.num_batches_tracked.item(), 10)


class CompiledStepPartsTest(unittest.TestCase):
    """The step's parts, traced with aot_eager, against autograd and torch.optim.SGD."""

    def test_groups_frozen_parameters_soft_targets_and_projection(self):
        model, reference = pair_of_nets()
        for net in (model, reference):
            net.conv.bias.requires_grad_(False)

        def optimizer_of(net):
            return torch.optim.SGD(
                [{"params": [net.conv.weight, net.bn.weight, net.bn.bias]},
                 {"params": net.fc.parameters(), "lr": 0.3, "momentum": 0.0, "weight_decay": 0}],
                lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True)

        optimizer, reference_optimizer = optimizer_of(model), optimizer_of(reference)
        criterion = nn.CrossEntropyLoss()
        stats, first_bad = zero_stats(), torch.tensor(-1)
        counter = CompileCounterWithBackend("aot_eager")
        step = CompiledStep(model, criterion, optimizer, stats, first_bad, post_step=max_norm,
                            backend=counter)
        frozen = model.conv.bias.clone()
        expected_loss, expected_correct = 0.0, 0
        for index, (images, targets) in enumerate(batches(4, soft=True)):
            for opt in (optimizer, reference_optimizer):
                opt.param_groups[0]["lr"] = 0.1 / (index + 1)  # a new rate: no recompile
            step(images, targets, index)
            logits = reference(images)
            loss = criterion(logits, targets)
            reference_optimizer.zero_grad()
            loss.backward()
            reference_optimizer.step()
            with torch.no_grad():
                max_norm(reference)
            expected_loss += loss.item() * 16
            expected_correct += (logits.argmax(1) == targets.argmax(1)).sum().item()
        self.assertEqual(counter.frame_count, 1)
        assert_same_state(self, model, reference, optimizer, reference_optimizer,
                          rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model.conv.bias, frozen, rtol=0, atol=0)
        self.assertLessEqual(model.fc.weight.norm(dim=1).max().item(), 0.5 + 1e-6)
        self.assertEqual(sorted(optimizer.state_dict()["state"]), [0, 1, 2],
                         "no momentum for the second group")
        self.assertAlmostEqual(stats["loss_sum"].item(), expected_loss, places=4)
        self.assertEqual(stats["correct"].item(), expected_correct)
        self.assertEqual(stats["seen"].item(), 64)
        self.assertEqual(first_bad.item(), -1)

    def test_first_non_finite_step_is_recorded(self):
        model = TinyNet()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        first_bad = torch.tensor(-1)
        step = CompiledStep(model, nn.CrossEntropyLoss(), optimizer, zero_stats(), first_bad,
                            backend="aot_eager")
        for index, (images, labels) in enumerate(batches(4)):
            if index >= 2:
                images[0, 0, 0, 0] = float("nan")
            step(images, labels, index)
            self.assertEqual(first_bad.item(), -1 if index < 2 else 2)

    def test_loaded_optimizer_state_is_the_one_updated(self):
        """After ``optimizer.load_state_dict`` (as a resumed run does) the step updates the
        loaded momentum buffers, so the next ``last.pt`` holds them."""
        model, reference = pair_of_nets()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
        criterion = nn.CrossEntropyLoss()
        step = CompiledStep(model, criterion, optimizer, zero_stats(), torch.tensor(-1),
                            backend="aot_eager")
        for index, (images, labels) in enumerate(batches(4)):
            if index == 2:
                optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
            step(images, labels, index)
            loss = criterion(reference(images), labels)
            reference_optimizer.zero_grad()
            loss.backward()
            reference_optimizer.step()
        assert_same_state(self, model, reference, optimizer, reference_optimizer,
                          rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    unittest.main()
