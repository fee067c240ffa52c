"""DualGAN: CycleGAN's cycles against weight-clipped Wasserstein critics. A short run on the
recolouring shapes learns the cycles, the critics stay clipped, the run resumes bit for bit and
translates both ways; a reversed generator or a non-Wasserstein loss fails before step 0."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from translation_fixtures import one_thread, registry, tiny_cyclegan, with_eval  # noqa: F401 (fixtures)
from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.eval.runner import build_evaluators, evaluate
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.testing import check_resume
from ganforge.train.checkpoint import list_checkpoints, load_checkpoint


def tiny_dualgan(tmp_path, steps: int = 40, **objective) -> dict:
    recipe = tiny_cyclegan(tmp_path, steps=steps)
    for name in ("d_a", "d_b"):
        recipe["models"][name]["norm"] = "none"
    recipe["objective"] = {"type": "dualgan", "cycle_weight": 100, "clip": 0.05, **objective}
    recipe["optim"] = {name: {"type": "rmsprop", "lr": 5e-4} for name in ("g_ab", "g_ba", "d_a", "d_b")}
    return recipe


def test_dualgan_learns_both_cycles_with_clipped_critics(tmp_path, registry):
    recipe = with_eval(tiny_dualgan(tmp_path, steps=120), 120, ["cycle-error"])
    untrained = build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry)
    before = evaluate(untrained, build_evaluators(untrained, untrained.recipe.eval.metrics), batch_size=64)["metrics"]
    assert untrained.recipe.losses["adversarial"].type == "wasserstein", "the default loss"
    folder = train(recipe_from_data(recipe, registry), registry=registry)
    after = json.loads((folder.path / "eval.json").read_text())[-1]["metrics"]
    assert after["cycle_error"] < 0.5 * before["cycle_error"]
    logged = [json.loads(line) for line in (folder.path / "metrics.jsonl").read_text().splitlines()]
    assert {"g/cycle", "d_a/loss", "d_b/loss"} <= set(logged[-1]) and "g/identity" not in logged[-1]
    nets, _, _ = load_checkpoint(list_checkpoints(folder.checkpoints)[-1])
    critics = [v for k, v in nets.items() if k.split(".")[0] in ("d_a", "d_b") and v.is_floating_point()]
    assert critics and max(float(v.abs().max()) for v in critics) <= 0.05 + 1e-7
    run, _ = load_generator(folder.path, registry=registry)
    source = torch.rand(2, 3, 16, 16) * 2 - 1
    assert run.objective.translate(run.nets, source).shape == run.objective.translate(run.nets, source, True).shape


def test_dualgan_takes_two_critic_steps_and_resumes_exactly(tmp_path, registry):
    recipe = tiny_dualgan(tmp_path, steps=3)
    recipe["train"].update(checkpoint_every=3, log_every=1)
    assert build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry).objective.d_steps == 2
    check_resume(recipe, tmp_path, registry=registry)


def test_a_reversed_generator_or_another_loss_fails_before_step_0(tmp_path, registry):
    recipe = tiny_dualgan(tmp_path)
    recipe["data"] = {"type": "shapes-edges", "size": 16, "length": 16}  # 1-channel edges -> 3-channel shapes
    recipe["eval"]["data"] = dict(recipe["data"])
    build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry)
    recipe["models"]["g_ba"]["reverse"] = False
    with pytest.raises(GanforgeError, match=r"models.g_ba maps 1 to 3 channels, but the dualgan objective needs it "
                                            r"to map 3 to 1 .*set `reverse: true` on it"):
        build_run(recipe_from_data(copy.deepcopy(recipe), registry).recipe, registry=registry)
    hinge = tiny_dualgan(tmp_path)
    hinge["losses"] = {"adversarial": "hinge"}
    with pytest.raises(GanforgeError, match="set `losses.adversarial: wasserstein`"):
        build_run(recipe_from_data(hinge, registry).recipe, registry=registry)
