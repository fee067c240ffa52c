"""The adversarial autoencoder: its priors draw what they say, a short run reconstructs better
and pulls the codes onto the prior, the supervised prior puts each class on its own component,
runs resume exactly, and recipes that cannot work fail at validation with the fix."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.testing import check_resume
from ganforge_classic.aae import Prior
from ganforge_classic.codes import mmd_squared


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))


def test_the_mixture_prior_draws_each_label_around_its_own_centre_on_the_circle():
    prior = Prior("mixture", z_dim=3, std=0.1, components=4, radius=5.0, radial_std=0.5)
    labels = torch.arange(4000) % 4
    codes = prior.draw_from(4000, labels, torch.Generator().manual_seed(0))
    centres = prior.centres()
    assert centres[1, :2].tolist() == pytest.approx([0.0, 5.0], abs=1e-6)
    for k in range(4):
        mine = codes[labels == k]
        assert torch.allclose(mine.mean(0), centres[k], atol=0.05)
        radial = centres[k, :2] / 5.0
        along = mine[:, :2] @ radial
        across = mine[:, :2] @ torch.stack([-radial[1], radial[0]])
        assert float(along.std()) == pytest.approx(0.5, rel=0.1) and float(across.std()) == pytest.approx(0.1, rel=0.1)
    assert float(codes[:, 2].std()) == pytest.approx(0.1, rel=0.1)
    unlabelled = prior.draw_from(4000, None, torch.Generator().manual_seed(1))
    nearest = torch.cdist(unlabelled, centres).argmin(1)
    assert torch.bincount(nearest, minlength=4).min() > 900, "components drawn uniformly without labels"
    gaussian = Prior("gaussian", z_dim=2, std=2.0, components=10, radius=1.0, radial_std=1.0)
    assert float(gaussian.draw_from(4000, None, torch.Generator().manual_seed(2)).std()) == pytest.approx(2.0, rel=0.05)


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    same = mmd_squared(a.double(), b.double())
    assert abs(same) < 0.01
    assert mmd_squared(a.double(), (b + 0.5).double()) > 10 * max(abs(same), 1e-3)
    assert mmd_squared(a.double(), (b + 2.0).double()) > mmd_squared(a.double(), (b + 0.5).double())


def ring_aae(tmp_path, name: str, steps: int = 3, **objective) -> dict:
    return {"name": name, "seed": 0,
            "data": {"type": "gaussian-mixture", "size": 512},
            "models": {"encoder": {"type": "mlp-encoder", "z_dim": 2, "width": 64, "depth": 2, "batch_norm": False},
                       "decoder": {"type": "mlp-generator", "z_dim": 2, "width": 64, "depth": 2, "batch_norm": False},
                       "discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 64, "depth": 2}},
            "objective": {"type": "aae", **objective},
            "losses": {"adversarial": "non-saturating"},
            "optim": {name: {"lr": 1e-3, "betas": [0.5, 0.999]} for name in ("encoder", "decoder", "discriminator")},
            "train": {"steps": steps, "batch_size": 64, "device": "cpu", "log_every": 1, "sample_every": steps,
                      "checkpoint_every": steps, "progress": False},
            "output": {"dir": str(tmp_path / name), "trackers": []}}


def codes_and_errors(run, nets, x) -> tuple[float, float]:
    with torch.no_grad():
        codes = run.objective.encode(nets, x)
        error = float((run.objective.reconstruct(nets, x) - x).pow(2).mean())
    prior = run.objective.prior_samples(400, None, torch.Generator().manual_seed(0))
    return mmd_squared(codes.double(), prior.double()), error


def test_a_short_run_reconstructs_better_and_pulls_the_codes_onto_the_prior(tmp_path, registry):
    recipe = ring_aae(tmp_path, "learn", steps=400, prior="gaussian")
    start = build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry)
    x = torch.stack([start.data[i]["x"] for i in range(400)])
    mmd_before, error_before = codes_and_errors(start, start.nets, x)
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    run, _ = load_generator(folder.path, registry=registry)
    mmd_after, error_after = codes_and_errors(run, run.nets, x)
    assert error_after < error_before / 3, (error_before, error_after)
    assert mmd_after < mmd_before / 4, (mmd_before, mmd_after)


def test_the_supervised_aae_trains_resumes_exactly_and_samples_class_by_class(tmp_path, registry):
    recipe = ring_aae(tmp_path, "supervised", prior="mixture", components=8, supervised=True, prior_std=0.2)
    recipe["models"]["discriminator"]["conditional"] = True
    check_resume(recipe, tmp_path / "resume", registry=registry)
    folder = train(recipe_from_data(copy.deepcopy(recipe), registry), registry=registry)
    assert {"g/reconstruction", "g/adversarial", "d/prior", "d/code"} <= set(folder.read_metrics()[-1])
    run, _ = load_generator(folder.path, registry=registry)
    inputs = run.objective.sample_inputs(16, torch.Generator().manual_seed(0))
    assert set(inputs) == {"z"}, "the decoder's one input (export feeds every sample input)"
    angles = torch.atan2(inputs["z"][:, 1], inputs["z"][:, 0]) % (2 * math.pi)
    off = (angles - (torch.arange(16) % 8) * (2 * math.pi / 8) + math.pi) % (2 * math.pi) - math.pi
    assert float(off.abs().max()) < 0.5, "each class drawn on its component"
    assert run.objective.sample(run.nets, inputs).shape == (16, 2)


@pytest.mark.parametrize("change,message", [
    (lambda r: r["models"].update(discriminator={"type": "mlp-discriminator"}), "set models.discriminator.type: code-discriminator"),
    (lambda r: r["models"]["decoder"].update(z_dim=3), r"one code size across its nets \(z_dim: encoder 2, decoder 3"),
    (lambda r: r["objective"].update(supervised=True, prior="mixture"), r"`components: 8` \(the data's classes"),
    (lambda r: r["objective"].update(supervised=True, prior="mixture", components=8), "conditional: true"),
    (lambda r: r["models"]["discriminator"].update(conditional=True), "only the supervised aae uses"),
    (lambda r: r["models"].pop("encoder"), "objective 'aae' needs an encoder named 'encoder'"),
])
def test_recipes_that_cannot_work_fail_before_step_0_with_the_fix(tmp_path, registry, change, message):
    recipe = ring_aae(tmp_path, "bad")
    change(recipe)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)


def semi_aae(tmp_path, name: str, steps: int = 3, **objective) -> dict:
    return {"name": name, "seed": 0, "data": {"type": "gaussian-mixture", "size": 1024},
            "models": {"encoder": {"type": "mlp-encoder", "z_dim": 10, "width": 64, "depth": 2, "batch_norm": False},
                       "decoder": {"type": "mlp-generator", "z_dim": 10, "width": 64, "depth": 2, "batch_norm": False},
                       "class_discriminator": {"type": "code-discriminator", "z_dim": 8, "width": 32, "depth": 1},
                       "style_discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 32, "depth": 1}},
            "objective": {"type": "aae-semi-supervised", "labels": 16, "labelled_batch": 16, **objective},
            "losses": {"adversarial": "non-saturating"},
            "optim": {name: {"lr": 1e-3, "betas": [0.5, 0.999]}
                      for name in ("encoder", "decoder", "class_discriminator", "style_discriminator")},
            "train": {"steps": steps, "batch_size": 64, "device": "cpu", "log_every": 1, "sample_every": steps,
                      "checkpoint_every": steps, "progress": False},
            "output": {"dir": str(tmp_path / name), "trackers": []}}


def test_the_semi_supervised_aae_learns_the_classes_from_two_labels_each(tmp_path, registry):
    recipe = semi_aae(tmp_path, "semi", steps=300)
    run = build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry)
    assert torch.bincount(run.objective.subset.y, minlength=8).tolist() == [2] * 8
    x = torch.stack([run.data[i]["x"] for i in range(500)])
    y = torch.stack([run.data[i]["y"] for i in range(500)])
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    trained, _ = load_generator(folder.path, registry=registry)
    with torch.no_grad():
        accuracy = float((trained.objective.classify(trained.nets, x).argmax(1) == y).float().mean())
    assert accuracy > 0.8, accuracy
    logged = folder.read_metrics()[-1]
    assert {"d/class", "d/style", "g/supervised", "g/reconstruction"} <= set(logged)
    inputs = trained.objective.sample_inputs(16, torch.Generator().manual_seed(0))
    assert inputs["z"][:, :8].argmax(1).tolist() == [k % 8 for k in range(16)]
    assert trained.objective.sample(trained.nets, inputs).shape == (16, 2)


def test_the_semi_supervised_aae_resumes_exactly(tmp_path, registry):
    check_resume(semi_aae(tmp_path, "semi-resume"), tmp_path, registry=registry)


@pytest.mark.parametrize("change,message", [
    (lambda r: [r["models"][n].update(z_dim=8) for n in ("encoder", "decoder")],
     r"splits the code into 8 class logits and a style code: set z_dim to 8 \+ the style size"),
    (lambda r: r["models"]["class_discriminator"].update(z_dim=3), "models.class_discriminator judges codes of 8 values"),
    (lambda r: r["models"].update(style_discriminator={"type": "mlp-discriminator"}), "set its type: code-discriminator"),
])
def test_a_semi_supervised_aae_that_cannot_work_fails_before_step_0(tmp_path, registry, change, message):
    recipe = semi_aae(tmp_path, "bad")
    change(recipe)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
