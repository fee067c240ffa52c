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


def tiny_r3gan(**train) -> dict:
    """R3GAN on 16 px shapes: relativistic pairing loss with R1 and R2."""
    nets = {"widths": [8, 8, 8], "cardinalities": [2, 2, 2], "blocks": [1, 1, 1]}
    return {
        "name": "kit-r3gan", "seed": 0,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": {"type": "r3gan-generator", "z_dim": 8, **nets},
                   "discriminator": {"type": "r3gan-discriminator", **nets}},
        "objective": "unconditional",
        "losses": {"adversarial": "rpgan", "r1": {"type": "r1", "gamma": 0.1}, "r2": {"type": "r2", "gamma": 0.1}},
        "optim": {"generator": {"lr": 2e-4, "betas": [0.0, 0.9]}, "discriminator": {"lr": 2e-4, "betas": [0.0, 0.9]}},
        "train": {"steps": 2, "batch_size": 4, "log_every": 1, "sample_every": 100, "sample_count": 2,
                  "checkpoint_every": 100, **train},
    }


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    return [tiny_stylegan2(), tiny_r3gan()]
