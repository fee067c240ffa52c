"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same random flips, quarter
turns, colour, translation and cutout applied to every image a discriminator sees, real or
generated, so gradients flow through it to the generator and a discriminator trained on little
data does not memorise it. Enabled for any objective with ``train.augment``; with
``train.augment.adaptive`` each step is applied with a probability that ADA's controller
(Karras et al. 2020) adjusts from the sign of the discriminator's outputs on real images."""

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


def flip(x: Tensor) -> Tensor:
    """Mirror every image left to right."""
    return x.flip(3)


def rotate90(x: Tensor) -> Tensor:
    """Rotate each image by a random multiple of 90 degrees (square images)."""
    turns = torch.randint(0, 4, (len(x),), device=x.device)
    out = x
    for k in (1, 2, 3):
        out = torch.where((turns == k).view(-1, 1, 1, 1), torch.rot90(x, k, (2, 3)), out)
    return out


class DiffAugment:
    """Applies the ``policy`` (in order) to a batch of images. With a ``probability`` (adaptive
    augmentation), each step is applied to each image with that probability, and not at all
    at 0, so that the discriminator sees unaugmented images as often as the probability allows."""

    def __init__(self, policy: Sequence[str], translation_ratio: float = 0.125, cutout_ratio: float = 0.5,
                 probability: float | None = None):
        steps: dict[str, Callable[[Tensor], Tensor]] = {
            "flip": flip,
            "rotate90": rotate90,
            "color": color,
            "translation": lambda x: translation(x, translation_ratio),
            "cutout": lambda x: cutout(x, cutout_ratio),
        }
        self.policy = tuple(policy)
        self.steps = [steps[name] for name in self.policy]
        self.probability = probability

    def __call__(self, x: Tensor) -> Tensor:
        p = self.probability
        for step in self.steps:
            if p is None:
                x = step(x)
            elif p > 0:
                chosen = torch.rand(len(x), device=x.device) < p
                x = torch.where(chosen.view(-1, *[1] * (x.dim() - 1)), step(x), x)
        return x


class AdaptiveProbability:
    """ADA's controller (Karras et al. 2020): the discriminator's overfitting is read as
    r = E[sign(D(real))] over ``interval`` discriminator steps; the augmentation probability then
    moves toward more augmentation when r exceeds ``target`` and less when below, by
    ``batch * interval / speed_images`` (so it could cross from 0 to 1 in ``speed_images`` images)."""

    def __init__(self, target: float, interval: int, speed_images: int, batch_size: int, initial: float = 0.0):
        self.target, self.interval = target, interval
        self.step_size = batch_size * interval / speed_images
        self.p, self.signs, self.count = initial, 0.0, 0

    def observe(self, real_sign: Any, average: Callable[[float], float] = lambda r: r) -> float | None:
        """Record one discriminator step's mean sign on reals (a number, or a tensor summed where
        it lives: read once an interval, not every step); returns r when the probability moved.
        ``average`` combines r over ranks."""
        self.signs = self.signs + real_sign
        self.count += 1
        if self.count < self.interval:
            return None
        r = average(float(self.signs) / self.count)
        self.p = min(max(self.p + (1 if r > self.target else -1 if r < self.target else 0) * self.step_size, 0.0), 1.0)
        self.signs, self.count = 0.0, 0
        return r

    def state_dict(self) -> dict:
        return {"p": self.p, "signs": float(self.signs), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.signs, self.count = float(state["p"]), float(state["signs"]), int(state["count"])


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
