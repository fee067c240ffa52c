"""A run's curves, small enough to travel in its results-store row: the metrics evaluated
during training and the logged losses, against the step. A report drawn from a store alone
(runs trained on other machines) plots them as it would from the run folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POINTS = 200
"""Most points kept of each loss curve (evenly thinned; the last point always kept)."""


def read_jsonl(path: Path) -> list[dict]:
    """Every complete JSON line of ``path`` (a torn last line of a killed run skipped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def thinned(points: list[list[float]], most: int = POINTS) -> list[list[float]]:
    if len(points) <= most:
        return points
    stride = len(points) / (most - 1)
    return [points[int(i * stride)] for i in range(most - 1)] + [points[-1]]


def run_curves(folder: Path) -> dict[str, dict[str, list[list[float]]]]:
    """``{"eval": {metric: [[step, value], ...]}, "losses": {loss: [[step, value], ...]}}`` of a run folder."""
    file = folder / "eval.json"
    try:
        evaluations = json.loads(file.read_text()) if file.is_file() else []
    except json.JSONDecodeError:
        evaluations = []
    evaluations = [r for r in evaluations if isinstance(r, dict) and r.get("source") == "train"]
    metrics: dict[str, list[list[float]]] = {}
    for record in evaluations:
        for key, value in record.get("metrics", {}).items():
            if isinstance(value, (int, float)):
                metrics.setdefault(key, []).append([record["step"], value])
    logged = [r for r in read_jsonl(folder / "metrics.jsonl") if "event" not in r and "step" in r]
    losses: dict[str, list[list[float]]] = {}
    for record in logged:
        for key, value in record.items():
            if "loss" in key and isinstance(value, (int, float)):
                losses.setdefault(key, []).append([record["step"], value])
    return {"eval": metrics, "losses": {key: thinned(points) for key, points in losses.items()}}


def curves_of(row: dict[str, Any]) -> dict[str, dict[str, list[list[float]]]]:
    """A results row's curves: carried in the row, else read from its run folder (older rows)."""
    if isinstance(row.get("curves"), dict):
        return row["curves"]
    folder = row.get("folder")
    return run_curves(Path(folder)) if folder and Path(folder).is_dir() else {"eval": {}, "losses": {}}
