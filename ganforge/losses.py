"""Adversarial losses and discriminator regularisers, shared by every objective.

An adversarial loss maps discriminator logits to a scalar in both phases and sees both sides:
``discriminator(real, fake)`` and ``generator(fake, real)``. Classic losses ignore ``real`` in
the generator phase and say so with ``generator_needs_real = False``, so objectives compute
real logits there only for the losses that ask (the relativistic ones). A game with several
discriminators calls the loss once per discriminator, with that discriminator's own logits.

A regulariser is called as ``regulariser(critic, real, fake)`` (``critic`` maps inputs to
logits) and its result is added to the discriminator loss. With ``every: N`` it is lazy: it
is due on every N-th discriminator step only (``due()``), and its weight is multiplied by N.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge import distributed
from ganforge.errors import GanforgeDeprecationWarning, GanforgeError
from ganforge.objective import Clock
from ganforge.ramp import value_at


class AdversarialLoss:
    """Base of adversarial losses (``role = "adversarial"``)."""

    role = "adversarial"
    generator_needs_real: bool = False
    """True when :meth:`generator` uses the real logits (relativistic losses); objectives then
    compute them in the generator phase too."""

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        """The discriminator's loss from its logits on real and generated inputs."""
        raise NotImplementedError

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """The generator's loss from the discriminator's logits on generated inputs (and on real
        ones, given when :attr:`generator_needs_real`)."""
        raise NotImplementedError


class Minimax(AdversarialLoss):
    def __init__(self, label_smoothing: float = 0.0):
        self.real_label = 1.0 - label_smoothing

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        real_loss = F.binary_cross_entropy_with_logits(real, torch.full_like(real, self.real_label))
        return real_loss + F.softplus(fake).mean()

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -F.softplus(fake).mean()  # minimise log(1 - D(G(z)))


class NonSaturating(Minimax):
    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return F.softplus(-fake).mean()  # minimise -log D(G(z))


class Hinge(AdversarialLoss):
    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -fake.mean()


class LeastSquares(AdversarialLoss):
    def __init__(self, fake_target: float = 0.0, real_target: float = 1.0, generator_target: float = 1.0):
        self.a, self.b, self.c = fake_target, real_target, generator_target

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - self.b).pow(2).mean() + (fake - self.a).pow(2).mean())

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return 0.5 * (fake - self.c).pow(2).mean()


class Wasserstein(AdversarialLoss):
    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -fake.mean()


class Relativistic(AdversarialLoss):
    """Base of the relativistic losses: the generator phase needs the real logits too."""

    generator_needs_real = True
    name = "relativistic"

    def real_logits(self, real: Tensor | None) -> Tensor:
        if real is None:
            raise GanforgeError(
                f"the {self.name} loss compares generated with real logits in the generator phase too, but the "
                "objective passed only the generated ones; the objective must call loss.generator(fake, real) "
                "when loss.generator_needs_real (see docs/sdk.md, 'Losses')")
        return real


class RelativisticAverage(Relativistic):
    """RaGAN (Jolicoeur-Martineau 2018, section 4.2): each side's logits are judged relative to the
    other side's mean, ``C(x_r) - E[C(x_f)]`` and ``C(x_f) - E[C(x_r)]``, through the standard
    (RaSGAN), least-squares (RaLSGAN) or hinge (RaHingeGAN) loss; the generator's loss swaps the
    roles of real and fake."""

    name = "ragan"

    def __init__(self, variant: str = "standard"):
        self.variant = variant
        self.pair = {"standard": _ra_standard, "least-squares": _ra_least_squares, "hinge": _ra_hinge}[variant]

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return self.pair(real - fake.mean(), fake - real.mean())

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        real = self.real_logits(real)
        return self.pair(fake - real.mean(), real - fake.mean())


def _ra_standard(winner: Tensor, loser: Tensor) -> Tensor:
    """-E[log sigmoid(winner)] - E[log(1 - sigmoid(loser))]."""
    return F.softplus(-winner).mean() + F.softplus(loser).mean()


