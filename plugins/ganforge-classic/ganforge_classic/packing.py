"""PacGAN packing (Lin et al. 2018): the discriminator judges m samples at once, so a generator
that drops modes shows it within each pack. Packing is a property of the discriminator alone:
the objectives and losses are unchanged and see one logit per pack."""

from __future__ import annotations

from torch import Tensor

from ganforge.sdk import GanforgeError


def pack(x: Tensor, m: int) -> Tensor:
    """(B, C, ...) -> (B / m, m * C, ...): consecutive groups of m samples side by side."""
    if m == 1:
        return x
    if len(x) % m:
        raise GanforgeError(f"the discriminator packs {m} samples at once (pack: {m}) but got a batch of {len(x)}; "
                            f"use a train.batch_size divisible by {m}")
    return x.reshape(len(x) // m, m * x.shape[1], *x.shape[2:])
