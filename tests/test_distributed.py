"""Distributed training on CPU: two gloo ranks through `ganforge train --nproc-per-node 2`
(which runs `torchrun -m ganforge train`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, tiny_ring, write_recipe
from test_eval import random_classifier

# Two ranks see the same global batch, noise and gradients as one process; only the order of
# floating-point sums differs (gradients are averaged across ranks).
TOLERANCE = 1e-5


def ring(out, **train) -> dict:
    recipe = tiny_ring(out, **{"steps": 10, "batch_size": 64, "checkpoint_every": 5, "log_every": 1, **train})
    recipe["data"]["size"] = 2048
    recipe["eval"] = {"every": 5, "batch_size": 101, "metrics": [{"type": "mode-coverage", "samples": 303}]}
    return recipe  # the MLP generator has batch norm: its statistics are the global batch's on every rank


def launch(recipe_path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ganforge", "train", str(recipe_path), "--nproc-per-node", "2", *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_ranks_match_one_process_and_only_rank_zero_writes(tmp_path, registry):
    from ganforge.pipeline import train
    from ganforge.recipe import load_recipe

    single = train(load_recipe(write_recipe(tmp_path / "one.yaml", ring(tmp_path / "one"))), registry=registry)
    two = launch(write_recipe(tmp_path / "two.yaml", ring(tmp_path / "two")))
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("done: run folder") == 1  # rank 0 reports

    run = tmp_path / "two" / "run"
    a = load_file(single.checkpoints / "step_00000010" / "nets.safetensors")
    b = load_file(run / "checkpoints" / "step_00000010" / "nets.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < TOLERANCE
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 11))  # one writer: no duplicates
    one = [json.loads(line) for line in single.metrics_file.read_text().splitlines()]
    assert records[-1]["d/loss"] == pytest.approx(one[-1]["d/loss"], abs=1e-5)  # losses averaged over ranks
    assert json.loads((run / "manifest.json").read_text())["world_size"] == 2
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_00000005", "step_00000010"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000010.png"]
    sharded = json.loads((run / "eval.json").read_text())  # each rank generated a share of every batch
    whole = json.loads(single.eval_file.read_text())
    assert [r["step"] for r in sharded] == [5, 10]
    assert [r["metrics"] for r in sharded] == [r["metrics"] for r in whole]
    assert sharded[-1]["protocols"]["mode-coverage"]["samples"] == 303

    # resume on two ranks continues to the same weights as one process trained straight through
    longer = ring(tmp_path / "two", steps=15)
    resumed = launch(write_recipe(tmp_path / "two.yaml", longer), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = ring(tmp_path / "ref", steps=15)
    ref = train(load_recipe(write_recipe(tmp_path / "ref.yaml", reference)), registry=registry)
    a = load_file(ref.checkpoints / "step_00000015" / "nets.safetensors")
    b = load_file(run / "checkpoints" / "step_00000015" / "nets.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < TOLERANCE


@pytest.mark.slow
def test_batch_norm_discriminator_with_gradient_penalty_under_ddp(tmp_path):
    """The known traps: a batch-norm discriminator called on real and fake batches before one
    backward, and the gradient penalty's double backward, both through DDP."""
    recipe = {
        "name": "ddp-traps", "seed": 0,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8, "norm": "batch"},
                   "critic": {"type": "dcgan-discriminator", "width": 8, "norm": "spectral"}},
        "objective": {"type": "unconditional", "discriminator": "discriminator"},
        "losses": {"adversarial": "wasserstein", "gradient_penalty": {"type": "gradient-penalty", "weight": 10}},
        "train": {"steps": 4, "batch_size": 8, "device": "cpu", "progress": False, "checkpoint_every": 2,
                  "log_every": 1},
        "eval": {"every": 4, "batch_size": 7, "metrics": [
            {"type": "fid", "features": "classifier", "classifier": str(random_classifier(tmp_path / "clf.safetensors")),
             "samples": 19, "reference_samples": 33}]},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }
    result = launch(write_recipe(tmp_path / "traps.yaml", recipe))
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r["d/gradient_penalty"])) for r in records)

    # features computed in shares on two ranks equal one process's on the same checkpoint
    from ganforge.pipeline import evaluate_checkpoint

    sharded = json.loads((tmp_path / "run" / "eval.json").read_text())[0]
    single = evaluate_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000004")
    assert sharded["step"] == single["step"] == 4
    assert sharded["metrics"]["fid"] == pytest.approx(single["metrics"]["fid"], rel=1e-4, abs=1e-7)  # float32 features
    recipe.pop("eval")

    recipe["objective"]["discriminator"] = "critic"  # spectral norm through DDP
    recipe["losses"] = {"adversarial": "hinge"}
    recipe["output"]["dir"] = str(tmp_path / "sn")
    result = launch(write_recipe(tmp_path / "sn.yaml", recipe))
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_global_batch_must_divide_over_ranks(tmp_path, registry, monkeypatch):
    from ganforge import distributed
    from ganforge.build import build_run
    from ganforge.errors import GanforgeError
    from ganforge.recipe import recipe_from_data
    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    run = build_run(recipe_from_data(ring(tmp_path, batch_size=63), registry).recipe, registry=registry)
    monkeypatch.setattr(distributed, "current_world", lambda: distributed.World(0, 2, 0))
    with pytest.raises(GanforgeError, match="global batch; it must divide evenly over the 2 ranks"):
        Trainer(run, RunFolder(tmp_path / "run"))


def test_noise_is_each_ranks_slice_of_the_global_draw(monkeypatch):
    from ganforge import distributed

    torch.manual_seed(0)
    whole = torch.randn(6, 3)
    for rank in range(2):
        monkeypatch.setattr(distributed, "current_world", lambda rank=rank: distributed.World(rank, 2, rank))
        torch.manual_seed(0)
        assert torch.equal(distributed.rank_randn(3, 3), whole[rank * 3:(rank + 1) * 3])


@pytest.mark.slow
def test_a_failing_rank_is_reported(tmp_path):
    result = launch(write_recipe(tmp_path / "odd.yaml", ring(tmp_path / "odd", batch_size=63)))
    assert result.returncode == 1
    assert "must divide evenly over the 2 ranks" in result.stderr
    assert "ganforge: a training rank failed" in result.stderr
