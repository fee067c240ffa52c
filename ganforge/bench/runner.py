"""Run a suite: every (run, seed) in its own folder and process, finished ones skipped,
unfinished ones resumed; then gather ``results.json``.

    <out>/<run>/seed<k>/   a run folder (plus bench.json, bench.log)
    <out>/results.json     every number with its protocol, the environment, times, memory
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganforge.bench.aggregate import compare_baseline, compare_published, mixed_feature_networks, summarise
from ganforge.bench.executor import BUSY, INTERRUPTED, BenchTask, Executor
from ganforge.bench.store import ResultsStore, portable, training_sha256
from ganforge.bench.suite import LoadedSuite
from ganforge.bench.worker import BENCH_FILE
from ganforge.errors import GanforgeError
from ganforge.recipe.errors import RecipeError
from ganforge.files import atomic_write_text

if TYPE_CHECKING:
    from ganforge.preflight import Report, Scorer
    from ganforge.recipe import LoadedRecipe

RESULTS_FILE = "results.json"
JOB_FILE = "bench.job.json"


@dataclass(frozen=True)
class Job:
    run: str
    seed: int
    recipe: Path
    overrides: list[str]
    folder: Path
    metrics: list[Any]
    device: str | None

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "seed": self.seed, "recipe": str(self.recipe), "overrides": self.overrides,
                "folder": str(self.folder), "metrics": self.metrics, "device": self.device}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        return cls(data["run"], data["seed"], Path(data["recipe"]), list(data["overrides"]), Path(data["folder"]),
                   list(data["metrics"]), data.get("device"))


def plan(loaded: LoadedSuite, out: Path, only: list[str] | None = None, seeds: list[int] | None = None) -> list[Job]:
    """The suite's (run, seed) jobs, seed by seed, so a stopped suite has every run's first seeds."""
    suite = loaded.suite
    unknown = sorted(set(only or []) - set(suite.runs))
    if unknown:
        raise GanforgeError(f"suite {suite.name} has no run {', '.join(map(repr, unknown))}; "
                            f"its runs are {', '.join(suite.runs)}")
    names = [name for name in suite.runs if not only or name in only]
    out = out.resolve()
    return [Job(name, seed, loaded.recipe_path(name), loaded.overrides(name, seed, out / name / f"seed{seed}"),
                out / name / f"seed{seed}", loaded.metrics_of(name), suite.device)
            for seed in (seeds if seeds is not None else suite.seed_list) for name in names]


def job_sha256(job: Job, root: Path | None = None) -> str:
    """What the job computes (see :func:`training_sha256`): its key in a results store whose
    paths are relative to ``root``."""
    from ganforge.recipe import load_recipe

    return training_sha256(load_recipe(job.recipe, job.overrides).resolved(), root)


def stored(job: Job, store: ResultsStore | None) -> dict[str, Any] | None:
    """The store's row for the job, when one was recorded for today's recipe and evaluators."""
    return store.find(job.run, job.seed, job_sha256(job, store.root), job.metrics) if store is not None else None


STORED_KEYS = ("metrics", "protocols", "produced_by", "step", "ema", "train_seconds", "eval_seconds",
               "peak_rss_mb", "peak_cuda_mb", "recipe_sha256", "data_fingerprint", "device", "threads", "git_commit",
               "versions", "curves", "host")


def record_in_store(job: Job, record: dict[str, Any], store: ResultsStore | None, *, replace: bool = False) -> None:
    """Append a finished job's numbers to the store, unless a row for them is there already
    (``replace``: append all the same; the newest row is the one the store answers with)."""
    if store is None or (not replace and stored(job, store) is not None):
        return
    store.append({"run": job.run, "seed": job.seed, "training_sha256": job_sha256(job, store.root),
                  "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "source": "ganforge bench",
                  **{key: record.get(key) for key in STORED_KEYS}, "evaluators": portable(job.metrics, store.root)})


def finished(job: Job) -> dict[str, Any] | None:
    """The job's ``bench.json`` when it is done with today's recipe and evaluators."""
    from ganforge.recipe import load_recipe
    from ganforge.train.rundir import RunFolder

    file = job.folder / BENCH_FILE
    if not file.is_file():
        return None
    record = json.loads(file.read_text())
    if record.get("status") != "done" or record.get("evaluators") != job.metrics:
        return None
    try:
        saved = RunFolder(job.folder).read_recipe()
    except GanforgeError:
        return None
    return record if saved == load_recipe(job.recipe, job.overrides).resolved() else None


def run_suite(loaded: LoadedSuite, out: Path, *, jobs: int | None = None, only: list[str] | None = None,
              seeds: list[int] | None = None, baseline: Path | None = None, store: ResultsStore | None = None,
              executor: Executor | None = None, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run what is not finished (in its folder or in the results ``store``) with ``executor``
    (default: worker processes on this machine, ``jobs`` at a time), then write and return
    ``results.json``. Failed jobs are reported (with the end of their log) after the others
    have run."""
    planned = plan(loaded, out, only, seeds)
    recipes = {(job.run, job.seed): loaded.load_recipe(job.run, job.overrides) for job in planned}  # any mistake, first
    todo = []
    for job in planned:
        record = finished(job)
        if record is not None:
            record_in_store(job, record, store)  # finished here, but stopped before the store heard of it
        elif stored(job, store) is None:
            todo.append(job)
    preflown: set[str] = set()
    for job in todo:  # each run's recipe, once, before anything trains: data, a step, weights, room
        if job.run not in preflown:
            preflight_job(loaded, job, recipes[job.run, job.seed])
            preflown.add(job.run)
    if executor is None:
        from ganforge.bench.local import LocalExecutor

        executor = LocalExecutor(jobs or 1)
    where = f" in {out}" + (f", store {store.path}" if store is not None else "")
    echo(f"suite {loaded.suite.name}: {len(planned)} runs, {len(planned) - len(todo)} finished, {len(todo)} to run "
         f"({describe_executor(executor, jobs)}){where}")
    tasks = {bench_task(job, recipes[job.run, job.seed], loaded.suite.threads, store): job for job in todo}
    failures: list[str] = []
    interrupted: list[str] = []
    busy: list[str] = []
    started = time.time()

    def report(task: BenchTask, code: int | None) -> None:
        job = tasks[task]
        took = f"{time.time() - started:.0f}s into the suite"
        if code is None:
            echo(f"  submitted {job.run} seed {job.seed}")
        elif code == 0:
            record_in_store(job, finished(job) or {}, store)
            echo(f"  done {job.run} seed {job.seed} ({took})")
        elif code == INTERRUPTED:
            interrupted.append(f"{job.run} seed {job.seed}")
            echo(f"  interrupted {job.run} seed {job.seed} ({took}; its checkpoint is saved)")
        elif code == BUSY:
            busy.append(f"{job.run} seed {job.seed}")
            echo(f"  busy {job.run} seed {job.seed}: another ganforge process is training it; left to that one")
        else:
            failures.append(f"{job.run} seed {job.seed}: {failure_of(task, code)}")
            echo(f"  FAILED {job.run} seed {job.seed} ({took})")

    executor.run(list(tasks), report)
    results = gather(loaded, out, planned, baseline, store)
    stopped = (f"{len(interrupted)} of {len(planned)} runs were interrupted ({', '.join(interrupted)}): their "
               "checkpoints are saved and the same `ganforge bench` command resumes them") if interrupted else ""
    left = (f"{len(busy)} of {len(planned)} runs are being trained by another ganforge process ({', '.join(busy)}): "
            "they were left to it; once it ends, `ganforge bench --report-only` gathers them") if busy else ""
    unfinished = "\n".join(line for line in (stopped, left) if line)
    if failures:
        raise GanforgeError(f"{len(failures)} of {len(planned)} runs failed (results.json holds the others):\n  "
                            + "\n  ".join(failures) + (f"\n{unfinished}" if unfinished else ""))
    if unfinished:
        raise GanforgeError(unfinished)
    return results


