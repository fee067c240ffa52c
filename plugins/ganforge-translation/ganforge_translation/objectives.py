"""The translation games. Each reads a batch's ``source`` and ``x`` (see ``data.py``):

* ``pix2pix``: D judges (source, image) pairs; G fools it and stays within L1 (or L2) of the target.
* ``cyclegan``: two generators (source -> target and back), two discriminators, cycle and
  identity losses, and a history pool of generated images for each discriminator.
* ``dualgan``: cyclegan's two cycles with Wasserstein critics kept Lipschitz by weight clipping,
  large reconstruction weights and neither identity loss nor pools.
* ``pix2pixhd``: pix2pix with multi-scale discriminators, feature matching and a VGG19
  perceptual loss, trained coarse (the global generator at half resolution) to fine.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import (
    AdversarialLoss, Batch, Conditioned, GanforgeError, Generated, Logs, Nets, Objective, Wasserstein,
    clip_weights, discriminator_adversarial,
    generator_adversarial, mean_logit,
)
from ganforge_translation.hd import half


def unwrap(net: nn.Module) -> nn.Module:
    """The net inside a DistributedDataParallel wrapper (or the net itself)."""
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


class Translation(Objective):
    """What the translation games share: their data, losses, fixed sample inputs and the
    ``paired_outputs`` / ``translate`` interface used by evaluation and ``ganforge translate``."""

    name = "translation"
    needs_paired_data = True
    d_steps = 1

    def __init__(self, params, ctx):
        self.p, self.data = params, ctx.data
        info = ctx.data_info
        if info is None or not info.is_translation:
            raise GanforgeError(f"the {self.name} objective translates images; use a translation data adapter "
                                "(paired-folder, unpaired-folder, edges, shapes-edges, shapes-recolor)")
        if self.needs_paired_data and not info.paired:
            raise GanforgeError(f"the {self.name} objective learns from (source, target) pairs, but this data is "
                                "unpaired; use paired data (paired-folder, edges, shapes-edges) or the cyclegan objective")
        self.info = info
        self.adversarial = ctx.losses.get("adversarial")
        if not isinstance(self.adversarial, AdversarialLoss):
            raise GanforgeError(f"the {self.name} objective needs losses.adversarial to be an adversarial loss "
                                "(least-squares, non-saturating, hinge, ...)")

    def check_discriminator(self, ctx, name: str, conditional: bool) -> None:
        d = ctx.nets[name]
        if (isinstance(d, Conditioned) and d.conditional) != conditional:
            want = "true: it judges (source, image) pairs" if conditional else "false: it judges images alone"
            raise GanforgeError(f"the {self.name} objective needs models.{name}.conditional: {want}")

    def check_losses(self, ctx, allowed: set[str]) -> None:
        extra = sorted(set(ctx.losses) - allowed)
        if extra:
            raise GanforgeError(f"the {self.name} objective does not use loss(es) {', '.join(extra)}; it takes "
                                f"{', '.join(sorted(allowed))}")

    # ----------------------------------------------------------- samples and evaluation

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        if self.data is None:
            raise GanforgeError(f"the {self.name} objective translates data, so its samples need inputs: use "
                                "`ganforge translate RUN IMAGES... --out DIR` instead of sampling noise")
        order = torch.randperm(len(self.data), generator=generator)[:n].tolist()
        items = [self.data[i] for i in order]
        inputs = {"source": torch.stack([item["source"] for item in items])}
        if self.info.paired:
            inputs["x"] = torch.stack([item["x"] for item in items])
        return inputs

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return self.translate(nets, inputs["source"])

    def paired_outputs(self, nets: Nets, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """(the translation of each source, its target)."""
        return self.translate(nets, batch["source"]), batch["x"]

    def translate(self, nets: Nets, source: Tensor, reverse: bool = False) -> Tensor:
        """Translate ``source`` images (``reverse``: from the target domain back to the source's)."""
        self.one_way(reverse)
        return nets[self.generators[0]](source)

    def one_way(self, reverse: bool) -> None:
        if reverse:
            raise GanforgeError(f"a {self.name} model translates one way only (source to target); "
                                "leave --direction at the trained direction")


class Pix2Pix(Translation):
    """pix2pix (Isola et al. 2017): a conditional adversarial loss on (source, output) pairs
    plus ``reconstruction_weight`` x L1 (or L2) to the target; D's loss is halved."""

    name = "pix2pix"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.check_discriminator(ctx, params.discriminator, conditional=True)
        self.check_losses(ctx, {"adversarial"})

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        return {"fake": nets[self.generators[0]](batch["source"])}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        source, real = batch["source"], batch["x"]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake = generated["fake"].detach()
        real_logits, fake_logits = d(real, source), d(fake, source)
        loss = self.p.discriminator_weight * discriminator_adversarial(self.adversarial, real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": mean_logit(real_logits), "d/fake": mean_logit(fake_logits)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        source, real = batch["source"], batch["x"]
        fake = (generated or self.generate(nets, batch))["fake"]
        adversarial = generator_adversarial(self.adversarial, d(fake, source), lambda: d(real, source))
        distance = F.l1_loss if self.p.reconstruction == "l1" else F.mse_loss
        reconstruction = distance(fake, real)
        loss = adversarial + self.p.reconstruction_weight * reconstruction
        return loss, {"g/loss": loss.detach(), "g/adversarial": adversarial.detach(),
                      f"g/{self.p.reconstruction}": reconstruction.detach()}


class ImagePool:
    """CycleGAN's history of generated images (Shrivastava et al. 2017): until it holds ``size``
    images it returns what it is given; then each image is, with probability 1/2, swapped for a
    random older one. Draws from torch's global RNG, which checkpoints restore."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images: Tensor) -> Tensor:
        """Detached images for a discriminator step (through the history when ``size`` > 0)."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                slot = int(torch.randint(len(self.images), ()))
                out.append(self.images[slot].clone())
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict:
        return {"images": torch.cat(self.images).cpu() if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        images = state.get("images")
        self.images = [] if images is None or not len(images) else [i.unsqueeze(0).to(device) for i in images]


@runtime_checkable
class MapsChannels(Protocol):
    """An image-to-image generator that declares its input and output channels."""

    in_channels: int
    out_channels: int


class CycleGAN(Translation):
    """CycleGAN (Zhu et al. 2017): G maps sources to the target domain, F maps back; D_B judges
    target-domain images, D_A source-domain ones. G and F play both adversarial games plus
    ``cycle_weight`` x (|F(G(a)) - a| + |G(F(b)) - b|) and ``identity_weight`` x ``cycle_weight`` x
    (|G(b) - b| + |F(a) - a|). Each D sees fakes through a history pool of ``pool_size`` images.

    Each step runs G(a) and F(b) once (``generate``): the D step judges those fakes (through the
    pools) and the G step trains on them, as the reference loop does."""

    name = "cyclegan"
    needs_paired_data = False

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.generators = (params.generator, params.reverse_generator)
        self.discriminators = (params.discriminator, params.reverse_discriminator)
        for name in self.discriminators:
            self.check_discriminator(ctx, name, conditional=False)
        self.check_losses(ctx, {"adversarial"})
        source, target = self.info.source_shape, self.info.shape
        if params.identity_weight and source[0] != target[0]:
            raise GanforgeError(f"the identity loss feeds target images to the source-to-target generator, which needs "
                                f"both domains to have the same channels ({source[0]} and {target[0]} here); set "
                                "objective.identity_weight: 0")
        self.check_directions(ctx, source[0], target[0])
        self.device = ctx.device
        self.pools = {"fake_b": ImagePool(params.pool_size), "fake_a": ImagePool(params.pool_size)}

    def check_directions(self, ctx, source: int, target: int) -> None:
        """Each generator maps its domain's channels to the other's (a reversed pair otherwise
        fails with a shape error at step 0)."""
        for name, want, reverse in ((self.p.generator, (source, target), False),
                                    (self.p.reverse_generator, (target, source), True)):
            net = ctx.nets[name]
            if isinstance(net, MapsChannels) and (net.in_channels, net.out_channels) != want:
                raise GanforgeError(f"models.{name} maps {net.in_channels} to {net.out_channels} channels, but the "
                                    f"{self.name} objective needs it to map {want[0]} to {want[1]} (the data's "
                                    f"{'target to source' if reverse else 'source to target'}); set "
                                    f"`reverse: {str(reverse).lower()}` on it")

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        return {"fake_b": nets[self.p.generator](batch["source"]), "fake_a": nets[self.p.reverse_generator](batch["x"])}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d_b, d_a = nets[self.p.discriminator], nets[self.p.reverse_discriminator]
        a, b = batch["source"], batch["x"]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake_b, fake_a = self.pools["fake_b"].query(generated["fake_b"]), self.pools["fake_a"].query(generated["fake_a"])
        loss_b = discriminator_adversarial(self.adversarial, d_b(b), d_b(fake_b))
        loss_a = discriminator_adversarial(self.adversarial, d_a(a), d_a(fake_a))
        return loss_a + loss_b, {"d/loss": (loss_a + loss_b).detach(), "d_b/loss": loss_b.detach(),
                                 "d_a/loss": loss_a.detach()}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        g, f = nets[self.p.generator], nets[self.p.reverse_generator]
        d_b, d_a = nets[self.p.discriminator], nets[self.p.reverse_discriminator]
        a, b = batch["source"], batch["x"]
        generated = generated or self.generate(nets, batch)
        fake_b, fake_a = generated["fake_b"], generated["fake_a"]
        adversarial = (generator_adversarial(self.adversarial, d_b(fake_b), lambda: d_b(b))
                       + generator_adversarial(self.adversarial, d_a(fake_a), lambda: d_a(a)))
        cycle = F.l1_loss(f(fake_b), a) + F.l1_loss(g(fake_a), b)
        loss = adversarial + self.p.cycle_weight * cycle
        logs = {"g/adversarial": adversarial.detach(), "g/cycle": cycle.detach()}
        if self.p.identity_weight:
            identity = F.l1_loss(g(b), b) + F.l1_loss(f(a), a)
            loss = loss + self.p.identity_weight * self.p.cycle_weight * identity
            logs["g/identity"] = identity.detach()
        logs["g/loss"] = loss.detach()
        return loss, logs

    def translate(self, nets: Nets, source: Tensor, reverse: bool = False) -> Tensor:
        return nets[self.p.reverse_generator if reverse else self.p.generator](source)

    def cycle_errors(self, nets: Nets, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per-image mean absolute cycle-reconstruction error (images in [0, 1]) of both cycles."""
        g, f = nets[self.p.generator], nets[self.p.reverse_generator]
        a, b = batch["source"], batch["x"]
        return {"a": ((f(g(a)) - a).abs() / 2).flatten(1).mean(1), "b": ((g(f(b)) - b).abs() / 2).flatten(1).mean(1)}

    def state_dict(self) -> dict:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, pool in self.pools.items():  # checkpoints before the shared forward also hold "last": unused
            if name in state:
                pool.load_state_dict(state[name], self.device)


class DualGAN(CycleGAN):
    """DualGAN (Yi et al. 2017): the two translators of cyclegan trained against Wasserstein
    critics (``losses.adversarial: wasserstein``) whose weights are clipped to [-clip, clip] after
    every critic step, ``d_steps`` critic steps per generator step, and ``cycle_weight`` x L1
    reconstruction of each domain (lambda_U = lambda_V; the paper uses 100 to 1,000); no identity
    loss, no image pools. Train with RMSProp, as the paper does."""

    name = "dualgan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.d_steps, self.clip = params.d_steps, params.clip
        if not isinstance(self.adversarial, Wasserstein):
            raise GanforgeError("the dualgan objective trains Wasserstein critics; set `losses.adversarial: wasserstein`")

    @torch.no_grad()
    def after_step(self, trained: tuple[str, ...], nets: Nets) -> None:
        clip_weights(nets, tuple(n for n in trained if n in self.discriminators), self.clip)


@runtime_checkable
class CoarseToFine(Protocol):
    """A generator trained coarse to fine (``pix2pixhd-generator``): ``coarse(source_half)`` is its
    global part alone at half resolution, and ``freeze_global`` holds that part fixed."""

    freeze_global: bool

    def coarse(self, source_half: Tensor) -> Tensor: ...


class Pix2PixHD(Translation):
    """pix2pixHD (Wang et al. 2018): a conditional multi-scale discriminator, least squares, and
    for G ``feature_matching_weight`` x the L1 distance between D's features of real and generated
    pairs plus ``perceptual_weight`` x the VGG19 loss (``losses.perceptual``). Coarse to fine: the
    first ``coarse_steps`` train the global generator alone at half resolution; the next
    ``freeze_global_steps`` train the local enhancer with the global generator fixed; then all."""

    name = "pix2pixhd"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.generators, self.discriminators = (params.generator,), (params.discriminator,)
        self.check_discriminator(ctx, params.discriminator, conditional=True)
        self.check_losses(ctx, {"adversarial", "perceptual"})
        self.perceptual = ctx.losses.get("perceptual")
        if params.perceptual_weight and self.perceptual is None:
            raise GanforgeError("the pix2pixhd objective's perceptual_weight needs losses.perceptual "
                                "(for example {type: vgg-perceptual}); or set objective.perceptual_weight: 0")
        g = ctx.nets[params.generator]
        if params.coarse_steps and not isinstance(g, CoarseToFine):
            raise GanforgeError(f"objective.coarse_steps trains a global generator first, but models.{params.generator} "
                                "has none; use pix2pixhd-generator or set coarse_steps: 0")
        d = ctx.nets[params.discriminator]
        if params.coarse_steps and self.info.size // 2 < getattr(d, "smallest_input", 1):
            raise GanforgeError(f"the coarse stage judges {self.info.size // 2} px images, smaller than "
                                f"models.{params.discriminator} takes ({d.smallest_input} px); use a smaller "
                                "receptive_field or fewer scales, or set objective.coarse_steps: 0")
        self.steps_done = 0
        self.unused_parameters = bool(params.coarse_steps or params.freeze_global_steps)

    def stage(self) -> str:
        if self.steps_done < self.p.coarse_steps:
            return "coarse"
        return "freeze-global" if self.steps_done < self.p.coarse_steps + self.p.freeze_global_steps else "fine"

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        """The fake with the source and real images, all at the resolution of the current stage."""
        g, source, real = nets[self.generators[0]], batch["source"], batch["x"]
        if unwrap(g).label_classes:
            raise GanforgeError("training pix2pixhd on label maps (label_classes) is not supported yet: its "
                                "discriminator would judge label ids, not their one-hot encoding. Imported label-map "
                                "models translate, evaluate and export")
        if self.stage() == "coarse":
            source, real = half(source), half(real)
            return {"fake": g(source, coarse=True), "source": source, "real": real}  # through forward: DDP syncs
        unwrap(g).freeze_global = self.stage() == "freeze-global"
        return {"fake": g(source), "source": source, "real": real}

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake, source, real = generated["fake"].detach(), generated["source"], generated["real"]
        real_logits, fake_logits = d(real, source), d(fake, source)
        loss = 0.5 * discriminator_adversarial(self.adversarial, real_logits, fake_logits)
        return loss, {"d/loss": loss.detach(), "d/real": mean_logit(real_logits), "d/fake": mean_logit(fake_logits)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        generated = generated or self.generate(nets, batch)
        fake, source, real = generated["fake"], generated["source"], generated["real"]
        fake_features = d(fake, source, features=True)
        real_features: list = []

        def real_logits() -> list[Tensor]:  # D's features of the real pairs, computed once if at all
            if not real_features:
                with torch.no_grad():
                    real_features.extend(d(real, source, features=True))
            return [scale[-1] for scale in real_features]

        adversarial = generator_adversarial(self.adversarial, [scale[-1] for scale in fake_features], real_logits)
        loss, logs = adversarial, {"g/adversarial": adversarial.detach()}
        if self.p.feature_matching_weight:
            real_logits()
            matching = feature_matching(fake_features, real_features)
            loss = loss + self.p.feature_matching_weight * matching
            logs["g/feature_matching"] = matching.detach()
        if self.p.perceptual_weight:
            perceptual = self.perceptual(fake, real)
            loss = loss + self.p.perceptual_weight * perceptual
            logs["g/perceptual"] = perceptual.detach()
        self.steps_done += 1
        logs["g/loss"] = loss.detach()
        return loss, logs

    def translate(self, nets: Nets, source: Tensor, reverse: bool = False) -> Tensor:
        self.one_way(reverse)
        g = nets[self.generators[0]]
        if self.stage() == "coarse":  # a checkpoint of the coarse stage: G1 at half size, upsampled
            return F.interpolate(g(half(source), coarse=True), size=source.shape[-2:], mode="bilinear",
                                 align_corners=False)
        return g(source)

    def state_dict(self) -> dict:
        return {"steps_done": self.steps_done}

    def load_state_dict(self, state: dict) -> None:
        self.steps_done = int(state.get("steps_done", 0))


def feature_matching(fake: list[list[Tensor]], real: list[list[Tensor]]) -> Tensor:
    """pix2pixHD's feature-matching loss: L1 between D's intermediate activations (logits
    excluded) of generated and real pairs, each layer weighted 4 / (layers + 1), scales averaged."""
    total = 0.0
    for fake_scale, real_scale in zip(fake, real):
        layers = len(fake_scale) - 1
        for f, r in zip(fake_scale[:-1], real_scale[:-1]):
            total = total + 4.0 / (layers + 1) * F.l1_loss(f, r.detach())
    return total / len(fake)
