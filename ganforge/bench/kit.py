"""The conformance check of an executor: a tiny deterministic suite (two recipes, two seeds)
run by it must give what the local executor gives, every task reported once. For a site's own
executor plugin::

    from ganforge.sdk import check_executor

    def test_my_executor(tmp_path):
        check_executor("kubernetes", {"namespace": "ci"}, folder=tmp_path)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from ganforge.bench.executor import BenchTask, Executor, ExecutorContext, FinishedCallback
from ganforge.testing import ConformanceError

TINY_RECIPE = {
    "name": "kit-ring", "seed": 0,
    "data": {"type": "gaussian-mixture", "layout": "ring", "size": 512},
    "models": {"generator": {"type": "mlp-generator", "z_dim": 2, "width": 16, "depth": 2},
               "discriminator": {"type": "mlp-discriminator", "width": 16, "depth": 2}},
    "objective": {"type": "unconditional"},
    "train": {"steps": 12, "batch_size": 64, "device": "cpu", "log_every": 4, "sample_every": 12,
              "checkpoint_every": 6, "sample_count": 64},
    "eval": {"every": 6, "metrics": [{"type": "mode-coverage", "samples": 200}]},
}


def tiny_suite(folder: Path) -> Path:
    """Write the kit's suite (two recipes, two seeds, deterministic, one thread) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ring.yaml").write_text(yaml.safe_dump(TINY_RECIPE, sort_keys=False))
    (folder / "pac-ring.yaml").write_text(yaml.safe_dump(
        {"extends": "ring.yaml", "name": "kit-pac-ring", "models": {"discriminator": {"pack": 2}}}, sort_keys=False))
    suite = {"name": "executor-kit", "seeds": 2, "deterministic": True, "threads": 1, "device": "cpu",
             "metrics": [{"type": "mode-coverage", "samples": 300}],
             "runs": {"gan": {"recipe": "ring.yaml"}, "pacgan2": {"recipe": "pac-ring.yaml"}}}
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


class _Counting:
    """The candidate executor, with each report of a finished task counted."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self.reports: list[tuple[str, int | None]] = []

    def run(self, tasks: Sequence[BenchTask], finished: FinishedCallback) -> None:
        def count(task: BenchTask, code: int | None) -> None:
            self.reports.append((task.name, code))
            finished(task, code)

        self.executor.run(tasks, count)


def check_executor(executor: str | Callable[[ExecutorContext], Executor], settings: dict[str, Any] | None = None,
                   *, folder: Path, registry: Any = None) -> None:
    """Run the kit's suite with ``executor`` (a registered name with its ``settings``, or a
    function of the context that returns one) and with ``local``; raise
    :class:`ConformanceError` unless each task was reported finished once, with exit code 0,
    and every run's numbers and final weights are the local executor's, bit for bit."""
    from safetensors.torch import load_file

    from ganforge.bench.local import LocalExecutor
    from ganforge.bench.runner import run_suite
    from ganforge.bench.suite import load_suite
    from ganforge.registry import default_registry

    name = executor if isinstance(executor, str) else getattr(executor, "__name__", "executor")
    loaded = load_suite(tiny_suite(Path(folder) / "suite"))
    reference = run_suite(loaded, Path(folder) / "local", executor=LocalExecutor(2), echo=lambda line: None)
    out = (Path(folder) / "candidate").resolve()
    shutil.rmtree(out, ignore_errors=True)  # the reference is reused between checks; the candidate starts afresh
    context = ExecutorContext(out=out, jobs=None, suite=loaded.suite.name)
    if isinstance(executor, str):
        spec = (registry or default_registry()).get("executor", executor)
        built = spec.build(spec.params.model_validate(settings or {}), context)
    else:
        built = executor(context)
    counting = _Counting(built)
    try:
        results = run_suite(loaded, out, executor=counting, echo=lambda line: None)
    except Exception as exc:
        raise ConformanceError("executor", name, "running the kit's suite", "every run to finish", exc) from exc
    names = sorted(task for task, _ in counting.reports)
    expected = sorted(f"{run}/seed{seed}" for run in ("gan", "pacgan2") for seed in (0, 1))
    if names != expected:
        raise ConformanceError("executor", name, "reporting each task once", expected, names)
    if any(code != 0 for _, code in counting.reports):
        raise ConformanceError("executor", name, "reporting exit codes", "0 for every task", counting.reports)
    mine = {(r["run"], r["seed"]): r.get("metrics") for r in results["runs"]}
    theirs = {(r["run"], r["seed"]): r.get("metrics") for r in reference["runs"]}
    if mine != theirs:
        raise ConformanceError("executor", name, "the same numbers as the local executor", theirs, mine)
    for run, seed in theirs:
        a = _final_weights(load_file, Path(folder) / "local" / run / f"seed{seed}")
        b = _final_weights(load_file, out / run / f"seed{seed}")
        if a.keys() != b.keys() or any(not (a[k] == b[k]).all() for k in a):
            raise ConformanceError("executor", name, "the same weights as the local executor",
                                   "bit-identical final weights", f"{run} seed {seed} differs")
    record = json.loads((out / "gan" / "seed0" / "bench.json").read_text())
    if record.get("status") != "done":
        raise ConformanceError("executor", name, "bench.json", "status done", record.get("status"))


def _final_weights(load_file: Callable, folder: Path) -> dict:
    return load_file(sorted((folder / "checkpoints").glob("step_*"))[-1] / "nets.safetensors")
