"""The classic games, trained briefly: each learns what it should on the labelled 8-mode ring
(conditional samples land on their class's mode, the classifiers recover the modes), every
image variant runs end to end, and misconfigurations fail with errors that say the fix."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.eval.evaluators import match_classes
from ganforge.eval.runner import build_evaluators, evaluate
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.train.checkpoint import list_checkpoints


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))


def tiny_ring(tmp_path: Path, **train) -> dict:
    return {
        "name": "ring", "seed": 3,
        "data": {"type": "gaussian-mixture", "layout": "ring", "size": 2000},
        "models": {"generator": {"type": "mlp-generator", "z_dim": 2, "width": 64, "depth": 2},
                   "discriminator": {"type": "mlp-discriminator", "width": 64, "depth": 2}},
        "objective": "unconditional",
        "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 1e-3}},
        "train": {"device": "cpu", "progress": False, **train},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def ring(tmp_path: Path, objective, steps: int = 400, **models) -> dict:
    recipe = tiny_ring(tmp_path, steps=steps, batch_size=64, log_every=100, sample_every=1000, checkpoint_every=1000)
    for name, params in models.items():
        recipe["models"][name].update(params)
    recipe["objective"] = objective
    return recipe


def trained(recipe: dict, registry):
    torch.set_num_threads(1)
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    run, _ = load_generator(folder.path, registry=registry)
    fresh = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    return folder, run, fresh.data


def real_points(data, n: int = 800) -> tuple[torch.Tensor, torch.Tensor]:
    items = [data[i] for i in range(n)]
    return torch.stack([i["x"] for i in items]), torch.stack([torch.as_tensor(i["y"]) for i in items]).long()


def near_own_mode(run, data) -> float:
    """Share of class-conditional samples within 0.2 of their class's mode centre."""
    inputs = run.objective.sample_inputs(800, torch.Generator().manual_seed(0))
    with torch.no_grad():
        points = run.objective.sample(run.nets, inputs)
    return float(((points - data.centers[inputs["y"]]).norm(dim=1) < 0.2).float().mean())


@pytest.mark.parametrize("objective,discriminator", [
    ("conditional", {"conditional": True}),
    ("acgan", {"aux_outputs": 8}),
])
def test_labelled_games_put_each_class_on_its_mode(tmp_path, registry, objective, discriminator):
    recipe = ring(tmp_path, objective, steps=600, generator={"conditional": True}, discriminator=discriminator)
    _, run, data = trained(recipe, registry)
    share = near_own_mode(run, data)
    assert share > 0.7, share  # an untrained generator puts ~0 there; chance (ignoring y) is ~1/8


def test_acgan_and_semi_supervised_discriminators_classify_the_modes(tmp_path, registry):
    recipe = ring(tmp_path / "acgan", "acgan", generator={"conditional": True}, discriminator={"aux_outputs": 8})
    _, run, data = trained(recipe, registry)
    x, y = real_points(data)
    with torch.no_grad():
        assert float((run.objective.classify(run.nets, x).argmax(1) == y).float().mean()) > 0.9

    recipe = ring(tmp_path / "sgan", {"type": "semi-supervised", "labels": 8, "labelled_batch": 16},
                  discriminator={"aux_outputs": 8})
    folder, run, data = trained(recipe, registry)
    labelled = build_run(recipe_from_data(recipe, registry).recipe, registry=registry).objective.subset.y
    assert sorted(labelled.tolist()) == list(range(8)), "one labelled example per class"
    with torch.no_grad():
        accuracy = float((run.objective.classify(run.nets, x).argmax(1) == y).float().mean())
    assert accuracy > 0.9, f"from 8 labels, the (K+1)-class D classifies held-out points: {accuracy}"
    logged = folder.read_metrics()[-1]
    assert {"d/loss_supervised", "d/loss_unsupervised", "d/accuracy_labelled"} <= set(logged)


