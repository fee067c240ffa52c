"""Games with class labels: the conditional GAN (Mirza & Osindero 2014), where both nets see
the label, and ACGAN (Odena et al. 2017), where D also predicts it with an auxiliary head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import Batch, Conditioned, GanforgeError, Generated, Logs, Nets, generator_adversarial
from ganforge_classic.objectives import Unconditional, check_aux, random_classes, require_labels


class LabelledGame(Unconditional):
    """Shared by conditional and ACGAN: a conditional generator G(z, y) and the data's classes."""

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.classes = ctx.data_info.num_classes or 0
        if not (isinstance(ctx.nets[params.generator], Conditioned) and ctx.nets[params.generator].conditional):
            raise GanforgeError(f"the {self.name} objective needs a conditional generator; set "
                                f"models.{params.generator}.conditional: true")

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Noise plus labels cycling through the classes (every class in a sample grid)."""
        return {"z": torch.randn(n, self.z_dim, generator=generator), "y": torch.arange(n) % self.classes}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generators[0]](inputs["z"], inputs["y"])


class Conditional(LabelledGame):
    """G(z, y) makes a sample of class y; D(x, y) judges a sample together with its label.
    Fakes are drawn for the labels of the real batch, so both sides see the data's class mix."""

    name = "conditional"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        d = ctx.nets[params.discriminator]
        if not (isinstance(d, Conditioned) and d.conditional):
            raise GanforgeError(f"the conditional objective needs a conditional discriminator; set "
                                f"models.{params.discriminator}.conditional: true")

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        y = require_labels(batch, self.name)
        return {"fake": nets[self.generators[0]](self.noise(len(y), y.device), y)}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real, y, fake = batch["x"], require_labels(batch, self.name), self.fake(nets, batch, generated)
        real_logits, fake_logits = d(real, y), d(fake, y)
        loss = self.adversarial.discriminator(real_logits, fake_logits)
        logs = {"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean(),
                "d/real_sign": real_logits.detach().sign().mean()}
        loss = self.regularise(loss, logs, lambda x: d(x, y), real, fake)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        y = require_labels(batch, self.name)
        fake = (generated or self.generate(nets, batch))["fake"]
        loss = generator_adversarial(self.adversarial, d(fake, y), lambda: d(batch["x"], y))
        return loss, {"g/loss": loss.detach()}


class ACGAN(LabelledGame):
    """G(z, y) makes a sample of a uniformly drawn class y; D returns a real/fake logit and
    class logits (``aux_outputs``: one per class). D learns both on real and fake samples;
    G learns to fool D and to make its samples classified as y."""

    name = "acgan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.class_weight = params.class_weight
        check_aux(ctx.nets[params.discriminator], params.discriminator, self.classes, self.name,
                  "one class logit per class of the data")

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        n, device = len(batch["x"]), batch["x"].device
        y_fake = random_classes(n, self.classes, device)
        return {"fake": nets[self.generators[0]](self.noise(n, device), y_fake), "y": y_fake}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real, y = batch["x"], require_labels(batch, self.name)
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake, y_fake = generated["fake"].detach(), generated["y"]
        (real_logits, real_classes), (fake_logits, fake_classes) = d(real), d(fake)
        adversarial = self.adversarial.discriminator(real_logits, fake_logits)
        classification = F.cross_entropy(real_classes.float(), y) + F.cross_entropy(fake_classes.float(), y_fake)
        loss = adversarial + self.class_weight * classification
        logs = {"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean(),
                "d/loss_class": classification.detach(),
                "d/accuracy_real": (real_classes.argmax(1) == y).float().mean()}
        loss = self.regularise(loss, logs, lambda x: d(x)[0], real, fake)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        generated = generated or self.generate(nets, batch)
        logits, classes = d(generated["fake"])
        classification = F.cross_entropy(classes.float(), generated["y"])
        adversarial = generator_adversarial(self.adversarial, logits, lambda: d(batch["x"])[0])
        loss = adversarial + self.class_weight * classification
        return loss, {"g/loss": loss.detach(), "g/loss_class": classification.detach()}

    def classify(self, nets: Nets, x: Tensor) -> Tensor:
        """Class logits of D's auxiliary head."""
        return nets[self.discriminators[0]](x)[1]
