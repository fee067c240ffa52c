"""BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): an encoder E learns the inverse
of G. D judges joint pairs, (x, E(x)) from data against (G(z), z) from the prior; at the
optimum E and G invert each other."""

from __future__ import annotations

import torch
from torch import Tensor

from ganforge.sdk import Batch, GanforgeError, Generated, Logs, Nets, NoiseInput, rank_randn
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
        sizes = {name: ctx.nets[name].z_dim if isinstance(ctx.nets[name], NoiseInput) else None
                 for name in (self.generator, self.encoder, self.discriminator)}
        if len(set(sizes.values())) != 1:
            shown = ", ".join(f"{name} {size}" for name, size in sizes.items())
            raise GanforgeError(f"the bigan objective needs one latent size across its nets (z_dim: {shown}); "
                                "set the same z_dim on the generator, the encoder and the joint discriminator")
        self.z_dim = sizes[self.generator]
        self.use_losses(ctx.losses)

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        """G(z) and E(x): the forwards of both nets the generator phase trains."""
        real = batch["x"]
        z = rank_randn(len(real), self.z_dim, device=real.device)
        return {"fake": nets[self.generator](z), "z": z, "code": nets[self.encoder](real)}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminator]
        real = batch["x"]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake, code, z = generated["fake"].detach(), generated["code"].detach(), generated["z"]
        real_logits, fake_logits = d(real, code), d(fake, z)
        loss = self.adversarial.discriminator(real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": real_logits.detach().mean(),
                      "d/fake": fake_logits.detach().mean()}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminator]
        generated = generated or self.generate(nets, batch)
        real = batch["x"]
        loss = self.adversarial.discriminator(d(generated["fake"], generated["z"]), d(real, generated["code"]))  # swapped
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

    def prior_samples(self, n: int, labels: Tensor | None, generator: torch.Generator) -> Tensor:
        """``n`` draws of G's prior, the standard normal that E's codes should match."""
        return torch.randn(n, self.z_dim, generator=generator)
