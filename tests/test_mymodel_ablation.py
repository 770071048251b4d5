"""tools/mymodel_ablation.py end to end on a tiny generated ImageFolder: it trains the chosen
variants with the recipe of configs/mymodel.yaml and prints one consistent row per variant."""
import contextlib
import io
import re
import tempfile
import unittest

from engine.config import load_config
from tests.runs_helper import write_image_folder
from tools import mymodel_ablation


class MyModelAblationTest(unittest.TestCase):
    def test_rows_are_measured_against_the_full_model(self):
        with tempfile.TemporaryDirectory() as root:
            write_image_folder(root, 3, 30, 32)               # 90 images: one batch of 64
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = mymodel_ablation.main([
                    "--data", root, "--train-images", "90", "--test-images", "90",
                    "--epochs", "1", "--only", "MyModel (every choice on)", "logit scale 1/8"])
        self.assertEqual(status, 0, err.getvalue())
        rows = re.findall(r"^\| (.+?) \| ([\d.]+)% \| ([+-][\d.]+) \| \d+ \|$", out.getvalue(),
                          re.MULTILINE)
        self.assertEqual([name for name, _, _ in rows],
                         ["MyModel (every choice on)", "logit scale 1/8"])
        (_, full, full_delta), (_, scaled, scaled_delta) = rows
        self.assertEqual(full_delta, "+0.00")
        self.assertAlmostEqual(float(scaled_delta), float(scaled) - float(full), places=2)
        for accuracy in (full, scaled):                       # a count of the 90 images
            correct = float(accuracy) * 0.9
            self.assertAlmostEqual(correct, round(correct), delta=0.01)

    def test_the_downscaled_share_of_the_recipe_is_kept_in_a_shorter_budget(self):
        recipe = load_config("configs/mymodel.yaml")
        self.assertEqual((recipe.data.downscale_until, recipe.train.epochs), (5, 8))
        self.assertEqual(mymodel_ablation.squeezed_downscale(recipe, 3),
                         ["data.downscale_until=2"])
        self.assertEqual(mymodel_ablation.squeezed_downscale(recipe, 2),
                         ["data.downscale_until=1"])
        self.assertEqual(mymodel_ablation.squeezed_downscale(recipe, 16),
                         ["data.downscale_until=10"])
        self.assertEqual(mymodel_ablation.squeezed_downscale(recipe, 1),
                         ["data.downscale_size=0", "data.downscale_until=0"])

    def test_missing_data_folder_is_a_one_line_error(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = mymodel_ablation.main(["--data", "/nonexistent/cifar"])
        self.assertEqual(status, 2)
        self.assertTrue(err.getvalue().startswith("error: "), err.getvalue())
        self.assertEqual(len(err.getvalue().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
