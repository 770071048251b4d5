"""Checks that need CUDA; without a GPU every test here is skipped.

    python -m unittest tests.test_gpu -v     # about 3-5 minutes on one H100, most of it compiling

- The fast path (bf16 autocast, channels_last, fused SGD and the compiled whole step, one CUDA
  graph per step) trains ResNet-32 for 50 steps like fp32 eager training: its first update is
  within 10% (relative L2 norm) of fp32 eager's on the same batch, and over the 50 steps its mean
  training loss is within 5% and its training accuracy within 5 points of fp32 eager's.
- The batched augmentation on the GPU gives the CPU's batches (images within 1e-6).
- Evaluation under bf16 autocast predicts the fp32 class on at least 99.9% of 10,000 images.
- With two GPUs, two processes over NCCL end with one process's weights (within 1e-4).
"""
import os
import subprocess
import sys
import tempfile
import unittest

import torch

from app.settings import training_settings
import data
from engine import builders
from engine.config import Config
from engine.distributed import Context
from engine.trainer import Trainer
from tests.runs_helper import ENV, REPO, run_main, synthetic_config

CUDA = torch.cuda.is_available()
STEPS, BATCH = 50, 128


def synthetic_bundle():
    """10 learnable classes of 32x32 images: 50 batches of 128 to train on, 10,000 to test."""
    cfg = Config()
    cfg.data.dataset = "synthetic"
    cfg.data.val_fraction = 0.0
    cfg.data.synthetic.train_per_class = STEPS * BATCH // 10
    cfg.data.synthetic.test_per_class = 1000
    return data.build_data(cfg.data, seed=0)


def trainer_for(bundle, model, fast):
    """A Trainer on the GPU: the fast path (bf16, channels_last, fused SGD, compiled whole
    step) or fp32 eager with none of them."""
    cfg = Config()
    cfg.train.batch_size = BATCH
    cfg.train.lr = 0.05
    cfg.train.warmup_epochs = 1  # a new learning rate every step: none may recompile
    cfg.train.amp = cfg.train.channels_last = cfg.train.fused_optimizer = fast
    cfg.train.compile = fast
    device = torch.device("cuda")
    loader = data.BatchLoader(bundle.train, BATCH, device=device, mean=bundle.mean,
                              std=bundle.std, train=True, augment=True, drop_last=True)
    criterion = builders.build_loss(cfg.loss, bundle.cls_num_list).to(device)
    return Trainer(training_settings(cfg, bundle), model.to(device), criterion, loader, None,
                   context=Context(0, 1, device))