def test_infogan_code_discovers_the_modes(tmp_path, registry):
    recipe = ring(tmp_path, {"type": "infogan", "categorical": [8], "continuous": 0},
                  generator={"z_dim": 10}, discriminator={"aux_outputs": 8})
    folder, run, data = trained(recipe, registry)
    x, y = real_points(data)
    with torch.no_grad():
        predicted = run.objective.classify(run.nets, x).argmax(1)
    matched = float((match_classes(predicted, y) == y).float().mean())
    assert matched > 0.7, f"without labels, Q's code splits the ring by mode: {matched}"
    assert folder.read_metrics()[-1]["q/accuracy_0"] > 0.9, "Q recovers the code from G's samples"


def test_semi_supervised_picks_a_balanced_fixed_subset(tmp_path, registry):
    from ganforge_classic.semi_supervised import balanced_subset

    labels = torch.arange(100) % 4
    first, again = balanced_subset(labels, 10, 4, seed=1), balanced_subset(labels, 10, 4, seed=1)
    assert torch.equal(first, again) and len(set(first.tolist())) == 10
    assert np.bincount(labels[first].numpy()).tolist() == [3, 3, 2, 2]
    assert not torch.equal(first, balanced_subset(labels, 10, 4, seed=2))
    with pytest.raises(GanforgeError, match="wants 30 labelled examples of class 0 but the data has 25"):
        balanced_subset(labels, 120, 4, seed=0)


def test_match_classes_undoes_a_permutation():
    labels = torch.arange(40) % 4
    permuted = (labels + 1) % 4
    assert float((match_classes(permuted, labels) == labels).float().mean()) == 1.0
    assert float((permuted == labels).float().mean()) == 0.0


# ---------------------------------------------------------------- image games end to end

def shapes(tmp_path: Path, name: str, objective, *, losses=None, train=None, **models) -> dict:
    recipe = {
        "name": name, "seed": 1,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 16, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8}},
        "objective": objective,
        "losses": losses or {"adversarial": "non-saturating"},
        "train": {"steps": 3, "batch_size": 8, "device": "cpu", "log_every": 1, "sample_every": 3,
                  "checkpoint_every": 3, "progress": False, **(train or {})},
        "output": {"dir": str(tmp_path / name), "trackers": []},
    }
    for net, params in models.items():
        recipe["models"].setdefault(net, {}).update(params)
    return recipe


IMAGE_GAMES = {
    "lsgan": dict(objective="unconditional", losses={"adversarial": "least-squares"}),
    "wgan-gp": dict(objective={"type": "unconditional", "d_steps": 2}, discriminator={"norm": "none"},
                    losses={"adversarial": "wasserstein", "gp": "gradient-penalty"}),
    "sngan-r1": dict(objective="unconditional", discriminator={"norm": "spectral"},
                     losses={"adversarial": "hinge", "r1": {"type": "r1", "gamma": 1.0}}),
    "cgan": dict(objective="conditional", generator={"conditional": True}, discriminator={"conditional": True}),
    "acgan": dict(objective="acgan", generator={"conditional": True}, discriminator={"aux_outputs": 6}),
    "infogan": dict(objective={"type": "infogan", "categorical": [6], "continuous": 2},
                    discriminator={"aux_outputs": 8}),
    "sgan": dict(objective={"type": "semi-supervised", "labels": 12, "labelled_batch": 6},
                 discriminator={"aux_outputs": 6}),
    "bigan": dict(objective="bigan", encoder={"type": "dcgan-encoder", "z_dim": 16, "width": 8},
                  discriminator={"type": "joint-mlp-discriminator", "z_dim": 16, "width": 32}),
    "diffaugment": dict(objective="unconditional", train={"augment": {}}),
}


