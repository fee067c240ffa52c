"""Paired data made on the fly from any images: low-resolution copies (super-resolution) and
images with a hole (inpainting). Items are ``{"source": input, "x": target}``, as translation
data, so the paired metrics (l1, psnr, ssim, lpips) and ``ganforge translate`` apply."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ganforge.sdk import DataAdapter, DataError, DataInfo, EpochAware, ImageFolder, LabelledData, Shapes


def downscale(images: Tensor, scale: int) -> Tensor:
    """Bicubic downscaling with antialiasing (images in [-1, 1], (C, H, W) or (N, C, H, W))."""
    batched = images if images.dim() == 4 else images[None]
    small = F.interpolate(batched, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    small = small.clamp(-1, 1)
    return small if images.dim() == 4 else small[0]


def upscale(images: Tensor, scale: int) -> Tensor:
    """Bicubic upsampling: the baseline every super-resolution model is compared with."""
    return F.interpolate(images, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)


class SuperResolution(DataAdapter):
    """(low-resolution, high-resolution) pairs: each image downscaled by ``scale``."""

    def __init__(self, images: Dataset, scale: int):
        self.images, self.scale = images, scale
        shape = images.info.shape
        if shape[1] % scale or shape[2] % scale:
            raise DataError(f"super-resolution: images of {shape[1]}x{shape[2]} px do not divide by factor {scale}; "
                            f"set size to a multiple of {scale}")
        self.info = DataInfo(shape=shape, source_shape=(shape[0], shape[1] // scale, shape[2] // scale), paired=True)

    def fingerprint(self) -> str:
        return f"super-resolution:x{self.scale}:{self.images.fingerprint()}"

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        if isinstance(self.images, EpochAware):
            self.images.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        image = self.images[index]["x"]
        return {"source": downscale(image, self.scale), "x": image}


def hole_mask(side: int, mask: str, fraction: float, rng: np.random.Generator) -> Tensor:
    """1 inside the hole, 0 elsewhere: a centred square, or a square at a random place, whose
    side is ``fraction`` of the image side."""
    hole = max(1, round(side * fraction))
    if mask == "center":
        top = left = (side - hole) // 2
    else:
        top, left = (int(v) for v in rng.integers(0, side - hole + 1, size=2))
    out = torch.zeros(1, side, side)
    out[:, top:top + hole, left:left + hole] = 1
    return out


class Inpainting(DataAdapter):
    """(image with a hole + the hole's mask, image) pairs. The source has the image's channels
    with the hole set to 0 (mid grey) and one more channel, the mask. Labelled images keep their
    label ``y`` (a context-conditional GAN learns classes from them)."""

    def __init__(self, images: Dataset, mask: str, fraction: float, seed: int):
        self.images, self.mask, self.fraction, self.seed, self.epoch = images, mask, fraction, seed, 0
        shape = images.info.shape
        if shape[1] != shape[2]:
            raise DataError(f"inpainting needs square images; these are {shape[1]}x{shape[2]}")
        self.info = DataInfo(shape=shape, source_shape=(shape[0] + 1, *shape[1:]), paired=True,
                             num_classes=images.info.num_classes, class_names=images.info.class_names)
        self.labels = images.labels if isinstance(images, LabelledData) else None

    def fingerprint(self) -> str:
        return f"inpainting:{self.mask}:{self.fraction}:{self.seed}:{self.images.fingerprint()}"

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if isinstance(self.images, EpochAware):
            self.images.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        whole = self.images[index]
        image = whole["x"]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        hole = hole_mask(image.shape[-1], self.mask, self.fraction, rng)
        item = {"source": torch.cat([image * (1 - hole), hole]), "x": image}
        if "y" in whole:
            item["y"] = whole["y"]
        return item


def _seed(params, ctx) -> int:
    return params.seed if params.seed is not None else ctx.seed


def super_resolution(params, ctx) -> SuperResolution:
    return SuperResolution(ImageFolder(params, _seed(params, ctx)), params.factor)


def shapes_super_resolution(params, ctx) -> SuperResolution:
    return SuperResolution(Shapes(params, _seed(params, ctx)), params.factor)


def inpainting(params, ctx) -> Inpainting:
    return Inpainting(ImageFolder(params, _seed(params, ctx)), params.mask, params.hole, _seed(params, ctx))


def shapes_inpainting(params, ctx) -> Inpainting:
    return Inpainting(Shapes(params, _seed(params, ctx)), params.mask, params.hole, _seed(params, ctx))
