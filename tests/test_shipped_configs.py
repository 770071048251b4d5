"""Every shipped config trains a one-epoch trial (``--set train.epochs=1``) on synthetic data."""
import glob
import math
import os
import tempfile
import unittest

from engine.config import load_config
from tests.runs_helper import train_quietly

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

# Stand-ins for CIFAR-10 that keep each trial to seconds: 10 classes of 8-pixel images, the
# largest with 100 training images, so a factor-100 profile still leaves one image per class.
SYNTHETIC = ["data.dataset=synthetic", "data.synthetic.num_classes=10",
             "data.synthetic.train_per_class=100", "data.synthetic.test_per_class=4",
             "data.synthetic.image_size=8", "data.val_fraction=0", "train.batch_size=16",
             "device=cpu", "model.width=8"]


class OneEpochTrialTest(unittest.TestCase):
    def test_every_shipped_config_trains_one_epoch(self):
        paths = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))
        self.assertGreaterEqual(len(paths), 6)
        with tempfile.TemporaryDirectory() as tmp:
            for path in paths:
                with self.subTest(config=os.path.basename(path)):
                    metrics = self.trial(path, tmp)
                    self.assertTrue(metrics["finished"])
                    self.assertEqual(len(metrics["history"]), 1)
                    self.assertTrue(math.isfinite(metrics["history"][0]["train_loss"]))

    def trial(self, path, tmp):
        """Train ``path`` for one epoch as ``main.py --config PATH --set train.epochs=1``
        would, on synthetic data, with every output under ``tmp``."""
        overrides = ["train.epochs=1", *SYNTHETIC, f"run.dir={tmp}/runs",
                     f"run.checkpoint_dir={tmp}/checkpoints"]
        cfg = load_config(path, overrides, warn=lambda line: None)
        if cfg.data.downscale_size:
            # Downscaled epochs need a smaller side than the images': 12 pixels, shown at 8.
            overrides += ["data.synthetic.image_size=12", "data.downscale_size=8"]
            cfg = load_config(path, overrides, warn=lambda line: None)
        if cfg.train.init_from:
            # A stage-2 config names its stage-1 run, runs/<stage-1 config>/best.pt, which
            # sorts before it and so was trained just before, under tmp.
            overrides.append(f"train.init_from={os.path.join(tmp, cfg.train.init_from)}")
            cfg = load_config(path, overrides, warn=lambda line: None)
        return train_quietly(cfg)[1]


if __name__ == "__main__":
    unittest.main()
