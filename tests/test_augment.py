"""DiffAugment: each transform does what it says, keeps gradients, and the trainer applies
it to everything the discriminators see."""

from __future__ import annotations

import pytest
import torch

from conftest import write_recipe
from ganforge.augment import Augmented, DiffAugment, color, cutout, translation
from ganforge.errors import GanforgeError
from ganforge.pipeline import train
from ganforge.recipe import load_recipe, recipe_from_data


def test_translation_shifts_whole_pixels_and_fills_with_zeros():
    torch.manual_seed(0)
    image = torch.arange(1, 65, dtype=torch.float32).view(1, 1, 8, 8).repeat(64, 1, 1, 1)
    moved = translation(image, ratio=0.25)
    for out in moved:
        # the surviving pixels are the original shifted by (dy, dx); the rest are zero
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = torch.zeros(8, 8)
                ys, xs = slice(max(0, -dy), 8 - max(0, dy)), slice(max(0, -dx), 8 - max(0, dx))
                src_y, src_x = slice(max(0, dy), 8 - max(0, -dy)), slice(max(0, dx), 8 - max(0, -dx))
                expected[ys, xs] = image[0, 0][src_y, src_x]
                found |= torch.equal(out[0], expected)
        assert found
    assert len({tuple(m.flatten().tolist()) for m in moved}) > 5, "shifts differ per image"


def test_cutout_zeroes_one_square_of_the_given_side():
    torch.manual_seed(0)
    out = cutout(torch.ones(50, 3, 16, 16), ratio=0.5)
    zeros = (out == 0).all(1)  # every channel cut alike
    for mask in zeros:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert int(mask.sum()) == len(rows) * len(cols), "a rectangle"
        assert len(rows) <= 8 and len(cols) <= 8
    assert int(zeros.sum()) > 50 * 32, "most squares lie mostly inside the image"


def test_color_and_policy_keep_shapes_and_gradients():
    x = (torch.rand(6, 3, 8, 8) * 2 - 1).requires_grad_(True)
    out = DiffAugment(["color", "translation", "cutout"])(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert color(x).shape == x.shape


def test_augmented_discriminator_sees_augmented_inputs():
    seen = []
    wrapped = Augmented(lambda x, y=None: seen.append((x, y)) or x.sum(), lambda x: x * 0)
    wrapped(torch.ones(2, 3), y=5)
    assert torch.equal(seen[0][0], torch.zeros(2, 3)) and seen[0][1] == 5


def test_trainer_augments_real_and_fake_alike(tmp_path, registry, monkeypatch):
    monkeypatch.setattr(DiffAugment, "__call__", lambda self, x: x * 0)  # see what D sees
    recipe = {
        "name": "aug", "seed": 0,
        "data": {"type": "shapes", "size": 16, "length": 32},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8, "norm": "none"}},
        "objective": "unconditional",
        "train": {"steps": 2, "batch_size": 8, "device": "cpu", "log_every": 1, "progress": False,
                  "augment": {"policy": ["cutout"]}},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }
    records = train(recipe_from_data(recipe, registry), registry=registry).read_metrics()
    # D sees only what augmentation returns (zeros here), so real and fake score the same
    assert all(r["d/real"] == pytest.approx(r["d/fake"]) for r in records)

    recipe["data"], recipe["output"]["dir"] = {"type": "gaussian-mixture"}, str(tmp_path / "vectors")
    recipe["models"] = {"generator": {"type": "mlp-generator", "z_dim": 2},
                        "discriminator": {"type": "mlp-discriminator"}}
    with pytest.raises(GanforgeError, match="train.augment works on images"):
        train(recipe_from_data(recipe, registry), registry=registry)


def test_augment_policy_is_validated(tmp_path, registry):
    from ganforge.recipe.errors import RecipeError

    path = write_recipe(tmp_path / "r.yaml", """\
        name: r
        data: gaussian-mixture
        models: {generator: mlp-generator, discriminator: mlp-discriminator}
        objective: unconditional
        train: {augment: {policy: [colour]}}
        """)
    with pytest.raises(RecipeError, match="train.augment.policy.0"):
        load_recipe(path, registry=registry)


