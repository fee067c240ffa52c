"""R3GAN's nets: the official implementation's outputs for the same weights (fixture made by
tests/reference/make_fixtures.py from brownvc/R3GAN), fix-up initialisation, located errors,
and the RpGAN + R1 + R2 game trained and resumed exactly."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge_modern.examples import tiny_r3gan
from ganforge_modern.r3gan import R3GANDiscriminator, R3GANGenerator
from reference_weights import latents, read_fixture, weights

# the official module names, and ganforge's
RENAMES = [("MainLayers.", "stages."), (".Layers.", "."), ("LinearLayer1.Layer", "expand"),
           ("LinearLayer2.Layer", "grouped"), ("LinearLayer3.Layer", "project"), ("NonLinearity1.Bias", "act1.bias"),
           ("NonLinearity2.Bias", "act2.bias"), ("LinearLayer.Layer", "linear"), ("LinearLayer", "linear"),
           ("Basis", "basis"), ("AggregationLayer.Layer", "to_image"), ("ExtractionLayer.Layer", "from_image")]


def renamed(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        for old, new in RENAMES:
            key = key.replace(old, new)
        out[key] = value
    return out


def test_the_nets_compute_what_the_official_ones_do():
    meta, expected = read_fixture("r3gan_32px")
    s = meta["settings"]
    settings = dict(widths=s["WidthPerStage"], cardinalities=s["CardinalityPerStage"], blocks=s["BlocksPerStage"],
                    expansion=s["ExpansionFactor"])
    g, d = R3GANGenerator(32, 3, meta["z_dim"], **settings), R3GANDiscriminator(32, 3, **settings)
    for net, name in ((g, "g"), (d, "d")):
        layout = [tuple(x) for x in meta[f"{name}_layout"]]
        net.load_state_dict(renamed(weights(layout, meta[f"{name}_seed"], small=("Bias",), fan_in=True)))
    z = latents(2, meta["z_dim"], meta["z_seed"])
    x = latents(2, 3 * 32 * 32, meta["x_seed"]).reshape(2, 3, 32, 32) / 3 ** 0.5
    with torch.no_grad():
        assert (g.train()(z) - expected["image"]).abs().max() <= 1e-5  # unclamped while training
        assert (g.eval()(z) - expected["image"].clamp(-1, 1)).abs().max() <= 1e-5
        assert (d(x) - expected["logits"]).abs().max() <= 1e-5


def test_fix_up_initialisation_starts_every_block_as_the_identity():
    g = R3GANGenerator(16, 1, 8, widths=[8, 8, 4], cardinalities=[2, 2, 2], blocks=[1, 2, 1])
    d = R3GANDiscriminator(16, 1, widths=[4, 8, 8], cardinalities=[2, 2, 2], blocks=[1, 2, 1])
    blocks = [m for m in [*g.modules(), *d.modules()] if type(m).__name__ == "InvertedBottleneck"]
    assert len(blocks) == 8 and all(torch.count_nonzero(b.project.weight) == 0 for b in blocks)
    x = torch.randn(3, 8, 4, 4)
    assert torch.equal(g.stages[0][1](x), x)
    assert g(torch.randn(5, 8)).shape == (5, 1, 16, 16) and d(torch.randn(5, 1, 16, 16)).shape == (5,)


def test_a_tanh_output_bounds_the_same_image_layer_in_training_and_sampling():
    settings = dict(widths=[8, 8, 8], cardinalities=[2, 2, 2], blocks=[1, 1, 1])
    torch.manual_seed(0)
    linear = R3GANGenerator(16, 1, 8, **settings)
    tanh = R3GANGenerator(16, 1, 8, output="tanh", **settings)
    tanh.load_state_dict(linear.state_dict())  # the same parameters: tanh adds none
    with torch.no_grad():
        torch.nn.init.normal_(linear.to_image.weight, std=3.0)  # outputs well past [-1, 1]
        tanh.to_image.weight.copy_(linear.to_image.weight)
        z = torch.randn(4, 8)
        raw = linear.train()(z)
        assert raw.abs().max() > 1.5
        for mode in (tanh.train(), tanh.eval()):
            assert torch.allclose(mode(z), torch.tanh(raw), atol=1e-6)


def test_a_clamped_output_is_bounded_while_training_and_passes_gradients_through():
    settings = dict(widths=[8, 8, 8], cardinalities=[2, 2, 2], blocks=[1, 1, 1])
    torch.manual_seed(0)
    linear = R3GANGenerator(16, 1, 8, **settings)
    clamped = R3GANGenerator(16, 1, 8, output="clamp", **settings)
    clamped.load_state_dict(linear.state_dict())
    with torch.no_grad():
        torch.nn.init.normal_(linear.to_image.weight, std=3.0)
        clamped.to_image.weight.copy_(linear.to_image.weight)
    z = torch.randn(4, 8)
    raw, out = linear.train()(z), clamped.train()(z)
    assert (raw.abs() > 1).any() and torch.equal(out.detach(), raw.detach().clamp(-1, 1))
    out.sum().backward()
    raw.sum().backward()  # a saturated pixel still passes its gradient: the same as the linear layer's
    assert torch.allclose(clamped.to_image.weight.grad, linear.to_image.weight.grad)
    assert clamped.to_image.weight.grad.abs().sum() > 0


def test_settings_that_do_not_fit_are_located_errors():
    with pytest.raises(GanforgeError, match="`widths` has 2 entries, but 16 px images need one per stage .* 3"):
        R3GANGenerator(16, 3, 8, widths=[8, 8], cardinalities=[2, 2, 2], blocks=[1, 1, 1])
    with pytest.raises(GanforgeError, match="16 channels, which 3 groups do not divide"):
        R3GANDiscriminator(16, 3, widths=[8, 8, 8], cardinalities=[3, 2, 2], blocks=[1, 1, 1])
    with pytest.raises(GanforgeError, match="power of two"):
        R3GANGenerator(28, 1, 8)
    with pytest.raises(GanforgeError, match="output 'tahn' is not one of linear, tanh, clamp"):
        R3GANGenerator(16, 1, 8, widths=[8, 8, 8], cardinalities=[2, 2, 2], blocks=[1, 1, 1], output="tahn")


def test_rpgan_with_r1_and_r2_trains_and_resumes_bit_for_bit(tmp_path):
    from ganforge.testing import check_resume

    check_resume(tiny_r3gan(), tmp_path)


def test_rpgan_r1_r2_loss_by_hand():
    """D's loss is softplus(-(D(x) - D(G(z)))) + gamma/2 (|grad D(x)|^2 + |grad D(G(z))|^2), averaged."""
    from ganforge.build import build_run
    from ganforge.recipe import recipe_from_data

    run = build_run(recipe_from_data(tiny_r3gan()).recipe)
    d, g = run.nets["discriminator"], run.nets["generator"]
    torch.manual_seed(0)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        fake = g(torch.randn(4, 8))
    loss, logs = run.objective.discriminator_loss(run.nets, {"x": real}, {"fake": fake})

    def penalty(x):
        x = x.detach().requires_grad_(True)
        grad, = torch.autograd.grad(d(x).sum(), x)
        return grad.square().sum([1, 2, 3]).mean()

    by_hand = torch.nn.functional.softplus(-(d(real) - d(fake))).mean() + 0.05 * (penalty(real) + penalty(fake))
    assert torch.allclose(loss, by_hand, atol=1e-6)
