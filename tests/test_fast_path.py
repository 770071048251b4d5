"""The fast path (batched tensor augmentation, the engine's training step) against the plain path
(per-sample PIL transforms as torchvision applies them, a hand-written SGD step), in fp32 on CPU."""
import unittest

import torch
import torchvision.transforms.functional as TF
from PIL import Image

from app.settings import training_settings
import data
from engine import builders
from engine.config import Config
from engine.distributed import Context
from engine.trainer import Trainer

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


def plain_augment(images, offsets_y, offsets_x, flips, padding=4):
    """torchvision's per-sample path: PIL image, pad, crop, flip, to_tensor, normalize."""
    out = []
    for image, top, left, flip in zip(images, offsets_y.tolist(), offsets_x.tolist(),
                                      flips.tolist()):
        pil = Image.fromarray(image.permute(1, 2, 0).numpy())
        pil = TF.crop(TF.pad(pil, padding), top, left, image.shape[1], image.shape[2])
        if flip:
            pil = TF.hflip(pil)
        out.append(TF.normalize(TF.to_tensor(pil), MEAN, STD))
    return torch.stack(out)


class FastPathTest(unittest.TestCase):
    def setUp(self):
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8,
                                    generator=generator)
        self.labels = torch.randint(0, 10, (16,), generator=generator)
        self.params = data.sample_crop_flip(16, 4, generator)

    def fast_batch(self):
        return data.normalize(data.crop_flip(self.images, *self.params, padding=4), MEAN, STD)

    def test_batched_augmentation_equals_per_sample_transforms(self):
        torch.testing.assert_close(self.fast_batch(), plain_augment(self.images, *self.params),
                                   rtol=0, atol=1e-6)

    def test_engine_step_equals_plain_step_on_the_same_batch(self):
        """In float64, so that the engine's channels_last convolutions and the plain NCHW ones
        agree to ~1e-12 and the tolerances can catch a wrong weight decay (a 1e-3 effect);
        in float32 the two kernels' rounding differs by ~1% of a gradient through 20 layers."""
        cfg = Config()
        cfg.model.name = "resnet20"
        cfg.train.weight_decay = 5e-4
        self.assertTrue(cfg.train.channels_last)
        counts = [50] * 10
        torch.manual_seed(0)
        model = builders.build_model("resnet20").double()
        plain_model = builders.build_model("resnet20").double()
        plain_model.load_state_dict(model.state_dict())
        bundle = data.DataBundle(data.ImageSet(self.images, self.labels), None,
                                 data.ImageSet(self.images, self.labels),
                                 [str(i) for i in range(10)], MEAN, STD)
        trainer = Trainer(training_settings(cfg, bundle), model,
                          builders.build_loss(cfg.loss, counts), None, None,
                          context=Context(0, 1, torch.device("cpu")))

        batch = self.fast_batch().double()
        loss, correct = trainer.train_step(batch, self.labels)

        plain_batch = plain_augment(self.images, *self.params).double()
        logits = plain_model(plain_batch)
        plain_loss = torch.nn.functional.cross_entropy(logits, self.labels)
        plain_loss.backward()
        with torch.no_grad():
            for p in plain_model.parameters():
                p -= cfg.train.lr * (p.grad + cfg.train.weight_decay * p)

        torch.testing.assert_close(loss, plain_loss.detach(), rtol=1e-10, atol=1e-12)
        self.assertEqual(correct.item(), (logits.argmax(1) == self.labels).sum().item())
        self.assertTrue(model.conv1.weight.is_contiguous(memory_format=torch.channels_last))
        for (name, fast), slow in zip(model.state_dict().items(),
                                      plain_model.state_dict().values()):
            torch.testing.assert_close(fast, slow, rtol=1e-9, atol=1e-12, msg=name)


if __name__ == "__main__":
    unittest.main()
