"""A folder tree of images, resized and cropped to squares, with optional subfolder labels."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import functional as TF

from ganforge.data.images import open_image, to_tensor
from ganforge.data.info import DataInfo
from ganforge.errors import DataError


class ImageFolder(Dataset):
    """Random crops and flips are drawn from ``default_rng([seed, epoch, index])``: the same
    item in the same epoch is always augmented the same way, in any worker."""

    def __init__(self, params, seed: int):
        self.p, self.seed, self.epoch = params, seed, 0
        root = Path(params.root)
        if not root.is_dir():
            raise DataError(f"image folder {root} does not exist; set data.root to a folder of images")
        extensions = {e.lower() for e in params.extensions}
        self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in extensions and p.is_file())
        if params.limit:
            self.files = self.files[: params.limit]
        if not self.files:
            raise DataError(f"no images ({', '.join(sorted(extensions))}) found under {root}")
        self.classes: tuple[str, ...] | None = None
        if params.labels:
            self.classes = tuple(sorted({f.relative_to(root).parts[0] for f in self.files if len(f.relative_to(root).parts) > 1}))
            loose = [f for f in self.files if len(f.relative_to(root).parts) == 1]
            if not self.classes or loose:
                raise DataError(f"labels: true needs every image inside a class subfolder of {root}; "
                                f"found {len(loose)} image(s) directly in it (e.g. {loose[0].name if loose else '-'})")
            self.labels = [self.classes.index(f.relative_to(root).parts[0]) for f in self.files]
        self.size = params.size or min(open_image(self.files[0], params.channels).size)
        self.info = DataInfo(shape=(params.channels, self.size, self.size),
                             num_classes=len(self.classes) if self.classes else None, class_names=self.classes)

    def fingerprint(self) -> str:
        """Each file's path, size and modification time: changes when any image is added,
        removed or rewritten, without reading every image."""
        root, digest = Path(self.p.root), hashlib.sha256()
        for file in self.files:
            stat = file.stat()
            digest.update(f"{file.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return f"seed={self.seed};files={digest.hexdigest()}"

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = open_image(self.files[index], self.p.channels)
        if self.p.size is not None or image.size != (self.size, self.size):
            image = TF.resize(image, self.size, interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        width, height = image.size
        if self.p.crop == "random":
            top, left = int(rng.integers(height - self.size + 1)), int(rng.integers(width - self.size + 1))
        else:
            top, left = (height - self.size) // 2, (width - self.size) // 2
        image = image.crop((left, top, left + self.size, top + self.size))
        if self.p.flip and rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        item = {"x": to_tensor(image)}
        if self.classes:
            item["y"] = torch.tensor(self.labels[index])
        return item


def build(params, ctx) -> ImageFolder:
    return ImageFolder(params, params.seed if params.seed is not None else ctx.seed)
