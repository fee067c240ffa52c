"""Deterministic weights, inputs and label maps for the reference-parity fixtures in
``tests/reference/``: the fixtures store only key names, shapes and the reference's outputs, and
both the generating script and the tests fill the same weights from this formula."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor

FIXTURES = Path(__file__).parent / "reference"


def hashed(n: int, seed: int) -> Tensor:
    """``n`` pseudo-random values in [0, 1) (float64), the same on every machine."""
    index = torch.arange(n, dtype=torch.float64)
    return torch.frac(torch.abs(torch.sin(index * 12.9898 + seed * 78.233 + 0.5) * 43758.5453))


def fill(key: str, shape: list[int], seed: int) -> Tensor:
    """A tensor for ``key``: batch-norm statistics in their ranges, weights scaled by fan-in."""
    n = 1
    for s in shape:
        n *= s
    u = hashed(n, seed).reshape(shape) if shape else hashed(1, seed)[0]
    if key.endswith("num_batches_tracked"):
        return torch.tensor(7, dtype=torch.long)
    if key.endswith("running_var"):
        return (0.5 + u).float()
    if key.endswith("running_mean"):
        return (0.2 * (2 * u - 1)).float()
    signed = 2 * u - 1
    if len(shape) >= 2:
        fan_in = n // shape[0] if shape[0] else 1
        return (signed * (3.0 / fan_in) ** 0.5).float()
    return (0.1 * signed).float()


def fill_state(layout: list[tuple[str, list[int]]], seed: int = 0, norm_weights: set[str] = frozenset()) -> "OrderedDict[str, Tensor]":
    """A state dict with the given keys and shapes; keys in ``norm_weights`` (norm scales) sit near 1."""
    state = OrderedDict()
    for index, (key, shape) in enumerate(layout):
        value = fill(key, shape, seed * 1000 + index)
        if key in norm_weights:
            value = value + 1.0
        state[key] = value
    return state


def seeded_images(shape: tuple[int, ...], seed: int) -> Tensor:
    """Smooth-ish images in [-1, 1]: a hashed value per 4x4 block plus a gradient."""
    n, c, h, w = shape
    blocks = hashed(n * c * (h // 4) * (w // 4), seed).reshape(n, c, h // 4, w // 4)
    up = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)
    ramp = torch.linspace(-0.5, 0.5, w, dtype=torch.float64)
    return (1.5 * up - 0.75 + ramp).clamp(-1, 1).float()


def label_maps(n: int, size: int, classes: int, seed: int) -> tuple[Tensor, Tensor]:
    """(label ids, instance ids), each (N, 1, H, W) integers: 8x8 blocks of hashed classes, and
    instances that split each class at the image's middle column."""
    blocks = (hashed(n * (size // 8) ** 2, seed) * classes).long().reshape(n, 1, size // 8, size // 8)
    labels = blocks.repeat_interleave(8, 2).repeat_interleave(8, 3)
    half = (torch.arange(size) >= size // 2).long().view(1, 1, 1, size)
    return labels, labels * 1000 + half


def read_fixture(name: str) -> tuple[dict, dict[str, Tensor]]:
    """(metadata, tensors) of fixture ``name``."""
    from safetensors.torch import load_file
    from safetensors import safe_open

    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), "pt") as handle:
        meta = json.loads(handle.metadata()["fixture"])
    return meta, load_file(path)


def subsample(output: Tensor, stride: int) -> Tensor:
    return output[:, :, ::stride, ::stride].contiguous()
