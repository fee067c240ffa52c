"""The shipped translation recipes: the built-in ones train end to end; those on
``../shared/data`` build their data and nets and translate a held-out image (skipped, saying
why, where the data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from translation_fixtures import SHARED_DATA, one_thread  # noqa: F401 (fixtures)
from ganforge.build import build_run
from ganforge.pipeline import train
from ganforge.recipe import load_recipe

RECIPES = Path(__file__).resolve().parents[3] / "recipes"


@pytest.mark.parametrize("name", ["pix2pix-shapes", "cyclegan-shapes", "pix2pixhd-shapes"])
def test_built_in_recipes_train_and_evaluate(tmp_path, name):
    overrides = [f"output.dir={tmp_path / 'run'}", "output.trackers=[]", "train.progress=false", "train.steps=4",
                 "eval.every=4", "train.batch_size=4", "eval.data.length=8", "train.sample_count=2"]
    if name == "pix2pixhd-shapes":
        overrides += ["objective.coarse_steps=2", "objective.freeze_global_steps=1"]
    folder = train(load_recipe(RECIPES / f"{name}.yaml", overrides))
    assert (folder.path / "eval.json").is_file() and (folder.checkpoints / "step_00000004").is_dir()


REAL = {
    "pix2pix-facades": ("facades", (3, 256, 256), (3, 256, 256), []),
    "pix2pixhd-facades": ("facades", (3, 256, 256), (3, 256, 256),
                          ["losses.perceptual.layers=[relu1_1]", "losses.perceptual.layer_weights=[1.0]"]),
    "cyclegan-summer2winter": ("summer2winter_yosemite", (3, 256, 256), (3, 256, 256), []),
    "dualgan-summer2winter": ("summer2winter_yosemite", (3, 256, 256), (3, 256, 256), []),
    "edges2faces-celeba": ("celeba", (1, 256, 256), (3, 256, 256), []),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_data_recipes_build_and_translate(name, tmp_path):
    folder, source_shape, shape, overrides = REAL[name]
    if not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"../shared/data/{folder} is not here")
    if name == "pix2pixhd-facades":  # random VGG19 weights for the layer it uses (no ImageNet file here)
        from torchvision.models.vgg import cfgs, make_layers

        torch.save({f"features.{k}": v for k, v in make_layers(cfgs["E"])[:2].state_dict().items()}, tmp_path / "vgg.pth")
        overrides = [*overrides, f"losses.perceptual.weights={tmp_path / 'vgg.pth'}"]
    recipe = load_recipe(RECIPES / f"{name}.yaml", overrides).recipe
    run = build_run(recipe)
    assert run.data.info.source_shape == source_shape and run.data.info.shape == shape
    held_out = run.ctx.build("data", recipe.eval.data)
    item = held_out[0]
    assert item["source"].shape == source_shape and item["x"].shape == shape
    for net in run.nets.values():
        net.eval()
    with torch.no_grad():
        output, target = run.objective.paired_outputs(run.nets, {k: v[None] for k, v in item.items()})
    assert output.shape == target.shape == (1, *shape)
