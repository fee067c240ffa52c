"""The completion games, built on the translation plugin's paired-data objective (its fixed
sample inputs, ``paired_outputs`` for the paired metrics and ``translate``):

* ``srgan``: SRResNet trained on pixel MSE for ``pretrain_steps`` (D idle), then on a content
  loss (VGG features through ``losses.content``, or pixel MSE) plus ``adversarial_weight`` x the
  adversarial loss (SRGAN: 1e-3).
* ``context-encoder``: G fills the hole of a masked image; L2 inside the hole plus a small
  adversarial term on the completed image (Pathak et al. 2016: 0.999 and 0.001).
* ``ccgan``: the context-conditional GAN (Denton et al. 2016): G fills the hole adversarially;
  D judges completed against real images and also classifies, learning the classes from a
  small labelled subset (semi-supervised learning).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import (
    AuxiliaryHead, Batch, GanforgeError, Generated, Logs, Nets, discriminator_adversarial,
    generator_adversarial, mean_logit,
)
from ganforge_classic import LabelledSubset
from ganforge_translation import Translation


class SRGAN(Translation):
    name = "srgan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.check_discriminator(ctx, params.discriminator, conditional=False)
        self.check_losses(ctx, {"adversarial", "content"})
        self.content = ctx.losses.get("content")
        if params.content == "vgg" and self.content is None:
            raise GanforgeError("objective.content: vgg needs losses.content (for example {type: vgg-perceptual, "
                                "layers: [relu5_4], criterion: l2}); or set objective.content: pixel")
        self.step = 0  # generator updates so far: pre-training ends at pretrain_steps

    @property
    def pretraining(self) -> bool:
        return self.step < self.p.pretrain_steps

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        return {"fake": nets[self.generators[0]](batch["source"])}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        if self.pretraining:  # D waits: no gradient reaches it, so its optimizer leaves it unchanged
            zero = torch.zeros((), device=batch["x"].device, requires_grad=True)
            return zero, {"d/loss": zero.detach()}
        d = nets[self.discriminators[0]]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        real_logits, fake_logits = d(batch["x"]), d(generated["fake"].detach())
        loss = discriminator_adversarial(self.adversarial, real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": mean_logit(real_logits), "d/fake": mean_logit(fake_logits)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        fake, real = (generated or self.generate(nets, batch))["fake"], batch["x"]
        pixel = F.mse_loss(fake, real)
        logs = {"g/mse": pixel.detach()}
        if self.pretraining:
            return pixel, {**logs, "g/loss": pixel.detach()}
        content = self.content(fake, real) if self.p.content == "vgg" else pixel
        adversarial = generator_adversarial(self.adversarial, d(fake), lambda: d(real))
        loss = self.p.content_weight * content + self.p.adversarial_weight * adversarial
        return loss, {**logs, "g/loss": loss.detach(), "g/content": content.detach(), "g/adversarial": adversarial.detach()}

    def after_step(self, trained: tuple[str, ...], nets: Nets) -> None:
        if trained == self.generators:
            self.step += 1

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state.get("step", 0))


class ContextEncoder(Translation):
    name = "context-encoder"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.check_discriminator(ctx, params.discriminator, conditional=False)
        self.check_losses(ctx, {"adversarial"})
        if self.info.source_shape[0] != self.info.shape[0] + 1:
            raise GanforgeError("the context-encoder objective fills holes: use inpainting data (inpainting, "
                                "shapes-inpainting), whose sources carry the hole's mask")

    @staticmethod
    def complete(source: Tensor, filled: Tensor) -> Tensor:
        """The known pixels of ``source`` with the hole taken from ``filled``."""
        hole = source[:, -1:]
        return source[:, :-1] * (1 - hole) + filled * hole

    @staticmethod
    def hole_l2(source: Tensor, filled: Tensor, real: Tensor) -> Tensor:
        """Mean squared error of ``filled`` against ``real`` inside the hole (the mask, ``source``'s last channel)."""
        hole = source[:, -1:]
        return ((filled - real) ** 2 * hole).sum() / (hole.sum() * real.shape[1]).clamp(min=1)

    def translate(self, nets: Nets, source: Tensor, reverse: bool = False) -> Tensor:
        self.one_way(reverse)
        return self.complete(source, nets[self.generators[0]](source))

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        return {"filled": nets[self.generators[0]](batch["source"])}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake = self.complete(batch["source"], generated["filled"].detach())
        real_logits, fake_logits = d(batch["x"]), d(fake)
        loss = self.p.adversarial_weight * discriminator_adversarial(self.adversarial, real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": mean_logit(real_logits), "d/fake": mean_logit(fake_logits)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        source, real = batch["source"], batch["x"]
        filled = (generated or self.generate(nets, batch))["filled"]
        reconstruction = self.hole_l2(source, filled, real)
        adversarial = generator_adversarial(self.adversarial, d(self.complete(source, filled)), lambda: d(real))
        loss = self.p.reconstruction_weight * reconstruction + self.p.adversarial_weight * adversarial
        return loss, {"g/loss": loss.detach(), "g/hole_l2": reconstruction.detach(), "g/adversarial": adversarial.detach()}


class CCGAN(ContextEncoder):
    """Context-conditional GAN (Denton et al. 2016, section 3): the completed image
    ``(1 - m) x + m G(m x)`` against real images, with ``adversarial_weight`` x the adversarial
    loss (plus ``reconstruction_weight`` x L2 in the hole, 0 in the paper). D returns a real/fake
    logit and K class logits (``aux_outputs``: the data's classes); each D step adds
    ``supervised_weight`` x the cross-entropy of ``labelled_batch`` items of a class-balanced
    subset of ``labels`` labelled images (fixed by the seed). ``classify`` is D's class head, so
    ``heldout-accuracy`` scores the semi-supervised classifier."""

    name = "ccgan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.classes = self.info.num_classes
        if not self.classes:
            raise GanforgeError("the ccgan objective learns classes from a labelled subset: use labelled inpainting "
                                "data (for an image folder, `labels: true` with one subfolder per class)")
        d = ctx.nets[params.discriminator]
        have = d.aux_outputs if isinstance(d, AuxiliaryHead) else 0
        if have != self.classes:
            raise GanforgeError(f"the ccgan objective's discriminator classifies the data's {self.classes} classes; "
                                f"set models.{params.discriminator}.aux_outputs: {self.classes} (it has {have})")
        self.subset = LabelledSubset(ctx.data, params.labels, self.classes, ctx.seed, params.labelled_batch,
                                     "the ccgan objective")

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake = self.complete(batch["source"], generated["filled"].detach())
        (real_logits, _), (fake_logits, _) = d(batch["x"]), d(fake)
        adversarial = discriminator_adversarial(self.adversarial, real_logits, fake_logits)
        x, y = self.subset.draw(real_logits.device)
        classes = d(x)[1].float()
        supervised = F.cross_entropy(classes, y)
        loss = self.p.adversarial_weight * adversarial + self.p.supervised_weight * supervised
        return loss, {"d/loss": loss.detach(), "d/adversarial": adversarial.detach(),
                      "d/supervised": supervised.detach(), "d/accuracy_labelled": (classes.argmax(1) == y).float().mean(),
                      "d/real": mean_logit(real_logits), "d/fake": mean_logit(fake_logits)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        source, real = batch["source"], batch["x"]
        filled = (generated or self.generate(nets, batch))["filled"]
        adversarial = generator_adversarial(self.adversarial, d(self.complete(source, filled))[0], lambda: d(real)[0])
        loss = self.p.adversarial_weight * adversarial
        logs = {"g/adversarial": adversarial.detach()}
        if self.p.reconstruction_weight:
            reconstruction = self.hole_l2(source, filled, real)
            loss = loss + self.p.reconstruction_weight * reconstruction
            logs["g/hole_l2"] = reconstruction.detach()
        logs["g/loss"] = loss.detach()
        return loss, logs

    def classify(self, nets: Nets, x: Tensor) -> Tensor:
        """D's K class logits for whole images."""
        return nets[self.discriminators[0]](x)[1]