@pytest.mark.parametrize("game", sorted(IMAGE_GAMES))
def test_every_game_trains_on_images_and_resumes(tmp_path, registry, game):
    recipe = shapes(tmp_path, game, **copy.deepcopy(IMAGE_GAMES[game]))
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    records = folder.read_metrics()
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(np.isfinite(v) for r in records for k, v in r.items() if "/" in k)
    assert list_checkpoints(folder.checkpoints) and (folder.samples / "step_00000003.png").is_file()
    recipe["train"]["steps"] = 4
    folder = train(recipe_from_data(recipe, registry), resume=True, registry=registry)
    assert folder.read_metrics()[-1]["step"] == 4
    run, step = load_generator(folder.path, registry=registry)
    samples = run.objective.sample(run.nets, run.objective.sample_inputs(5, torch.Generator().manual_seed(0)))
    assert step == 4 and samples.shape == (5, 3, 16, 16)


def test_wgan_clips_every_critic_weight(tmp_path, registry):
    recipe = shapes(tmp_path, "wgan", {"type": "wgan", "clip": 0.01, "d_steps": 2},
                    losses={"adversarial": "wasserstein"})
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    run, _ = load_generator(folder.path, registry=registry)
    from ganforge.train.checkpoint import load_checkpoint

    nets, _, _ = load_checkpoint(list_checkpoints(folder.checkpoints)[-1])
    weights = {f"discriminator.{name}" for name, _ in run.nets["discriminator"].named_parameters()}
    critic = [v for k, v in nets.items() if k in weights]
    assert len(critic) == len(weights) and max(float(v.abs().max()) for v in critic) <= 0.01 + 1e-7
    generator = [v for k, v in nets.items() if k.startswith("generator.") and v.is_floating_point()]
    assert max(float(v.abs().max()) for v in generator) > 0.01, "only the critic is clipped"
    with pytest.raises(GanforgeError, match="losses.adversarial: wasserstein"):
        build_run(recipe_from_data(shapes(tmp_path, "x", "wgan"), registry).recipe, registry=registry)


def test_bigan_trains_generator_and_encoder_together(tmp_path, registry):
    recipe = shapes(tmp_path, "bigan", **copy.deepcopy(IMAGE_GAMES["bigan"]))
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    objective, nets = run.objective, run.nets
    assert objective.generators == ("generator", "encoder") and objective.discriminators == ("discriminator",)
    batch = {"x": torch.rand(8, 3, 16, 16) * 2 - 1}
    loss, _ = objective.generator_loss(nets, batch)
    loss.backward()
    assert all(p.grad is not None for p in nets["encoder"].parameters())
    assert all(p.grad is not None for p in nets["generator"].parameters())
    assert objective.encode(nets, batch["x"]).shape == (8, 16)
    assert objective.reconstruct(nets, batch["x"]).shape == (8, 3, 16, 16)


# ---------------------------------------------------------------- heldout-accuracy

