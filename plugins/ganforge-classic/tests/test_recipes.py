"""Every classic-zoo recipe trains: two steps on a slice of its data (real data from
../shared/data when present; the built-in ones always)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganforge.pipeline import train
from ganforge.recipe import load_recipe

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data"
ZOO = ["cgan-shapes", "acgan-mnist", "infogan-mnist", "sgan-mnist-100labels", "wgan-gp-cifar10", "sngan-cifar10",
       "bigan-mnist", "pacgan2-ring", "pacgan2-grid", "dcgan-stacked-mnist", "pacdcgan2-stacked-mnist",
       "bgan-mnist", "bgan-binary-mnist", "aae-mnist", "aae-mnist-mixture", "aae-mnist-semi-supervised",
       "cogan-mnist-edges", "cogan-mnist-negative", "ccgan-cifar10"]
NEEDS = {"mnist": SHARED / "mnist" / "mnist.npz", "cifar10": SHARED / "cifar10" / "cifar10_jpg.zip"}


@pytest.mark.parametrize("name", ZOO)
def test_zoo_recipe_trains_two_steps(tmp_path, name):
    need = next((path for key, path in NEEDS.items() if key in name), None)
    if need is not None and not need.is_file():
        pytest.skip(f"{need} is not here (see ../shared/data/README.md)")
    path = REPO / "recipes" / f"{name}.yaml"
    overrides = [f"output.dir={tmp_path / 'run'}", "output.trackers=[]", "train.steps=2", "train.batch_size=8",
                 "train.log_every=1", "train.progress=false", "train.device=cpu", "eval.every=null",
                 "eval.best=null", "train.ema=null"]
    recipe = load_recipe(path).recipe
    data_type = recipe.data.type
    if data_type in ("npz", "image-folder", "coupled-npz"):  # (a slice of sorted class folders holds one class)
        overrides.append("data.limit=120")
    if data_type == "stacked-mnist":
        overrides.append("data.length=64")
    if "labels" in type(recipe.objective).model_fields:  # a labelled subset: 2 a class of the slice
        overrides += ["objective.labels=20", "objective.labelled_batch=8"]
    folder = train(load_recipe(path, overrides))
    records = folder.read_metrics()
    assert [r["step"] for r in records] == [1, 2]
    assert all(np.isfinite(v) for r in records for k, v in r.items() if "/" in k)
