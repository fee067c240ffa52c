"""BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): an encoder E learns the inverse
of G. D judges joint pairs, (x, E(x)) from data against (G(z), z) from the prior; at the
optimum E and G invert each other."""

from __future__ import annotations

import torch
from torch import Tensor

from ganforge import distributed
from ganforge.errors import GanforgeError
from ganforge.objective import Logs, Nets
from ganforge_classic.objectives import AdversarialGame


class BiGAN(AdversarialGame):
    """D learns to call data pairs real and generated pairs fake; G and E, trained together,
    learn the opposite (the discriminator's loss with the labels swapped, which for the
    cross-entropy losses is the non-saturating form)."""

    name = "bigan"
    takes_regularisers = False  # the penalties take a critic of x alone; D here judges (x, z)

    def __init__(self, params, ctx):
        self.generator, self.encoder, self.discriminator = params.generator, params.encoder, params.discriminator
        self.generators, self.discriminators = (self.generator, self.encoder), (self.discriminator,)
        self.d_steps = params.d_steps
        sizes = {name: getattr(ctx.nets[name], "z_dim", None) for name in (self.generator, self.encoder, self.discriminator)}
        if len(set(sizes.values())) != 1:
            shown = ", ".join(f"{name} {size}" for name, size in sizes.items())
            raise GanforgeError(f"the bigan objective needs one latent size across its nets (z_dim: {shown}); "
                                "set the same z_dim on the generator, the encoder and the joint discriminator")
        self.z_dim = sizes[self.generator]
        self.use_losses(ctx.losses)

    def discriminator_loss(self, nets: Nets, batch: dict[str, Tensor]) -> tuple[Tensor, Logs]:
        g, e, d = nets[self.generator], nets[self.encoder], nets[self.discriminator]
        real = batch["x"]
        z = distributed.randn(len(real), self.z_dim, device=real.device)
        with torch.no_grad():
            fake, code = g(z), e(real)
        real_logits, fake_logits = d(real, code), d(fake, z)
        loss = self.adversarial.discriminator(real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": real_logits.detach().mean(),
                      "d/fake": fake_logits.detach().mean()}

    def generator_loss(self, nets: Nets, batch: dict[str, Tensor]) -> tuple[Tensor, Logs]:
        g, e, d = nets[self.generator], nets[self.encoder], nets[self.discriminator]
        real = batch["x"]
        z = distributed.randn(len(real), self.z_dim, device=real.device)
        loss = self.adversarial.discriminator(d(g(z), z), d(real, e(real)))  # labels swapped
        return loss, {"g/loss": loss.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"z": torch.randn(n, self.z_dim, generator=generator)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generator](inputs["z"])

    def encode(self, nets: Nets, x: Tensor) -> Tensor:
        """E(x): the latent code of each sample."""
        return nets[self.encoder](x)

    def reconstruct(self, nets: Nets, x: Tensor) -> Tensor:
        """G(E(x))."""
        return nets[self.generator](self.encode(nets, x))
