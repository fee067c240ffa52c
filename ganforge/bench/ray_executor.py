"""The ``ray`` executor: each (run, seed) a Ray task with its CPU and GPU request."""

from __future__ import annotations

import os
from typing import Any, Sequence

from ganforge.bench.executor import BenchTask, ExecutorContext, FinishedCallback, missing_extra, run_task
from ganforge.errors import GanforgeError


OBJECT_STORE_BYTES = 256 * 2**20


def _task_on_ray(task: BenchTask, threads: int) -> int:
    return run_task(task, threads)


class RayExecutor:
    """Tasks on the cluster at ``params.address`` (or a local one started for the suite)."""

    def __init__(self, params: Any, ctx: ExecutorContext):
        self.params, self.ctx = params, ctx

    def __str__(self) -> str:
        where = self.params.address or os.environ.get("RAY_ADDRESS") or "a local Ray cluster"
        return f"ray executor on {where}" + (f", {self.ctx.jobs} at a time" if self.ctx.jobs else "")

    def run(self, tasks: Sequence[BenchTask], finished: FinishedCallback) -> None:
        # Ray's own default, when the driver runs under `uv run`, is to rebuild the driver's uv project
        # on every worker (uploading the working folder): slow, and needless here, since each task only
        # starts the worker's own Python on ganforge.bench.worker. Set it to 1 to have it anyway.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        try:
            import ray
        except ImportError:
            raise GanforgeError(missing_extra("ray", "Ray", "ray")) from None
        started_here = not ray.is_initialized()
        if started_here:
            self._connect(ray)
        try:
            self._run(ray, list(tasks), finished)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> None:
        address = self.params.address or os.environ.get("RAY_ADDRESS")
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:  # a local cluster: tasks pass only exit codes, so a small object store does
            options.update(num_cpus=self.params.num_cpus, object_store_memory=OBJECT_STORE_BYTES)
            # Ray lowers its workers' priority (nice 15) by default, and the training processes they
            # start inherit it: beside any other work on the machine they would starve.
            os.environ.setdefault("RAY_worker_niceness", "0")
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:
            raise GanforgeError(f"cannot reach the Ray cluster at {address} ({exc}); start it with `ray start --head` "
                                "or give another `address`") from None

    def _requests(self, task: BenchTask) -> tuple[int, int, float]:
        """(threads, CPUs asked for, GPUs asked for) of ``task``."""
        threads = task.threads or self.params.cpus_per_run
        gpus = self.params.gpus_per_run if self.params.gpus_per_run is not None else task.gpus
        return threads, max(threads, self.params.cpus_per_run), gpus

    def _run(self, ray: Any, queue: list[BenchTask], finished: FinishedCallback) -> None:
        available = ray.cluster_resources()
        for task in queue[:1]:
            _, cpus, gpus = self._requests(task)
            if cpus > available.get("CPU", 0) or gpus > available.get("GPU", 0):
                raise GanforgeError(f"each run asks the Ray cluster for {cpus} CPU(s) and {gpus:g} GPU(s), but it "
                                    f"has {available.get('CPU', 0):g} and {available.get('GPU', 0):g}: lower the "
                                    "suite's threads or the executor's cpus_per_run / gpus_per_run, or add nodes")
        remote = ray.remote(_task_on_ray)
        limit = self.ctx.jobs or len(queue)
        pending: dict[Any, BenchTask] = {}
        while queue or pending:
            while queue and len(pending) < limit:
                task = queue.pop(0)
                threads, cpus, gpus = self._requests(task)
                ref = remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=self.params.retries,
                                     name=f"ganforge-{self.ctx.suite}:{task.name}").remote(task, threads)
                pending[ref] = task
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    code = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    with task.log.open("a") as handle:
                        handle.write(f"ray: the task failed: {exc}\n")
                    code = -1
                finished(task, code)


def ray_executor(params: Any, ctx: ExecutorContext) -> RayExecutor:
    return RayExecutor(params, ctx)
