"""Tiny recipes for the conformance kit (``ganforge.testing``) that use every modern component."""

from __future__ import annotations

from pathlib import Path

from ganforge.sdk import hookimpl

TINY_G = {"type": "stylegan2-generator", "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64,
          "channel_max": 8}
TINY_D = {"type": "stylegan2-discriminator", "channel_base": 64, "channel_max": 8, "mbstd_group": 2}


def tiny_stylegan2(**train) -> dict:
    """StyleGAN2 on 16 px shapes: every regulariser due within a few steps."""
    return {
        "name": "kit-stylegan2", "seed": 0,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": dict(TINY_G), "discriminator": dict(TINY_D)},
        "objective": {"type": "stylegan2", "path_length_every": 2},
        "losses": {"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 1.0, "every": 2}},
        "optim": {"generator": {"lr": 0.002, "betas": [0.0, 0.99]}, "discriminator": {"lr": 0.002, "betas": [0.0, 0.99]}},
        "train": {"steps": 2, "batch_size": 4, "log_every": 1, "sample_every": 100, "sample_count": 2,
                  "checkpoint_every": 100, **train},
    }


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    return [tiny_stylegan2()]
