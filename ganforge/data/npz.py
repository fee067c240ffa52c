"""Images and labels from numpy arrays in an .npz file (MNIST as shipped in ``mnist.npz``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganforge.data.images import uint8_to_unit
from ganforge.data.info import DataInfo
from ganforge.errors import DataError


def _to_nchw(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    if array.ndim == 3:
        return array[:, None]
    if array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        return array.transpose(0, 3, 1, 2)
    if array.ndim == 4 and array.shape[1] in (1, 3):
        return array
    raise DataError(f"{path}: array {key!r} has shape {array.shape}; expected (N, H, W), (N, H, W, C) "
                    "or (N, C, H, W) with 1 or 3 channels")


class NpzImages(Dataset):
    """All images held in memory as uint8; converted to [-1, 1] per item."""

    def __init__(self, params):
        self.path = path = Path(params.path)
        if not path.is_file():
            raise DataError(f"npz file {path} not found; set data.path to your .npz file")
        try:
            archive = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path} as .npz: {exc}") from None
        with archive:
            for key in (params.images, params.labels):
                if key is not None and key not in archive.files:
                    raise DataError(f"{path} has no array {key!r}; it has: {', '.join(archive.files)}")
            images = _to_nchw(archive[params.images][: params.limit], path, params.images)
            labels = archive[params.labels][: params.limit] if params.labels else None
        if images.dtype != np.uint8:
            scale = 255.0 if images.max() <= 1.0 else 1.0
            images = np.clip(images * scale, 0, 255).astype(np.uint8)
        pixels = torch.from_numpy(np.ascontiguousarray(images))
        if params.size and pixels.shape[-1] != params.size:
            resized = F.interpolate(pixels.float(), size=(params.size, params.size), mode="bilinear",
                                    align_corners=False, antialias=True)
            pixels = resized.round_().clamp_(0, 255).to(torch.uint8)
        self.pixels = pixels
        self.labels = torch.as_tensor(labels, dtype=torch.long) if labels is not None else None
        if self.labels is not None and len(self.labels) != len(self.pixels):
            raise DataError(f"{path}: {len(self.pixels)} images but {len(self.labels)} labels")
        classes = int(self.labels.max()) + 1 if self.labels is not None else None
        self.info = DataInfo(shape=tuple(pixels.shape[1:]), num_classes=classes,
                             class_names=tuple(str(c) for c in range(classes)) if classes else None)

    def fingerprint(self) -> str:
        """The file's content hash (with the parameters, it keys cached reference statistics)."""
        return file_sha256(self.path)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {"x": uint8_to_unit(self.pixels[index])}
        if self.labels is not None:
            item["y"] = self.labels[index]
        return item


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(params, ctx) -> NpzImages:
    return NpzImages(params)
