"""ImageFolder decoding of every image mode against independent computations, the channel count
chosen from the whole folder, and one-line errors for empty, corrupt and truncated images,
symbolic-link loops and sizes that cannot fit in memory."""
import contextlib
import io
import os
import struct
import tempfile
import unittest
import zlib
from unittest import mock

import numpy as np
import torch
from PIL import Image

from data import load_image_folder
from data.image_decode import decode_file

H, W = 5, 6


def gradient16(channels=1):
    """uint16 (H, W) or (H, W, channels) values spread over 0..65535, both ends included."""
    values = np.linspace(0, 65535, H * W * channels).round().astype(np.uint16)
    return values.reshape(H, W) if channels == 1 else values.reshape(H, W, channels)


def expected8(values16):
    """The nearest 8-bit level of each 16-bit value, computed in floating point."""
    return np.round(values16.astype(np.float64) * 255 / 65535).astype(np.uint8)


def png16(path, rgb):
    """A 16-bit colour PNG (colour type 2) written from the PNG specification: Pillow cannot
    save one."""
    height, width, _ = rgb.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb)

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                + chunk(b"IEND", b""))


def mode_of(path):
    with Image.open(path) as image:
        return image.mode


def random_rgb(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def palette_image(transparent):
    """A 'P' image of 4 colours, and the RGB pixels its indices stand for."""
    palette = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30], [250, 250, 5]], np.uint8)
    indices = np.arange(H * W).reshape(H, W) % 4
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette(palette.flatten().tolist())
    if transparent:
        image.info["transparency"] = 1
    return image, palette[indices]