def flat(model):
    return torch.cat([p.detach().float().flatten() for p in model.parameters()])


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class FastPathOnGpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch._dynamo.utils.counters.clear()
        cls.bundle = synthetic_bundle()
        torch.manual_seed(0)
        fast_model = builders.build_model("resnet32")
        eager_model = builders.build_model("resnet32")
        eager_model.load_state_dict(fast_model.state_dict())
        cls.fast = trainer_for(cls.bundle, fast_model, fast=True)
        cls.eager = trainer_for(cls.bundle, eager_model, fast=False)
        # The first update, on the same batch, from the same weights.
        loader = cls.fast.train_loader
        loader.set_epoch(0)
        images, labels = next(iter(loader))
        before = flat(fast_model)
        for trainer in (cls.fast, cls.eager):
            trainer.model.train()
            for group in trainer.optimizer.param_groups:
                group["lr"] = 0.05
        cls.fast.compiled_step(images, labels, 0)
        cls.eager.train_step(images, labels)
        cls.updates = (flat(fast_model) - before, flat(eager_model) - before)
        # Steps 2 to 50.
        cls.stats = []
        for trainer in (cls.fast, cls.eager):
            for value in trainer.stats.values():
                value.zero_()
            trainer._train_epoch(0, 1)
            cls.stats.append({k: v.item() for k, v in trainer.stats.items()})
        cls.first_bad_step = cls.fast.first_bad_step.item()
        cls.finite = bool(torch.isfinite(flat(fast_model)).all())
        for epoch in range(1, 4):  # a model sure enough of its classes for the autocast check
            cls.fast._train_epoch(epoch, 0)
        torch.cuda.synchronize()

    def test_the_fast_step_is_compiled_as_one_cuda_graph(self):
        self.assertIsNotNone(self.fast.compiled_step)
        self.assertIsNone(self.eager.compiled_step)
        self.assertEqual(torch._dynamo.utils.counters["inductor"]["cudagraph_skips"], 0)
        self.assertTrue(self.fast.model.conv1.weight.is_contiguous(
            memory_format=torch.channels_last))

    def test_first_update_matches_fp32_eager(self):
        fast, eager = self.updates
        self.assertLess(((fast - eager).norm() / eager.norm()).item(), 0.10)

    def test_fifty_steps_train_like_fp32_eager(self):
        fast, eager = self.stats
        self.assertEqual(fast["seen"], (STEPS - 1) * BATCH)
        self.assertEqual(self.first_bad_step, -1)
        self.assertTrue(self.finite)
        fast_loss, eager_loss = fast["loss_sum"] / fast["seen"], eager["loss_sum"] / eager["seen"]
        self.assertLess(abs(fast_loss - eager_loss), 0.05 * eager_loss)
        self.assertLess(abs(fast["correct"] - eager["correct"]) / fast["seen"], 0.05)

    def test_autocast_evaluation_predicts_the_fp32_class(self):
        model = self.fast.model.eval()
        loader = data.BatchLoader(self.bundle.test, 500, device="cuda", mean=self.bundle.mean,
                                  std=self.bundle.std, train=False, augment=False)
        same = total = 0
        with torch.no_grad():
            for images, labels in loader:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    low = model(images).float().argmax(1)
                same += (low == model(images).argmax(1)).sum().item()
                total += labels.numel()
        self.assertEqual(total, 10_000)
        self.assertGreaterEqual(same / total, 0.999)


@unittest.skipUnless(CUDA, "needs a CUDA GPU")
class AugmentationOnGpuTest(unittest.TestCase):
    def test_device_batches_equal_the_cpu_batches(self):
        bundle = synthetic_bundle()
        loaders = [data.BatchLoader(bundle.train, BATCH, device=device, mean=bundle.mean,
                                    std=bundle.std, train=True, augment=True, drop_last=True,
                                    seed=3) for device in ("cpu", "cuda")]
        for loader in loaders:
            loader.set_epoch(2)
        for (cpu_images, cpu_labels), (gpu_images, gpu_labels) in zip(*loaders):
            torch.testing.assert_close(gpu_images.cpu(), cpu_images, rtol=0, atol=1e-6)
            self.assertTrue(torch.equal(gpu_labels.cpu(), cpu_labels))
        params = data.sample_crop_flip(64, 4, torch.Generator().manual_seed(1))
        images = bundle.train.images[:64]
        self.assertTrue(torch.equal(
            data.crop_flip(images.cuda(), *(p.cuda() for p in params), 4).cpu(),
            data.crop_flip(images, *params, 4)))


@unittest.skipUnless(CUDA and torch.cuda.device_count() >= 2, "needs two CUDA GPUs")
class TwoGpuTest(unittest.TestCase):
    def test_two_processes_over_nccl_match_one_process(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = synthetic_config(tmp, model={"name": "vanillacnn"},
                                      loss={"name": "ce", "reweight": "none"},
                                      train={"epochs": 2, "batch_size": 16})
            sets = ["--set", "device=cuda", "--set", "train.amp=false"]
            single = run_main("--config", config, *sets, "--set", "run.name=single")
            self.assertEqual(single.returncode, 0, single.stderr)
            double = subprocess.run(
                [sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc_per_node=2", os.path.join(REPO, "main.py"), "--config", config,
                 *sets, "--set", "run.name=double"],
                cwd=REPO, capture_output=True, text=True, env=ENV)
            self.assertEqual(double.returncode, 0, double.stderr[-3000:])
            self.assertIn("world size 2", double.stdout)
            weights = [torch.load(os.path.join(tmp, "runs", name, "last.pt"),
                                  weights_only=True)["model"] for name in ("single", "double")]
            for name, tensor in weights[0].items():
                torch.testing.assert_close(weights[1][name], tensor, rtol=1e-4, atol=1e-5,
                                           msg=name)


if __name__ == "__main__":
    unittest.main()
