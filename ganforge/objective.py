"""The objective contract: the game between nets, and nothing else.

The trainer owns optimizers, precision, EMA, the k:1 schedule, checkpoints and logging. An
objective says which nets each phase trains and computes that phase's loss; every method
receives the nets as a dict, so the trainer can pass wrapped (DDP) or averaged (EMA) copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import Tensor, nn

Nets = Mapping[str, nn.Module]
Logs = dict[str, Tensor]
Batch = dict[str, Tensor]
Generated = dict[str, Tensor]


@dataclass
class Clock:
    """Where training stands, kept by the trainer and readable by every component built with the
    run (``ctx.clock``): lazy regularisers and step-dependent schedules read it. It is derived
    from the step a run resumes at, so it needs no checkpoint of its own."""

    step: int = 0
    """Generator steps completed before the current one."""
    d_step: int = 0
    """Discriminator steps completed before the current one (``step * d_steps`` plus the current phase's index)."""
    total_steps: int = 0
    """``train.steps`` of the run."""


class Objective:
    """Base class for objectives. Subclasses set ``generators``, ``discriminators`` and
    ``d_steps`` and implement the loss and sampling methods.

    One generator forward per step: an objective that overrides :meth:`generate` has it called
    once before the last discriminator phase of each step, with gradients; both phases then
    receive its result as ``generated`` (the discriminator phase detaches it). Objectives that
    do not override it are called with ``(nets, batch)`` as before."""

    generators: tuple[str, ...] = ()
    """Model names trained in the generator phase (and averaged by EMA)."""
    discriminators: tuple[str, ...] = ()
    """Model names trained in the discriminator phase."""
    d_steps: int = 1
    """Discriminator steps per generator step, each on a fresh batch."""
    unused_parameters: bool = False
    """True when the game leaves part of a net idle for a while (pix2pixHD's coarse stage), so
    that DistributedDataParallel is told to expect it."""

    def generate(self, nets: Nets, batch: Batch) -> Generated | None:
        """The generators' forward for this step, shared by the discriminator and generator
        phases (None: each phase runs its own)."""
        return None

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        """The discriminator-phase loss and detached values to log. ``generated`` is what
        :meth:`generate` returned this step (None on earlier discriminator steps of a k:1 schedule)."""
        raise NotImplementedError

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        """The generator-phase loss (``batch`` is the last discriminator batch)."""
        raise NotImplementedError

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Fixed inputs for sample grids (on CPU), drawn from ``generator`` only."""
        raise NotImplementedError

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        """Generated samples for ``inputs``: images in [-1, 1] or vectors."""
        raise NotImplementedError

    def truncate(self, inputs: dict[str, Tensor], threshold: float, generator: torch.Generator) -> dict[str, Tensor]:
        """``inputs`` with their Gaussian noise redrawn (from ``generator``) until every value
        lies within +-``threshold``: the truncation trick. The default truncates ``z``; a game
        whose ``z`` also carries codes truncates only the noise part."""
        if "z" not in inputs or not inputs["z"].is_floating_point():
            return inputs
        return {**inputs, "z": truncated_normal(inputs["z"], threshold, generator)}

    def after_step(self, trained: tuple[str, ...], nets: Nets) -> None:
        """Called after each optimiser step with the names just trained and the unwrapped nets:
        the place for constraints on weights, such as WGAN's clipping."""

    def state_dict(self) -> dict:
        """State the game keeps between steps (such as an image history pool), saved in every
        checkpoint so that a resumed run continues exactly. Tensors and plain values only."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


@torch.no_grad()
def clip_weights(nets: Nets, names: tuple[str, ...], clip: float) -> None:
    """Clamp every weight of the nets ``names`` to [-clip, clip] (WGAN's critic constraint; call it
    from :meth:`Objective.after_step` with the names just trained that are critics)."""
    for name in names:
        for parameter in nets[name].parameters():
            parameter.clamp_(-clip, clip)


def truncated_normal(values: Tensor, threshold: float, generator: torch.Generator) -> Tensor:
    """Standard-normal ``values`` with every entry beyond +-``threshold`` redrawn until inside."""
    if threshold <= 0:
        raise ValueError(f"the truncation threshold must be positive, got {threshold}")
    values = values.clone()
    outside = values.abs() > threshold
    while outside.any():
        values[outside] = torch.randn(int(outside.sum()), generator=generator, dtype=values.dtype)
        outside = values.abs() > threshold
    return values
