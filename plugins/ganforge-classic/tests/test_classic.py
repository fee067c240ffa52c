"""Nets and the unconditional objective of ganforge-classic."""

from __future__ import annotations

import pytest
import torch

from ganforge.data.info import DataInfo
from ganforge.errors import GanforgeError
from ganforge.losses import GradientPenalty, NonSaturating, Wasserstein
from ganforge_classic.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge_classic.infogan_nets import InfoGANDiscriminator, InfoGANGenerator
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


def test_infogan_nets_take_mnist_at_28_pixels():
    g, d = InfoGANGenerator(74, (1, 28, 28), width=8, fc_width=32), InfoGANDiscriminator((1, 28, 28), 8, 32, 12, 16)
    images = g(torch.randn(5, 74))
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1
    logit, q = d(images)
    assert logit.shape == (5,) and q.shape == (5, 12) and d.features(images).shape == (5, 32)
    linears = [m for m in d.aux.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32, 16), (16, 12)]
    assert isinstance(InfoGANDiscriminator((1, 28, 28), 8, 32, 12, aux_hidden=0).aux, torch.nn.Linear)
    assert InfoGANDiscriminator((3, 16, 16), 8, 32)(torch.randn(2, 3, 16, 16)).shape == (2,)
    with pytest.raises(GanforgeError, match="multiple of 4.*data.size"):
        InfoGANGenerator(74, (1, 30, 30))


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


def test_packing_puts_consecutive_samples_side_by_side():
    from ganforge_classic.packing import pack

    x = torch.arange(6 * 2 * 3 * 3, dtype=torch.float32).view(6, 2, 3, 3)
    packed = pack(x, 3)
    assert packed.shape == (2, 6, 3, 3)
    assert torch.equal(packed[1], torch.cat([x[3], x[4], x[5]]))
    assert pack(x, 1) is x
    with pytest.raises(GanforgeError, match="packs 4 samples at once .* batch of 6; use a train.batch_size divisible by 4"):
        pack(x, 4)


def test_packed_discriminators_give_one_logit_per_pack():
    mlp = MLPDiscriminator((2,), 16, 2, "maxout", 5, False, 0.0, pack=2)
    points = torch.randn(10, 2, requires_grad=True)
    logits = mlp(points)
    assert logits.shape == (5,)
    logits.sum().backward()
    assert points.grad.abs().sum(dim=1).gt(0).all()  # every sample of every pack is judged
    conv = DCGANDiscriminator((3, 16, 16), width=8, pack=2)
    assert conv.trunk[0].in_channels == 6 and conv(torch.randn(4, 3, 16, 16)).shape == (2,)


def test_pacgan_recipes_train(tmp_path):
    import yaml

    from ganforge.pipeline import train
    from ganforge.recipe import load_recipe

    recipe = tmp_path / "pac.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "pac", "data": {"type": "gaussian-mixture", "size": 400},
        "models": {"generator": {"type": "mlp-generator", "z_dim": 2, "width": 16, "depth": 2},
                   "discriminator": {"type": "mlp-discriminator", "width": 16, "depth": 2, "pack": 2}},
        "objective": "unconditional", "losses": {"adversarial": "non-saturating"},
        "train": {"steps": 6, "batch_size": 20, "device": "cpu", "progress": False, "log_every": 3},
        "output": {"dir": str(tmp_path / "run"), "trackers": []}}))
    folder = train(load_recipe(recipe))
    assert (folder.checkpoints / "step_00000006").is_dir()
    with pytest.raises(GanforgeError, match="divisible by 2"):
        train(load_recipe(recipe, ["train.batch_size=21", f"output.dir={tmp_path / 'odd'}"]))
