"""Every modern recipe's CPU cut trains and resumes bit for bit: two steps at batch 4, on its own
data when ../shared/data has it, else on built-in shapes of the same size (so that the nets, the
game, the EMA and ADA of the shipped settings are exercised on every machine)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ganforge.recipe import load_recipe
from ganforge.testing import check_resume

REPO = Path(__file__).resolve().parents[3]
CUTS = ["r3gan-stacked-mnist-cpu", "r3gan-stacked-mnist-cpu-uniform", "r3gan-cifar10-cpu", "stylegan2-cifar10-cpu",
        "stylegan2-ada-celeba-64-cpu"]


def on_this_machine(data: dict) -> bool:
    """Whether a recipe's data file or folder is here (a folder inside a zip: the zip)."""
    where = str(data.get("path") or data.get("root"))
    return Path(where.split(".zip")[0] + ".zip" if ".zip" in where else where).exists()


def shrunk(name: str) -> dict:
    """The shipped recipe at test size: batch 4, the EMA from step 1, no evaluation, a slice of
    its data, or built-in shapes of the same side when its data is not on this machine."""
    recipe = load_recipe(REPO / "recipes" / f"{name}.yaml").resolved()
    data = recipe["data"]
    if not on_this_machine(data):
        recipe["data"] = {"type": "shapes", "size": data.get("size") or 32, "length": 16}
    elif data["type"] == "stacked-mnist":
        data["length"] = 16
    else:
        data["limit"] = 16
    recipe["train"].update(batch_size=4, ema={**recipe["train"]["ema"], "start": 1}, progress=False, device="cpu",
                           log_every=1)
    recipe["eval"] = {**recipe.get("eval", {}), "every": None, "best": None, "metrics": []}
    return recipe


@pytest.mark.parametrize("name", CUTS)
def test_cpu_cut_trains_and_resumes_bit_for_bit(tmp_path, name):
    recipe = shrunk(name)
    check_resume(recipe, tmp_path, stop=1, end=2)
    for run in ("straight", "resumed"):
        records = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2]
        assert all(math.isfinite(v) for r in records for k, v in r.items() if "/" in k)
