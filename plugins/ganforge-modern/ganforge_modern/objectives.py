"""StyleGAN2's game (Karras et al. 2020): the non-saturating loss of the classic game (R1 on
reals comes from ``losses``, lazily with ``every: 16``), style mixing regularisation, and lazy
path-length regularisation of the generator. ``--truncation`` is psi, in W."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganforge.sdk import (Batch, GanforgeError, Generated, Logs, Nets, generator_adversarial, mean_across, rank_randn,
                          shared_rand, twice_differentiable)
from ganforge_classic import Unconditional
from ganforge_modern.stylegan2 import StyleGAN2Generator


class StyleGAN2(Unconditional):
    """The classic game on StyleGAN2's nets, with the generator's two regularisers."""

    name = "stylegan2"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.p = params
        g = ctx.nets[params.generator]
        if not isinstance(g, StyleGAN2Generator):
            raise GanforgeError(f"the stylegan2 objective needs models.{params.generator} to be a stylegan2-generator "
                                "(styles per layer, for mixing and path lengths)")
        self.num_ws = g.num_ws
        self.clock = ctx.clock
        self.path_length_mean = torch.zeros(())

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        real = batch["x"]
        return {"fake": self.forward(nets, len(real), real.device)}

    def forward(self, nets: Nets, n: int, device: torch.device, return_styles: bool = False):
        """G on fresh codes; with probability ``style_mixing`` a second code takes over from a random layer."""
        z = self.noise(n, device)
        z_mix = mix_from = None
        if self.p.style_mixing and float(shared_rand(1, device=device)[0]) < self.p.style_mixing:  # one choice for all ranks
            z_mix = self.noise(n, device)
            mix_from = 1 + int(float(shared_rand(1, device=device)[0]) * (self.num_ws - 1))
        return nets[self.generators[0]](z, z_mix=z_mix, mix_from=mix_from, return_styles=return_styles)

    def path_length_due(self) -> bool:
        return self.p.path_length_weight > 0 and self.clock.step % self.p.path_length_every == 0

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        fake = (generated or self.generate(nets, batch))["fake"]
        loss = generator_adversarial(self.adversarial, d(fake), lambda: d(batch["x"]))
        logs = {"g/loss_adv": loss.detach()}
        if self.path_length_due():
            penalty, lengths = self.path_length_penalty(nets, len(batch["x"]), batch["x"].device)
            loss = loss + penalty * self.p.path_length_weight * self.p.path_length_every
            logs.update({"g/path_length": lengths.detach().mean(), "g/path_length_penalty": penalty.detach()})
        logs["g/loss"] = loss.detach()
        return loss, logs

    def path_length_penalty(self, nets: Nets, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """(mean squared deviation of |J^T y| from its running mean, the lengths): the Jacobian of
        the image with respect to w, probed with random images y scaled by 1/sqrt(pixels)."""
        with twice_differentiable():
            images, ws = self.forward(nets, max(1, n // self.p.path_length_batch_shrink), device, return_styles=True)
            probe = rank_randn(*images.shape, device=device) / math.sqrt(images.shape[2] * images.shape[3])
            grad, = torch.autograd.grad((images * probe).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        mean = self.path_length_mean.to(device)
        seen = mean_across({"lengths": float(lengths.detach().mean())}, device)["lengths"]  # every rank's mean alike
        mean = mean + self.p.path_length_decay * (seen - mean)
        self.path_length_mean = mean.detach().cpu()
        return (lengths - mean).square().mean(), lengths

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generators[0]](inputs["z"], psi=inputs.get("psi"))

    def truncate(self, inputs: dict[str, Tensor], threshold: float, generator: torch.Generator) -> dict[str, Tensor]:
        """Truncation in W: each w is pulled toward the mean w, w_avg + psi (w - w_avg), psi = ``threshold``."""
        if not 0 < threshold:
            raise GanforgeError(f"StyleGAN2's truncation is psi in W and must be positive (0.5 to 1 is usual); got {threshold}")
        return {**inputs, "psi": torch.full((len(inputs["z"]),), float(threshold))}

    def state_dict(self) -> dict:
        return {"path_length_mean": self.path_length_mean.clone()}

    def load_state_dict(self, state: dict) -> None:
        if "path_length_mean" in state:
            self.path_length_mean = state["path_length_mean"].clone()
