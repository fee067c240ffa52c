"""The benchmark scripts' shared helpers (``benchmarks/runs.py``): ledger rows are reused only for
the recipe they were trained from, and a run folder is never read back as another recipe's."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def runs(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import runs as module

    yield module
    for name in ("runs", "zoo_mnist", "zoo_cifar10"):  # the scripts import each other by these names
        sys.modules.pop(name, None)


def finished_ring_run(runs, tmp_path) -> Path:
    """A run folder of ``gan-ring`` trained 20,000 steps, whose final evaluation found 8 modes."""
    from ganforge.recipe import load_recipe

    folder = tmp_path / "gan-ring" / "seed0"
    folder.mkdir(parents=True)
    trained = load_recipe(runs.REPO / "recipes" / "gan-ring.yaml", ["train.steps=20000"]).resolved()
    (folder / "recipe.resolved.yaml").write_text(yaml.safe_dump(trained))
    (folder / "eval.json").write_text('[{"source": "train", "step": 20000, "metrics": {"modes": 8}}]')
    return folder


def test_the_ledger_reuses_a_row_only_for_the_same_recipe(runs, tmp_path):
    ledger = runs.Ledger("demo")
    ledger.path = tmp_path / "demo.jsonl"
    short = runs.recipe_sha256("gan-ring", ["train.steps=20000"])
    ledger.add({"run": "gan-ring/seed0", "recipe_sha256": short, "metrics": {"modes": 7}})
    assert runs.train_run("gan-ring", tmp_path / "unused", [], 20000, ledger, "gan-ring/seed0") == {"modes": 7}
    assert ledger.find("gan-ring/seed0", runs.recipe_sha256("gan-ring", ["train.steps=40000"])) is None
    assert runs.recipe_sha256("gan-ring", ["output.dir=elsewhere"]) == runs.recipe_sha256("gan-ring", [])


def test_a_folder_of_another_recipe_is_refused_not_read_back(runs, tmp_path):
    folder = finished_ring_run(runs, tmp_path)

    # The steps as an override, as the 2-D benchmark passes them: only the folder's recipe tells
    # a 20,000-step run from a 40,000-step one.
    assert runs.train_run("gan-ring", folder, ["train.steps=20000"]) == {"modes": 8}
    with pytest.raises(RuntimeError, match=r"different recipe \(train\.steps differ\)"):
        runs.train_run("gan-ring", folder, ["train.steps=40000"])  # must not take the short run's numbers


def test_a_finished_folder_missing_from_the_ledger_is_recorded_once(runs, tmp_path):
    """A run that finished but was stopped before its ledger row was written keeps its number."""
    folder = finished_ring_run(runs, tmp_path)
    ledger = runs.Ledger("demo")
    ledger.path = tmp_path / "demo.jsonl"
    for _ in range(2):  # the first call records the row, the second reads it back from the ledger
        assert runs.train_run("gan-ring", folder, [], 20000, ledger, "gan-ring/seed0") == {"modes": 8}
    assert ledger.find("gan-ring/seed0", runs.recipe_sha256("gan-ring", ["train.steps=20000"])) == {"modes": 8}
    assert len(ledger.rows()) == 1 and ledger.rows()[0]["seconds"] is None


def test_an_interrupted_run_is_resumed_not_read_back(runs, tmp_path, monkeypatch):
    """A run stopped between evaluations has an eval.json whose last record is not the recipe's
    last step; with no steps override that record must not pass for the final one."""
    from ganforge.recipe import load_recipe

    folder = tmp_path / "gan-ring" / "seed0"
    folder.mkdir(parents=True)
    recipe = load_recipe(runs.REPO / "recipes" / "gan-ring.yaml").resolved()
    (folder / "recipe.resolved.yaml").write_text(yaml.safe_dump(recipe))
    (folder / "eval.json").write_text('[{"source": "train", "step": 9000, "metrics": {"modes": 5}}]')
    (folder / "checkpoints" / "step_00009000").mkdir(parents=True)
    commands = []

    def finish(command, **_):  # stands in for the trainer: record the command, evaluate at the end
        commands.append(command)
        (folder / "eval.json").write_text(
            f'[{{"source": "train", "step": {recipe["train"]["steps"]}, "metrics": {{"modes": 8}}}}]')

    monkeypatch.setattr(runs.subprocess, "run", finish)
    assert runs.train_run("gan-ring", folder, []) == {"modes": 8}
    assert len(commands) == 1 and commands[0][-1] == "--resume"


def test_a_ledger_row_names_the_device_its_run_trained_on(runs, tmp_path):
    """Rows from a GPU and from a CPU stay tellable apart: the device comes from the run's manifest."""
    folder = finished_ring_run(runs, tmp_path)
    (folder / "manifest.json").write_text('{"device": "cuda:0", "device_name": "NVIDIA H200"}')
    ledger = runs.Ledger("demo")
    ledger.path = tmp_path / "demo.jsonl"
    runs.train_run("gan-ring", folder, [], 20000, ledger, "gan-ring/seed0")
    assert ledger.rows()[0]["device"] == "NVIDIA H200"


