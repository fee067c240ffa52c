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


def test_penalties_still_work_on_a_torch_without_compiler_stances(monkeypatch):
    """Before torch 2.6 there is no ``torch.compiler.set_stance``: ``twice_differentiable`` is
    then a no-op and R1 is computed as ever."""
    from ganforge.losses import R1Penalty

    monkeypatch.delattr(torch.compiler, "set_stance")
    weight = torch.tensor([1.0, -2.0, 2.0])
    critic = lambda x: x @ weight  # noqa: E731
    assert float(R1Penalty(gamma=4.0)(critic, torch.randn(5, 3), torch.randn(5, 3)).detach()) == pytest.approx(18.0)


def test_r1_is_half_gamma_times_the_squared_gradient_on_real_data():
    from ganforge.losses import R1Penalty

    weight = torch.tensor([1.0, -2.0, 2.0])
    critic = lambda x: x @ weight  # noqa: E731  (gradient w everywhere: ||w||^2 = 9)
    real, fake = torch.randn(5, 3), torch.randn(5, 3) * 100
    assert float(R1Penalty(gamma=4.0)(critic, real, fake).detach()) == pytest.approx(0.5 * 4.0 * 9)
    quadratic = lambda x: (x ** 2).sum(1)  # noqa: E731  (gradient 2x: depends on the real points only)
    real = torch.ones(4, 3)
    assert float(R1Penalty(gamma=1.0)(quadratic, real, fake).detach()) == pytest.approx(0.5 * 12)


# ---------------------------------------------------------------- relativistic losses

def test_relativistic_average_variants_against_hand_computed_values():
    from ganforge.losses import RelativisticAverage

    # mean(real) = 1, mean(fake) = 0: real - mean(fake) = [2, 0]; fake - mean(real) = [-2, 0]
    standard = RelativisticAverage("standard")
    assert standard.discriminator(REAL, FAKE).item() == pytest.approx((sp(-2) + sp(0)) / 2 + (sp(-2) + sp(0)) / 2)
    assert standard.generator(FAKE, REAL).item() == pytest.approx((sp(2) + sp(0)) / 2 + (sp(2) + sp(0)) / 2)
    squares = RelativisticAverage("least-squares")
    assert squares.discriminator(REAL, FAKE).item() == pytest.approx((1 + 1) / 2 + (1 + 1) / 2)
    assert squares.generator(FAKE, REAL).item() == pytest.approx((9 + 1) / 2 + (9 + 1) / 2)
    hinge = RelativisticAverage("hinge")
    assert hinge.discriminator(REAL, FAKE).item() == pytest.approx((0 + 1) / 2 + (0 + 1) / 2)
    assert hinge.generator(FAKE, REAL).item() == pytest.approx((3 + 1) / 2 + (3 + 1) / 2)
    assert standard.generator_needs_real


def test_relativistic_pairing_against_hand_computed_values():
    from ganforge.losses import RelativisticPairing

    loss = RelativisticPairing()
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx((sp(-3) + sp(1)) / 2)  # softplus(fake - real)
    assert loss.generator(FAKE, REAL).item() == pytest.approx((sp(3) + sp(-1)) / 2)  # softplus(real - fake)
    fake = FAKE.clone().requires_grad_(True)
    loss.generator(fake, REAL).backward()
    assert fake.grad.abs().sum() > 0  # G learns through the fake logits


def test_relativistic_losses_refuse_a_generator_phase_without_real_logits():
    from ganforge.errors import GanforgeError
    from ganforge.losses import RelativisticAverage, RelativisticPairing

    for loss in (RelativisticAverage(), RelativisticPairing()):
        with pytest.raises(GanforgeError, match="passed only the generated ones.*loss.generator\\(fake, real\\)"):
            loss.generator(FAKE)
    with pytest.raises(GanforgeError, match="pairs each generated sample with a real one"):
        RelativisticPairing().discriminator(torch.zeros(4), torch.zeros(3))


