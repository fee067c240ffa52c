"""Built-in adversarial losses and the gradient penalty."""

from __future__ import annotations

from pydantic import Field

from ganforge import hookimpl
from ganforge.params import Params


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


class GradientPenaltyParams(Params):
    """WGAN-GP: penalise the critic's gradient norm on real/fake interpolates."""

    weight: float = Field(10.0, ge=0, description="Penalty weight (lambda).")
    target: float = Field(1.0, ge=0, description="Gradient norm the penalty pulls towards.")


class R1Params(Params):
    """R1: penalise the discriminator's gradient on real data (zero-centred)."""

    gamma: float = Field(10.0, ge=0, description="Penalty weight (gamma; the loss is gamma / 2 * ||grad||^2).")


@hookimpl
def ganforge_register_losses(register):
    for name, params, summary in [
        ("minimax", MinimaxParams, "Original minimax GAN loss (saturating for G)."),
        ("non-saturating", NonSaturatingParams, "Non-saturating GAN loss: G maximises log D(G(z))."),
        ("hinge", HingeParams, "Hinge loss for D, -D(G(z)) for G."),
        ("least-squares", LeastSquaresParams, "Least-squares GAN loss."),
        ("wasserstein", WassersteinParams, "Wasserstein critic loss."),
        ("gradient-penalty", GradientPenaltyParams, "WGAN-GP gradient penalty on interpolates (a D regulariser)."),
        ("r1", R1Params, "R1 gradient penalty on real data (a D regulariser)."),
    ]:
        factory = name.replace("-", "_")
        register(name, params=params, factory=f"ganforge.losses:{factory}", summary=summary)
