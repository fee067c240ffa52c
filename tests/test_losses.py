"""Adversarial losses against hand-computed values, and the gradient penalty."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.losses import GradientPenalty, Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein

REAL, FAKE = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("loss,d_value,g_value", [
    (Minimax(), (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(1)) / 2, -(sp(-1) + sp(1)) / 2),
    (NonSaturating(), (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(1)) / 2, (sp(1) + sp(-1)) / 2),
    (Hinge(), (0 + 1) / 2 + (0 + 2) / 2, 0.0),
    (LeastSquares(), 0.5 * ((1 + 1) / 2 + (1 + 1) / 2), 0.5 * (4 + 0) / 2),
    (Wasserstein(), 0.0 - 1.0, 0.0),
])
def test_loss_values(loss, d_value, g_value):
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d_value, abs=1e-6)
    assert loss.generator(FAKE).item() == pytest.approx(g_value, abs=1e-6)


def test_non_saturating_gradient_does_not_vanish_when_d_wins():
    fake = torch.tensor([-10.0], requires_grad=True)
    Minimax().generator(fake).backward()
    saturating = fake.grad.abs().item()
    fake.grad = None
    NonSaturating().generator(fake).backward()
    assert fake.grad.abs().item() > 1000 * saturating


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_has_gradients():
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    unit = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))
    assert GradientPenalty(10.0)(lambda x: unit(x).squeeze(-1), real, fake).item() == pytest.approx(0, abs=1e-10)
    with torch.no_grad():
        unit.weight.mul_(3)  # gradient norm 3: penalty 10 * (3 - 1)^2
    penalty = GradientPenalty(10.0)(lambda x: unit(x).squeeze(-1), real, fake)
    assert penalty.item() == pytest.approx(40.0, rel=1e-5)
    penalty.backward()
    assert unit.weight.grad is not None and unit.weight.grad.abs().sum() > 0


def test_r1_is_half_gamma_times_the_squared_gradient_on_real_data():
    from ganforge.losses import R1Penalty

    weight = torch.tensor([1.0, -2.0, 2.0])
    critic = lambda x: x @ weight  # noqa: E731  (gradient w everywhere: ||w||^2 = 9)
    real, fake = torch.randn(5, 3), torch.randn(5, 3) * 100
    assert float(R1Penalty(gamma=4.0)(critic, real, fake).detach()) == pytest.approx(0.5 * 4.0 * 9)
    quadratic = lambda x: (x ** 2).sum(1)  # noqa: E731  (gradient 2x: depends on the real points only)
    real = torch.ones(4, 3)
    assert float(R1Penalty(gamma=1.0)(quadratic, real, fake).detach()) == pytest.approx(0.5 * 12)