def test_generator_adversarial_computes_real_logits_only_for_losses_that_need_them():
    from ganforge.adversarial import discriminator_adversarial, generator_adversarial
    from ganforge.losses import RelativisticPairing

    calls = []

    def real_logits():
        calls.append(1)
        return [REAL, REAL * 2]

    fake = [FAKE.clone().requires_grad_(True), (FAKE * 2).clone().requires_grad_(True)]
    plain = generator_adversarial(NonSaturating(), fake, real_logits)
    expected = (NonSaturating().generator(FAKE) + NonSaturating().generator(FAKE * 2)) / 2
    assert not calls and plain.item() == pytest.approx(expected.item())
    paired = generator_adversarial(RelativisticPairing(), fake, real_logits)  # each scale with its own reals
    expected = (RelativisticPairing().generator(FAKE, REAL) + RelativisticPairing().generator(FAKE * 2, REAL * 2)) / 2
    assert calls == [1] and paired.item() == pytest.approx(expected.item())
    paired.backward()
    assert all(f.grad is not None for f in fake)
    both = discriminator_adversarial(Hinge(), [REAL, REAL], [FAKE, FAKE])
    assert both.item() == pytest.approx(Hinge().discriminator(REAL, FAKE).item())


def test_a_loss_written_for_the_old_contract_keeps_working_with_a_warning():
    from ganforge.errors import GanforgeDeprecationWarning
    from ganforge.losses import adapt_adversarial

    class OldLoss:  # a third-party loss of ganforge 0.x: generator(fake) only
        role = "adversarial"

        def discriminator(self, real, fake):
            return (fake - real).mean()

        def generator(self, fake):
            return -fake.mean()

    with pytest.warns(GanforgeDeprecationWarning, match="loss 'old' \\(from gf-old\\) implements generator\\(fake\\)"):
        adapted = adapt_adversarial(OldLoss(), "loss 'old' (from gf-old)")
    assert not adapted.generator_needs_real
    assert adapted.generator(FAKE, REAL).item() == pytest.approx(0.0)
    assert adapted.discriminator(REAL, FAKE).item() == pytest.approx(-1.0)


# ---------------------------------------------------------------- regularisers

def test_r1_and_r2_penalise_the_gradient_on_real_and_generated_data_respectively():
    from ganforge.losses import R1Penalty, R2Penalty

    critic = lambda x: (x ** 2).sum(1)  # noqa: E731  (gradient 2x: squared norm 4 ||x||^2)
    real, fake = torch.full((4, 3), 1.0), torch.full((4, 3), 2.0)
    assert R1Penalty(gamma=2.0)(critic, real, fake).item() == pytest.approx(0.5 * 2.0 * 4 * 3)
    assert R2Penalty(gamma=2.0)(critic, real, fake).item() == pytest.approx(0.5 * 2.0 * 4 * 12)


def test_rpgan_plus_r1_plus_r2_on_a_linear_critic_by_hand():
    from ganforge.losses import R1Penalty, R2Penalty, RelativisticPairing

    weight = torch.tensor([1.0, 2.0])  # critic x . w: gradient w everywhere, ||w||^2 = 5
    critic = lambda x: x @ weight  # noqa: E731
    real, fake = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    total = (RelativisticPairing().discriminator(critic(real), critic(fake))
             + R1Penalty(gamma=0.1)(critic, real, fake) + R2Penalty(gamma=0.1)(critic, real, fake))
    # real logits [1, 2], fake logits [0, 3]: softplus(-1), softplus(1); each penalty 0.05 * 5
    assert total.item() == pytest.approx((sp(-1) + sp(1)) / 2 + 0.25 + 0.25)


def test_a_lazy_regulariser_is_due_every_n_discriminator_steps_with_its_weight_times_n():
    from ganforge.errors import GanforgeError
    from ganforge.losses import R1Penalty
    from ganforge.objective import Clock

    clock = Clock()
    lazy, eager = R1Penalty(gamma=1.0, every=4, clock=clock), R1Penalty(gamma=1.0)
    critic = lambda x: (x * 3).sum(1)  # noqa: E731
    real = torch.randn(4, 2)
    due = []
    for d_step in range(9):
        clock.d_step = d_step
        due.append(lazy.due())
    assert [i for i, d in enumerate(due) if d] == [0, 4, 8]
    clock.d_step = 8
    assert lazy(critic, real, real).item() == pytest.approx(4 * eager(critic, real, real).item())
    clock.d_step = 5
    with pytest.raises(GanforgeError, match="not due"):
        lazy(critic, real, real)
