"""The ``local`` executor: each task a worker process on this machine, ``--jobs`` at a time."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from ganforge.bench.executor import BenchTask, ExecutorContext, FinishedCallback, run_task


class LocalExecutor:
    """Worker processes on this machine; the cores are shared out between the runs at once."""

    def __init__(self, jobs: int):
        self.jobs = max(jobs, 1)

    def __str__(self) -> str:
        return f"local executor, {self.jobs} at a time"

    def run(self, tasks: Sequence[BenchTask], finished: FinishedCallback) -> None:
        def one(task: BenchTask) -> None:
            threads = task.threads or max(1, (os.cpu_count() or 1) // self.jobs)
            finished(task, run_task(task, threads))

        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(one, tasks))


def local_executor(params: Any, ctx: ExecutorContext) -> LocalExecutor:
    return LocalExecutor(ctx.jobs or 1)
