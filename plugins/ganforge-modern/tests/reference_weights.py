"""Deterministic weights and latents for the StyleGAN2 reference fixtures (tests/reference/):
the fixtures store key names, shapes and the reference's outputs; the weights come from here."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor

FIXTURES = Path(__file__).parent / "reference"


def uniform(n: int, seed: int) -> Tensor:
    """``n`` values spread over (-sqrt(3), sqrt(3)) (unit variance), the same on every machine."""
    index = torch.arange(n, dtype=torch.float64)
    u = torch.frac(torch.abs(torch.sin(index * 12.9898 + seed * 78.233 + 0.5) * 43758.5453))
    return (2 * u - 1) * 3 ** 0.5


def weights(layout: list[tuple[str, list[int]]], seed: int, near_one: tuple[str, ...] = (),
            small: tuple[str, ...] = (), fan_in: bool = False) -> "OrderedDict[str, Tensor]":
    """Unit-variance tensors of the given shapes (the equalised learning rate scales them at run
    time; ``fan_in``: weights of two or more axes scaled by 1/sqrt(fan-in) instead); keys ending
    in ``near_one`` sit around 1, keys ending in ``small`` around 0 (x0.1)."""
    state = OrderedDict()
    for index, (key, shape) in enumerate(layout):
        n = 1
        for s in shape:
            n *= s
        value = uniform(n, seed * 1000 + index).reshape(shape).float()
        if fan_in and len(shape) >= 2:
            value = value / (n // shape[0]) ** 0.5
        if key.endswith(near_one):
            value = 1 + 0.1 * value
        elif key.endswith(small):
            value = 0.1 * value
        state[key] = value
    return state


def latents(n: int, dim: int, seed: int) -> Tensor:
    return uniform(n * dim, seed).reshape(n, dim).float()


def read_fixture(name: str) -> tuple[dict, dict[str, Tensor]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = FIXTURES / f"{name}.safetensors"
    with safe_open(str(path), "pt") as handle:
        meta = json.loads(handle.metadata()["fixture"])
    return meta, load_file(path)
