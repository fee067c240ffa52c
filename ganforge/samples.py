"""Turn generated samples into pictures: image grids, or scatter plots for 2-D points."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganforge.files import atomic_write_bytes


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """One image in [-1, 1], (C, H, W) -> uint8 (H, W, 3)."""
    image = image.detach().float().cpu().clamp(-1, 1)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return ((image.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)


def make_grid(images: torch.Tensor | list[torch.Tensor], nrow: int, padding: int = 2,
              pad_value: float = 1.0) -> torch.Tensor:
    """Images (N, C, H, W) laid out ``nrow`` to a row with ``padding`` pixels of ``pad_value``
    around each, as torchvision's ``make_grid`` lays them out (without importing torchvision,
    whose import costs ``ganforge sample`` seconds)."""
    images = torch.stack(list(images)) if isinstance(images, list) else images
    if len(images) == 1:  # a single image, unpadded (as torchvision does)
        return images[0]
    count, channels, height, width = images.shape
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    grid = images.new_full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value)
    for index in range(count):
        top, left = (index // columns) * cell_h + padding, (index % columns) * cell_w + padding
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


def image_grid(images: torch.Tensor, nrow: int | None = None) -> np.ndarray:
    """Images in [-1, 1], (N, C, H, W) -> one uint8 (H, W, 3) grid with white gutters."""
    images = images.detach().float().cpu().clamp(-1, 1)
    return to_uint8(make_grid(images, nrow=nrow or math.ceil(math.sqrt(len(images))), padding=2, pad_value=1.0))


def comparison_sheet(columns: list[torch.Tensor]) -> np.ndarray:
    """Rows of side-by-side images, one column per tensor (such as input | output | target):
    each (N, C, H, W) in [-1, 1], greyscale shown as RGB -> one uint8 (H, W, 3) sheet. Extra
    input channels (an inpainting source's mask) are left out: the first 3 (or 1) are shown."""
    columns = [c.detach().float().cpu().clamp(-1, 1) for c in columns]
    columns = [c[:, :3] if c.shape[1] > 3 else c[:, :1] if c.shape[1] == 2 else c for c in columns]
    columns = [c.expand(-1, 3, -1, -1) if c.shape[1] == 1 else c for c in columns]
    size = max(c.shape[-1] for c in columns)
    columns = [c if c.shape[-1] == size else torch.nn.functional.interpolate(c, size=(size, size), mode="nearest")
               for c in columns]
    cells = [column[i] for i in range(len(columns[0])) for column in columns]
    return to_uint8(make_grid(cells, nrow=len(columns), padding=2, pad_value=1.0))


def scatter(points: torch.Tensor, reference: torch.Tensor | None = None, size: int = 512) -> np.ndarray:
    """2-D points (blue) over reference points (grey) -> uint8 (size, size, 3)."""
    points = points.detach().float().cpu()[:, :2]
    everything = points if reference is None else torch.cat([points, reference[:, :2].float()])
    finite = everything[torch.isfinite(everything).all(dim=1)]
    limit = float(finite.abs().max()) * 1.1 if len(finite) else 1.0
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)

    def plot(data: torch.Tensor, colour: str, radius: int) -> None:
        for x, y in ((data + limit) / (2 * limit) * (size - 1)).tolist():
            if math.isfinite(x) and math.isfinite(y):
                draw.ellipse([x - radius, size - 1 - y - radius, x + radius, size - 1 - y + radius], fill=colour)

    if reference is not None:
        plot(reference, "#bbbbbb", 2)
    plot(points, "#1f4fd0", 1)
    return np.asarray(image)


def render(samples: torch.Tensor, reference: torch.Tensor | None = None) -> np.ndarray:
    """A picture of ``samples``: a grid for images, a scatter plot for vectors."""
    return image_grid(samples) if samples.dim() == 4 else scatter(samples, reference)


def save_png(picture: np.ndarray, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
