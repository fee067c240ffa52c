"""The translation games, trained briefly on built-in shapes: pix2pix and pix2pixHD learn the
edges -> polygon mapping, CycleGAN learns to recolour without pairs, resumes bit for bit with its
image pools, and pix2pixHD trains coarse to fine; misconfigurations fail with the fix."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from translation_fixtures import one_thread, registry, tiny_cyclegan, tiny_pix2pix, with_eval  # noqa: F401 (fixtures)
from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.eval.runner import build_evaluators, evaluate
from ganforge.pipeline import evaluate_checkpoint, sample, train
from ganforge.recipe import recipe_from_data
from ganforge_translation.objectives import ImagePool


def fit(recipe: dict, registry, resume: bool = False):
    return train(recipe_from_data(recipe, registry), registry=registry, resume=resume)


def evaluations(folder) -> list[dict]:
    return json.loads((folder.path / "eval.json").read_text())


def untrained_metrics(recipe: dict, registry) -> dict:
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    return evaluate(run, build_evaluators(run, run.recipe.eval.metrics), batch_size=64)["metrics"]


def test_pix2pix_learns_edges_to_polygons(tmp_path, registry):
    recipe = with_eval(tiny_pix2pix(tmp_path, steps=150), 150, ["l1", "psnr", "ssim"])
    before = untrained_metrics(recipe, registry)
    folder = fit(recipe, registry)
    after = evaluations(folder)[-1]["metrics"]
    assert after["l1"] < 0.3 * before["l1"]
    assert after["psnr"] > before["psnr"] + 6 and after["ssim"] > before["ssim"]
    losses = [json.loads(line) for line in (folder.path / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1]["g/l1"] < 0.5 * losses[0]["g/l1"]
    assert {"d/loss", "g/adversarial", "g/l1"} <= set(losses[-1])
    sheet = folder.path / "samples" / "step_00000150.png"
    assert sheet.is_file()  # input | output | target rows


def test_pix2pix_l2_reconstruction_and_weight(tmp_path, registry):
    recipe = tiny_pix2pix(tmp_path, steps=2)
    recipe["objective"].update({"reconstruction": "l2", "reconstruction_weight": 5})
    folder = fit(recipe, registry)
    assert "g/l2" in (folder.path / "metrics.jsonl").read_text()


def identity_l1(recipe: dict, registry) -> float:
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    data = run.ctx.build("data", run.recipe.eval.data)
    return float(torch.stack([(data[i]["source"] - data[i]["x"]).abs().mean() / 2 for i in range(len(data))]).mean())


def test_cyclegan_learns_to_recolour_without_pairs(tmp_path, registry):
    recipe = with_eval(tiny_cyclegan(tmp_path, steps=150), 150, ["cycle-error", "l1"])
    before = untrained_metrics(recipe, registry)
    folder = fit(recipe, registry)
    after = evaluations(folder)[-1]["metrics"]
    assert after["cycle_error"] < 0.5 * before["cycle_error"]
    assert after["l1"] < 0.6 * identity_l1(recipe, registry)  # a real recolouring, not a copy of the input
    logged = (folder.path / "metrics.jsonl").read_text()
    assert all(key in logged for key in ("g/cycle", "g/identity", "d_a/loss", "d_b/loss"))


def test_cyclegan_defaults_to_least_squares(registry):
    recipe = tiny_cyclegan(__import__("pathlib").Path("/tmp/unused"))
    assert recipe_from_data(recipe, registry).recipe.losses["adversarial"].type == "least-squares"
    recipe["losses"] = {"adversarial": "hinge"}
    assert recipe_from_data(recipe, registry).recipe.losses["adversarial"].type == "hinge"


def test_cyclegan_resumes_bit_for_bit_with_its_image_pools(tmp_path, registry):
    straight = tiny_cyclegan(tmp_path / "a", steps=24, checkpoint_every=12)
    fit(straight, registry)
    halves = tiny_cyclegan(tmp_path / "b", steps=12, checkpoint_every=12)
    fit(halves, registry)
    halves["train"]["steps"] = 24
    fit(halves, registry, resume=True)
    one = load_file(tmp_path / "a" / "run" / "checkpoints" / "step_00000024" / "nets.safetensors")
    two = load_file(tmp_path / "b" / "run" / "checkpoints" / "step_00000024" / "nets.safetensors")
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
    state = torch.load(tmp_path / "b" / "run" / "checkpoints" / "step_00000024" / "state.pt", weights_only=True)
    assert state["objective"]["fake_b"]["images"].shape == (8, 3, 16, 16)  # a full pool of 8


def test_image_pool_returns_new_images_until_full_then_mixes_history():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)
    later = torch.full((64, 1, 1, 1), 9.0)
    mixed = pool.query(later)
    from_history = (mixed != 9).sum().item()
    assert 0 < from_history <= 4  # old images come back (each at most once: it is swapped out)
    restored = ImagePool(4)
    restored.load_state_dict(pool.state_dict(), torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(pool.images, restored.images))
    assert torch.equal(ImagePool(0).query(later), later)
    tracked = later.clone().requires_grad_(True)
    assert not ImagePool(0).query(tracked).requires_grad, "a discriminator step never backpropagates into G"


def tiny_pix2pixhd(tmp_path, steps: int, **objective) -> dict:
    recipe = tiny_pix2pix(tmp_path, steps=steps)
    recipe["data"]["size"] = recipe["eval"]["data"]["size"] = 32  # two scales, and a coarse stage at 16 px
    recipe["models"] = {
        "generator": {"type": "pix2pixhd-generator", "width": 4, "global_downsamplings": 1, "global_blocks": 1,
                      "local_blocks": 1},
        "discriminator": {"type": "multiscale-discriminator", "scales": 2, "receptive_field": 16, "width": 8,
                          "conditional": True, "norm": "none"},
    }
    recipe["objective"] = {"type": "pix2pixhd", "perceptual_weight": 0, **objective}
    recipe["losses"] = {"adversarial": "least-squares"}
    return recipe


def test_pix2pixhd_trains_coarse_then_local_with_global_fixed_then_both(tmp_path, registry):
    recipe = tiny_pix2pixhd(tmp_path, steps=9, coarse_steps=3, freeze_global_steps=3)
    recipe["train"].update({"checkpoint_every": 3, "keep_checkpoints": 5})
    start = {k: v.clone() for k, v in build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
             .nets["generator"].state_dict().items()}
    folder = fit(recipe, registry)

    def weights(step):
        saved = load_file(folder.checkpoints / f"step_{step:08d}" / "nets.safetensors")
        return {k[len("generator."):]: v for k, v in saved.items() if k.startswith("generator.")}

    def changed(before, after, part):
        return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(part) and before[k].is_floating_point())

    coarse, frozen, fine = weights(3), weights(6), weights(9)
    assert changed(start, coarse, "global_net.body") and not changed(start, coarse, "local_")
    assert changed(coarse, frozen, "local_") and not changed(coarse, frozen, "global_net")
    assert changed(frozen, fine, "global_net.body") and changed(frozen, fine, "local_")
    state = torch.load(folder.checkpoints / "step_00000006" / "state.pt", weights_only=True)
    assert state["objective"]["steps_done"] == 6


def random_vgg_file(path, depth: int = 7):
    from torchvision.models.vgg import cfgs, make_layers

    trunk = make_layers(cfgs["E"])[:depth]
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, path)
    return path


def test_pix2pixhd_learns_with_feature_matching_and_a_perceptual_loss(tmp_path, registry):
    recipe = with_eval(tiny_pix2pixhd(tmp_path, steps=60, perceptual_weight=1.0), 60, ["l1"])
    recipe["losses"]["perceptual"] = {"type": "vgg-perceptual", "layers": ["relu1_1", "relu2_1"],
                                      "layer_weights": [1.0, 1.0], "weights": str(random_vgg_file(tmp_path / "vgg.pth"))}
    before = untrained_metrics(recipe, registry)
    folder = fit(recipe, registry)
    assert evaluations(folder)[-1]["metrics"]["l1"] < 0.6 * before["l1"]
    logged = [json.loads(line) for line in (folder.path / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["g/feature_matching"] > 0 and logged[-1]["g/perceptual"] > 0


def test_discriminators_too_deep_for_the_images_say_so(tmp_path, registry):
    recipe = tiny_pix2pixhd(tmp_path, steps=1, coarse_steps=5)
    recipe["models"]["discriminator"].update(scales=3, receptive_field=70)
    with pytest.raises(GanforgeError, match="70 and 3 scales needs images of at least 96 px; the data's are 32 px"):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    recipe["models"]["discriminator"]["receptive_field"] = 16
    with pytest.raises(GanforgeError, match=r"coarse stage judges 16 px images, smaller than .* \(24 px\)"):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)


def test_pix2pixhd_perceptual_weight_needs_a_perceptual_loss(tmp_path, registry):
    recipe = tiny_pix2pixhd(tmp_path, steps=1, perceptual_weight=10)
    with pytest.raises(GanforgeError, match="needs a loss named 'perceptual' .for example `perceptual: vgg-perceptual`"):
        recipe_from_data(recipe, registry)


@pytest.mark.parametrize("change,message", [
    (lambda r: r["models"]["discriminator"].update(conditional=False), "discriminator.conditional: true"),
    (lambda r: r.update(data={"type": "shapes-recolor", "size": 16, "length": 64}), "unpaired; use paired data"),
    (lambda r: r.update(data={"type": "shapes", "size": 16, "length": 64}), "no `source` images"),
    (lambda r: r["losses"].update(extra="r1"), "does not use loss"),
])
def test_pix2pix_misconfigurations_say_the_fix(tmp_path, registry, change, message):
    recipe = tiny_pix2pix(tmp_path, steps=1)
    recipe["losses"] = {"adversarial": "non-saturating"}
    change(recipe)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)


def test_cyclegan_identity_loss_needs_matching_channels(tmp_path, registry):
    recipe = tiny_cyclegan(tmp_path)
    recipe["data"] = {"type": "shapes-edges", "size": 16, "length": 64}
    with pytest.raises(GanforgeError, match="identity_weight: 0"):
        build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    recipe["objective"]["identity_weight"] = 0
    run = build_run(recipe_from_data(recipe, registry).recipe, registry=registry)
    assert run.nets["g_ba"].out_channels == 1 and run.nets["d_a"].blocks[0][0].in_channels == 1


def test_paired_metrics_refuse_unpaired_evaluation_data(tmp_path, registry):
    recipe = with_eval(tiny_cyclegan(tmp_path, steps=2), 2, ["l1"])
    recipe["eval"]["data"]["paired"] = False
    with pytest.raises(GanforgeError, match="unpaired"):
        fit(recipe, registry)


def test_cli_evaluation_of_a_translation_run_uses_the_held_out_data(tmp_path, registry):
    folder = fit(tiny_pix2pix(tmp_path, steps=2), registry)
    record = evaluate_checkpoint(folder.path, metrics=["l1", "psnr"], registry=registry)
    assert record["protocols"]["l1"]["pairs"] == 64  # eval.data's 64 held-out items, not the 512 training ones
    with pytest.raises(GanforgeError, match="ganforge translate"):
        sample(folder.path, 4, registry=registry)
