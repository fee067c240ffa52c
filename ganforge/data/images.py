"""Shared image helpers: decoding with clear errors, uint8 <-> [-1, 1] tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganforge.errors import DataError


def open_image(path: Path, channels: int) -> Image.Image:
    """Decode an image file fully; a corrupt or unreadable file is a :class:`DataError`."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}. Remove or replace the file.") from None


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image -> float tensor (C, H, W) in [-1, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return uint8_to_unit(torch.from_numpy(np.ascontiguousarray(array)))


def uint8_to_unit(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float().div_(127.5).sub_(1.0)
