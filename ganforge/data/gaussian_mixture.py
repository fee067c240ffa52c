"""2-D Gaussian mixtures (PacGAN/VEEGAN ring and grid)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ganforge.data.adapter import DataAdapter
from ganforge.data.info import DataInfo


class GaussianMixture(DataAdapter):
    """``size`` points drawn once from equal-weight isotropic Gaussians at ``centers``."""

    def __init__(self, centers: np.ndarray, std: float, size: int, seed: int):
        rng, self.seed = np.random.default_rng(seed), seed
        self.centers = torch.as_tensor(centers, dtype=torch.float32)
        self.std = float(std)
        modes = rng.integers(len(centers), size=size)
        points = centers[modes] + std * rng.standard_normal((size, 2))
        self.points = torch.as_tensor(points, dtype=torch.float32)
        self.modes = torch.as_tensor(modes, dtype=torch.long)
        self.info = DataInfo(shape=(2,), num_classes=len(centers),
                             class_names=tuple(f"mode{i}" for i in range(len(centers))))

    def fingerprint(self) -> str:
        """Procedural data is fixed by its parameters and seed."""
        return f"seed={self.seed}"

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.points[index], "y": self.modes[index]}

    def batch(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The points at ``indices`` in one indexing (what collating them one by one gives)."""
        rows = torch.as_tensor(indices, dtype=torch.long)
        return {"x": self.points[rows], "y": self.modes[rows]}


def mixture_centers(params) -> np.ndarray:
    if params.layout == "ring":
        angles = 2 * math.pi * np.arange(params.modes) / params.modes
        return params.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if params.layout == "grid":
        return np.array([(x, y) for x in params.grid for y in params.grid], dtype=np.float64)
    return np.asarray(params.centers, dtype=np.float64)


def build(params, ctx) -> GaussianMixture:
    std = params.std if params.std is not None else {"ring": 0.01, "grid": 0.05}.get(params.layout, 0.05)
    seed = params.seed if params.seed is not None else ctx.seed
    return GaussianMixture(mixture_centers(params), std, params.size, seed)