class DecodeModesTest(unittest.TestCase):
    """decode_file on one file per mode: (channels, pixel values) against numpy."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def assert_pixels(self, decoded, expected_hwc, alpha=False, deep=False):
        expected = torch.from_numpy(expected_hwc)
        expected = expected[None] if expected.dim() == 2 else expected.permute(2, 0, 1)
        self.assertEqual(decoded.pixels.dtype, torch.uint8)
        self.assertTrue(torch.equal(decoded.pixels, expected), (decoded.pixels, expected))
        self.assertEqual((decoded.alpha, decoded.deep), (alpha, deep))

    def test_16_bit_gray_png_is_scaled_not_clipped(self):
        values = gradient16()
        Image.fromarray(values).save(self.path("g.png"))
        self.assertEqual(mode_of(self.path("g.png")), "I;16")
        decoded = decode_file(self.path("g.png"))
        self.assert_pixels(decoded, expected8(values), deep=True)
        self.assertEqual((int(decoded.pixels.min()), int(decoded.pixels.max())), (0, 255))
        self.assertLess(float((decoded.pixels == 255).float().mean()), 0.1)

    def test_16_bit_tiffs_little_and_big_endian(self):
        values = gradient16()
        for name, array, mode in (("le.tif", values, "I;16"),
                                  ("be.tif", values.astype(">u2"), "I;16B")):
            with self.subTest(mode=mode):
                Image.fromarray(array).save(self.path(name))
                self.assertEqual(mode_of(self.path(name)), mode)
                self.assert_pixels(decode_file(self.path(name)), expected8(values), deep=True)

    def test_16_bit_pgm_opens_as_mode_i(self):
        values = gradient16()
        with open(self.path("g.pgm"), "wb") as f:
            f.write(f"P5\n{W} {H}\n65535\n".encode() + values.astype(">u2").tobytes())
        self.assertEqual(mode_of(self.path("g.pgm")), "I")
        self.assert_pixels(decode_file(self.path("g.pgm")), expected8(values), deep=True)

    def test_16_bit_colour_png(self):
        values = gradient16(3)
        png16(self.path("c.png"), values)
        self.assert_pixels(decode_file(self.path("c.png")), expected8(values), deep=True)

    def test_8_bit_values_stored_as_16_bits_come_back_exactly(self):
        values = np.arange(256, dtype=np.uint16).reshape(16, 16)
        Image.fromarray(values * 257).save(self.path("up.png"))
        self.assertTrue(torch.equal(decode_file(self.path("up.png")).pixels[0],
                                    torch.from_numpy(values.astype(np.uint8))))

    def test_32_bit_images_out_of_range_or_float_are_refused(self):
        Image.fromarray(np.full((H, W), 70000, np.int32)).save(self.path("i.tif"))
        Image.fromarray(np.full((H, W), 0.5, np.float32)).save(self.path("f.tif"))
        with self.assertRaisesRegex(ValueError, "'.*i.tif' has values outside 0..65535"):
            decode_file(self.path("i.tif"))
        with self.assertRaisesRegex(ValueError, "'.*f.tif' has 32-bit float pixels"):
            decode_file(self.path("f.tif"))

    def test_palette_with_and_without_transparency(self):
        for transparent in (False, True):
            for ext in (".png", ".gif"):
                with self.subTest(transparent=transparent, ext=ext):
                    image, rgb = palette_image(transparent)
                    path = self.path(f"p{int(transparent)}{ext}")
                    image.save(path, **({"transparency": 1} if transparent else {}))
                    self.assertEqual(mode_of(path), "P")
                    self.assert_pixels(decode_file(path), rgb, alpha=transparent)

    def test_gray_with_alpha(self):
        gray = random_rgb()[..., 0]
        la = np.dstack([gray, np.full((H, W), 7, np.uint8)])
        Image.fromarray(la, mode="LA").save(self.path("la.png"))
        self.assert_pixels(decode_file(self.path("la.png")), gray, alpha=True)

    def test_rgba_drops_alpha(self):
        rgb = random_rgb()
        for ext in (".png", ".webp", ".tif"):
            with self.subTest(ext=ext):
                path = self.path("a" + ext)
                Image.fromarray(np.dstack([rgb, np.full((H, W), 3, np.uint8)])).save(
                    path, **({"lossless": True} if ext == ".webp" else {}))
                self.assert_pixels(decode_file(path), rgb, alpha=True)

    def test_cmyk(self):
        """Pillow's conversion: R = (255 - C) * (255 - K) / 255, rounded; likewise G and B."""
        cmyk = np.random.default_rng(1).integers(0, 256, (H, W, 4), dtype=np.uint8)
        Image.fromarray(cmyk, mode="CMYK").save(self.path("c.tif"))
        ink = 255 - cmyk.astype(np.float64)
        expected = ink[..., :3] * ink[..., 3:] / 255
        got = decode_file(self.path("c.tif")).pixels.permute(1, 2, 0).numpy()
        self.assertLessEqual(np.abs(got - expected).max(), 0.5 + 1e-9)

    def test_cmyk_jpeg_is_not_read_as_rgba(self):
        flat = np.tile(np.array([10, 200, 30, 40], np.uint8), (16, 16, 1))
        Image.fromarray(flat, mode="CMYK").save(self.path("c.jpg"), quality=95)
        decoded = decode_file(self.path("c.jpg"))
        self.assertEqual((tuple(decoded.pixels.shape), decoded.alpha), ((3, 16, 16), False))
        expected = np.array([245 * 215, 55 * 215, 225 * 215]) / 255  # (255 - C)(255 - K) / 255
        got = decoded.pixels[:, 8, 8].double().numpy()
        self.assertLessEqual(np.abs(got - expected).max(), 3)

    def test_one_bit_and_gray(self):
        bits = random_rgb()[..., 0] > 127
        Image.fromarray(bits).save(self.path("b.png"))
        self.assertEqual(mode_of(self.path("b.png")), "1")
        self.assert_pixels(decode_file(self.path("b.png")), bits.astype(np.uint8) * 255)
        gray = random_rgb()[..., 1]
        for ext in (".png", ".bmp", ".tif"):
            with self.subTest(ext=ext):
                Image.fromarray(gray).save(self.path("l" + ext))
                self.assert_pixels(decode_file(self.path("l" + ext)), gray)

    def test_rgb_exact_in_lossless_formats(self):
        rgb = random_rgb(3)
        for ext in (".png", ".bmp", ".tif", ".ppm"):
            with self.subTest(ext=ext):
                Image.fromarray(rgb).save(self.path("rgb" + ext))
                self.assert_pixels(decode_file(self.path("rgb" + ext)), rgb)

    def test_content_decides_not_the_extension(self):
        rgb = random_rgb(4)
        Image.fromarray(rgb).save(self.path("really-a-png.jpg"), format="PNG")
        self.assert_pixels(decode_file(self.path("really-a-png.jpg")), rgb)


