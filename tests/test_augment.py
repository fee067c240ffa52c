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
