"""The trainer: learning on the ring, exact resume, interruption, NaN stops, the run folder."""

from __future__ import annotations

import json
import shutil
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, tiny_ring, write_recipe
from pydantic import Field

from ganforge.build import build_run
from ganforge.builtin.data import GaussianMixtureParams
from ganforge.errors import RunFolderError
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge.sdk import AddedLater, hookimpl
from ganforge.train.checkpoint import list_checkpoints
from ganforge.train.trainer import NonFiniteLoss


def nearest_mode_distance(samples: torch.Tensor, centers: torch.Tensor) -> float:
    return torch.cdist(samples, centers).min(dim=1).values.mean().item()


def test_generator_learns_the_ring(tmp_path, registry):
    data = tiny_ring(tmp_path, steps=600, batch_size=100, log_every=100, sample_every=600, checkpoint_every=600)
    data["models"]["generator"].update(width=64, depth=3)
    data["models"]["discriminator"].update(width=64)
    loaded = recipe_from_data(data, registry)
    untrained = build_run(loaded.recipe, registry=registry)
    z = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    centers = untrained.data.centers
    with torch.no_grad():
        before = nearest_mode_distance(untrained.nets["generator"].eval()(z), centers)

    folder = train(loaded, registry=registry)
    from ganforge.pipeline import load_generator

    run, step = load_generator(folder.path, registry=registry)
    with torch.no_grad():
        after = nearest_mode_distance(run.nets["generator"](z), centers)
    assert step == 600
    assert after < 0.5 * before and after < 0.3, (before, after)
    records = folder.read_metrics()
    d_losses = [r["d/loss"] for r in records]
    assert max(d_losses) - min(d_losses) > 0.01, "the discriminator loss moves"
    assert all(loss < 2 * math.log(2) for loss in d_losses), "D does better than chance"
    assert all(r["d/real"] > r["d/fake"] for r in records), "D scores data above samples"
    assert [r["step"] for r in records] == [100, 200, 300, 400, 500, 600]


def test_run_folder_contents(tmp_path, registry):
    data = tiny_ring(tmp_path)
    data["output"]["trackers"] = ["tensorboard"]
    folder = train(recipe_from_data(data, registry), registry=registry)
    assert (folder.path / "recipe.resolved.yaml").is_file()
    manifest = json.loads((folder.path / "manifest.json").read_text())
    assert manifest["torch"] == torch.__version__ and manifest["device"] == "cpu"
    assert manifest["data_info"]["shape"] == [2] and len(manifest["recipe_sha256"]) == 64
    assert "ganforge-classic" in manifest["packages"]
    assert sorted(p.name for p in folder.samples.iterdir()) == ["step_00000010.png", "step_00000020.png"]
    assert [p.name for p in list_checkpoints(folder.checkpoints)] == ["step_00000010", "step_00000020"]
    tensors = load_file(folder.checkpoints / "step_00000020" / "nets.safetensors")
    assert any(k.startswith("generator.") for k in tensors) and any(k.startswith("discriminator.") for k in tensors)
    assert list((folder.path / "tb").glob("events.out.tfevents.*"))
    assert not list(folder.path.rglob("*.tmp")), "no temporary files left behind"


def test_keep_last_checkpoints(tmp_path, registry):
    folder = train(recipe_from_data(tiny_ring(tmp_path, steps=12, checkpoint_every=2, keep_checkpoints=2), registry),
                   registry=registry)
    assert [p.name for p in list_checkpoints(folder.checkpoints)] == ["step_00000010", "step_00000012"]


