"""One image file decoded into uint8 pixels of its own kind: grayscale (1, H, W) or colour
(3, H, W). The folder loader then picks one channel count for all images.

Conversions, the same whatever the other images are:
- 8-bit grayscale ('L') as stored; 1-bit ('1'): 0 -> 0, 1 -> 255.
- Grayscale with alpha ('LA', 2-channel PNG): the gray values; alpha is dropped.
- 16 bits per channel (PNG gray or colour, TIFF 'I;16', 'I;16B', 'I;16L', and 'I' with values
  in 0..65535): each value v becomes the nearest 8-bit level, round(v * 255 / 65535) =
  (v + 128) // 257: 0 -> 0, 65535 -> 255, and an 8-bit image stored as 16 bits (v * 257)
  comes back exactly.
- RGB as stored; RGBA, palette ('P', with or without transparency), CMYK, YCbCr and the other
  colour modes: Pillow's conversion to RGB. Alpha and transparency are dropped (the colour
  stored under transparent pixels is kept), as torchvision's own ImageFolder loader does.
- 32-bit float ('F') images and 32-bit integer ones outside 0..65535 are refused.

JPEG, PNG (but palette PNG) and WebP are decoded by torchvision, about twice as fast as Pillow,
which decodes everything else and gives the message for files neither can read. A PNG's
chunks, compressed data and row filters are checked before either decodes it: libpng prints to
stderr on any fault it finds, a fault in the image data crashes torchvision's decoder (a
segmentation fault), and Pillow reads missing rows as black.
"""
import contextlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@contextlib.contextmanager
def quiet_torchvision_io():
    """Silence torchvision 0.29's notice, at import and at every decode, that its decoders move to
    torchcodec: the pinned version has them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TorchVision are deprecated",
                                category=DeprecationWarning)
        yield


with quiet_torchvision_io():
    from torchvision.io import ImageReadMode, decode_image

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8"
_PNG_PALETTE = b"\x03"  # IHDR colour type (the byte at offset 25) of palette PNGs
_GRAY_MODES = ("1", "L", "LA", "La")
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
# What Pillow raises for a corrupt, truncated or hostile file.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error,
                  Image.DecompressionBombError)


@dataclass(frozen=True)
class Decoded:
    """pixels: uint8 (1, H, W) grayscale or (3, H, W) RGB; alpha: an alpha channel or
    transparency was dropped; deep: 16-bit values were scaled to 8 bits."""

    pixels: torch.Tensor
    alpha: bool
    deep: bool


def decode_file(path):
    """The image in the file ``path`` (see the module docstring for the conversions).

    Raises:
        ValueError: one line naming the file: it cannot be read, is empty, is not an image
            Pillow or torchvision can decode (corrupt, truncated), or has unsupported pixels.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ValueError(f"data.root: cannot read image {path!r} ({exc.strerror or exc})") \
            from None
    if not raw:
        raise ValueError(f"data.root: image {path!r} is empty (0 bytes)")
    fault = _png_fault(raw) if raw.startswith(_PNG) else None
    if fault:
        raise ValueError(f"data.root: cannot decode image {path!r} ({fault})")
    decoded = _decode_torchvision(raw)
    return decoded if decoded is not None else _decode_pil(raw, path)


