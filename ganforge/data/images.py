"""Shared image helpers: decoding with clear errors, conversion to 8-bit L or RGB,
uint8 <-> [-1, 1] tensors."""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganforge.errors import DataError

# What Pillow can raise for a damaged file, on open or on decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error,
                  zlib.error, Image.DecompressionBombError)
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_ALPHA = {"RGBA", "LA", "PA", "RGBa", "La"}
SUPPORTED_MODES = {"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "HSV"} | _SIXTEEN_BIT | _ALPHA
_SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP",
               b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}


class UnreadableImage(DataError):
    """An image file that cannot be decoded; ``path`` is the file, ``reason`` what is wrong."""

    def __init__(self, message: str, path: Path | None = None, reason: str = ""):
        super().__init__(message)
        self.path, self.reason = path, reason

    @classmethod
    def at(cls, path: Path, reason: str) -> "UnreadableImage":
        return cls(f"cannot read image {path}: {reason}. Remove or replace the file, or set "
                   "data.on_error: skip to leave unreadable files out", Path(path), reason)


def probe_image(path: Path, data: bytes | None = None) -> tuple[int, int]:
    """The image's (width, height) from its header alone (no pixels are decoded): catches empty
    files, files that are not images and unsupported colour modes, not truncated pixel data.
    ``data`` holds the file's bytes when it is not on disk (a member of an archive)."""
    try:
        if data is None:  # one read: from a file, Pillow's decoder reads in dozens of small pieces
            data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            _check_mode(image, path)
            return image.size
    except _DECODE_ERRORS as exc:
        raise UnreadableImage.at(path, describe_failure(exc, path, data)) from None


def open_image(path: Path, channels: int, data: bytes | None = None, *, at_least: int | None = None) -> Image.Image:
    """Decode an image file fully and convert it with :func:`convert`; an unreadable file is an
    :class:`UnreadableImage` naming it and what is wrong. With ``at_least``, a JPEG is decoded at
    the smallest of its 1/2, 1/4 and 1/8 scales whose shorter side is still ``at_least``."""
    try:
        if data is None:  # one read: from a file, Pillow's decoder reads in dozens of small pieces
            data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            _check_mode(image, path)
            if at_least is not None and image.format == "JPEG":
                width, height = image.size
                shorter = min(width, height)
                image.draft(image.mode, (math.ceil(width * at_least / shorter), math.ceil(height * at_least / shorter)))
            image.load()
            return convert(image, channels)
    except _DECODE_ERRORS as exc:
        raise UnreadableImage.at(path, describe_failure(exc, path, data)) from None


def convert(image: Image.Image, channels: int) -> Image.Image:
    """8-bit L (``channels`` 1) or RGB (3): 16-bit greyscale is scaled to 8 bits, transparent
    areas are composited onto black, palette, CMYK and other modes are converted by Pillow."""
    if image.mode in _SIXTEEN_BIT:
        pixels = np.clip(np.asarray(image, dtype=np.float64), 0, 65535) / 257.0
        image = Image.fromarray(np.rint(pixels).astype(np.uint8))
    if image.mode in _ALPHA or "transparency" in image.info:
        image = Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)), image.convert("RGBA"))
    mode = "L" if channels == 1 else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _check_mode(image: Image.Image, path: Path) -> None:
    if image.mode not in SUPPORTED_MODES:
        raise UnreadableImage.at(path, f"colour mode {image.mode} is not supported; save it as an "
                                       "8- or 16-bit greyscale, RGB or RGBA image")


def describe_failure(exc: BaseException, path: Path, data: bytes | None = None) -> str:
    """A few words on why ``path`` could not be decoded (empty, truncated, not an image, ...)."""
    if isinstance(exc, PermissionError):
        return "permission denied; make the file readable"
    try:
        if data is not None:
            head = data[:64]
        else:
            with open(path, "rb") as handle:
                head = handle.read(64)
    except OSError as error:
        return f"cannot open the file ({error.strerror or error})"
    if not head:
        return "empty file (0 bytes)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"too large to decode safely ({exc})"
    if "truncated" in str(exc).lower():
        return "truncated: the file ends before the image data does (an interrupted download or copy?)"
    if isinstance(exc, UnidentifiedImageError):
        kind = next((name for magic, name in _SIGNATURES.items() if head.startswith(magic)), None)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            kind = "WebP"
        if kind:
            return f"damaged {kind} file: it starts like a {kind} image but its header cannot be read"
        if all(32 <= b < 127 or b in b"\t\n\r" for b in head):
            return "not an image: the file holds text (an HTML page or a note saved under an image name?)"
        return "not an image: its bytes match no image format Pillow reads"
    return f"corrupt image data ({exc})"


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image -> float tensor (C, H, W) in [-1, 1]."""
    array = np.array(image, dtype=np.uint8)  # a writable copy: torch warns on read-only arrays
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return uint8_to_unit(torch.from_numpy(np.ascontiguousarray(array)))


def uint8_to_unit(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float().div_(127.5).sub_(1.0)
