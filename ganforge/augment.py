"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same random colour,
translation and cutout applied to every image a discriminator sees, real or generated, so
gradients flow through it to the generator and a discriminator trained on little data does
not memorise it. Enabled for any objective with ``train.augment``."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def color(x: Tensor) -> Tensor:
    """Random brightness, saturation and contrast per image (images in [-1, 1])."""
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its side in each direction, filling with zeros."""
    n, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = torch.randint(-max_y, max_y + 1, (n, 1, 1), device=x.device)
    shift_x = torch.randint(-max_x, max_x + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + shift_y + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + shift_x + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # a zero border that clamped indices land on
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one square of ``ratio`` times the side per image, at a random place."""
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_y % 2), (n, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, w + (1 - size_x % 2), (n, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment:
    """Applies the ``policy`` (in order) to a batch of images."""

    def __init__(self, policy: Sequence[str], translation_ratio: float = 0.125, cutout_ratio: float = 0.5):
        steps: dict[str, Callable[[Tensor], Tensor]] = {
            "color": color,
            "translation": lambda x: translation(x, translation_ratio),
            "cutout": lambda x: cutout(x, cutout_ratio),
        }
        self.policy = tuple(policy)
        self.steps = [steps[name] for name in self.policy]

    def __call__(self, x: Tensor) -> Tensor:
        for step in self.steps:
            x = step(x)
        return x


class Augmented:
    """A discriminator seen through augmentation: ``Augmented(d, aug)(x, ...) == d(aug(x), ...)``.
    Not a module: it adds no weights, and checkpoints keep saving ``d`` itself."""

    def __init__(self, net: Callable[..., Any], augment: DiffAugment):
        self.net, self.augment = net, augment

    def __call__(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        return self.net(self.augment(x), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # features(), pack, ... of the wrapped net
        attribute = getattr(self.net, name)
        if name == "features" and callable(attribute):
            return lambda x, *args, **kwargs: attribute(self.augment(x), *args, **kwargs)
        return attribute