def rescore_suite(loaded: LoadedSuite, out: Path, *, only: list[str] | None = None, seeds: list[int] | None = None,
                  baseline: Path | None = None, store: ResultsStore | None = None,
                  echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Score every finished run again, training nothing: after its evaluators' networks changed
    (a classifier retrained to the same file, say). The new numbers replace the old in the run's
    ``bench.json`` and become the store's newest rows; runs not finished in a folder here
    (store rows from another machine, say) are listed, as they cannot be scored here. Then
    write and return ``results.json``."""
    import torch

    from ganforge.bench.worker import score

    planned = plan(loaded, out, only, seeds)
    missing = []
    if loaded.suite.threads:
        torch.set_num_threads(loaded.suite.threads)
    for job in planned:
        record = finished(job)
        if record is None:
            missing.append(f"{job.run} seed {job.seed}")
            continue
        recipe = loaded.load_recipe(job.run, job.overrides).recipe
        echo(f"  scoring {job.run} seed {job.seed} again")
        record.update(score(job.folder, job.metrics, job.device or recipe.train.device, recipe.train.deterministic))
        atomic_write_text(job.folder / BENCH_FILE, json.dumps(record, indent=1))
        record_in_store(job, record, store, replace=True)
    results = gather(loaded, out, planned, baseline, store)
    if missing:
        echo(f"not scored again ({len(missing)}), as no run folder in {out} holds them finished with the suite's "
             f"recipe and evaluators as they are now: {', '.join(missing)}; `ganforge bench` without --rescore trains "
             "or scores them here (runs trained elsewhere are scored where their folders are)")
    return results


def preflight_job(loaded: LoadedSuite, job: Job, recipe: LoadedRecipe) -> Report:
    """The preflight of ``job``'s recipe and of the suite's evaluators that will score it; a
    problem is reported as the run's, at its line in the recipe or the suite file."""
    from ganforge.preflight import preflight

    try:
        return preflight(recipe, scored_by=scorers(loaded, job, recipe))
    except RecipeError as exc:
        raise RecipeError(exc.problems, f"run {job.run!r} of the suite") from None


def scorers(loaded: LoadedSuite, job: Job, recipe: LoadedRecipe) -> list[Scorer]:
    """The evaluators that will score ``job`` (the suite's; a bare name takes the recipe's own
    settings of it, as the evaluation does), for the preflight, each located in the suite file."""
    from pydantic import TypeAdapter

    from ganforge.pipeline import select_metrics
    from ganforge.preflight import Scorer
    from ganforge.recipe.model import component_slot
    from ganforge.registry import default_registry

    typed = TypeAdapter(component_slot(default_registry(), ("evaluator",)))
    slots = select_metrics(recipe.resolved()["eval"].get("metrics") or [], job.metrics, None)
    return [Scorer(typed.validate_python(slot), *loaded.metric_location(job.run, index))
            for index, slot in enumerate(slots)]


def describe_executor(executor: Executor, jobs: int | None) -> str:
    """The executor's own description (its ``__str__``), else its class name."""
    if type(executor).__str__ is not object.__str__:
        return str(executor)
    return type(executor).__name__ + (f", {jobs} at a time" if jobs else "")


def bench_task(job: Job, recipe: Any, threads: int | None, store: ResultsStore | None) -> BenchTask:
    """Write ``job``'s description into its folder and return the task that runs it anywhere."""
    job.folder.mkdir(parents=True, exist_ok=True)
    spec = job.folder / JOB_FILE
    atomic_write_text(spec, json.dumps({**job.to_json(), "store": str(store.path.resolve()) if store else None},
                                       indent=1))
    device = job.device or recipe.recipe.train.device
    return BenchTask(name=f"{job.run}/seed{job.seed}", job_file=spec, folder=job.folder, threads=threads,
                     gpus=1 if str(device).startswith("cuda") else 0)


def failure_of(task: BenchTask, code: int) -> str:
    """Why a task failed: its exit code and the end of its log."""
    lines = [line for line in task.log.read_text().splitlines() if line.strip()][-6:] if task.log.is_file() else []
    return f"exit {code}; end of {task.log}:\n      " + "\n      ".join(lines)


def gather(loaded: LoadedSuite, out: Path, planned: list[Job], baseline: Path | None,
           store: ResultsStore | None = None) -> dict[str, Any]:
    """Collect every job's record (from its folder, else from the store), summarise, compare,
    and write ``results.json``."""
    from ganforge.bench.environment import environment

    rows = []
    for job in planned:
        record = finished(job)
        source = "folder"
        if record is None:
            record, source = stored(job, store), "store"
        if record is None:
            rows.append({"run": job.run, "seed": job.seed, "status": "missing", "folder": str(job.folder)})
            continue
        rows.append({**record, "status": "done", "from": source, "folder": str(job.folder), "recipe": str(job.recipe),
                     "overrides": job.overrides, "metric_protocols": _protocol_of_each_metric(record)})
    summary = summarise(rows)
    comparisons = compare_published(summary, loaded.suite)
    if baseline is not None:
        comparisons += compare_baseline(summary, read_results(baseline), loaded.suite.baseline_tolerance)
    results = {
        "suite": {"name": loaded.suite.name, "file": str(loaded.path), "sha256": loaded.sha256,
                  "description": loaded.suite.description, "seeds": loaded.suite.seed_list,
                  "deterministic": loaded.suite.deterministic,
                  "store": str(store.path) if store is not None else None},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": environment(loaded.suite.device),
        "runs": rows,
        "summary": summary,
        "comparisons": comparisons,
        "warnings": mixed_feature_networks(rows),
        "references": [ref.model_dump() for ref in loaded.suite.reference],
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RESULTS_FILE, json.dumps(results, indent=1) + "\n")
    return results


def _protocol_of_each_metric(record: dict[str, Any]) -> dict[str, Any]:
    """Metric key -> the protocol (samples, reference split, feature network) of the evaluator
    that produced it."""
    protocols = record.get("protocols", {})
    return {key: {"evaluator": evaluator, **protocols.get(evaluator, {})}
            for key, evaluator in record.get("produced_by", {}).items()}


def read_results(path: Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise GanforgeError(f"baseline {path} not found; give a results.json written by `ganforge bench`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GanforgeError(f"baseline {path} is not valid JSON ({exc})") from None
    if "summary" not in data:
        raise GanforgeError(f"baseline {path} has no summary; is it a results.json written by `ganforge bench`?")
    return {**data, "source_file": str(path)}
