"""The unconditional GAN game."""

from __future__ import annotations

import torch
from torch import Tensor

from ganforge import distributed
from ganforge.errors import GanforgeError
from ganforge.objective import Logs, Nets, Objective


class Unconditional(Objective):
    """D learns to tell data from G(z); G learns to fool D. Regularisers in ``losses`` (such
    as ``gradient-penalty``) are added to D's loss."""

    def __init__(self, params, ctx):
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.d_steps = params.d_steps
        self.z_dim = ctx.nets[params.generator].z_dim
        self.adversarial = ctx.losses["adversarial"]
        self.regularisers = {}
        for name, loss in ctx.losses.items():
            role = getattr(loss, "role", None)
            if name == "adversarial":
                if role != "adversarial":
                    raise GanforgeError(f"losses.adversarial must be an adversarial loss, got a {role}")
            elif role == "discriminator-regulariser":
                self.regularisers[name] = loss
            else:
                raise GanforgeError(f"the unconditional objective does not know what to do with loss {name!r} "
                                    f"(a {role}); it takes `adversarial` plus discriminator regularisers")

    def noise(self, n: int, device: torch.device) -> Tensor:
        return distributed.randn(n, self.z_dim, device=device)  # this rank's share of the global batch

    def discriminator_loss(self, nets: Nets, batch: dict[str, Tensor]) -> tuple[Tensor, Logs]:
        g, d = nets[self.generators[0]], nets[self.discriminators[0]]
        real = batch["x"]
        with torch.no_grad():
            fake = g(self.noise(len(real), real.device))
        real_logits, fake_logits = d(real), d(fake)
        loss = self.adversarial.discriminator(real_logits, fake_logits)
        logs = {"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean()}
        if self.regularisers:
            logs["d/loss_adv"] = loss.detach()
        for name, regulariser in self.regularisers.items():
            penalty = regulariser(d, real, fake)
            logs[f"d/{name}"] = penalty.detach()
            loss = loss + penalty
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: dict[str, Tensor]) -> tuple[Tensor, Logs]:
        g, d = nets[self.generators[0]], nets[self.discriminators[0]]
        fake = g(self.noise(len(batch["x"]), batch["x"].device))
        loss = self.adversarial.generator(d(fake))
        return loss, {"g/loss": loss.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"z": torch.randn(n, self.z_dim, generator=generator)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generators[0]](inputs["z"])
