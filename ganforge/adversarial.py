"""Applying an adversarial loss to what a discriminator returns: one logit tensor, or a list
of them over scales (pix2pixHD's multi-scale discriminator), averaged over the scales. In the
generator phase the real logits are computed only for losses that use them."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor


def scales(output: Tensor | list[Tensor]) -> list[Tensor]:
    """A discriminator's logits as a list over scales (a single-scale one has one)."""
    return output if isinstance(output, list) else [output]


def discriminator_adversarial(loss: Any, real: Tensor | list[Tensor], fake: Tensor | list[Tensor]) -> Tensor:
    """The discriminator's loss on its real and fake logits, averaged over scales."""
    real, fake = scales(real), scales(fake)
    return sum(loss.discriminator(r, f) for r, f in zip(real, fake)) / len(real)


def generator_adversarial(loss: Any, fake: Tensor | list[Tensor],
                          real: Callable[[], Tensor | list[Tensor]]) -> Tensor:
    """The generator's loss on the discriminator's logits of generated inputs, averaged over
    scales. ``real()`` gives the same discriminator's logits on real inputs; it is called,
    without gradients, only when ``loss.generator_needs_real`` (relativistic losses), so the
    classic losses cost nothing extra."""
    fake = scales(fake)
    if not loss.generator_needs_real:
        return sum(loss.generator(f) for f in fake) / len(fake)
    with torch.no_grad():
        real_logits = scales(real())
    return sum(loss.generator(f, r.detach()) for f, r in zip(fake, real_logits)) / len(fake)


def mean_logit(logits: Tensor | list[Tensor]) -> Tensor:
    """The mean logit over every scale, detached (for the logs)."""
    return torch.stack([each.detach().float().mean() for each in scales(logits)]).mean()
