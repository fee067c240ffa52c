"""Helpers shared by the benchmark scripts: train a recipe into a folder (reusing a finished
run, resuming an interrupted one) and summarise numbers over seeds."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ)


def final_metrics(folder: Path, steps: int | None) -> dict | None:
    """The metrics of the run's evaluation at its last step, if it got there."""
    evals = folder / "eval.json"
    if not evals.is_file():
        return None
    records = [r for r in json.loads(evals.read_text()) if r.get("source") == "train"]
    if records and (steps is None or records[-1]["step"] == steps):
        return records[-1]["metrics"]
    return None


def train_run(recipe: str, folder: Path, overrides: list[str], steps: int | None = None) -> dict:
    """Train ``recipes/<recipe>.yaml`` into ``folder`` with ``overrides`` and return the final
    evaluation's metrics; a finished run is read back, an interrupted one resumed."""
    done = final_metrics(folder, steps)
    if done is not None:
        return done
    overrides = [f"output.dir={folder}", "train.progress=false", "output.trackers=[]", *overrides]
    if steps is not None:
        overrides.append(f"train.steps={steps}")
    command = [sys.executable, "-m", "ganforge", "train", str(REPO / "recipes" / f"{recipe}.yaml")]
    for item in overrides:
        command += ["--set", item]
    checkpoints = folder / "checkpoints"
    resume = ["--resume"] if checkpoints.is_dir() and any(checkpoints.iterdir()) else []
    subprocess.run(command + resume, check=True, stdout=subprocess.DEVNULL, env=ENV)
    metrics = final_metrics(folder, steps)
    if metrics is None:
        raise RuntimeError(f"{folder} finished without a final evaluation; does the recipe evaluate at its last step?")
    return metrics


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (nan for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def use_threads(threads: int | None, jobs: int) -> None:
    """Give parallel runs their share of the cores: oversubscribed OpenMP threads spin and slow
    small models down by an order of magnitude."""
    ENV["OMP_NUM_THREADS"] = str(threads or max(1, (os.cpu_count() or 1) // jobs))