def _ra_least_squares(winner: Tensor, loser: Tensor) -> Tensor:
    """E[(winner - 1)^2] + E[(loser + 1)^2]."""
    return (winner - 1).pow(2).mean() + (loser + 1).pow(2).mean()


def _ra_hinge(winner: Tensor, loser: Tensor) -> Tensor:
    """E[max(0, 1 - winner)] + E[max(0, 1 + loser)]."""
    return F.relu(1 - winner).mean() + F.relu(1 + loser).mean()


class RelativisticPairing(Relativistic):
    """RpGAN (Huang et al. 2024, eq. 2, after Jolicoeur-Martineau 2018): real and generated samples
    are paired one to one; the discriminator minimises ``softplus(C(x_f) - C(x_r))``, the
    generator ``softplus(C(x_r) - C(x_f))``, averaged over the pairs."""

    name = "rpgan"

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.softplus(self.difference(fake, real)).mean()

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return F.softplus(-self.difference(fake, self.real_logits(real))).mean()

    def difference(self, fake: Tensor, real: Tensor) -> Tensor:
        if fake.shape != real.shape:
            raise GanforgeError(f"the rpgan loss pairs each generated sample with a real one, but the discriminator "
                                f"gave logits of shapes {tuple(fake.shape)} (generated) and {tuple(real.shape)} "
                                "(real); generate as many samples as the real batch holds")
        return fake - real


# ---------------------------------------------------------------- regularisers

class Regulariser:
    """Base of discriminator regularisers. Subclasses implement :meth:`penalty`; calling the
    regulariser gives ``every * penalty`` on the discriminator steps it is due."""

    role = "discriminator-regulariser"

    def __init__(self, every: int = 1, clock: Clock | None = None):
        self.every, self.clock = every, clock

    def due(self) -> bool:
        """Whether this discriminator step applies the penalty (always, unless ``every`` > 1)."""
        return self.every == 1 or self.clock is None or self.clock.d_step % self.every == 0

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        if not self.due():
            raise GanforgeError(f"{type(self).__name__} is lazy (every {self.every} discriminator steps) and was "
                                "called on a step it is not due; the objective must check regulariser.due() first")
        return self.every * self.penalty(critic, real, fake)


def twice_differentiable() -> contextlib.AbstractContextManager:
    """Within it, nets compiled by ``train.compile`` run eagerly: torch.compile cannot take the
    double backward that R1, R2, gradient penalties and path length need. Wrap both the forward
    pass and ``torch.autograd.grad(..., create_graph=True)`` in it. (Before torch 2.6, which
    added ``set_stance``, it does nothing: compiled nets cannot be run eagerly there, and the
    trainer stops at the double backward with an error that says to upgrade or leave compile off.)"""
    set_stance = getattr(torch.compiler, "set_stance", None)
    return set_stance("force_eager") if set_stance is not None else contextlib.nullcontext()


