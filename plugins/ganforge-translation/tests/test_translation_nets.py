"""The translation nets: shapes and ranges, PatchGAN receptive fields measured by gradients,
multi-scale outputs and features, U-Net dropout as noise, pix2pixHD's two stages."""

from __future__ import annotations

import pytest
import torch

from translation_fixtures import one_thread  # noqa: F401 (a fixture)

from ganforge.errors import GanforgeError
from ganforge_translation.discriminators import LAYERS_FOR_FIELD, MultiScaleDiscriminator, PatchGAN, receptive_field
from ganforge_translation.generators import ResNetGenerator, UNetGenerator
from ganforge_translation.hd import Pix2PixHDGenerator


@pytest.mark.parametrize("depth,size", [(3, 16), (5, 32), (8, 256)])
def test_unet_maps_source_channels_to_target_channels_in_range(depth, size):
    g = UNetGenerator(1, 3, size, depth=depth, width=4, max_width=16)
    out = g(torch.randn(2, 1, size, size))
    assert out.shape == (2, 3, size, size)
    assert out.min() >= -1 and out.max() <= 1


def test_unet_skip_connections_change_the_decoder_inputs():
    with_skips, without = UNetGenerator(3, 3, 32, depth=5, width=4), UNetGenerator(3, 3, 32, depth=5, width=4, skip=False)
    assert with_skips.up[1][1].in_channels == 2 * without.up[1][1].in_channels
    assert without(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_unet_rejects_sizes_its_depth_cannot_halve():
    with pytest.raises(GanforgeError, match=r"multiple of 256.*depth: 5"):
        UNetGenerator(3, 3, 96, depth=8)


def test_unet_dropout_is_noise_in_training_and_optionally_at_test_time():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    g = UNetGenerator(3, 3, 32, depth=5, width=8).eval()
    assert torch.equal(g(x), g(x))  # deterministic at test time by default
    g.train()
    assert not torch.equal(g(x), g(x))
    noisy = UNetGenerator(3, 3, 32, depth=5, width=8, test_dropout=True).eval()
    assert not torch.equal(noisy(x), noisy(x))
    assert sum(isinstance(m, torch.nn.Module) and type(m).__name__ == "NoiseDropout" for m in g.modules()) == 3


@pytest.mark.parametrize("blocks", [6, 9])
def test_resnet_generator_has_its_blocks_reflection_padding_and_instance_norm(blocks):
    g = ResNetGenerator(3, 1, 32, blocks=blocks, width=8)
    assert sum(type(m).__name__ == "ResnetBlock" for m in g.modules()) == blocks
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules())
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in g.modules())
    out = g(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32) and out.abs().max() <= 1


def measured_field(d: torch.nn.Module, channels: int, size: int) -> int:
    """Width of the input region that the centre logit depends on (nonzero gradient)."""
    x = torch.randn(1, channels, size, size, requires_grad=True)
    out = d(x)
    h, w = out.shape[-2:]
    out[..., h // 2, w // 2].sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1, 2)) > 0
    columns = touched.nonzero().flatten()
    return int(columns.max() - columns.min() + 1)


@pytest.mark.parametrize("field", [1, 16, 34, 70, 142, 286])
def test_patchgan_receptive_field_is_what_it_says(field):
    torch.manual_seed(0)
    d = PatchGAN(3, field, width=2, max_width=4, norm="none")
    size = max(64, 2 * field)
    assert measured_field(d, 3, size) == field
    assert field == 1 or receptive_field(LAYERS_FOR_FIELD[field]) == field


def test_conditional_patchgan_judges_source_and_image_together():
    d = PatchGAN(1 + 3, 70, width=4, conditional=True)
    image, source = torch.randn(2, 3, 64, 64), torch.randn(2, 1, 64, 64)
    logits = d(image, source)
    assert logits.shape == (2, 1, 6, 6)
    with pytest.raises(GanforgeError, match="no source"):
        d(image)


def test_multiscale_discriminator_returns_one_map_per_scale_and_features():
    d = MultiScaleDiscriminator(3, scales=3, field=70, width=4)
    x = torch.randn(2, 3, 128, 128)
    maps = d(x)
    assert [m.shape[-1] for m in maps] == [14, 6, 2]  # 128, 64 and 32 px inputs
    features = d(x, features=True)
    assert len(features) == 3 and all(len(scale) == 5 for scale in features)
    for scale, logits in zip(features, maps):
        assert torch.allclose(scale[-1], logits)


def test_pix2pixhd_generator_coarse_stage_is_half_size_and_freeze_blocks_global_gradients():
    g = Pix2PixHDGenerator(1, 3, 32, width=4, global_downsamplings=2, global_blocks=1, local_blocks=1)
    source = torch.randn(2, 1, 32, 32)
    assert g(source[..., ::2, ::2], coarse=True).shape == (2, 3, 16, 16)
    assert g(source).shape == (2, 3, 32, 32)
    g.freeze_global = True
    g(source).mean().backward()
    assert all(p.grad is None for p in g.global_net.parameters())
    assert all(p.grad is not None for p in g.local_down.parameters())
    with pytest.raises(GanforgeError, match="multiple of 8"):
        Pix2PixHDGenerator(3, 3, 36, global_downsamplings=2)
