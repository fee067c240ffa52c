"""Helpers and fixtures of the translation tests: tiny recipes on the built-in shapes data.
A module of its own (not a conftest.py) so that its name cannot clash with the core tests' conftest."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))


@pytest.fixture(autouse=True)
def one_thread():  # imported by every test module, so autouse there
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_pix2pix(tmp_path: Path, steps: int = 40, **train) -> dict:
    """pix2pix on 16 px shapes edges, small enough to train a few hundred steps in seconds."""
    shapes = {"size": 16, "colors": ["orange"], "jitter": 0.05, "scale": [0.7, 1.0]}
    return {
        "name": "tiny-pix2pix", "seed": 0,
        "data": {"type": "shapes-edges", "length": 512, **shapes},
        "models": {"generator": {"type": "unet-generator", "depth": 4, "width": 16},
                   "discriminator": {"type": "patchgan-discriminator", "receptive_field": 16, "width": 16,
                                     "conditional": True}},
        "objective": {"type": "pix2pix"},
        "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 2e-4}},
        "train": {"steps": steps, "batch_size": 16, "device": "cpu", "progress": False, "log_every": 10,
                  "sample_every": 1000, "sample_count": 4, "checkpoint_every": 1000, **train},
        "eval": {"data": {"type": "shapes-edges", "length": 64, "seed": 99, **shapes}},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def tiny_cyclegan(tmp_path: Path, steps: int = 40, **train) -> dict:
    shapes = {"size": 16, "jitter": 0.05, "scale": [0.7, 1.0]}
    d = {"type": "patchgan-discriminator", "receptive_field": 16, "width": 16, "norm": "instance"}
    return {
        "name": "tiny-cyclegan", "seed": 0,
        "data": {"type": "shapes-recolor", "length": 512, **shapes},
        "models": {"g_ab": {"type": "resnet-generator", "blocks": 2, "width": 8},
                   "g_ba": {"type": "resnet-generator", "blocks": 2, "width": 8, "reverse": True},
                   "d_b": dict(d), "d_a": {**d, "domain": "source"}},
        "objective": {"type": "cyclegan", "pool_size": 8},
        "optim": {name: {"lr": 1e-3} for name in ("g_ab", "g_ba", "d_a", "d_b")},
        "train": {"steps": steps, "batch_size": 8, "device": "cpu", "progress": False, "log_every": 10,
                  "sample_every": 1000, "sample_count": 4, "checkpoint_every": 1000, **train},
        "eval": {"data": {"type": "shapes-recolor", "length": 64, "seed": 99, "paired": True, **shapes}},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def with_eval(recipe: dict, every: int, metrics: list) -> dict:
    recipe = copy.deepcopy(recipe)
    recipe["eval"].update({"every": every, "metrics": metrics})
    return recipe


def save_image(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path
