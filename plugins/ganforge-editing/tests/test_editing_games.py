"""Super-resolution and completion: the data adapters, SRResNet, the SRGAN and context-encoder
games, and the proof that a small trained SRResNet beats bicubic upsampling on held-out shapes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.image import peak_signal_noise_ratio

from ganforge.build import build_run
from ganforge.errors import GanforgeError
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge_editing.data import upscale

SR = {"type": "shapes-super-resolution", "size": 32, "length": 512, "factor": 2}


def recipe(tmp_path, data: dict, models: dict, objective: dict, steps: int = 4, **train_config) -> dict:
    return {"name": "edit", "seed": 0, "data": data, "models": models, "objective": objective,
            "train": {"steps": steps, "batch_size": 8, "device": "cpu", "progress": False, "log_every": 5,
                      "sample_every": 1000, "checkpoint_every": 1000, **train_config},
            "output": {"dir": str(tmp_path / "run"), "trackers": []}}


def build(data: dict, models: dict, objective: dict, tmp_path):
    return build_run(recipe_from_data(recipe(tmp_path, data, models, objective)).recipe)


SR_MODELS = {"generator": {"type": "srresnet-generator", "blocks": 1, "width": 8},
             "discriminator": {"type": "srgan-discriminator", "width": 4, "layers": 4, "dense": 8}}
HOLE = {"type": "shapes-inpainting", "size": 16, "length": 64, "hole": 0.5}
CE_MODELS = {"generator": {"type": "unet-generator", "depth": 4, "width": 8, "skip": False},
             "discriminator": {"type": "patchgan-discriminator", "receptive_field": 16, "width": 4}}


# ----------------------------------------------------------------- data

def test_super_resolution_pairs_are_bicubic_downscalings(tmp_path):
    run = build({**SR, "factor": 4}, SR_MODELS, {"type": "srgan"}, tmp_path)
    item = run.data[3]
    assert item["x"].shape == (3, 32, 32) and item["source"].shape == (3, 8, 8)
    expected = F.interpolate(item["x"][None], scale_factor=0.25, mode="bicubic", antialias=True)[0].clamp(-1, 1)
    assert torch.allclose(item["source"], expected)
    assert run.data.info.source_shape == (3, 8, 8) and run.data.info.paired
    assert run.nets["generator"](item["source"][None]).shape == (1, 3, 32, 32)


def test_inpainting_sources_carry_the_hole_and_its_mask(tmp_path):
    run = build(HOLE, CE_MODELS, {"type": "context-encoder"}, tmp_path)
    item = run.data[0]
    image, hole = item["source"][:3], item["source"][3]
    assert item["source"].shape == (4, 16, 16) and hole.sum() == 64  # an 8 x 8 centred square
    assert hole[4:12, 4:12].all() and torch.equal(image, item["x"] * (1 - hole))
    random = build({**HOLE, "mask": "random", "hole": 0.25}, CE_MODELS, {"type": "context-encoder"}, tmp_path).data
    masks = [random[i]["source"][3] for i in range(6)]
    assert all(m.sum() == 16 for m in masks) and len({tuple(m.nonzero()[0].tolist()) for m in masks}) > 1
    assert torch.equal(random[2]["source"], random[2]["source"])  # fixed for a seed and epoch
    random.set_epoch(1)
    assert not all(torch.equal(random[i]["source"][3], masks[i]) for i in range(6))  # new holes each epoch


def test_wrong_data_is_named(tmp_path):
    with pytest.raises(GanforgeError, match="srresnet-generator upsamples images: use super-resolution data"):
        build({"type": "shapes", "size": 16}, SR_MODELS, {"type": "unconditional"}, tmp_path)
    with pytest.raises(GanforgeError, match="context-encoder objective fills holes: use inpainting data"):
        build(SR, {"generator": {"type": "unet-generator", "depth": 3, "width": 4},
                   "discriminator": CE_MODELS["discriminator"]}, {"type": "context-encoder"}, tmp_path)
    with pytest.raises(GanforgeError, match="needs a loss named 'content' \\(for example `content: vgg-perceptual`\\)"):
        build(SR, SR_MODELS, {"type": "srgan", "content": "vgg"}, tmp_path)


# ----------------------------------------------------------------- the games

def test_srresnet_with_bicubic_skip_starts_at_bicubic(tmp_path):
    run = build(SR, {**SR_MODELS, "generator": {**SR_MODELS["generator"], "bicubic_skip": True}}, {"type": "srgan"},
                tmp_path)
    source = torch.stack([run.data[i]["source"] for i in range(4)])
    assert torch.allclose(run.nets["generator"].eval()(source), upscale(source, 2), atol=1e-6)


def test_srgan_pretraining_leaves_the_discriminator_alone(tmp_path):
    data = recipe(tmp_path, SR, SR_MODELS, {"type": "srgan", "pretrain_steps": 3}, steps=3)
    data["train"]["checkpoint_every"] = 3
    folder = train(recipe_from_data(data))
    from ganforge.pipeline import load_generator

    run, _ = load_generator(folder.path)
    initial = build_run(recipe_from_data(data).recipe)
    for key, value in initial.nets["discriminator"].state_dict().items():
        assert torch.equal(value, run.nets["discriminator"].state_dict()[key]), key
    assert run.objective.step == 3  # restored from the checkpoint
    records = folder.read_metrics()
    assert all("g/adversarial" not in r for r in records)

    data["objective"]["pretrain_steps"] = 1
    data["output"]["dir"] = str(tmp_path / "adversarial")
    folder = train(recipe_from_data(data))
    run, _ = load_generator(folder.path)
    changed = [k for k, v in initial.nets["discriminator"].state_dict().items()
               if v.is_floating_point() and not torch.equal(v, run.nets["discriminator"].state_dict()[k])]
    assert changed and "g/adversarial" in folder.read_metrics()[-1]


def test_a_small_srresnet_beats_bicubic_on_held_out_shapes(tmp_path):
    models = {"generator": {"type": "srresnet-generator", "blocks": 2, "width": 16, "bicubic_skip": True},
              "discriminator": SR_MODELS["discriminator"]}
    data = recipe(tmp_path, SR, models, {"type": "srgan", "pretrain_steps": 120}, steps=120, batch_size=16)
    data["optim"] = {"generator": {"lr": 1e-3, "betas": [0.9, 0.999]}}
    folder = train(recipe_from_data(data))
    from ganforge.pipeline import load_generator

    run, _ = load_generator(folder.path)
    held_out = build_run(recipe_from_data({**data, "data": {**SR, "seed": 1000, "length": 64}}).recipe).data
    source = torch.stack([held_out[i]["source"] for i in range(64)])
    target = torch.stack([held_out[i]["x"] for i in range(64)])
    with torch.no_grad():
        ours = run.objective.translate(run.nets, source)
    psnr = lambda images: float(peak_signal_noise_ratio((images + 1) / 2, (target + 1) / 2, data_range=1.0))  # noqa: E731
    assert psnr(ours) > psnr(upscale(source, 2)) + 0.3, (psnr(ours), psnr(upscale(source, 2)))


def test_context_encoder_learns_to_fill_and_keeps_the_known_pixels(tmp_path):
    data = recipe(tmp_path, HOLE, CE_MODELS, {"type": "context-encoder"}, steps=60, batch_size=16, log_every=10)
    data["optim"] = {"generator": {"lr": 1e-3}, "discriminator": {"lr": 2e-4}}
    folder = train(recipe_from_data(data))
    losses = [r["g/hole_l2"] for r in folder.read_metrics()]
    assert losses[-1] < 0.75 * losses[0] and losses == sorted(losses, reverse=True), losses
    from ganforge.pipeline import load_generator

    run, _ = load_generator(folder.path)  # rebuilt from the run folder alone
    source = torch.stack([build_run(recipe_from_data(data).recipe).data[i]["source"] for i in range(4)])
    with torch.no_grad():
        completed = run.objective.translate(run.nets, source)
    known = 1 - source[:, 3:]
    assert torch.equal(completed * known, source[:, :3] * known)


def test_editing_recipes_validate():
    from pathlib import Path

    from ganforge.recipe import load_recipe

    recipes = Path(__file__).resolve().parents[3] / "recipes"
    for name in ("srgan-shapes", "srgan-celeba", "context-encoder-shapes", "context-encoder-celeba"):
        loaded = load_recipe(recipes / f"{name}.yaml")
        assert loaded.recipe.objective.type in ("srgan", "context-encoder")
