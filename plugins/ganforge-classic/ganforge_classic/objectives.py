"""The unconditional GAN game, its weight-clipped WGAN variant, and what every classic game
shares: ``losses.adversarial`` plus any discriminator regularisers (gradient penalty, R1)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganforge.sdk import (
    AuxiliaryHead, Batch, GanforgeError, Generated, Logs, Nets, Objective, Wasserstein, generator_adversarial,
    clip_weights, rank_rand, rank_randn,
)


class AdversarialGame(Objective):
    """Base of the classic games. Reads ``losses.adversarial`` and the discriminator
    regularisers from the built losses; anything else in ``losses`` is an error."""

    name = "unconditional"
    takes_regularisers = True

    def use_losses(self, losses: dict) -> None:
        self.adversarial = losses.get("adversarial")
        self.regularisers = {}
        for name, loss in losses.items():
            role = getattr(loss, "role", None)
            if name == "adversarial":
                if role != "adversarial":
                    raise GanforgeError(f"losses.adversarial must be an adversarial loss, got a {role}")
            elif role == "discriminator-regulariser" and self.takes_regularisers:
                self.regularisers[name] = loss
            else:
                takes = "plus discriminator regularisers" if self.takes_regularisers else "only"
                raise GanforgeError(f"the {self.name} objective does not know what to do with loss {name!r} "
                                    f"(a {role}); it takes `adversarial` {takes}")

    def regularise(self, loss: Tensor, logs: Logs, critic: Callable[[Tensor], Tensor], real: Tensor,
                   fake: Tensor) -> Tensor:
        """Add the penalty of each regulariser due this step (``critic`` maps inputs to real/fake logits)."""
        if self.regularisers:
            logs["d/loss_adv"] = loss.detach()
        for name, regulariser in self.regularisers.items():
            if not regulariser.due():
                continue
            penalty = regulariser(critic, real, fake)
            logs[f"d/{name}"] = penalty.detach()
            loss = loss + penalty
        return loss


def require_labels(batch: dict[str, Tensor], objective: str) -> Tensor:
    if "y" not in batch:
        raise GanforgeError(f"the {objective} objective needs labelled data (batches with class labels `y`), "
                            "such as npz with `labels:` or shapes")
    return batch["y"].long()


def random_classes(n: int, classes: int, device: torch.device) -> Tensor:
    """Uniform class indices for this rank's ``n`` items (its slice of the global draw)."""
    return (rank_rand(n, device=device) * classes).long().clamp_(max=classes - 1)


def check_aux(d: torch.nn.Module, name: str, needed: int, objective: str, what: str) -> None:
    have = d.aux_outputs if isinstance(d, AuxiliaryHead) else 0
    if have != needed:
        raise GanforgeError(f"the {objective} objective needs discriminator {name!r} with `aux_outputs: {needed}` "
                            f"({what}); it has {have}. Set models.{name}.aux_outputs: {needed}")


class Unconditional(AdversarialGame):
    """D learns to tell data from G(z); G learns to fool D. Regularisers in ``losses`` (such
    as ``gradient-penalty`` or ``r1``) are added to D's loss."""

    def __init__(self, params, ctx):
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.d_steps = params.d_steps
        self.z_dim = ctx.nets[params.generator].z_dim
        self.use_losses(ctx.losses)

    def noise(self, n: int, device: torch.device) -> Tensor:
        return rank_randn(n, self.z_dim, device=device)  # this rank's share of the global batch

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        real = batch["x"]
        return {"fake": nets[self.generators[0]](self.noise(len(real), real.device))}

    def fake(self, nets: Nets, batch: Batch, generated: Generated | None) -> Tensor:
        """This step's shared fakes, detached, or fresh ones (earlier steps of a k:1 schedule)."""
        if generated is not None:
            return generated["fake"].detach()
        with torch.no_grad():
            return self.generate(nets, batch)["fake"]

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real, fake = batch["x"], self.fake(nets, batch, generated)
        real_logits, fake_logits = d(real), d(fake)
        loss = self.adversarial.discriminator(real_logits, fake_logits)
        logs = {"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean(),
                "d/real_sign": real_logits.detach().sign().mean()}  # what adaptive augmentation steers by
        loss = self.regularise(loss, logs, d, real, fake)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        fake = (generated or self.generate(nets, batch))["fake"]
        loss = generator_adversarial(self.adversarial, d(fake), lambda: d(batch["x"]))
        return loss, {"g/loss": loss.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"z": torch.randn(n, self.z_dim, generator=generator)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generators[0]](inputs["z"])


class WeightClippedWGAN(Unconditional):
    """WGAN (Arjovsky et al. 2017): a Wasserstein critic kept Lipschitz by clipping every
    weight to [-clip, clip] after each critic step."""

    name = "wgan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.clip = params.clip
        if not isinstance(self.adversarial, Wasserstein):
            raise GanforgeError("the wgan objective trains a Wasserstein critic; set `losses.adversarial: wasserstein`")

    @torch.no_grad()
    def after_step(self, trained: tuple[str, ...], nets: Nets) -> None:
        clip_weights(nets, tuple(n for n in trained if n in self.discriminators), self.clip)