def test_heldout_accuracy_scores_the_objectives_classifier(tmp_path, registry):
    recipe = shapes(tmp_path, "sgan", **copy.deepcopy(IMAGE_GAMES["sgan"]))
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    items = [run.data[i] for i in range(40)]
    x = torch.stack([i["x"] for i in items])
    y = np.array([int(i["y"]) for i in items])
    pixels = ((x.permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    np.savez(tmp_path / "test.npz", x_test=pixels, y_test=y)
    recipe["eval"] = {"metrics": [{"type": "heldout-accuracy", "samples": 30, "data": {
        "type": "npz", "path": str(tmp_path / "test.npz"), "images": "x_test", "labels": "y_test"}}]}
    loaded = recipe_from_data(recipe, registry)
    evaluators = build_evaluators(run, loaded.recipe.eval.metrics)
    result = evaluate(run, evaluators, batch_size=16)
    run.nets["discriminator"].eval()
    with torch.no_grad():
        stored = torch.as_tensor(pixels[:30]).permute(0, 3, 1, 2).float() / 127.5 - 1
        expected = float((run.objective.classify(run.nets, stored).argmax(1).numpy() == y[:30]).mean())
    assert result["metrics"]["heldout_accuracy"] == pytest.approx(expected)
    assert result["protocols"]["heldout-accuracy"]["samples"] == 30
    again = evaluate(run, evaluators, batch_size=16)  # the same evaluator, run again (periodic evaluation)
    assert again["metrics"] == result["metrics"] and again["protocols"]["heldout-accuracy"]["samples"] == 30

    recipe["objective"], recipe["models"]["discriminator"] = "unconditional", {"type": "dcgan-discriminator", "width": 8}
    plain = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    missing = "heldout-accuracy.*needs objective .unconditional.*to implement Classifies.*it has no classify"
    with pytest.raises(GanforgeError, match=missing):  # raised while the evaluators are built
        build_evaluators(plain, loaded.recipe.eval.metrics)


# ---------------------------------------------------------------- misconfigurations

@pytest.mark.parametrize("game,change,message", [
    ("acgan", {"discriminator": {"aux_outputs": 3}}, r"needs discriminator 'discriminator' with `aux_outputs: 6`"),
    ("acgan", {"generator": {"conditional": False}}, r"needs a conditional generator; set models.generator.conditional: true"),
    ("cgan", {"discriminator": {"conditional": False}}, "needs a conditional discriminator"),
    ("infogan", {"generator": {"z_dim": 8}}, r"z_dim \(8\) must exceed the code size 8"),
    ("bigan", {"encoder": {"z_dim": 4}}, "needs one latent size across its nets"),
    ("acgan", {"discriminator": {"aux_outputs": 6, "pack": 2}}, "cannot be combined with pack: 2"),
])
def test_misconfigured_games_say_the_fix(tmp_path, registry, game, change, message):
    spec = copy.deepcopy(IMAGE_GAMES[game])
    for net, params in change.items():
        spec.setdefault(net, {}).update(params)
    recipe = shapes(tmp_path, game, **spec)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)


def test_bigan_refuses_regularisers_of_x_alone(tmp_path, registry):
    recipe = shapes(tmp_path, "bigan", **copy.deepcopy(IMAGE_GAMES["bigan"]),
                    losses={"adversarial": "non-saturating", "gp": "gradient-penalty"})
    with pytest.raises(GanforgeError, match=r"bigan objective does not know what to do with loss 'gp'.*`adversarial` only"):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)


def test_conditional_nets_refuse_to_run_without_labels(tmp_path, registry):
    recipe = shapes(tmp_path, "cgan", **copy.deepcopy(IMAGE_GAMES["cgan"]))
    recipe["data"] = {"type": "gaussian-mixture", "layout": "custom", "centers": [[0, 0]]}
    recipe["models"] = {"generator": {"type": "mlp-generator", "conditional": True},
                        "discriminator": {"type": "mlp-discriminator", "conditional": True}}
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)  # one class: labels exist
    with pytest.raises(GanforgeError, match="needs class labels y"):
        run.nets["generator"](torch.randn(2, 64))


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("layout", ["ring", "grid"])
def test_the_fast_2d_recipes_are_the_benchmarked_variant(layout):
    """docs/results.md reports pacgan2-<layout>-fast from the mode-collapse-search suite's run of
    that variant (its store rows); the shipped recipe must train exactly that, and the store
    must hold those seeds."""
    from ganforge.bench.runner import job_sha256, plan, stored
    from ganforge.bench.store import ResultsStore, training_sha256
    from ganforge.bench.suite import load_suite
    from ganforge.recipe import load_recipe

    suite = load_suite(REPO / "recipes" / "bench" / "mode-collapse-search.yaml")
    jobs = [job for job in plan(suite, Path("unused")) if job.run == f"pacgan2-{layout}+lr1e-3+ema+decay"]
    shipped = load_recipe(REPO / "recipes" / f"pacgan2-{layout}-fast.yaml", [f"seed={jobs[0].seed}"]).resolved()
    assert training_sha256(shipped) == job_sha256(jobs[0])
    assert all(stored(job, ResultsStore(suite.store_path)) is not None for job in jobs)