def _input_gradient(critic: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    """d sum(critic(inputs)) / d inputs, with a graph (for the double backward), in float32
    outside autocast (half precision makes the double backward unstable) and eagerly."""
    inputs = inputs.detach().float().requires_grad_(True)
    with torch.autocast(inputs.device.type, enabled=False), twice_differentiable():
        scores = critic(inputs).float()
        (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.flatten(1)


class GradientPenalty(Regulariser):
    """WGAN-GP (Gulrajani et al. 2017): ``weight * (||grad critic(x_hat)|| - target)^2`` on random
    real/fake interpolates."""

    def __init__(self, weight: float = 10.0, target: float = 1.0, every: int = 1, clock: Clock | None = None):
        super().__init__(every, clock)
        self.weight, self.target = weight, target

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        real, fake = real.detach().float(), fake.detach().float()
        alpha = distributed.rank_rand(real.shape[0], *(1,) * (real.dim() - 1), device=real.device)
        grad = _input_gradient(critic, alpha * real + (1 - alpha) * fake)
        return self.weight * (grad.norm(2, dim=1) - self.target).pow(2).mean()


class R1Penalty(Regulariser):
    """R1 (Mescheder et al. 2018): ``gamma / 2 * ||grad critic(x)||^2`` on real samples."""

    def __init__(self, gamma: Any = 10.0, every: int = 1, clock: Clock | None = None):
        super().__init__(every, clock)
        self.gamma = gamma  # a number, or a Ramp read at the clock's step

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * value_at(self.gamma, self.clock) * _input_gradient(critic, real).pow(2).sum(1).mean()


class R2Penalty(R1Penalty):
    """R2 (Mescheder et al. 2018; with R1 in R3GAN): ``gamma / 2 * ||grad critic(x)||^2`` on generated samples."""

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * value_at(self.gamma, self.clock) * _input_gradient(critic, fake).pow(2).sum(1).mean()


# ---------------------------------------------------------------- losses outside the base class

class ForeignAdversarialLoss(AdversarialLoss):
    """An adversarial loss that does not subclass :class:`AdversarialLoss`, adapted at build time:
    its ``generator_needs_real`` is read once (False when absent), and one written for ganforge
    0.x, whose ``generator(fake)`` takes only the generated logits, keeps working with a warning
    naming its plugin."""

    def __init__(self, loss: Any, legacy: bool):
        self.loss, self.legacy = loss, legacy
        self.generator_needs_real = False if legacy else bool(getattr(loss, "generator_needs_real", False))

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return self.loss.discriminator(real, fake)

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return self.loss.generator(fake) if self.legacy else self.loss.generator(fake, real)


def adapt_adversarial(loss: Any, described_as: str) -> Any:
    """``loss`` itself, or wrapped in :class:`ForeignAdversarialLoss` when it is an adversarial
    loss (``role == "adversarial"``) that does not subclass :class:`AdversarialLoss`."""
    if getattr(loss, "role", None) != "adversarial" or isinstance(loss, AdversarialLoss):
        return loss
    try:
        parameters = list(inspect.signature(loss.generator).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: take it as the current contract
        parameters = []
    legacy = len(parameters) == 1 and parameters[0].kind is not parameters[0].VAR_POSITIONAL
    if legacy:
        _warn_legacy(described_as)
    return ForeignAdversarialLoss(loss, legacy)


@functools.lru_cache(maxsize=None)
def _warn_legacy(described_as: str) -> None:
    warnings.warn(f"{described_as} implements generator(fake) of the ganforge 0.x loss contract; it keeps working, but "
                  "the contract is now generator(fake, real=None) with generator_needs_real = False on the class "
                  "(subclass ganforge.sdk.AdversarialLoss; docs/sdk.md, 'Losses'). The 0.x form will be refused "
                  "by ganforge 2.0.", GanforgeDeprecationWarning, stacklevel=3)


# ---------------------------------------------------------------- factories

def minimax(params, ctx) -> Minimax:
    return Minimax(params.label_smoothing)


def non_saturating(params, ctx) -> NonSaturating:
    return NonSaturating(params.label_smoothing)


def hinge(params, ctx) -> Hinge:
    return Hinge()


def least_squares(params, ctx) -> LeastSquares:
    return LeastSquares(params.fake_target, params.real_target, params.generator_target)


def wasserstein(params, ctx) -> Wasserstein:
    return Wasserstein()


def ragan(params, ctx) -> RelativisticAverage:
    return RelativisticAverage(params.variant)


def rpgan(params, ctx) -> RelativisticPairing:
    return RelativisticPairing()


def gradient_penalty(params, ctx) -> GradientPenalty:
    return GradientPenalty(params.weight, params.target, params.every, ctx.clock)


def r1(params, ctx) -> R1Penalty:
    return R1Penalty(params.gamma, params.every, ctx.clock)


def r2(params, ctx) -> R2Penalty:
    return R2Penalty(params.gamma, params.every, ctx.clock)
