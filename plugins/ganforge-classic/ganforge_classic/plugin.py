"""Registration of the classic components. Imports no torch: factories are import strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ganforge import ObjectiveParams, Params, hookimpl


class MLPGeneratorParams(Params):
    """Fully connected generator (the PacGAN 2-D protocol uses 4 x 400, batch norm, ReLU, z of size 2)."""

    z_dim: int = Field(64, ge=1, description="Latent size.")
    width: int = Field(400, ge=1, description="Units per hidden layer.")
    depth: int = Field(4, ge=1, description="Hidden layers.")
    batch_norm: bool = Field(True, description="Batch norm after each hidden layer.")
    activation: Literal["relu", "leaky-relu", "tanh"] = Field("relu", description="Hidden activation.")


class MLPDiscriminatorParams(Params):
    """Fully connected discriminator (the PacGAN 2-D protocol uses 3 x 200 maxout with 5 pieces)."""

    width: int = Field(200, ge=1, description="Units per hidden layer.")
    depth: int = Field(3, ge=1, description="Hidden layers.")
    activation: Literal["relu", "leaky-relu", "maxout"] = Field("leaky-relu", description="Hidden activation.")
    maxout_pieces: int = Field(5, ge=2, description="Pieces per maxout unit.")
    batch_norm: bool = Field(False, description="Batch norm after each hidden layer.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")
    pack: int = Field(1, ge=1, description="PacGAN: judge this many samples at once (concatenated); 1 for a standard discriminator.")


class DCGANGeneratorParams(Params):
    """DCGAN generator: transposed convolutions doubling the side from 4x4 to the data's size."""

    z_dim: int = Field(100, ge=1, description="Latent size.")
    width: int = Field(64, ge=1, description="Channels of the last hidden layer (doubled per layer towards 4x4).")
    max_width: int = Field(512, ge=1, description="Cap on channels per layer.")
    batch_norm: bool = Field(True, description="Batch norm in hidden layers.")


class DCGANDiscriminatorParams(Params):
    """DCGAN discriminator: strided convolutions halving the side down to 4x4, then one logit."""

    width: int = Field(64, ge=1, description="Channels of the first layer (doubled per layer).")
    max_width: int = Field(512, ge=1, description="Cap on channels per layer.")
    norm: Literal["batch", "spectral", "none"] = Field("batch", description="Normalisation of hidden layers.")
    pack: int = Field(1, ge=1, description="PacGAN: judge this many samples at once (concatenated); 1 for a standard discriminator.")


class UnconditionalParams(ObjectiveParams):
    """The standard GAN game: G maps noise to samples, D tells them from data."""

    generator: str = Field("generator", description="Name of the generator in `models`.")
    discriminator: str = Field("discriminator", description="Name of the discriminator in `models`.")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per generator step (k).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


@hookimpl
def ganforge_register_generators(register):
    register("mlp-generator", params=MLPGeneratorParams, factory="ganforge_classic.mlp:MLPGenerator.build",
             summary="Fully connected generator for vectors or small images.")
    register("dcgan-generator", params=DCGANGeneratorParams, factory="ganforge_classic.dcgan:DCGANGenerator.build",
             summary="DCGAN generator for any power-of-two image size from 16 up.")


@hookimpl
def ganforge_register_discriminators(register):
    register("mlp-discriminator", params=MLPDiscriminatorParams,
             factory="ganforge_classic.mlp:MLPDiscriminator.build",
             summary="Fully connected discriminator (ReLU, leaky ReLU or maxout).")
    register("dcgan-discriminator", params=DCGANDiscriminatorParams,
             factory="ganforge_classic.dcgan:DCGANDiscriminator.build",
             summary="DCGAN discriminator for any power-of-two image size from 16 up.")


@hookimpl
def ganforge_register_objectives(register):
    register("unconditional", params=UnconditionalParams, factory="ganforge_classic.objectives:Unconditional",
             summary="Unconditional GAN: k discriminator steps per generator step.")
