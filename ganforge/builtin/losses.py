"""Built-in adversarial losses (classic and relativistic) and discriminator regularisers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ganforge.hookspecs import hookimpl
from ganforge.params import Params, RecipePath
from ganforge.ramp import Rampable, check_range


class MinimaxParams(Params):
    """The original saturating minimax loss."""

    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="One-sided smoothing of the real label.")


class NonSaturatingParams(Params):
    """Non-saturating loss: G maximises log D(G(z))."""

    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="One-sided smoothing of the real label.")


class HingeParams(Params):
    """Hinge loss (SNGAN, SAGAN)."""


class LeastSquaresParams(Params):
    """Least-squares loss (LSGAN, a-b-c coding)."""

    fake_target: float = Field(0.0, description="a: the target D gives fakes.")
    real_target: float = Field(1.0, description="b: the target D gives reals.")
    generator_target: float = Field(1.0, description="c: the target G wants D to give fakes.")


class WassersteinParams(Params):
    """Wasserstein critic loss (use with a gradient penalty or weight clipping)."""


class RelativisticAverageParams(Params):
    """RaGAN (Jolicoeur-Martineau 2018): each side judged against the other side's mean logit."""

    variant: Literal["standard", "least-squares", "hinge"] = Field(
        "standard", description="RaSGAN (softplus), RaLSGAN (squares) or RaHingeGAN.")


class RelativisticPairingParams(Params):
    """RpGAN (Huang et al. 2024, R3GAN's loss): each generated sample judged against a paired real one."""


class LazyRegulariserParams(Params):
    """What every discriminator regulariser takes."""

    every: int = Field(1, ge=1, description="Apply on every N-th discriminator step only, with its weight times N "
                                            "(lazy regularisation; StyleGAN2 uses 16 for R1).")


class GradientPenaltyParams(LazyRegulariserParams):
    """WGAN-GP: penalise the critic's gradient norm on real/fake interpolates."""

    weight: float = Field(10.0, ge=0, description="Penalty weight (lambda).")
    target: float = Field(1.0, ge=0, description="Gradient norm the penalty pulls towards.")


class R1Params(LazyRegulariserParams):
    """R1: penalise the discriminator's gradient on real data (zero-centred)."""

    gamma: Rampable = Field(10.0, description="Penalty weight (gamma; the loss is gamma / 2 * ||grad||^2), >= 0; or a ramp {start, end, until, shape} over training (R3GAN decays it).")

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, value):
        return check_range(value, 0, None, "gamma")


class R2Params(R1Params):
    """R2: penalise the discriminator's gradient on generated data (zero-centred; R3GAN pairs it with R1)."""


class VGGPerceptualParams(Params):
    """Distance between VGG19 features of output and target (torchvision's ImageNet weights)."""

    layers: list[Literal["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu3_4",
                         "relu4_1", "relu4_2", "relu4_3", "relu4_4", "relu5_1", "relu5_2", "relu5_3", "relu5_4"]] = Field(
        ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"], min_length=1,
        description="VGG19 layers compared (pix2pixHD: relu1_1..relu5_1; SRGAN: relu5_4).")
    layer_weights: list[float] = Field([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0], min_length=1,
                                       description="Weight of each layer, in the order of `layers`.")
    criterion: Literal["l1", "l2"] = Field("l1", description="Distance between feature maps.")
    weights: RecipePath | None = Field(None, description="VGG19 weights file, vgg19-dcbb9e9d.pth (else GANFORGE_WEIGHTS_DIR, the torch hub cache, or a download).")
    download: bool = Field(True, description="Allow downloading missing weights (GANFORGE_OFFLINE=1 forbids it).")

    @model_validator(mode="after")
    def _one_weight_per_layer(self) -> "VGGPerceptualParams":
        if len(self.layers) != len(self.layer_weights):
            raise ValueError(f"layer_weights needs one weight per layer: {len(self.layers)} layers, "
                             f"{len(self.layer_weights)} weights")
        return self


@hookimpl
def ganforge_register_losses(register):
    for name, params, summary in [
        ("minimax", MinimaxParams, "Original minimax GAN loss (saturating for G)."),
        ("non-saturating", NonSaturatingParams, "Non-saturating GAN loss: G maximises log D(G(z))."),
        ("hinge", HingeParams, "Hinge loss for D, -D(G(z)) for G."),
        ("least-squares", LeastSquaresParams, "Least-squares GAN loss."),
        ("wasserstein", WassersteinParams, "Wasserstein critic loss."),
        ("ragan", RelativisticAverageParams, "Relativistic average GAN loss (standard, least-squares or hinge)."),
        ("rpgan", RelativisticPairingParams, "Relativistic pairing GAN loss (R3GAN)."),
        ("gradient-penalty", GradientPenaltyParams, "WGAN-GP gradient penalty on interpolates (a D regulariser)."),
        ("r1", R1Params, "R1 gradient penalty on real data (a D regulariser)."),
        ("r2", R2Params, "R2 gradient penalty on generated data (a D regulariser)."),
    ]:
        factory = name.replace("-", "_")
        register(name, params=params, factory=f"ganforge.losses:{factory}", summary=summary)
    register("vgg-perceptual", params=VGGPerceptualParams, factory="ganforge.perceptual:vgg_perceptual",
             summary="VGG19 feature distance (pix2pixHD's feature loss, SRGAN's content loss).")
