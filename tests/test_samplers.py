"""Epoch samplers: class frequencies over many draws against the expected proportions."""
import unittest

import torch

from data.samplers import epoch_indices
from data.seeding import make_generator

COUNTS = torch.tensor([400, 100, 25, 4, 0, 1])
LABELS = torch.arange(len(COUNTS)).repeat_interleave(COUNTS)[torch.randperm(
    int(COUNTS.sum()), generator=torch.Generator().manual_seed(0))]


def draw(strategy, epochs, seed=0):
    generator = make_generator(seed, "test")
    return torch.cat([epoch_indices(LABELS, strategy, generator, len(COUNTS))
                      for _ in range(epochs)])


class SamplerTest(unittest.TestCase):
    def assert_class_frequencies(self, indices, probabilities):
        n = indices.numel()
        observed = torch.bincount(LABELS[indices], minlength=len(COUNTS)).double()
        expected = n * probabilities
        sd = (n * probabilities * (1 - probabilities)).sqrt()
        for c in range(len(COUNTS)):
            self.assertLessEqual(abs(observed[c] - expected[c]), 4 * sd[c] + 1e-9,
                                 f"class {c}: {observed.tolist()} vs {expected.tolist()}")

    def test_instance_is_a_permutation(self):
        generator = make_generator(0, "test")
        order = epoch_indices(LABELS, "instance", generator, len(COUNTS))
        self.assertTrue(torch.equal(torch.sort(order).values, torch.arange(len(LABELS))))
        self.assertFalse(torch.equal(order, torch.arange(len(LABELS))))

    def test_class_balanced_frequencies(self):
        indices = draw("class_balanced", 40)
        self.assertEqual(indices.numel(), 40 * len(LABELS))
        present = (COUNTS > 0).double()
        self.assert_class_frequencies(indices, present / present.sum())

    def test_class_balanced_uniform_within_a_class(self):
        indices = draw("class_balanced", 40)
        members = torch.nonzero(LABELS == 3).flatten()  # the class with 4 images
        hits = torch.stack([(indices == m).sum() for m in members]).double()
        n = float(hits.sum())
        sd = (n * 0.25 * 0.75) ** 0.5
        self.assertTrue(torch.all((hits - n / 4).abs() < 4 * sd), hits.tolist())

    def test_sqrt_frequencies(self):
        weights = COUNTS.double().sqrt()
        self.assert_class_frequencies(draw("sqrt", 40), weights / weights.sum())

    def test_deterministic_per_generator_seed(self):
        self.assertTrue(torch.equal(draw("sqrt", 1, seed=4), draw("sqrt", 1, seed=4)))
        self.assertFalse(torch.equal(draw("sqrt", 1, seed=4), draw("sqrt", 1, seed=5)))

    def test_unknown_strategy(self):
        with self.assertRaisesRegex(ValueError, "unknown sampler 'square'"):
            epoch_indices(LABELS, "square", torch.Generator(), len(COUNTS))


if __name__ == "__main__":
    unittest.main()