def scale_16_to_8(values):
    """uint8 nearest levels (v + 128) // 257 of 16-bit values v in 0..65535 (any int tensor)."""
    return ((values.to(torch.int32) + 128) // 257).to(torch.uint8)


def _decode_torchvision(raw):
    """Decoded for a JPEG, non-palette PNG or WebP torchvision reads; None for anything else."""
    is_png, is_jpeg = raw.startswith(_PNG), raw.startswith(_JPEG)
    is_webp = raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
    if not (is_png or is_jpeg or is_webp) or (is_png and raw[25:26] == _PNG_PALETTE):
        return None
    if is_png and raw[28:29] != b"\x00":  # interlaced
        return None
    try:
        with quiet_torchvision_io():
            image = decode_image(torch.frombuffer(bytearray(raw), dtype=torch.uint8),
                                 mode=ImageReadMode.UNCHANGED)
    except RuntimeError:
        return None
    channels = image.shape[0]
    if channels not in (1, 2, 3, 4) or (is_jpeg and channels == 4):  # CMYK JPEG: Pillow
        return None
    deep = image.dtype == torch.uint16
    if not deep and image.dtype != torch.uint8:
        return None
    pixels = image[:1] if channels <= 2 else image[:3]
    return Decoded(scale_16_to_8(pixels) if deep else pixels.contiguous(), channels in (2, 4),
                   deep)


# Channels of each PNG colour type: gray, RGB, palette, gray + alpha, RGBA.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7's passes: (first column, first row, column step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def _png_fault(raw):
    """What is wrong with the PNG ``raw`` (a short reason), or None: a chunk cut short or with
    a wrong CRC, a bad header, image data that does not inflate to exactly the rows the header
    announces (1 filter byte + width * channels * depth bits each, per Adam7 pass when
    interlaced), or a filter byte outside 0..4."""
    position, header, data = 8, None, []
    while True:
        if position + 12 > len(raw):
            return "PNG cut short"
        length, kind = struct.unpack(">I4s", raw[position:position + 8])
        end = position + 8 + length
        if end + 4 > len(raw):
            return "PNG cut short"
        if zlib.crc32(raw[position + 4:end]) != int.from_bytes(raw[end:end + 4], "big"):
            return f"PNG chunk {kind!r} has a wrong CRC"
        if kind == b"IHDR":
            header = raw[position + 8:end]
        elif kind == b"IDAT":
            data.append(raw[position + 8:end])
        elif kind == b"IEND":
            break
        position = end + 4
    if header is None or len(header) != 13 or not data:
        return "PNG without a valid header or image data"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if colour not in _PNG_CHANNELS or interlace not in (0, 1):
        return "PNG header with an unknown colour type or interlace method"
    bits = _PNG_CHANNELS[colour] * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    shapes = [(-(-(width - x) // dx), -(-(height - y) // dy)) for x, y, dx, dy in passes]
    size = sum(rows * (1 + (columns * bits + 7) // 8) for columns, rows in shapes
               if columns > 0 and rows > 0)
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(b"".join(data), size + 1)
    except zlib.error:
        return "PNG image data does not inflate"
    if len(pixels) != size or not inflater.eof or inflater.unconsumed_tail:
        return "PNG image data does not match the image's size"
    if not interlace and max(pixels[::1 + (width * bits + 7) // 8], default=0) > 4:
        return "PNG row with an unknown filter"
    return None


def _decode_pil(raw, path):
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            mode = image.mode
            alpha = mode in _ALPHA_MODES or "transparency" in image.info
            if mode in _DEEP_MODES or mode == "F":
                array = np.asarray(image)
            else:
                array = np.asarray(image.convert("L" if mode in _GRAY_MODES else "RGB"))
    except _DECODE_ERRORS as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"data.root: cannot decode image {path!r} ({reason})") from None
    if mode == "F":
        raise ValueError(f"data.root: image {path!r} has 32-bit float pixels (mode F); "
                         "expected 8- or 16-bit images")
    if mode in _DEEP_MODES:
        values = torch.from_numpy(array.astype(np.int64))
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"data.root: image {path!r} has values outside 0..65535 "
                             f"({int(values.min())}..{int(values.max())}); expected 8- or "
                             "16-bit images")
        return Decoded(scale_16_to_8(values)[None], alpha, True)
    pixels = torch.from_numpy(array.copy())
    pixels = pixels[None] if pixels.dim() == 2 else pixels.permute(2, 0, 1).contiguous()
    return Decoded(pixels, alpha, False)
