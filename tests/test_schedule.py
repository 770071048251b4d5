import unittest
from types import SimpleNamespace

from engine.schedule import lr_factor


def train_cfg(**changes):
    base = dict(epochs=200, schedule="step", warmup_epochs=5, milestones=[160, 180],
                lr_decay=0.01)
    base.update(changes)
    return SimpleNamespace(**base)


class StepScheduleTest(unittest.TestCase):
    def test_warmup_rises_linearly_per_step(self):
        cfg = train_cfg()
        self.assertAlmostEqual(lr_factor(0, 0, 10, cfg), 0.1 / 5)
        self.assertAlmostEqual(lr_factor(2, 4, 10, cfg), 2.5 / 5)
        self.assertAlmostEqual(lr_factor(4, 9, 10, cfg), 1.0)

    def test_ldam_drw_recipe_decays_at_milestones(self):
        cfg = train_cfg()
        self.assertEqual(lr_factor(5, 0, 10, cfg), 1.0)
        self.assertEqual(lr_factor(159, 9, 10, cfg), 1.0)
        self.assertAlmostEqual(lr_factor(160, 0, 10, cfg), 0.01)
        self.assertAlmostEqual(lr_factor(179, 9, 10, cfg), 0.01)
        self.assertAlmostEqual(lr_factor(180, 0, 10, cfg), 1e-4)
        self.assertAlmostEqual(lr_factor(199, 9, 10, cfg), 1e-4)

    def test_course_recipe_decays_by_tenth(self):
        cfg = train_cfg(epochs=10, warmup_epochs=0, milestones=[6, 8], lr_decay=0.1)
        self.assertEqual([round(lr_factor(e, 0, 1, cfg), 6) for e in range(10)],
                         [1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01])


class CosineScheduleTest(unittest.TestCase):
    def test_half_cosine_after_warmup(self):
        cfg = train_cfg(epochs=12, schedule="cosine", warmup_epochs=2)
        self.assertAlmostEqual(lr_factor(1, 0, 1, cfg), 1.0)
        self.assertAlmostEqual(lr_factor(6, 0, 1, cfg), 0.5)
        self.assertAlmostEqual(lr_factor(11, 0, 1, cfg), 0.0)
        self.assertAlmostEqual(lr_factor(3, 0, 1, cfg), 0.5 * (1 + 0.8090169943749475))

    def test_constant(self):
        cfg = train_cfg(schedule="constant", warmup_epochs=0)
        self.assertEqual(lr_factor(150, 3, 10, cfg), 1.0)


if __name__ == "__main__":
    unittest.main()
