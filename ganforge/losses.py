"""Adversarial losses and discriminator regularisers, shared by every objective.

An adversarial loss maps discriminator logits to a scalar: ``discriminator(real, fake)``
and ``generator(fake)``. A regulariser is called as ``regulariser(critic, real, fake)``
with ``critic`` a callable on inputs, and its result is added to the discriminator loss.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge import distributed


class AdversarialLoss:
    role = "adversarial"

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator(self, fake: Tensor) -> Tensor:
        raise NotImplementedError


class Minimax(AdversarialLoss):
    def __init__(self, label_smoothing: float = 0.0):
        self.real_label = 1.0 - label_smoothing

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        real_loss = F.binary_cross_entropy_with_logits(real, torch.full_like(real, self.real_label))
        return real_loss + F.softplus(fake).mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -F.softplus(fake).mean()  # minimise log(1 - D(G(z)))


class NonSaturating(Minimax):
    def generator(self, fake: Tensor) -> Tensor:
        return F.softplus(-fake).mean()  # minimise -log D(G(z))


class Hinge(AdversarialLoss):
    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class LeastSquares(AdversarialLoss):
    def __init__(self, fake_target: float = 0.0, real_target: float = 1.0, generator_target: float = 1.0):
        self.a, self.b, self.c = fake_target, real_target, generator_target

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - self.b).pow(2).mean() + (fake - self.a).pow(2).mean())

    def generator(self, fake: Tensor) -> Tensor:
        return 0.5 * (fake - self.c).pow(2).mean()


class Wasserstein(AdversarialLoss):
    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class GradientPenalty:
    """``weight * (||grad critic(x_hat)|| - target)^2`` on random real/fake interpolates,
    computed in float32 outside autocast (half precision makes the double backward unstable)."""

    role = "discriminator-regulariser"

    def __init__(self, weight: float = 10.0, target: float = 1.0):
        self.weight, self.target = weight, target

    def __call__(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        real, fake = real.detach().float(), fake.detach().float()
        alpha = distributed.rand(real.shape[0], *(1,) * (real.dim() - 1), device=real.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        with torch.autocast(real.device.type, enabled=False):
            scores = critic(mixed).float()
            (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        return self.weight * (grad.flatten(1).norm(2, dim=1) - self.target).pow(2).mean()


class R1Penalty:
    """R1 (Mescheder et al. 2018): ``gamma / 2 * ||grad critic(x)||^2`` on real samples only,
    in float32 outside autocast."""

    role = "discriminator-regulariser"

    def __init__(self, gamma: float = 10.0):
        self.gamma = gamma

    def __call__(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        real = real.detach().float().requires_grad_(True)
        with torch.autocast(real.device.type, enabled=False):
            scores = critic(real).float()
            (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
        return 0.5 * self.gamma * grad.flatten(1).pow(2).sum(1).mean()


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


def gradient_penalty(params, ctx) -> GradientPenalty:
    return GradientPenalty(params.weight, params.target)


def r1(params, ctx) -> R1Penalty:
    return R1Penalty(params.gamma)
