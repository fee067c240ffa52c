"""Registration of the modern components. Imports no torch: factories are import strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ganforge.sdk import AddedLater, ObjectiveParams, Params, hookimpl
from ganforge_modern.examples import ganforge_kit_examples  # noqa: F401  (a hook implementation)


class StyleGAN2GeneratorParams(Params):
    """StyleGAN2's generator (config F): mapping network, modulated convolutions, noise, skips to RGB."""

    z_dim: int = Field(512, ge=1, le=4096, description="Size of the latent z.")
    w_dim: int = Field(512, ge=1, le=4096, description="Size of the intermediate latent w (the styles).")
    mapping_layers: int = Field(8, ge=1, le=16, description="Dense layers of the mapping network z -> w (0 is not a StyleGAN).")
    mapping_lr: float = Field(0.01, gt=0, le=1, description="Learning-rate multiplier of the mapping network.")
    channel_base: int = Field(32768, ge=16, description="Channels at resolution r: min(channel_base / r, channel_max) (32768: config F; 16384 halves the widths below 64 px).")
    channel_max: int = Field(512, ge=1, le=4096, description="Cap on the channels of any layer.")
    conv_clamp: float | None = Field(None, gt=0, description="Clamp every layer's output to +-this (NVIDIA's ADA configurations: 256); none by default.")


class StyleGAN2DiscriminatorParams(Params):
    """StyleGAN2's residual discriminator with minibatch standard deviation."""

    channel_base: int = Field(32768, ge=16, description="Channels at resolution r: min(channel_base / r, channel_max).")
    channel_max: int = Field(512, ge=1, le=4096, description="Cap on the channels of any layer.")
    mbstd_group: int = Field(4, ge=1, le=64, description="Samples per minibatch-standard-deviation group (the largest divisor of the batch up to this).")


class R3GANNetParams(Params):
    """R3GAN's nets: per stage (4 px up for G, the image side down for D) a width, a cardinality and blocks."""

    widths: list[int] | None = Field(None, description="Channels per stage (G: from 4 px up; D: from the image side down); default 768 each (the paper's CIFAR-10 nets).")
    cardinalities: list[int] | None = Field(None, description="Groups of each stage's 3x3 convolutions; default 96 each.")
    blocks: list[int] | None = Field(None, description="Residual blocks per stage; default 2 each.")
    expansion: int = Field(2, ge=1, le=16, description="Channels inside a block as a multiple of the stage's width.")

    @model_validator(mode="after")
    def _positive(self):
        for name in ("widths", "cardinalities", "blocks"):
            values = getattr(self, name)
            if values is not None and (not values or any(v < 1 for v in values)):
                raise ValueError(f"{name} must list positive numbers, one per stage")
        return self


class R3GANGeneratorParams(R3GANNetParams):
    """R3GAN's generator: a 4x4 basis modulated by z, inverted-bottleneck residual stages."""

    z_dim: int = Field(64, ge=1, le=4096, description="Size of the latent z (the paper: 64).")
    output: AddedLater[Literal["linear", "tanh", "clamp"]] = Field("linear", description="The image layer: linear (the paper's; unbounded while training, clamped to [-1, 1] when sampling), tanh (bounded, as DCGAN's; it can saturate) or clamp (clamped to [-1, 1] while training too, gradients passed straight through: no vanishing gradient). tanh and clamp are not the paper's and can fall to an all-background image at small scale (docs/results.md).")


class StyleGAN2Params(ObjectiveParams):
    """StyleGAN2's game: non-saturating loss, style mixing, lazy path-length regularisation (R1 from losses)."""

    generator: str = Field("generator", description="Name of the generator in `models` (stylegan2-generator).")
    discriminator: str = Field("discriminator", description="Name of the discriminator in `models`.")
    style_mixing: float = Field(0.9, ge=0, le=1, description="Probability that a batch mixes two codes' styles at a random layer.")
    path_length_weight: float = Field(2.0, ge=0, description="Weight of the path-length regulariser (0: off).")
    path_length_every: int = Field(4, ge=1, description="Apply it every N generator steps (lazy regularisation), weighted by N.")
    path_length_decay: float = Field(0.01, gt=0, le=1, description="Update rate of the running mean path length.")
    path_length_batch_shrink: int = Field(2, ge=1, description="The regulariser's batch is the batch divided by this.")
    d_steps: int = Field(1, ge=1, le=100, description="Discriminator steps per generator step.")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)

    @classmethod
    def default_losses(cls) -> dict:
        return {"adversarial": {"type": "non-saturating"}}


class StyleGAN2Format(Params):
    """Options for importing StyleGAN2 checkpoints: rosinality's stylegan2-pytorch (.pt) or NVIDIA's stylegan2-ada-pytorch (.pkl)."""

    layout: Literal["rosinality", "nvidia"] | None = Field(None, description="Whose checkpoint (detected from the file).")
    weights: Literal["g_ema", "g"] = Field("g_ema", description="rosinality: which generator of the checkpoint (g_ema, the moving average, is what its generate.py uses).")
    mean_latent_samples: int = Field(4096, ge=1, description="rosinality checkpoints without latent_avg: the truncation centre is the mean w of this many z (seeded).")
    data: str | None = Field(None, description="Image folder for the recipe's data block (fine-tuning, eval); default datasets/<name>.")


@hookimpl
def ganforge_register_generators(register):
    register("r3gan-generator", params=R3GANGeneratorParams, factory="ganforge_modern.r3gan:R3GANGenerator.build",
             summary="R3GAN's generator: modernised ResNet (grouped convolutions, inverted bottlenecks), no normalisation.")
    register("stylegan2-generator", params=StyleGAN2GeneratorParams,
             factory="ganforge_modern.stylegan2:StyleGAN2Generator.build",
             summary="StyleGAN2 (config F): mapping network, modulated convolutions, noise, skip to RGB, truncation in W.")


@hookimpl
def ganforge_register_discriminators(register):
    register("r3gan-discriminator", params=R3GANNetParams, factory="ganforge_modern.r3gan:R3GANDiscriminator.build",
             summary="R3GAN's discriminator: inverted-bottleneck residual stages, no normalisation, fix-up initialisation.")
    register("stylegan2-discriminator", params=StyleGAN2DiscriminatorParams,
             factory="ganforge_modern.stylegan2:StyleGAN2Discriminator.build",
             summary="StyleGAN2's residual discriminator with minibatch standard deviation.")


@hookimpl
def ganforge_register_objectives(register):
    register("stylegan2", params=StyleGAN2Params, factory="ganforge_modern.objectives:StyleGAN2",
             summary="StyleGAN2: non-saturating game, style mixing, lazy path-length regularisation.")


@hookimpl
def ganforge_register_formats(register):
    register("stylegan2", params=StyleGAN2Format, factory="ganforge_modern.formats:StyleGAN2Checkpoint",
             summary="StyleGAN2 generators of rosinality/stylegan2-pytorch and NVlabs/stylegan2-ada-pytorch (pickles read without running their code).")