class BadFilesTest(unittest.TestCase):
    """Each bad file: one-line ValueError naming it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.root = self.tmp.name
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))
        for part in ("train", "test"):
            for name in ("a", "b"):
                os.makedirs(os.path.join(self.root, part, name))
                Image.fromarray(random_rgb()).save(os.path.join(self.root, part, name, "0.png"))
        self.bad = os.path.join(self.root, "train", "b", "bad.png")

    def assert_one_line(self, *fragments):
        with self.assertRaises(ValueError) as caught:
            load_image_folder(self.root)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for fragment in (repr(self.bad)[1:-1], *fragments):
            self.assertIn(fragment, message)

    def encoded(self, ext):
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)) \
            .save(buffer, format={".png": "PNG", ".jpg": "JPEG", ".bmp": "BMP"}[ext])
        return buffer.getvalue()

    def test_zero_byte_file(self):
        open(self.bad, "wb").close()
        self.assert_one_line("is empty (0 bytes)")

    def test_truncated_images(self):
        for ext in (".png", ".jpg", ".bmp"):
            with self.subTest(ext=ext):
                self.bad = os.path.join(self.root, "train", "b", "bad" + ext)
                with open(self.bad, "wb") as f:
                    f.write(self.encoded(ext)[:600])
                self.assert_one_line("cannot decode image")
                os.remove(self.bad)

    def test_garbage_with_an_image_name(self):
        with open(self.bad, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n but nothing else that makes a PNG")
        self.assert_one_line("cannot decode image")

    def test_symlink_loop_as_image(self):
        os.symlink("bad.png", self.bad)
        self.assert_one_line("cannot read", "symbolic links")

    def test_dangling_symlink_as_image(self):
        os.symlink("gone.png", self.bad)
        self.assert_one_line("symbolic link to nothing", "gone.png")

    def test_symlink_loop_as_class_folder(self):
        self.bad = os.path.join(self.root, "train", "c")
        os.symlink("c", self.bad)
        self.assert_one_line("cannot read", "symbolic links")

    def test_class_folder_linked_to_its_parent_is_not_walked(self):
        """Only <class>/<file> is read, so a link back up cannot loop: the class just holds no
        images."""
        self.bad = os.path.join(self.root, "train", "up")
        os.symlink("..", self.bad)
        os.symlink(os.path.join("..", "train", "up"), os.path.join(self.root, "test", "up"))
        self.assert_one_line("holds no images")

    def test_sizes_that_cannot_fit_are_refused_before_decoding_the_rest(self):
        with mock.patch("data.memory.available_bytes", return_value=100), \
                mock.patch("data.image_folder.decode_file", wraps=decode_file) as decode:
            with self.assertRaisesRegex(ValueError, r"^data.root: 4 images of 6x5 pixels in "
                                        r"'.*' need about 0.0 GB of memory; 0.0 GB is "
                                        r"available$"):
                load_image_folder(self.root)
        self.assertEqual(decode.call_count, 1)


class ChannelChoiceTest(unittest.TestCase):
    """The channel count comes from every image of train/ and test/, and is printed once."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.root = self.tmp.name

    def write(self, part, name, file, image):
        os.makedirs(os.path.join(self.root, part, name), exist_ok=True)
        image.save(os.path.join(self.root, part, name, file))

    def load(self):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            train, test, _ = load_image_folder(self.root)
        return train, test, out.getvalue().splitlines()

    def test_one_colour_image_in_the_test_set_makes_all_rgb(self):
        gray = random_rgb()[..., 0]
        for part in ("train", "test"):
            for name in ("a", "b"):
                self.write(part, name, "0.png", Image.fromarray(gray))
        rgb = random_rgb(5)
        self.write("test", "b", "1.jpg", Image.fromarray(rgb))
        train, test, lines = self.load()
        self.assertEqual((train.images.shape[1], test.images.shape[1]), (3, 3))
        expected_gray = torch.from_numpy(gray)
        for c in range(3):
            self.assertTrue(torch.equal(train.images[0, c], expected_gray))
        self.assertEqual(lines, [f"data: 4 of 5 images in {self.root!r} are grayscale; "
                                 "converting all to RGB (3 channels)"])

    def test_all_grayscale_modes_stay_one_channel(self):
        values = gradient16()
        self.write("train", "a", "0.png", Image.fromarray(values))
        self.write("train", "a", "1.png", Image.fromarray(random_rgb()[..., 0] > 100))
        la = np.dstack([random_rgb()[..., 0], np.full((H, W), 9, np.uint8)])
        self.write("train", "b", "0.png", Image.fromarray(la, mode="LA"))
        self.write("test", "a", "0.jpg", Image.fromarray(random_rgb()[..., 2]))
        self.write("test", "b", "0.bmp", Image.fromarray(random_rgb()[..., 1]))
        train, test, lines = self.load()
        self.assertEqual((tuple(train.images.shape), tuple(test.images.shape)),
                         ((3, 1, H, W), (2, 1, H, W)))
        self.assertTrue(torch.equal(train.images[0, 0], torch.from_numpy(expected8(values))))
        self.assertEqual(lines, [f"data: all 5 images in {self.root!r} are grayscale: 1 channel; "
                                 "1 had an alpha channel or transparency (dropped); 1 had 16 bits "
                                 "per channel (scaled to 8)"])

    def test_all_colour(self):
        for part in ("train", "test"):
            for name in ("a", "b"):
                self.write(part, name, "0.png", Image.fromarray(random_rgb()))
        _, _, lines = self.load()
        self.assertEqual(lines, [f"data: all 4 images in {self.root!r} are colour: 3 channels "
                                 "(RGB)"])


if __name__ == "__main__":
    unittest.main()
