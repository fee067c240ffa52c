"""Registration of the editing components. Imports no torch: factories are import strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ganforge.sdk import ImageFolderParams, ObjectiveParams, Params, ShapesParams, hookimpl
from ganforge_editing.examples import ganforge_kit_examples  # noqa: F401  (a hook implementation)

# ---------------------------------------------------------------- data


class FactorParams(Params):
    factor: Literal[2, 4, 8] = Field(4, description="Upscaling factor: the sources are this many times smaller (SRGAN: 4).")


class SuperResolutionParams(ImageFolderParams, FactorParams):
    """(low-resolution, image) pairs from any image folder: bicubic downscaling on the fly."""

    size: int | None = Field(96, ge=1, description="High-resolution side: resize the shorter side, then crop square (SRGAN: 96).")
    crop: Literal["center", "random"] = Field("random", description="How to crop to a square.")


class ShapesSuperResolutionParams(ShapesParams, FactorParams):
    """Built-in (low-resolution, polygon) pairs."""


class HoleParams(Params):
    mask: Literal["center", "random"] = Field("center", description="center: a centred square hole; random: a square at a random place (new each epoch).")
    hole: float = Field(0.5, gt=0, lt=1, description="The hole's side as a fraction of the image side (context encoders: 0.5, a quarter of the area).")


class InpaintingParams(ImageFolderParams, HoleParams):
    """(image with a hole + its mask, image) pairs from any image folder."""

    size: int | None = Field(128, ge=1, description="Image side: resize the shorter side, then crop square (context encoders: 128).")


class ShapesInpaintingParams(ShapesParams, HoleParams):
    """Built-in (polygon with a hole + mask, polygon) pairs."""


@hookimpl
def ganforge_register_data(register):
    for name, params, attr, summary in [
        ("super-resolution", SuperResolutionParams, "super_resolution", "(low-res, image) pairs from any image folder (bicubic x2/x4/x8)."),
        ("shapes-super-resolution", ShapesSuperResolutionParams, "shapes_super_resolution", "Built-in (low-res, polygon) pairs."),
        ("inpainting", InpaintingParams, "inpainting", "(image with a hole + mask, image) pairs from any image folder."),
        ("shapes-inpainting", ShapesInpaintingParams, "shapes_inpainting", "Built-in (polygon with a hole + mask, polygon) pairs."),
    ]:
        register(name, params=params, factory=f"ganforge_editing.data:{attr}", summary=summary)


# ---------------------------------------------------------------- nets

class SRResNetParams(Params):
    """SRGAN's generator: residual blocks and sub-pixel (PixelShuffle) upsampling; the scale is the data's."""

    blocks: int = Field(16, ge=1, le=64, description="Residual blocks (SRGAN: 16).")
    width: int = Field(64, ge=1, le=4096, description="Channels throughout (SRGAN: 64).")
    batch_norm: bool = Field(True, description="Batch norm inside the blocks (SRGAN: yes; EDSR drops it).")
    bicubic_skip: bool = Field(False, description="Predict a correction added to bicubic upsampling (starts at the bicubic baseline); SRGAN: no.")


class SRGANDiscriminatorParams(Params):
    """SRGAN's discriminator: strided 3x3 convs with LeakyReLU and batch norm, dense 1024, one logit."""

    width: int = Field(64, ge=1, le=4096, description="Channels of the first layers (doubled every second layer).")
    layers: int = Field(8, ge=2, le=12, description="Conv layers (SRGAN: 8, every second one with stride 2).")
    dense: int = Field(1024, ge=1, le=4096, description="Units of the dense layer.")


@hookimpl
def ganforge_register_generators(register):
    register("srresnet-generator", params=SRResNetParams, factory="ganforge_editing.nets:SRResNet.build",
             summary="SRGAN's SRResNet: residual blocks, PixelShuffle x2/x4/x8.")


@hookimpl
def ganforge_register_discriminators(register):
    register("srgan-discriminator", params=SRGANDiscriminatorParams, factory="ganforge_editing.nets:SRGANDiscriminator.build",
             summary="SRGAN's VGG-style discriminator with a dense head.")


# ---------------------------------------------------------------- objectives

class SRGANParams(ObjectiveParams):
    """SRGAN: pixel pre-training, then content loss + adversarial_weight x adversarial."""

    generator: str = Field("generator", description="Name of the generator in `models`.")
    discriminator: str = Field("discriminator", description="Name of the discriminator in `models` (it judges images alone).")
    content: Literal["vgg", "pixel"] = Field("pixel", description="Content loss after pre-training: vgg (losses.content, SRGAN's VGG54) or pixel MSE.")
    content_weight: float = Field(1.0, gt=0, description="Weight of the content loss.")
    adversarial_weight: float = Field(1e-3, ge=0, description="Weight of the adversarial loss (SRGAN: 1e-3).")
    pretrain_steps: int = Field(0, ge=0, description="Generator steps on pixel MSE alone before the adversarial game (SRGAN pre-trains SRResNet); D is idle meanwhile.")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",) + (("content",) if self.content == "vgg" else ())

    def unused_losses(self) -> tuple[str, ...]:
        return () if self.content == "vgg" else ("content",)  # a pixel content loss needs no VGG19 weights

    @classmethod
    def loss_examples(cls) -> dict:
        return {"adversarial": {"type": "non-saturating"}, "content": {"type": "vgg-perceptual"}}


class ContextEncoderParams(ObjectiveParams):
    """Context encoder: L2 inside the hole plus a small adversarial term."""

    generator: str = Field("generator", description="Name of the generator (masked image + mask -> image) in `models`.")
    discriminator: str = Field("discriminator", description="Name of the discriminator in `models` (it judges completed images).")
    reconstruction_weight: float = Field(0.999, ge=0, description="Weight of L2 inside the hole (context encoders: 0.999).")
    adversarial_weight: float = Field(0.001, ge=0, description="Weight of the adversarial loss (context encoders: 0.001).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class CCGANParams(ContextEncoderParams):
    """Context-conditional GAN: fill a hole adversarially; D also learns the classes from a few labels."""

    reconstruction_weight: float = Field(0.0, ge=0, description="Weight of L2 inside the hole (CC-GAN: 0, "
                                                                "adversarial only).")
    adversarial_weight: float = Field(1.0, ge=0, description="Weight of the adversarial loss (0: D is a classifier "
                                                             "of the labelled images alone, the supervised baseline).")
    labels: int = Field(4000, ge=1, description="Size of the labelled subset (spread evenly over the classes, fixed by "
                                                "the seed).")
    labelled_batch: int = Field(64, ge=1, description="Labelled images per discriminator step (drawn from the subset).")
    supervised_weight: float = Field(1.0, ge=0, description="Weight of the cross-entropy on labelled images.")


@hookimpl
def ganforge_register_objectives(register):
    register("srgan", params=SRGANParams, factory="ganforge_editing.objectives:SRGAN",
             summary="SRGAN: pixel pre-training, then content + 1e-3 adversarial.")
    register("context-encoder", params=ContextEncoderParams, factory="ganforge_editing.objectives:ContextEncoder",
             summary="Context encoder: fill a hole; L2 in the hole + 0.001 adversarial.")
    register("ccgan", params=CCGANParams, factory="ganforge_editing.objectives:CCGAN",
             summary="CC-GAN: fill a hole adversarially; D also classifies, learning from a few labels.")


@hookimpl
def ganforge_add_commands(subparsers):
    from ganforge_editing.latent_cli import add_latent_command

    add_latent_command(subparsers)
