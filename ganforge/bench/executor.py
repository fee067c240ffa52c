"""Who runs a suite's (run, seed) tasks, and where: the executor contract.

An executor is a component (kind ``executor``, hook ``ganforge_register_executors``) whose
factory ``(params, ctx: ExecutorContext)`` returns an object with ``run(tasks, finished)``.
Each :class:`BenchTask` is self-contained: a job file and a run folder on storage every
machine of the executor sees (a shared file system on a cluster). Wherever it lands,
:func:`run_task` runs it: a ``ganforge.bench.worker`` process that trains or resumes the run,
scores it, writes ``bench.json`` and appends its row to the suite's results store. So an
executor only places tasks; the numbers, the resumption and the store are the same whoever
placed them. ``ganforge`` ships ``local`` (processes on this machine), ``ray`` and ``slurm``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple, Protocol, Sequence

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ganforge.registry import ComponentSpec


@dataclass(frozen=True)
class BenchTask:
    """One (run, seed) of a suite, ready to run on any machine that sees its files."""

    name: str
    """``<run>/seed<k>``: a label for logs and scheduler job names."""
    job_file: Path
    """The worker's job description (``bench.job.json`` in the run folder)."""
    folder: Path
    """The run folder, where the worker trains, resumes and writes ``bench.json``."""
    threads: int | None
    """CPU threads the suite pins for each run (float sums depend on them), or None: the executor chooses."""
    gpus: int
    """GPUs the run's device asks for (1 for ``cuda``, else 0); an executor's setting may override it."""

    @property
    def log(self) -> Path:
        """Where the worker's output is appended (``bench.log`` in the run folder)."""
        return self.folder / "bench.log"


FinishedCallback = Callable[[BenchTask, "int | None"], None]
"""Called once per task: its worker's exit code, or None when the task was handed to a
scheduler and not awaited (its row reaches the store when it ends)."""


class Executor(Protocol):
    """Runs a suite's tasks somewhere."""

    def run(self, tasks: Sequence[BenchTask], finished: FinishedCallback) -> None:
        """Run every task (each with :func:`run_task` on some machine), calling ``finished`` as each ends."""


@dataclass(frozen=True)
class ExecutorContext:
    """What an executor's factory receives besides its parameters."""

    out: Path
    """The suite's output folder (on shared storage for a cluster)."""
    jobs: int | None
    """``ganforge bench --jobs``: runs at once, or None for the executor's own default."""
    suite: str
    """The suite's name (for job names)."""


INTERRUPTED = 3
"""The worker's exit code for a run stopped on request (SIGTERM, Ctrl-C) after saving a
checkpoint: not a failure; the next ``ganforge bench`` of the suite resumes it."""

BUSY = 4
"""The worker's exit code for a run whose folder another ganforge process holds (a second
``ganforge bench`` of the same suite, say): left to that process, its folder untouched."""


def run_task(task: BenchTask, threads: int) -> int:
    """Run ``task`` in a worker process of this machine with ``threads`` CPU threads, its output
    appended to :attr:`BenchTask.log`; return the worker's exit code. Executors call this
    wherever the task lands (a Ray worker, a Slurm job)."""
    task.folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with task.log.open("a") as handle:
        handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} on {os.uname().nodename}\n")
        handle.flush()
        done = subprocess.run([sys.executable, "-m", "ganforge.bench.worker", str(task.job_file)], stdout=handle,
                              stderr=subprocess.STDOUT, env=env)
    return done.returncode


def missing_extra(engine: str, module: str, extra: str) -> str:
    """The message for an executor whose engine is not installed."""
    return (f"the {engine} executor needs {module}, which is not installed: pip install 'ganforge[{extra}]' "
            f"(or `uv sync --extra {extra}`), or run the suite with --executor local")


class CheckedExecutorSlot(NamedTuple):
    """An executor slot looked up and validated: its component and settings, or its problems."""

    spec: ComponentSpec | None
    """The registered executor; None when its name is unknown."""
    params: BaseModel | None
    """The validated settings; None when there are problems."""
    problems: list[tuple[tuple, str]]
    """``(key, message)`` pairs, keys below ``executor``, for the caller to place in a file or
    on the command line."""


def check_executor_slot(slot: object) -> CheckedExecutorSlot:
    """Look up and validate an executor slot: a name, or ``{"type": NAME, ...settings}``."""
    from pydantic import ValidationError

    from ganforge.registry import UnknownComponent, default_registry

    if isinstance(slot, str):
        slot = {"type": slot}
    if not (isinstance(slot, dict) and isinstance(slot.get("type"), str)):
        return CheckedExecutorSlot(None, None, [((), "an executor is a name (local, ray, slurm) or a mapping with a "
                                                    "'type' and its settings")])
    registry = default_registry()
    try:
        spec = registry.get("executor", slot["type"])
    except UnknownComponent:
        return CheckedExecutorSlot(None, None, [(("type",), registry.unknown_message("executor", slot["type"]))])
    try:
        return CheckedExecutorSlot(spec, spec.params.model_validate({k: v for k, v in slot.items() if k != "type"}), [])
    except ValidationError as exc:
        return CheckedExecutorSlot(spec, None, [(tuple(error["loc"]), error["msg"])
                                                for error in exc.errors(include_url=False)])
