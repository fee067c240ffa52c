"""Adversarial autoencoder (Makhzani et al. 2015): an encoder E and a decoder (the generator)
reconstruct the data, while a discriminator on codes matches E's aggregated posterior to a
prior. Sampling the prior and decoding is then a generative model.

Priors (section 2): a Gaussian; a mixture of Gaussians arranged on a circle in the first two
code dimensions; and the supervised mixture (section 2.3, figure 4), where an item's label picks
its component and the code discriminator sees the label too. One training step plays both of
the paper's phases: D on prior samples against codes, then E and the decoder on reconstruction
plus fooling D (weighted sums rather than the paper's separate updates)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import (
    Batch, Conditioned, GanforgeError, Generated, JudgesCodes, Logs, Nets, NoiseInput, generator_adversarial, rank_rand, rank_randn,
)
from ganforge_classic.objectives import AdversarialGame, require_labels


class Prior:
    """Draws codes of ``z_dim`` values; ``labels`` choose mixture components where given."""

    def __init__(self, kind: str, z_dim: int, std: float, components: int, radius: float, radial_std: float):
        self.kind, self.z_dim, self.std = kind, z_dim, std
        self.components, self.radius, self.radial_std = components, radius, radial_std

    def centres(self) -> Tensor:
        """The mixture's component means (components, z_dim): on a circle in dimensions 0 and 1."""
        angles = torch.arange(self.components) * (2 * math.pi / self.components)
        centres = torch.zeros(self.components, self.z_dim)
        centres[:, 0], centres[:, 1] = self.radius * angles.cos(), self.radius * angles.sin()
        return centres

    def shape(self, noise: Tensor, component: Tensor) -> Tensor:
        """Standard-normal ``noise`` made a draw of each row's ``component``: ``radial_std`` along
        the radius, ``std`` across it and in the other dimensions."""
        if self.kind == "gaussian":
            return noise * self.std
        angles = component.to(noise.dtype) * (2 * math.pi / self.components)
        radial, tangential = torch.stack([angles.cos(), angles.sin()], 1), torch.stack([-angles.sin(), angles.cos()], 1)
        plane = (radial * noise[:, :1] * self.radial_std + tangential * noise[:, 1:2] * self.std
                 + radial * self.radius)
        return torch.cat([plane, noise[:, 2:] * self.std], 1)

    def draw(self, n: int, labels: Tensor | None, device: torch.device) -> Tensor:
        """This rank's share of a global draw of ``n`` codes (components uniform unless labelled)."""
        noise = rank_randn(n, self.z_dim, device=device)
        if labels is None and self.kind == "mixture":
            labels = (rank_rand(n, device=device) * self.components).long().clamp_(max=self.components - 1)
        return self.shape(noise, labels if labels is not None else torch.zeros(n, dtype=torch.long, device=device))

    def draw_from(self, n: int, labels: Tensor | None, generator: torch.Generator) -> Tensor:
        """``n`` codes from ``generator`` alone (CPU; for sample grids and evaluation)."""
        noise = torch.randn(n, self.z_dim, generator=generator)
        if labels is None and self.kind == "mixture":
            labels = torch.randint(self.components, (n,), generator=generator)
        return self.shape(noise, labels if labels is not None else torch.zeros(n, dtype=torch.long))