def test_zoo_mnist_jobs_train_the_chosen_seeds_side_by_side(runs, tmp_path, monkeypatch):
    """``--jobs 2`` trains two runs at once (each waits for the other below, which a benchmark
    training them one after another never lets happen) and ``--first-seed`` skips earlier seeds."""
    import zoo_mnist

    (tmp_path / "mnist.npz").write_bytes(b"")
    monkeypatch.setattr(zoo_mnist, "MNIST", tmp_path / "mnist.npz")
    both_running = threading.Barrier(2, timeout=10)
    trained = []

    def train(recipe, folder, overrides, steps, ledger, run):
        trained.append(run)
        both_running.wait()  # BrokenBarrierError if the other run is not training at the same time
        seed = int(overrides[0].removeprefix("seed="))
        return {"heldout_accuracy": 0.90 + seed / 100}

    monkeypatch.setattr(zoo_mnist, "train_run", train)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["zoo_mnist.py", "sgan", "--first-seed", "1", "--seeds", "3",
                                      "--jobs", "2", "--steps", "5", "--out", str(out)])
    assert zoo_mnist.main() == 0
    assert sorted(trained) == ["sgan-mnist-100labels/seed1", "sgan-mnist-100labels/seed2"]
    assert runs.ENV["OMP_NUM_THREADS"] == str(max(1, (runs.os.cpu_count() or 1) // 2))
    mean, se = json.loads((out / "summary.json").read_text())["sgan-mnist-100labels"]["numbers"]["heldout_accuracy"]
    assert mean == pytest.approx(0.915) and se == pytest.approx(0.005)


@pytest.mark.parametrize("recipe", ["wgan-gp-cifar10", "sngan-cifar10"])
def test_zoo_cifar10_scores_its_shipped_recipes_with_a_classifier_fid(runs, recipe):
    """The CIFAR-10 benchmark's overrides still resolve against the shipped recipes: a short run
    that evaluates once, at its last step, on a ganforge classifier's features."""
    import zoo_cifar10

    resolved = runs.resolved_recipe(recipe, zoo_cifar10.overrides(3, 1000, Path("/scores/cifar10.safetensors")))
    assert resolved["seed"] == 3 and resolved["train"]["steps"] == resolved["eval"]["every"] == 1000
    (fid,) = resolved["eval"]["metrics"]
    assert fid["type"] == "fid" and fid["features"] == "classifier" and fid["samples"] == 10_000
    assert (runs.REPO / fid["classifier"]).resolve() == Path("/scores/cifar10.safetensors")  # keyed relative
    assert resolved["train"]["ema"] is None  # a short run is scored on G, not on a young weight average


def test_feature_fid_is_zero_for_the_same_features_and_grows_with_a_shift(runs):
    """The classifier-feature FID of the benchmarks: a mean shifted by 1 in each of 4 dimensions adds 4."""
    import numpy as np

    features = np.random.default_rng(0).normal(size=(2000, 4))
    assert runs.feature_fid(features, features) == pytest.approx(0.0, abs=1e-6)
    assert runs.feature_fid(features, features + 1.0) == pytest.approx(4.0, rel=1e-6)


@pytest.mark.parametrize("recipe,seeds", [("sgan-mnist-100labels", 3), ("infogan-mnist", 4)])
def test_the_committed_ledger_rows_still_key_todays_recipes(runs, recipe, seeds):
    """A recipe-model change (a setting added, a default changed) must not orphan the rows that
    back docs/results.md: the settings that change nothing for those runs are hashed as they were."""
    rows = runs.Ledger("zoo_mnist").rows()
    for seed in range(seeds):
        sha = runs.recipe_sha256(recipe, [f"seed={seed}"])
        assert any(row["run"] == f"{recipe}/seed{seed}" and row["recipe_sha256"] == sha for row in rows), seed
