"""The context-conditional GAN: labelled inpainting data keeps its labels, D learns the classes
from a small balanced subset (and only from it), the supervised baseline leaves G untouched, a
run resumes bit for bit, and a recipe that cannot work fails before step 0."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.pipeline import load_generator, train
from ganforge.recipe import recipe_from_data
from ganforge.testing import check_resume
from ganforge.train.checkpoint import list_checkpoints, load_checkpoint

def bars(folder: Path, per_class: int, seed: int) -> Path:
    """Noisy 16 px images whose class k is a bright bar in column pair k (6 classes)."""
    rng = np.random.default_rng(seed)
    for k in range(6):
        (folder / f"c{k}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 120, (16, 16, 3), dtype=np.uint8)
            pixels[:, 2 + 2 * k:4 + 2 * k] = 255
            Image.fromarray(pixels).save(folder / f"c{k}" / f"{i}.png")
    return folder


def ccgan(tmp_path, name: str, steps: int = 3, **objective) -> dict:
    data = {"type": "inpainting", "root": str(bars(tmp_path / "train", 40, 0)), "labels": True, "size": 16,
            "hole": 0.5}
    return {"name": name, "seed": 0, "data": data,
            "models": {"generator": {"type": "unet-generator", "depth": 4, "width": 8},
                       "discriminator": {"type": "dcgan-discriminator", "width": 16, "aux_outputs": 6}},
            "objective": {"type": "ccgan", "labels": 12, "labelled_batch": 12, **objective},
            "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 1e-3}},
            "train": {"steps": steps, "batch_size": 16, "device": "cpu", "progress": False, "log_every": 1,
                      "sample_every": 1000, "checkpoint_every": steps},
            "output": {"dir": str(tmp_path / name), "trackers": []}}


def held_out_accuracy(run, folder: Path) -> float:
    data = run.ctx.build("data", run.recipe.data.model_copy(update={"root": bars(folder, 20, 1)}))
    x = torch.stack([data[i]["x"] for i in range(len(data))])
    y = torch.stack([data[i]["y"] for i in range(len(data))])
    with torch.no_grad():
        return float((run.objective.classify(run.nets, x).argmax(1) == y).float().mean())


def test_the_discriminator_learns_the_classes_from_the_labelled_subset_alone(tmp_path):
    recipe = ccgan(tmp_path, "learn", steps=60)
    run = build_run(recipe_from_data(copy.deepcopy(recipe)).recipe)
    assert run.data[0]["y"].dim() == 0 and run.data.info.num_classes == 6, "inpainting data keeps its labels"
    assert torch.bincount(run.objective.subset.y, minlength=6).tolist() == [2] * 6
    chance = held_out_accuracy(run, tmp_path / "held-out")
    folder = train(recipe_from_data(recipe))
    trained, _ = load_generator(folder.path)
    assert held_out_accuracy(trained, tmp_path / "held-out") > max(0.8, chance + 0.4), chance
    logged = folder.read_metrics()[-1]
    assert {"d/adversarial", "d/supervised", "g/adversarial"} <= set(logged) and "g/hole_l2" not in logged


def test_the_supervised_baseline_trains_the_classifier_and_leaves_g_as_it_was(tmp_path):
    recipe = ccgan(tmp_path, "baseline", steps=3, adversarial_weight=0)
    start = build_run(recipe_from_data(copy.deepcopy(recipe)).recipe)
    before = {k: v.clone() for k, v in start.nets["generator"].state_dict().items()}
    folder = train(recipe_from_data(recipe))
    nets, _, _ = load_checkpoint(list_checkpoints(folder.checkpoints)[-1])
    g = {k.removeprefix("generator."): v for k, v in nets.items() if k.startswith("generator.")}
    assert all(torch.equal(g[k], v) for k, v in before.items() if v.is_floating_point() and "running" not in k)
    d = [k for k, v in nets.items() if k.startswith("discriminator.") and v.is_floating_point()]
    assert any(not torch.equal(nets[k], start.nets["discriminator"].state_dict()[k.removeprefix("discriminator.")])
               for k in d)


def test_ccgan_resumes_exactly(tmp_path):
    check_resume(ccgan(tmp_path, "resume", reconstruction_weight=0.5), tmp_path / "resume")
    assert "g/hole_l2" in (tmp_path / "resume" / "straight" / "metrics.jsonl").read_text()


@pytest.mark.parametrize("change,message", [
    (lambda r: r["models"]["discriminator"].update(aux_outputs=4), "set models.discriminator.aux_outputs: 6"),
    (lambda r: r["objective"].update(labels=1000), "labels: 1000 is more than the 240 items"),
    (lambda r: r["data"].update(labels=False), "use labelled inpainting data"),
])
def test_a_ccgan_that_cannot_work_fails_before_step_0(tmp_path, change, message):
    recipe = ccgan(tmp_path, "bad")
    change(recipe)
    with pytest.raises(GanforgeError, match=message):
        build_run(recipe_from_data(recipe).recipe)