def test_flip_and_quarter_turns():
    from ganforge.augment import flip, rotate90

    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.float32).reshape(2, 1, 3, 3)
    assert torch.equal(flip(x), x.flip(3))
    torch.manual_seed(0)
    turned = rotate90(x)
    assert all(any(torch.equal(turned[i], torch.rot90(x[i], k, (1, 2))) for k in range(4)) for i in range(2))


def test_each_step_is_applied_with_the_adaptive_probability():
    zero = DiffAugment(["cutout"], probability=0.0)
    x = torch.ones(400, 1, 8, 8)
    assert torch.equal(zero(x), x)  # p = 0: untouched
    torch.manual_seed(0)
    half = DiffAugment(["cutout"], probability=0.5)(x)
    changed = (half != x).flatten(1).any(1).float().mean()
    assert 0.4 < float(changed) < 0.6


def test_ada_controller_moves_p_toward_the_target():
    from ganforge.augment import AdaptiveProbability

    ada = AdaptiveProbability(target=0.6, interval=4, speed_images=1000, batch_size=50)
    assert ada.step_size == pytest.approx(0.2)
    moves = [ada.observe(1.0) for _ in range(8)]  # D sure that reals are real: overfitting
    assert moves.count(None) == 6 and ada.p == pytest.approx(0.4)
    for _ in range(4):
        ada.observe(0.0)  # below the target: less augmentation
    assert ada.p == pytest.approx(0.2)
    for _ in range(8):
        ada.observe(-1.0)
    assert ada.p == 0.0  # never below 0
    state = ada.state_dict()
    ada.observe(1.0)
    other = AdaptiveProbability(0.6, 4, 1000, 50)
    other.load_state_dict(state)
    assert other.state_dict() == state


def ada_recipe(tmp_path, **augment) -> dict:
    return {
        "name": "ada", "seed": 0,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8, "norm": "none"}},
        "objective": "unconditional",
        "train": {"steps": 6, "batch_size": 8, "device": "cpu", "log_every": 1, "progress": False,
                  "checkpoint_every": 3,
                  "augment": {"policy": ["flip", "translation", "color"],
                              "adaptive": {"target": 0.6, "interval": 2, "speed_images": 64, **augment}}},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def test_ada_rises_on_a_discriminator_rigged_to_say_real(tmp_path, registry, monkeypatch):
    from ganforge_classic.objectives import Unconditional

    original = Unconditional.discriminator_loss

    def rigged(self, nets, batch, generated=None):
        loss, logs = original(self, nets, batch, generated)
        logs["d/real_sign"] = torch.tensor(1.0)  # every real image judged real: overfitting
        return loss, logs

    monkeypatch.setattr(Unconditional, "discriminator_loss", rigged)
    records = train(recipe_from_data(ada_recipe(tmp_path), registry), registry=registry).read_metrics()
    p = [r["augment/p"] for r in records if "augment/p" in r]
    assert p == sorted(p) and p[-1] == pytest.approx(0.75)  # +8 * 2 / 64 every 2 of the 6 steps


def test_ada_resumes_exactly_with_its_probability(tmp_path):
    from ganforge.testing import check_resume

    check_resume(ada_recipe(tmp_path, initial=0.3), tmp_path)


def test_an_ada_target_outside_0_1_is_a_located_error(tmp_path, registry):
    from ganforge.recipe.errors import RecipeError

    path = write_recipe(tmp_path / "r.yaml", """\
        name: r
        data: shapes
        models: {generator: dcgan-generator, discriminator: dcgan-discriminator}
        objective: unconditional
        train: {augment: {adaptive: {target: 1.5}}}
        """)
    with pytest.raises(RecipeError, match="train.augment.adaptive.target"):
        load_recipe(path, registry=registry)


# ----------------------------------------------------------------- ADA's geometric and colour transforms

