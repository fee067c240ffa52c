"""One (recipe, seed) of a suite, in a process of its own so its wall time and peak memory are
its own: train (or resume) the run, evaluate its final checkpoint with the suite's
evaluators, and write ``bench.json`` into the run folder.

    python -m ganforge.bench.worker JOB.json
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

BENCH_FILE = "bench.json"
JOB_LOCK_FILE = ".bench.lock"
"""Held by a worker from training to scoring (the run folder's own lock is held while it trains)."""


def newest_step(folder: Path) -> int | None:
    from ganforge.train.checkpoint import list_checkpoints

    found = list_checkpoints(folder / "checkpoints")
    return int(found[-1].name.split("_")[-1]) if found else None


def previous_segments(folder: Path) -> list[dict]:
    """Timing of earlier, interrupted attempts at this run (kept so wall time adds up)."""
    file = folder / BENCH_FILE
    if not file.is_file():
        return []
    try:
        return list(json.loads(file.read_text()).get("segments", []))
    except (json.JSONDecodeError, AttributeError):
        return []


def peak_memory_mb() -> dict[str, float | None]:
    import torch

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_initialized() else None
    return {"peak_rss_mb": round(rss, 1), "peak_cuda_mb": round(cuda, 1) if cuda is not None else None}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and score ``job`` as one holder of its folder: a second ``ganforge bench`` that
    reaches it meanwhile finds it busy, and one that reaches it after finds it finished (a
    plan made before the first process recorded it) and does nothing again."""
    from ganforge.bench.runner import Job, finished
    from ganforge.train.rundir import RunFolder

    with RunFolder(Path(job["folder"])).lock(JOB_LOCK_FILE):
        done = finished(Job.from_json(job))
        return done if done is not None else _train_and_score(job)


def _train_and_score(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from ganforge.bench.curves import run_curves
    from ganforge.bench.runner import Job, record_in_store
    from ganforge.bench.store import ResultsStore
    from ganforge.errors import RunFolderInUse
    from ganforge.pipeline import train
    from ganforge.recipe import load_recipe
    from ganforge.files import atomic_write_text
    from ganforge.train.rundir import RunFolder

    folder = Path(job["folder"])
    loaded = load_recipe(job["recipe"], job["overrides"])
    segments = previous_segments(folder)
    segment: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "from_step": newest_step(folder) or 0,
                               "nice": os.nice(0)}  # the priority it trained at (a scheduler may lower it)
    started = time.perf_counter()
    record: dict[str, Any] = {"status": "training", "run": job["run"], "seed": job["seed"], "segments": segments}
    try:
        train(loaded, resume=segment["from_step"] > 0)
    except RunFolderInUse:
        raise  # another process trains this run (e.g. a second `ganforge bench`): its bench.json is not ours
    except BaseException:
        segment.update(seconds=round(time.perf_counter() - started, 2), to_step=newest_step(folder), **peak_memory_mb())
        atomic_write_text(folder / BENCH_FILE, json.dumps({**record, "status": "interrupted",
                                                           "segments": [*segments, segment]}, indent=1))
        raise
    segment.update(seconds=round(time.perf_counter() - started, 2), to_step=newest_step(folder))
    segments = [*segments, segment]  # kept before scoring, so a rerun after a failed scoring adds its time
    atomic_write_text(folder / BENCH_FILE, json.dumps({**record, "status": "scoring", "segments": segments}, indent=1))
    scores = score(folder, job["metrics"], job.get("device") or loaded.recipe.train.device,
                   loaded.recipe.train.deterministic)
    segment.update(**peak_memory_mb())
    run_folder = RunFolder(folder)
    manifest = run_folder.read_manifest()
    record.update(
        status="done",
        **scores,
        segments=segments,
        train_seconds=round(sum(s["seconds"] for s in segments), 2),
        peak_rss_mb=max(s.get("peak_rss_mb") or 0 for s in segments),
        peak_cuda_mb=max((s["peak_cuda_mb"] for s in segments if s.get("peak_cuda_mb") is not None), default=None),
        recipe_sha256=manifest.get("recipe_sha256"),
        data_fingerprint=manifest.get("data_fingerprint"),
        device=manifest.get("device"),
        threads=torch.get_num_threads(),
        git_commit=manifest.get("git_commit"),
        curves=run_curves(folder),
        host=os.uname().nodename,
    )
    atomic_write_text(folder / BENCH_FILE, json.dumps(record, indent=1))
    if job.get("store"):  # here, so a run whose executor does not wait for it still reaches the store
        record_in_store(Job.from_json(job), record, ResultsStore(Path(job["store"])))
    return record


def score(folder: Path, metrics: list[Any], device: str, deterministic: bool) -> dict[str, Any]:
    """Evaluate the run's final checkpoint with ``metrics``: the part of ``bench.json`` that
    scoring writes (metrics, their protocols, the step, the weights used, the time it took)."""
    from ganforge.pipeline import evaluate_checkpoint
    from ganforge.train.determinism import deterministic_algorithms

    started = time.perf_counter()
    with deterministic_algorithms(deterministic):
        result = evaluate_checkpoint(folder, metrics=metrics, device=_eval_device(device), source="bench")
    return {"step": result["step"], "metrics": result["metrics"], "protocols": result["protocols"],
            "produced_by": result["produced_by"], "evaluators": metrics, "ema": result["ema"],
            "eval_seconds": round(time.perf_counter() - started, 2), "versions": result["versions"]}


def _eval_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def main(argv: list[str]) -> int:
    from ganforge.bench.executor import BUSY, INTERRUPTED
    from ganforge.errors import GanforgeError, RunFolderInUse
    from ganforge.train.trainer import Interrupted

    job = json.loads(Path(argv[0]).read_text())
    try:
        run_job(job)
    except Interrupted as exc:
        print(f"ganforge: interrupted at step {exc.step}; checkpoint saved in {exc.checkpoint}. The next "
              "`ganforge bench` of this suite resumes it.", file=sys.stderr)
        return INTERRUPTED
    except RunFolderInUse as exc:
        print(f"ganforge: {exc}", file=sys.stderr)
        return BUSY
    except GanforgeError as exc:
        print(f"ganforge: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
