"""Helpers shared by the benchmark scripts: train a recipe into a folder (reusing a finished
run, resuming an interrupted one) and summarise numbers over seeds.

A finished run's final metrics are also appended to a ledger, ``benchmarks/results/<name>.jsonl``,
kept in the repository: a long protocol (say 40 runs of 13 minutes) can then be finished over
several machines and days, and a ledger row is reused only while the resolved recipe it was
trained from (hashed, output settings aside) is unchanged."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from ganforge.train.rundir import RunFolder, diff_keys

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
ENV = dict(os.environ)
# Recipe settings added after ledger rows were recorded, with the default that computes what
# those rows did: a row stays valid while the setting keeps that default. These extend the core's
# table (ganforge.recipe.later) for this older ledger only: the bench store's rows were recorded
# after these settings existed, with them in their keys, so the core must not drop them.
ADDED_LATER = [("train", "deterministic", False)]
# Settings that change nothing in the one process a ledger run trains in, hashed at the value
# the rows were recorded with (sync_batch_norm's default changed to true later).
ONE_PROCESS = [("train", "sync_batch_norm", False)]
# Loss settings added later whose default computes what earlier rows did (lazy regularisation).
ADDED_LATER_TO_LOSSES = [("every", 1)]
# Settings of a data block of this type added later, wherever the block sits (the training data,
# an evaluator's held-out data), with the default that reads what earlier rows read.
ADDED_LATER_TO_DATA = {"npz": [("binarize", None)]}


def resolved_recipe(recipe: str, overrides: list[str]) -> dict:
    """The resolved recipe that ``train_run`` trains, without the settings that say where and how
    verbosely a run is written rather than what it computes, its paths relative to the repository
    (so a clone elsewhere keys the same rows)."""
    from ganforge.recipe import load_recipe

    return _what_it_computes(load_recipe(REPO / "recipes" / f"{recipe}.yaml", overrides).resolved())


def recipe_sha256(recipe: str, overrides: list[str]) -> str:
    """Hash of ``resolved_recipe``: the key of a ledger row."""
    return _sha256(resolved_recipe(recipe, overrides))


def _what_it_computes(resolved: dict) -> dict:
    from ganforge.bench.store import portable
    from ganforge.recipe.later import without_later_defaults

    resolved = without_later_defaults(portable(resolved, REPO))
    resolved.pop("output", None)
    resolved.get("train", {}).pop("progress", None)
    for section, key, value in ADDED_LATER:  # settings that, left at their default, change nothing
        if resolved.get(section, {}).get(key, value) == value:
            resolved.get(section, {}).pop(key, None)
    for section, key, value in ONE_PROCESS:
        if key in resolved.get(section, {}):
            resolved[section][key] = value
    for loss in resolved.get("losses", {}).values():
        for key, value in ADDED_LATER_TO_LOSSES:
            if loss.get(key, value) == value:
                loss.pop(key, None)
    _drop_later_data_defaults(resolved)
    return resolved


def _drop_later_data_defaults(node) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_later_data_defaults(item)
    elif isinstance(node, dict):
        for key, value in ADDED_LATER_TO_DATA.get(node.get("type"), []):
            if node.get(key, value) == value:
                node.pop(key, None)
        for item in node.values():
            _drop_later_data_defaults(item)


def _sha256(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()


class Ledger:
    """Final metrics of finished runs, one JSON line each, in ``benchmarks/results/<name>.jsonl``."""

    def __init__(self, name: str):
        self.path = RESULTS / f"{name}.jsonl"

    def rows(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def find(self, run: str, sha: str) -> dict | None:
        matches = [r for r in self.rows() if r["run"] == run and r["recipe_sha256"] == sha]
        return matches[-1]["metrics"] if matches else None

    def add(self, row: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    except OSError:  # no git on this machine
        return None
    return done.stdout.strip() or None


def final_metrics(folder: Path, steps: int) -> dict | None:
    """The metrics of the run's evaluation at its last step, ``steps``, if it got there."""
    evals = RunFolder(folder).eval_file
    if not evals.is_file():
        return None
    records = [r for r in json.loads(evals.read_text()) if r.get("source") == "train"]
    if records and records[-1]["step"] == steps:
        return records[-1]["metrics"]
    return None


def train_run(recipe: str, folder: Path, overrides: list[str], steps: int | None = None,
              ledger: Ledger | None = None, run: str | None = None) -> dict:
    """Train ``recipes/<recipe>.yaml`` into ``folder`` with ``overrides`` and return the final
    evaluation's metrics; a run found in ``ledger`` (under the name ``run``) or finished in
    ``folder`` is read back, an interrupted one resumed."""
    if steps is not None:
        overrides = [*overrides, f"train.steps={steps}"]
    wanted = resolved_recipe(recipe, overrides)
    sha = _sha256(wanted)
    last_step = wanted["train"]["steps"]  # a run stopped short of it is resumed, not read back
    if ledger and (recorded := ledger.find(run, sha)) is not None:
        return recorded
    trained = RunFolder(folder)
    if trained.recipe_file.is_file() and (changed := diff_keys(_what_it_computes(trained.read_recipe()), wanted)):
        names = ", ".join(".".join(map(str, key)) for key in changed[:8])
        raise RuntimeError(f"{folder} holds a run of a different recipe ({names} differ); give this benchmark "
                           "another --out, or delete that folder")
    done = final_metrics(folder, last_step)
    if done is not None:  # finished here, but its row never reached the ledger (say, stopped just after)
        if ledger:
            ledger.add(_row(run, recipe, sha, done, seconds=None, folder=folder))
        return done
    started = time.time()
    overrides = [f"output.dir={folder}", "train.progress=false", "output.trackers=[]", *overrides]
    command = [sys.executable, "-m", "ganforge", "train", str(REPO / "recipes" / f"{recipe}.yaml")]
    for item in overrides:
        command += ["--set", item]
    checkpoints = trained.checkpoints
    resume = ["--resume"] if checkpoints.is_dir() and any(checkpoints.iterdir()) else []
    subprocess.run(command + resume, check=True, stdout=subprocess.DEVNULL, env=ENV)
    metrics = final_metrics(folder, last_step)
    if metrics is None:
        raise RuntimeError(f"{folder} finished without a final evaluation; does the recipe evaluate at its last step?")
    if ledger:
        ledger.add(_row(run, recipe, sha, metrics, seconds=round(time.time() - started, 1), folder=folder))
    return metrics


def _row(run: str | None, recipe: str, sha: str, metrics: dict, seconds: float | None, folder: Path) -> dict:
    """A ledger row; ``seconds`` is None for a run finished before the benchmark looked at it."""
    trained = RunFolder(folder)  # the GPU's or the CPU's name, from the run's manifest
    device = trained.read_manifest().get("device_name") if trained.manifest_file.is_file() else None
    return {"run": run, "recipe": recipe, "recipe_sha256": sha, "metrics": metrics, "commit": git_commit(),
            "threads": ENV.get("OMP_NUM_THREADS"), "device": device, "seconds": seconds,
            "date": time.strftime("%Y-%m-%d")}


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (nan for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def feature_fid(a, b) -> float:
    """Frechet distance between two (N, D) feature arrays, each summarised by its mean and covariance."""
    import numpy as np

    from ganforge.eval.evaluators import frechet_distance

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def use_threads(threads: int | None, jobs: int) -> None:
    """Give parallel runs their share of the cores: oversubscribed OpenMP threads spin and slow
    small models down by an order of magnitude."""
    ENV["OMP_NUM_THREADS"] = str(threads or max(1, (os.cpu_count() or 1) // jobs))
