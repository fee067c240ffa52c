"""Procedural regular polygons whose generating factors are known, rendered with Pillow."""

from __future__ import annotations

import math
import threading

import numpy as np
import torch
from PIL import Image, ImageColor, ImageDraw

from ganforge.data.adapter import DataAdapter
from ganforge.data.info import DataInfo
from ganforge.errors import DataError

POLYGON_NAMES = {3: "triangle", 4: "square", 5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}
SUPERSAMPLE = 4
CACHE_LIMIT_BYTES = 512 * 2**20


class Shapes(DataAdapter):
    """Image ``i`` is drawn from factors sampled with ``default_rng([seed, i])``, so every
    image is reproducible on its own. Labels: ``y`` (index into ``sides``), ``color``
    (index into ``colors``), ``scale``, ``angle`` (radians), ``cx`` and ``cy`` (centre
    offsets as fractions of the side)."""

    def __init__(self, params, seed: int):
        self.p, self.seed = params, seed
        try:
            self.palette = [ImageColor.getrgb(c) for c in params.colors]
            self.background = ImageColor.getrgb(params.background)
        except ValueError as exc:
            raise DataError(f"shapes: {exc}; use a PIL colour name or #rrggbb") from None
        shape = (params.channels, params.size, params.size)
        self.info = DataInfo(
            shape=shape, num_classes=len(params.sides),
            class_names=tuple(POLYGON_NAMES.get(s, f"{s}-gon") for s in params.sides),
            factors=("color", "scale", "angle", "cx", "cy"), factor_names={"color": tuple(params.colors)},
        )
        cacheable = params.length * math.prod(shape) <= CACHE_LIMIT_BYTES
        self._cache = np.zeros((params.length, *shape), np.uint8) if cacheable else None
        self._factors = np.zeros((params.length, len(FACTORS)), np.float64)
        self._cached = np.zeros(params.length, bool)
        self._drawing: threading.Thread | None = None

    def prerender(self) -> None:
        """Draw every image into the cache in a background thread (when the cache holds them all).
        The thread and the readers may draw the same image at once: both draw the same pixels,
        and an image is marked drawn only once it is whole."""
        if self._cache is None or self._drawing is not None:
            return
        self._drawing = threading.Thread(target=self._draw_all, name="shapes-prerender", daemon=True)
        self._drawing.start()

    def _draw_all(self) -> None:
        for index in range(len(self)):
            if not self._cached[index]:
                self._draw(index)

    def _draw(self, index: int) -> None:
        """Draw image ``index`` and its factors into the cache, then mark it drawn."""
        f = self.factors(index)
        self._factors[index] = [f[name] for name in FACTORS]
        self._cache[index] = self.render(f)
        self._cached[index] = True

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_drawing": None}  # loader workers get the images drawn so far, not the thread

    def fingerprint(self) -> str:
        """Procedural data is fixed by its parameters and seed."""
        return f"seed={self.seed}"

    def __len__(self) -> int:
        return self.p.length

    def factors(self, index: int) -> dict[str, float | int]:
        rng = np.random.default_rng([self.seed, index])
        p = self.p
        return {
            "y": int(rng.integers(len(p.sides))),
            "color": int(rng.integers(len(p.colors))),
            "scale": float(rng.uniform(*p.scale)),
            "angle": float(rng.uniform(0, 2 * math.pi)) if p.rotate else 0.0,
            "cx": float(rng.uniform(-p.jitter, p.jitter)),
            "cy": float(rng.uniform(-p.jitter, p.jitter)),
        }

    def render(self, f: dict[str, float | int]) -> np.ndarray:
        """Draw one polygon from its factors; returns uint8 (C, H, W)."""
        p = self.p
        big = p.size * SUPERSAMPLE
        image = Image.new("RGB", (big, big), self.background)
        sides = p.sides[int(f["y"])]
        radius = f["scale"] * big / 2 * (1 - 2 * p.jitter)
        cx, cy = big / 2 + f["cx"] * big, big / 2 + f["cy"] * big
        corners = [(cx + radius * math.cos(f["angle"] + 2 * math.pi * k / sides - math.pi / 2),
                    cy + radius * math.sin(f["angle"] + 2 * math.pi * k / sides - math.pi / 2))
                   for k in range(sides)]
        ImageDraw.Draw(image).polygon(corners, fill=self.palette[int(f["color"])])
        image = image.resize((p.size, p.size), Image.Resampling.BOX)
        if p.channels == 1:
            image = image.convert("L")
        array = np.asarray(image, dtype=np.uint8)
        return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self._cache is None:
            f = self.factors(index)
            return _as_tensors(self.render(f), np.array([[f[name] for name in FACTORS]]), single=True)
        if not self._cached[index]:
            self._draw(index)
        return _as_tensors(self._cache[index], self._factors[index:index + 1], single=True)

    def batch(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The items at ``indices`` at once (what collating them one by one gives, without the per-item work)."""
        if self._cache is None:
            from torch.utils.data import default_collate

            return default_collate([self[i] for i in indices])
        rows = np.asarray(indices)
        for index in rows[~self._cached[rows]]:
            self._draw(int(index))
        return _as_tensors(self._cache[rows], self._factors[rows], single=False)


FACTORS = ("y", "color", "scale", "angle", "cx", "cy")


def _as_tensors(pixels: np.ndarray, factors: np.ndarray, single: bool) -> dict[str, torch.Tensor]:
    """An item (``single``) or a batch: pixels in [-1, 1], the class and colour as int64, the rest float32."""
    item = {"x": torch.from_numpy(pixels.astype(np.float32)).div_(127.5).sub_(1.0)}
    for position, name in enumerate(FACTORS):
        column = factors[:, position].astype(np.int64 if name in ("y", "color") else np.float32)
        item[name] = torch.from_numpy(column).squeeze(0) if single else torch.from_numpy(column)
    return item


def build(params, ctx) -> Shapes:
    return Shapes(params, params.seed if params.seed is not None else ctx.seed)