@pytest.mark.parametrize("extra", [{}, {"ema": {"decay": 0.9}, "precision": "bf16"}], ids=["plain", "ema-bf16"])
def test_resume_is_bitwise_identical(tmp_path, registry, extra):
    """A run of N steps equals a run stopped at step k and resumed, bit for bit."""
    data = tiny_ring(tmp_path / "a", steps=24, checkpoint_every=8, keep_checkpoints=10, **extra)
    data["data"]["size"] = 160  # 3 batches an epoch: the resume crosses epoch boundaries
    data["optim"]["generator"]["schedule"] = {"type": "linear-decay", "start": 0.25}
    loaded = recipe_from_data(data, registry)
    full = train(loaded, registry=registry)

    # What a crash right after the step-8 checkpoint leaves behind: that checkpoint, and
    # metrics and samples written after it.
    crashed = tmp_path / "a" / "crashed"
    shutil.copytree(full.path, crashed)
    for later in list_checkpoints(crashed / "checkpoints")[1:]:
        shutil.rmtree(later)
    assert [p.name for p in list_checkpoints(crashed / "checkpoints")] == ["step_00000008"]
    resumed_recipe = recipe_from_data(dict(data, output={"dir": str(crashed), "trackers": []}), registry)
    resumed = train(resumed_recipe, registry=registry, resume=True)

    for name in ("nets.safetensors", "ema.safetensors") if extra else ("nets.safetensors",):
        a = load_file(full.checkpoints / "step_00000024" / name)
        b = load_file(resumed.checkpoints / "step_00000024" / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    metrics_a = [{k: v for k, v in r.items() if k not in ("time", "it_s")} for r in full.read_metrics()]
    metrics_b = [{k: v for k, v in r.items() if k not in ("time", "it_s")} for r in resumed.read_metrics()]
    assert metrics_a == metrics_b


def test_resume_refuses_a_changed_recipe_and_an_empty_folder(tmp_path, registry):
    data = tiny_ring(tmp_path, steps=4)
    train(recipe_from_data(data, registry), registry=registry)
    changed = dict(data, seed=99)
    with pytest.raises(RunFolderError, match="recipe changed since the run started.*seed"):
        train(recipe_from_data(changed, registry), registry=registry, resume=True)
    with pytest.raises(RunFolderError, match="already holds a run; resume it with --resume"):
        train(recipe_from_data(data, registry), registry=registry)
    fresh = dict(data, output={"dir": str(tmp_path / "fresh"), "trackers": []})
    with pytest.raises(RunFolderError, match="cannot resume"):
        train(recipe_from_data(fresh, registry), registry=registry, resume=True)


def test_a_run_started_before_a_setting_existed_resumes_and_a_changed_one_is_refused(tmp_path, registry):
    """Settings added to recipes later (here train.channels_last and train.compile, and the EMA's
    half-life) are absent from older run folders: at their defaults they are no change."""
    import yaml

    data = tiny_ring(tmp_path, steps=4, checkpoint_every=2, ema={"decay": 0.9})
    folder = train(recipe_from_data(dict(data, train={**data["train"], "steps": 2}), registry), registry=registry)
    saved = yaml.safe_load(folder.recipe_file.read_text())
    for key in ("channels_last", "compile"):
        del saved["train"][key]
    del saved["train"]["ema"]["half_life_images"], saved["train"]["ema"]["rampup"]
    folder.recipe_file.write_text(yaml.safe_dump(saved))
    train(recipe_from_data(dict(data, train={**data["train"], "steps": 2}), registry), registry=registry, resume=True)
    faster = dict(data, train={**data["train"], "steps": 2, "channels_last": True})
    with pytest.raises(RunFolderError, match="recipe changed since the run started \\(train.channels_last\\)"):
        train(recipe_from_data(faster, registry), registry=registry, resume=True)


class LaterSettingPlugin:
    """A third party's data type that gained a setting after its users' runs began."""

    @hookimpl
    def ganforge_register_data(self, register):
        register("ring-v2", params=RingV2Params, factory="ganforge.data.gaussian_mixture:build")


class RingV2Params(GaussianMixtureParams):
    spread: AddedLater[float] = Field(0.0, ge=0, description="Added in v2; 0 draws what v1 did.")


def test_a_plugins_setting_declared_added_later_lets_its_older_runs_resume(tmp_path):
    """A plugin declares its own later settings (``AddedLater``), so upgrading it does not lock
    its users out of their runs in progress; a changed value is still refused."""
    import yaml
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    registry = Registry(create_plugins(strict=True, extra=(LaterSettingPlugin(),)))
    data = tiny_ring(tmp_path, steps=4, checkpoint_every=2)
    data["data"] = {**data["data"], "type": "ring-v2"}
    folder = train(recipe_from_data(dict(data, train={**data["train"], "steps": 2}), registry), registry=registry)
    saved = yaml.safe_load(folder.recipe_file.read_text())
    assert saved["data"].pop("spread") == 0.0
    folder.recipe_file.write_text(yaml.safe_dump(saved))  # as the plugin's v1 wrote it
    train(recipe_from_data(data, registry), registry=registry, resume=True)
    assert folder.read_metrics()[-1]["step"] == 4
    spread = dict(data, data={**data["data"], "spread": 0.5}, train={**data["train"], "steps": 6})
    with pytest.raises(RunFolderError, match=r"recipe changed since the run started \(data.spread"):
        train(recipe_from_data(spread, registry), registry=registry, resume=True)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, registry):
    data = tiny_ring(tmp_path, steps=40, checkpoint_every=5, log_every=5)
    # The largest rate a recipe takes, with plain SGD: blows up within a few steps.
    data["optim"]["discriminator"] = {"type": "sgd", "lr": 10.0}
    data["optim"]["generator"] = {"type": "sgd", "lr": 10.0}
    with pytest.raises(NonFiniteLoss, match=r"became (nan|inf|NaN or infinite).* by step \d+.*last good checkpoint") \
            as info:
        train(recipe_from_data(data, registry), registry=registry)
    checkpoints = list_checkpoints(tmp_path / "run" / "checkpoints")
    for checkpoint in checkpoints:
        tensors = load_file(checkpoint / "nets.safetensors")
        assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert "step" in str(info.value)


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    data = tiny_ring(tmp_path, steps=100_000, checkpoint_every=100_000, log_every=10)
    recipe = write_recipe(tmp_path / "r.yaml", data)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "ganforge", "train", str(recipe)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (metrics.is_file() and metrics.read_text().count("\n") >= 2):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err and "Traceback" not in err
    [checkpoint] = list_checkpoints(tmp_path / "run" / "checkpoints")
    assert int(checkpoint.name.split("_")[1]) >= 20


def test_adam_uses_the_fused_kernel_where_it_can(tmp_path, registry):
    from ganforge.optim import fusable

    run = build_run(recipe_from_data(tiny_ring(tmp_path), registry).recipe, registry=registry)
    assert all(opt.defaults["fused"] for opt in run.optimizers.values())
    assert not fusable([torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))])
    assert not fusable([])
