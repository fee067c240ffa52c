"""Stacked MNIST: three MNIST digits as the R, G and B channels of one image (1000 modes)."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.data.adapter import DataAdapter
from ganforge.data.images import uint8_to_unit
from ganforge.data.info import DataInfo
from ganforge.data.npz import NpzImages
from ganforge.errors import DataError


class StackedMNIST(DataAdapter):
    """Item ``i`` stacks three digits drawn with ``default_rng([seed, i])``; ``y`` is
    ``100 * r + 10 * g + b`` and ``digits`` holds the three labels."""

    def __init__(self, params, seed: int):
        self.mnist = NpzImages(params.path, params.images, params.labels, params.size)
        labels = self.mnist.labels
        digits_ok = labels is not None and len(labels) > 0 and 0 <= int(labels.min()) <= int(labels.max()) <= 9
        if self.mnist.pixels.shape[1] != 1 or not digits_ok:
            raise DataError(f"{params.path}: stacked-mnist needs greyscale digits with labels 0 to 9 "
                            f"(arrays {params.images!r} and {params.labels!r})")
        self.length, self.seed = params.length, seed
        self.info = DataInfo(shape=(3, params.size, params.size), num_classes=1000, class_names=None)

    def fingerprint(self) -> str:
        return f"seed={self.seed};mnist={self.mnist.fingerprint()}"

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        picks = np.random.default_rng([self.seed, index]).integers(len(self.mnist.pixels), size=3)
        picks = torch.from_numpy(picks)
        digits = self.mnist.labels[picks]
        return {"x": uint8_to_unit(self.mnist.pixels[picks, 0]),
                "y": 100 * digits[0] + 10 * digits[1] + digits[2], "digits": digits}


def build(params, ctx) -> StackedMNIST:
    return StackedMNIST(params, params.seed if params.seed is not None else ctx.seed)
