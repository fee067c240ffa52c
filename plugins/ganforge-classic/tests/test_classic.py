"""Nets and the unconditional objective of ganforge-classic."""

from __future__ import annotations

import pytest
import torch

from ganforge.data.info import DataInfo
from ganforge.errors import GanforgeError
from ganforge.losses import GradientPenalty, NonSaturating, Wasserstein
from ganforge_classic.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge_classic.mlp import Maxout, MLPDiscriminator, MLPGenerator
from ganforge_classic.objectives import Unconditional
from ganforge_classic.plugin import UnconditionalParams


@pytest.mark.parametrize("size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_power_of_two(size, channels):
    g = DCGANGenerator(16, (channels, size, size), width=8)
    d = DCGANDiscriminator((channels, size, size), width=8)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (5,)


def test_dcgan_rejects_sizes_that_are_not_powers_of_two():
    with pytest.raises(GanforgeError, match="power of two.*data.size"):
        DCGANGenerator(16, (1, 28, 28))
    with pytest.raises(GanforgeError, match="power of two"):
        DCGANDiscriminator((3, 8, 8))


def test_dcgan_spectral_norm_has_no_batch_norm():
    d = DCGANDiscriminator((3, 32, 32), width=8, norm="spectral")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert any("parametrizations" in name for name, _ in d.named_parameters())


def test_mlp_for_points_and_images():
    g = MLPGenerator(2, (2,), 16, 2, True, "relu", tanh_output=False)
    assert g(torch.randn(4, 2)).shape == (4, 2)
    g = MLPGenerator(8, (1, 8, 8), 16, 2, False, "leaky-relu", tanh_output=True)
    assert g(torch.randn(4, 8)).shape == (4, 1, 8, 8)
    d = MLPDiscriminator((1, 8, 8), 16, 3, "maxout", 5, False, 0.1)
    assert d(torch.randn(4, 1, 8, 8)).shape == (4,)


def test_maxout_takes_the_maximum_piece():
    layer = Maxout(1, 1, 3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
        layer.linear.bias.zero_()
    assert layer(torch.tensor([[2.0], [-3.0]])).flatten().tolist() == [2.0, 3.0]


class Ctx:
    def __init__(self, nets, losses):
        self.nets, self.losses, self.data_info = nets, losses, DataInfo((2,))


def test_unconditional_steps_change_only_the_right_nets():
    g = MLPGenerator(2, (2,), 16, 2, True, "relu", tanh_output=False)
    d = MLPDiscriminator((2,), 16, 2, "leaky-relu", 5, False, 0.0)
    nets = {"generator": g, "discriminator": d}
    objective = Unconditional(UnconditionalParams(), Ctx(nets, {"adversarial": NonSaturating(),
                                                                 "gp": GradientPenalty(1.0)}))
    batch = {"x": torch.randn(8, 2)}
    loss, logs = objective.discriminator_loss(nets, batch)
    loss.backward()
    assert loss.dim() == 0 and {"d/loss", "d/gp", "d/real", "d/fake"} <= set(logs)
    assert all(p.grad is None for p in g.parameters()), "D's loss does not reach G (fakes are detached)"
    assert all(p.grad is not None for p in d.parameters())
    d.zero_grad()
    loss, logs = objective.generator_loss(nets, batch)
    loss.backward()
    assert "g/loss" in logs and all(p.grad is not None for p in g.parameters())
    samples = objective.sample(nets, objective.sample_inputs(5, torch.Generator().manual_seed(0)))
    assert samples.shape == (5, 2)


def test_unconditional_rejects_losses_it_cannot_use():
    nets = {"generator": MLPGenerator(2, (2,), 4, 1, False, "relu", False),
            "discriminator": MLPDiscriminator((2,), 4, 1, "relu", 2, False, 0.0)}
    with pytest.raises(GanforgeError, match="does not know what to do with loss 'extra'"):
        Unconditional(UnconditionalParams(), Ctx(nets, {"adversarial": NonSaturating(), "extra": Wasserstein()}))