def test_ada_geometry_with_known_parameters():
    from ganforge.augment import rotate_by, scale_by, shift_by, stretch_by

    x = torch.randn(3, 3, 12, 12)
    one = torch.ones(3)
    assert torch.allclose(rotate_by(x, torch.zeros(3)), x, atol=1e-5)  # the identity resamples to itself
    assert torch.allclose(scale_by(x, one), x, atol=1e-5) and torch.allclose(stretch_by(x, one), x, atol=1e-5)
    quarter = rotate_by(x, torch.full((3,), torch.pi / 2))
    assert torch.allclose(quarter, torch.rot90(x, 1, (2, 3)), atol=1e-5) or \
        torch.allclose(quarter, torch.rot90(x, -1, (2, 3)), atol=1e-5)  # a quarter turn is a whole-pixel turn
    shifted = shift_by(x, torch.tensor([[2.0, 0.0]] * 3))  # two whole pixels to the right
    assert torch.allclose(shifted[..., 2:], x[..., :-2], atol=1e-5)
    assert torch.allclose(shifted[..., :2], x[..., :2].flip(-1), atol=1e-5)  # reflection padding, as ADA pads
    zoomed = scale_by(x, torch.full((3,), 2.0))  # twice as large: the centre 6 x 6 pixels fill the image
    assert zoomed.shape == x.shape and not torch.allclose(zoomed, x)
    flat = torch.full((2, 3, 8, 8), 0.3)  # a flat image stays flat under every resampling
    for step in (lambda t: rotate_by(t, torch.tensor([0.4, 2.0])), lambda t: stretch_by(t, torch.tensor([1.3, 0.7])),
                 lambda t: shift_by(t, torch.tensor([[0.5, -1.7], [3.2, 0.1]]))):
        assert torch.allclose(step(flat), flat, atol=1e-6)


def test_ada_colour_transforms_keep_or_invert_the_luma_as_they_should():
    from ganforge.augment import hue_by, lumaflip_where, saturation_by

    x = torch.rand(4, 3, 5, 5) * 2 - 1
    luma = x.sum(1)
    rotated = hue_by(x, torch.tensor([0.5, 1.0, -2.0, 3.0]))
    assert torch.allclose(rotated.sum(1), luma, atol=1e-5) and not torch.allclose(rotated, x)
    assert torch.allclose(hue_by(x, torch.full((4,), 2 * torch.pi)), x, atol=1e-5)  # a full turn
    assert torch.allclose(hue_by(hue_by(x, torch.full((4,), 0.7)), torch.full((4,), -0.7)), x, atol=1e-5)
    assert torch.allclose(saturation_by(x, torch.ones(4)), x, atol=1e-6)
    grey = saturation_by(x, torch.zeros(4))  # no saturation: every channel the luma's mean
    assert torch.allclose(grey, (luma / 3).unsqueeze(1).expand_as(x), atol=1e-5)
    flipped = lumaflip_where(x, torch.tensor([True, False, True, False]))
    assert torch.allclose(flipped[[0, 2]].sum(1), -luma[[0, 2]], atol=1e-5)
    assert torch.allclose(flipped[[1, 3]], x[[1, 3]])
    with pytest.raises(ValueError, match="hue augmentation works on RGB images, not 1 channel"):
        hue_by(torch.zeros(1, 1, 4, 4), torch.zeros(1))


def test_every_ada_step_keeps_shapes_and_passes_gradients():
    names = ["scale", "rotate", "aniso", "xfrac", "brightness", "contrast", "lumaflip", "hue", "saturation"]
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    for name in names:
        out = DiffAugment([name])(x)
        assert out.shape == x.shape and not torch.allclose(out, x), name
        (grad,) = torch.autograd.grad(out.square().sum(), x)
        assert grad.abs().sum() > 0, name
    none = DiffAugment(names, probability=0.0)(x)  # with ADA's p at 0 nothing is changed
    assert torch.equal(none, x)


def test_colour_only_steps_on_grey_data_are_refused_before_training(tmp_path, registry):
    recipe = {"name": "grey", "seed": 0, "data": {"type": "shapes", "size": 16, "channels": 1, "length": 64},
              "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                         "discriminator": {"type": "dcgan-discriminator", "width": 8}},
              "objective": "unconditional",
              "train": {"steps": 1, "batch_size": 8, "device": "cpu", "progress": False,
                        "augment": {"policy": ["brightness", "hue", "saturation"]}},
              "output": {"dir": str(tmp_path / "run"), "trackers": []}}
    with pytest.raises(GanforgeError, match="hue, saturation work on RGB images, but this data has 1 channel"):
        train(load_recipe(write_recipe(tmp_path / "grey.yaml", recipe), registry=registry), registry=registry)