class AdversarialAutoencoder(AdversarialGame):
    """E and the decoder minimise reconstruction error plus the adversarial loss of D on E's
    codes; D learns to tell prior samples from codes."""

    name = "aae"

    def __init__(self, params, ctx):
        self.encoder, self.decoder, self.discriminator = params.encoder, params.decoder, params.discriminator
        self.generators, self.discriminators = (self.encoder, self.decoder), (self.discriminator,)
        self.d_steps, self.p = params.d_steps, params
        self.use_losses(ctx.losses)
        sizes = {name: ctx.nets[name].z_dim if isinstance(ctx.nets[name], NoiseInput) else None
                 for name in self.generators}
        critic = ctx.nets[self.discriminator]
        if not isinstance(critic, JudgesCodes):
            raise GanforgeError(f"the aae objective's discriminator judges codes, not data; set "
                                f"models.{self.discriminator}.type: code-discriminator (with the encoder's z_dim)")
        sizes[self.discriminator] = critic.code_dim
        if len(set(sizes.values())) != 1 or None in sizes.values():
            shown = ", ".join(f"{name} {size}" for name, size in sizes.items())
            raise GanforgeError(f"the aae objective needs one code size across its nets (z_dim: {shown}); set the "
                                "same z_dim on the encoder, the decoder and the code discriminator")
        self.z_dim = sizes[self.encoder]
        if params.prior == "mixture" and self.z_dim < 2:
            raise GanforgeError("the aae objective's mixture prior lies on a circle in the first two code "
                                f"dimensions; set z_dim to 2 or more (it is {self.z_dim}), or use `prior: gaussian`")
        conditional = isinstance(ctx.nets[self.discriminator], Conditioned) and ctx.nets[self.discriminator].conditional
        self.supervised = params.supervised
        if self.supervised:
            classes = ctx.data_info.num_classes
            if params.prior != "mixture" or classes != params.components:
                raise GanforgeError(f"the aae objective with `supervised: true` gives each class its own mixture "
                                    f"component: set `prior: mixture` and `components: {classes}` (the data's classes"
                                    f"{'' if classes else '; this data has none: use labelled data'})")
            if not conditional:
                raise GanforgeError(f"the supervised aae shows the label to the code discriminator; set "
                                    f"models.{self.discriminator}.conditional: true")
        elif conditional:
            raise GanforgeError(f"models.{self.discriminator} is conditional, which only the supervised aae uses; set "
                                "objective.supervised: true (with a mixture prior) or conditional: false")
        self.prior = Prior(params.prior, self.z_dim, params.prior_std, params.components, params.radius,
                           params.radial_std)

    def labels(self, batch: Batch) -> Tensor | None:
        return require_labels(batch, "supervised aae") if self.supervised else None

    def judge(self, nets: Nets, codes: Tensor, labels: Tensor | None) -> Tensor:
        d = nets[self.discriminator]
        return d(codes, labels) if labels is not None else d(codes)

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        """E(x) and its reconstruction."""
        code = nets[self.encoder](batch["x"])
        return {"code": code, "reconstruction": nets[self.decoder](code)}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        labels = self.labels(batch)
        if generated is None:
            with torch.no_grad():
                code = nets[self.encoder](batch["x"])
        else:
            code = generated["code"].detach()
        prior = self.prior.draw(len(code), labels, code.device)
        prior_logits, code_logits = self.judge(nets, prior, labels), self.judge(nets, code, labels)
        loss = self.adversarial.discriminator(prior_logits, code_logits)
        logs = {"d/prior": prior_logits.detach().mean(), "d/code": code_logits.detach().mean()}
        loss = self.regularise(loss, logs, lambda c: self.judge(nets, c, labels), prior, code)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        generated = generated or self.generate(nets, batch)
        labels, real = self.labels(batch), batch["x"]
        reconstruction = F.mse_loss(generated["reconstruction"].float(), real.float())
        adversarial = generator_adversarial(
            self.adversarial, self.judge(nets, generated["code"], labels),
            lambda: self.judge(nets, self.prior.draw(len(real), labels, real.device), labels))
        loss = self.p.reconstruction_weight * reconstruction + self.p.adversarial_weight * adversarial
        return loss, {"g/loss": loss.detach(), "g/reconstruction": reconstruction.detach(),
                      "g/adversarial": adversarial.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Prior codes; with the supervised prior, class by class (a grid row per class)."""
        labels = torch.arange(n) % self.p.components if self.supervised else None
        inputs = {"z": self.prior.draw_from(n, labels, generator)}
        return {**inputs, "y": labels} if labels is not None else inputs

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.decoder](inputs["z"])

    def truncate(self, inputs: dict[str, Tensor], threshold: float, generator: torch.Generator) -> dict[str, Tensor]:
        raise GanforgeError("truncation redraws Gaussian noise; an aae's codes come from its prior (a mixture, or a "
                            "scaled Gaussian), so sample it without --truncation")

    def encode(self, nets: Nets, x: Tensor) -> Tensor:
        """E(x): the code of each sample."""
        return nets[self.encoder](x)

    def reconstruct(self, nets: Nets, x: Tensor) -> Tensor:
        """decoder(E(x))."""
        return nets[self.decoder](self.encode(nets, x))

    def prior_samples(self, n: int, labels: Tensor | None, generator: torch.Generator) -> Tensor:
        """``n`` prior codes (for the items' ``labels`` with the supervised prior), from ``generator``."""
        return self.prior.draw_from(n, labels if self.supervised else None, generator)
