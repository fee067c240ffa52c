"""Adversarial autoencoder (Makhzani et al. 2015): an encoder E and a decoder (the generator)
reconstruct the data, while a discriminator on codes matches E's aggregated posterior to a
prior. Sampling the prior and decoding is then a generative model.

The semi-supervised variant (section 5, :class:`SemiSupervisedAAE`) splits the code into class
logits and a style, each matched to its own prior, and learns the classes from a few labels.

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
from ganforge_classic.semi_supervised import LabelledSubset


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
        """Prior codes; with the supervised prior, class by class (component i % K for sample i)."""
        labels = torch.arange(n) % self.p.components if self.supervised else None
        return {"z": self.prior.draw_from(n, labels, generator)}

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


class SemiSupervisedAAE(AdversarialGame):
    """The semi-supervised adversarial autoencoder (section 5): E's output is split into K class
    logits, whose softmax y is matched to a one-hot categorical prior by one code discriminator,
    and a style code z matched to a Gaussian by another; the decoder reconstructs x from (y, z).
    E also minimises the cross-entropy of its class logits on a batch of a small labelled subset
    (``labels`` items, class-balanced, fixed by the seed). ``classify`` is E's class logits."""

    name = "aae-semi-supervised"

    def __init__(self, params, ctx):
        self.p = params
        self.encoder, self.decoder = params.encoder, params.decoder
        self.generators = (self.encoder, self.decoder)
        self.discriminators = (params.class_discriminator, params.style_discriminator)
        self.d_steps = params.d_steps
        self.use_losses(ctx.losses)
        self.classes = ctx.data_info.num_classes
        if not self.classes:
            raise GanforgeError("the aae-semi-supervised objective learns the classes of labelled data (such as npz "
                                "with `labels:`); only `labels` of its labels are used")
        encoder, decoder = ctx.nets[self.encoder], ctx.nets[self.decoder]
        sizes = {name: net.z_dim if isinstance(net, NoiseInput) else None
                 for name, net in ((self.encoder, encoder), (self.decoder, decoder))}
        if len(set(sizes.values())) != 1 or None in sizes.values() or sizes[self.encoder] <= self.classes:
            raise GanforgeError(f"the aae-semi-supervised objective splits the code into {self.classes} class logits "
                                f"and a style code: set z_dim to {self.classes} + the style size (the paper: "
                                f"{self.classes} + 10) on both the encoder and the decoder (they have "
                                f"{', '.join(f'{n} {s}' for n, s in sizes.items())})")
        self.style_dim = sizes[self.encoder] - self.classes
        for name, want in ((params.class_discriminator, self.classes), (params.style_discriminator, self.style_dim)):
            critic = ctx.nets[name]
            if not isinstance(critic, JudgesCodes) or critic.code_dim != want:
                raise GanforgeError(f"models.{name} judges codes of {want} values here; set its type: "
                                    f"code-discriminator with z_dim: {want}")
        self.subset = LabelledSubset(ctx.data, params.labels, self.classes, ctx.seed, params.labelled_batch,
                                     "the aae-semi-supervised objective")

    def split(self, code: Tensor) -> tuple[Tensor, Tensor]:
        """(class logits, style) of E's output."""
        return code[:, :self.classes], code[:, self.classes:]

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        logits, style = self.split(nets[self.encoder](batch["x"]))
        y = torch.softmax(logits.float(), 1).to(style.dtype)
        return {"logits": logits, "y": y, "style": style, "reconstruction": nets[self.decoder](torch.cat([y, style], 1))}

    def prior(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """One-hot classes drawn uniformly, and Gaussian styles: this rank's share."""
        classes = (rank_rand(n, device=device) * self.classes).long().clamp_(max=self.classes - 1)
        return F.one_hot(classes, self.classes).float(), rank_randn(n, self.style_dim, device=device) * self.p.prior_std

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        y, style = generated["y"].detach(), generated["style"].detach()
        one_hot, gaussian = self.prior(len(y), y.device)
        d_y, d_z = nets[self.p.class_discriminator], nets[self.p.style_discriminator]
        class_loss = self.adversarial.discriminator(d_y(one_hot), d_y(y))
        style_loss = self.adversarial.discriminator(d_z(gaussian), d_z(style))
        loss = class_loss + style_loss
        return loss, {"d/loss": loss.detach(), "d/class": class_loss.detach(), "d/style": style_loss.detach()}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        generated = generated or self.generate(nets, batch)
        real = batch["x"]
        reconstruction = F.mse_loss(generated["reconstruction"].float(), real.float())
        d_y, d_z = nets[self.p.class_discriminator], nets[self.p.style_discriminator]
        adversarial = (self.adversarial.generator(d_y(generated["y"]).float())
                       + self.adversarial.generator(d_z(generated["style"]).float()))
        x, y = self.subset.draw(real.device)
        logits = self.split(nets[self.encoder](x))[0].float()
        supervised = F.cross_entropy(logits, y)
        loss = (self.p.reconstruction_weight * reconstruction + self.p.adversarial_weight * adversarial
                + self.p.supervised_weight * supervised)
        return loss, {"g/loss": loss.detach(), "g/reconstruction": reconstruction.detach(),
                      "g/adversarial": adversarial.detach(), "g/supervised": supervised.detach(),
                      "g/accuracy_labelled": (logits.argmax(1) == y).float().mean()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Class i % K for sample i (one-hot in the first K values of z) with Gaussian styles."""
        y = torch.arange(n) % self.classes
        style = torch.randn(n, self.style_dim, generator=generator) * self.p.prior_std
        return {"z": torch.cat([F.one_hot(y, self.classes).float(), style], 1)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.decoder](inputs["z"])

    def classify(self, nets: Nets, x: Tensor) -> Tensor:
        """E's class logits."""
        return self.split(nets[self.encoder](x))[0]

    def encode(self, nets: Nets, x: Tensor) -> Tensor:
        """(softmax classes, style): the decoder's input for x."""
        logits, style = self.split(nets[self.encoder](x))
        return torch.cat([torch.softmax(logits.float(), 1).to(style.dtype), style], 1)

    def reconstruct(self, nets: Nets, x: Tensor) -> Tensor:
        return nets[self.decoder](self.encode(nets, x))
