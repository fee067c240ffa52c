"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same random flips, quarter
turns, colour, translation and cutout applied to every image a discriminator sees, real or
generated, so gradients flow through it to the generator and a discriminator trained on little
data does not memorise it. ADA's own geometric and colour transforms (Karras et al. 2020,
the 'bgc' pipeline) are steps too: ``scale``, ``rotate``, ``aniso``, ``xfrac`` (one affine
resampling each, reflection padding, bilinear) and ``brightness``, ``contrast``, ``lumaflip``,
``hue``, ``saturation`` (a colour matrix about the luma axis), with ADA's strengths. Enabled for any objective with ``train.augment``; with
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


# ---------------------------------------------------------------- ADA's geometric transforms

def _resample(x: Tensor, theta: Tensor) -> Tensor:
    """Resample each image through the affine map ``theta`` (n, 2, 3) from output to input
    coordinates, in pixel units about the centre; reflection padding, as ADA pads."""
    n, _, h, w = x.shape
    to_pixels = torch.tensor([[w / 2, 0.0], [0.0, h / 2]], device=x.device, dtype=x.dtype)
    linear = torch.linalg.solve(to_pixels, theta[:, :, :2] @ to_pixels)  # the map in normalised coordinates
    offset = theta[:, :, 2:] / torch.tensor([[w / 2], [h / 2]], device=x.device, dtype=x.dtype)
    grid = F.affine_grid(torch.cat([linear, offset], dim=2), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _eye(n: int, x: Tensor) -> Tensor:
    return torch.eye(2, 3, device=x.device, dtype=x.dtype).repeat(n, 1, 1)


def scale_by(x: Tensor, factors: Tensor) -> Tensor:
    """Zoom each image by its factor about the centre (2: twice as large)."""
    theta = _eye(len(x), x)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / factors
    return _resample(x, theta)


def rotate_by(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate each image by its angle (radians) about the centre."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    theta = _eye(len(x), x)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    return _resample(x, theta)


def stretch_by(x: Tensor, factors: Tensor) -> Tensor:
    """Widen each image by its factor and shorten it by the same (anisotropic scaling)."""
    theta = _eye(len(x), x)
    theta[:, 0, 0], theta[:, 1, 1] = 1 / factors, factors
    return _resample(x, theta)


def shift_by(x: Tensor, shifts: Tensor) -> Tensor:
    """Move each image by (dx, dy) pixels, fractions included."""
    theta = _eye(len(x), x)
    theta[:, :, 2] = -shifts
    return _resample(x, theta)


def scale(x: Tensor, std: float = 0.2) -> Tensor:
    """ADA's isotropic scaling: a factor 2^N(0, 0.2^2)."""
    return scale_by(x, torch.exp2(torch.randn(len(x), device=x.device, dtype=x.dtype) * std))


def rotate(x: Tensor) -> Tensor:
    """ADA's arbitrary rotation: an angle uniform in (-pi, pi)."""
    return rotate_by(x, (torch.rand(len(x), device=x.device, dtype=x.dtype) * 2 - 1) * torch.pi)


def aniso(x: Tensor, std: float = 0.2) -> Tensor:
    """ADA's anisotropic scaling: a factor 2^N(0, 0.2^2) along x and its inverse along y."""
    return stretch_by(x, torch.exp2(torch.randn(len(x), device=x.device, dtype=x.dtype) * std))


def xfrac(x: Tensor, std: float = 0.125) -> Tensor:
    """ADA's fractional translation: N(0, 0.125^2) of the width and height."""
    n, _, h, w = x.shape
    size = torch.tensor([w, h], device=x.device, dtype=x.dtype)
    return shift_by(x, torch.randn(n, 2, device=x.device, dtype=x.dtype) * std * size)


# ---------------------------------------------------------------- ADA's colour transforms

def _luma_axis(x: Tensor) -> Tensor:
    return torch.full((3,), 3 ** -0.5, device=x.device, dtype=x.dtype)


def _rgb(x: Tensor, name: str) -> None:
    if x.shape[1] != 3:
        raise ValueError(f"the {name} augmentation works on RGB images, not {x.shape[1]} channel(s)")


def _colour_matrix(x: Tensor, matrices: Tensor) -> Tensor:
    """Apply a 3x3 matrix per image to its RGB values (about mid-grey, 0 in [-1, 1])."""
    return torch.einsum("nij,njhw->nihw", matrices, x)


def brightness(x: Tensor, std: float = 0.2) -> Tensor:
    """ADA's brightness: add N(0, 0.2^2) to every channel."""
    return x + torch.randn(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * std


def contrast(x: Tensor, std: float = 0.5) -> Tensor:
    """ADA's contrast: scale about mid-grey by 2^N(0, 0.5^2)."""
    return x * torch.exp2(torch.randn(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * std)


def lumaflip_where(x: Tensor, flipped: Tensor) -> Tensor:
    """Reflect the chosen images' colours through the plane normal to the luma axis (the luma inverts, hue and saturation stay)."""
    _rgb(x, "lumaflip")
    v = _luma_axis(x)
    eye = torch.eye(3, device=x.device, dtype=x.dtype)
    matrices = eye - 2 * torch.outer(v, v) * flipped.to(x.dtype).view(-1, 1, 1)
    return _colour_matrix(x, matrices)


def hue_by(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate each image's colours about the luma axis by its angle (the luma stays)."""
    _rgb(x, "hue")
    v = _luma_axis(x)
    cross = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]], device=x.device, dtype=x.dtype)
    outer, eye = torch.outer(v, v), torch.eye(3, device=x.device, dtype=x.dtype)
    cos, sin = torch.cos(angles).view(-1, 1, 1), torch.sin(angles).view(-1, 1, 1)
    return _colour_matrix(x, cos * eye + sin * cross + (1 - cos) * outer)  # Rodrigues' rotation


def saturation_by(x: Tensor, factors: Tensor) -> Tensor:
    """Scale each image's colours away from the luma axis by its factor (the luma stays)."""
    _rgb(x, "saturation")
    v = _luma_axis(x)
    outer, eye = torch.outer(v, v), torch.eye(3, device=x.device, dtype=x.dtype)
    return _colour_matrix(x, outer + (eye - outer) * factors.view(-1, 1, 1))


def lumaflip(x: Tensor) -> Tensor:
    """ADA's luma flip, to half of the images."""
    return lumaflip_where(x, torch.rand(len(x), device=x.device) < 0.5)


def hue(x: Tensor) -> Tensor:
    """ADA's hue rotation: an angle uniform in (-pi, pi)."""
    return hue_by(x, (torch.rand(len(x), device=x.device, dtype=x.dtype) * 2 - 1) * torch.pi)


def saturation(x: Tensor, std: float = 1.0) -> Tensor:
    """ADA's saturation: a factor 2^N(0, 1)."""
    return saturation_by(x, torch.exp2(torch.randn(len(x), device=x.device, dtype=x.dtype) * std))


RGB_ONLY = ("lumaflip", "hue", "saturation")
"""Steps that need three colour channels."""


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
            "scale": scale,
            "rotate": rotate,
            "aniso": aniso,
            "xfrac": xfrac,
            "brightness": brightness,
            "contrast": contrast,
            "lumaflip": lumaflip,
            "hue": hue,
            "saturation": saturation,
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
