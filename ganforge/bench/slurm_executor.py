"""The ``slurm`` executor: the suite's runs as one Slurm array job, submitted with submitit."""

from __future__ import annotations

from typing import Any, Sequence

from ganforge.bench.executor import BenchTask, ExecutorContext, FinishedCallback, missing_extra, run_task
from ganforge.errors import GanforgeError


class SlurmExecutor:
    """An array job of one task per run; Slurm's scripts and output in ``params.logs`` (or <out>/slurm)."""

    def __init__(self, params: Any, ctx: ExecutorContext):
        self.params, self.ctx = params, ctx

    def __str__(self) -> str:
        partition = f" partition {self.params.partition}" if self.params.partition else ""
        return f"slurm executor ({self.params.cluster}{partition})"

    @property
    def folder(self) -> Any:
        return (self.params.logs or self.ctx.out / "slurm") / "%j"

    def run(self, tasks: Sequence[BenchTask], finished: FinishedCallback) -> None:
        try:
            import submitit
        except ImportError:
            raise GanforgeError(missing_extra("slurm", "submitit", "slurm")) from None
        if not tasks:
            return
        executor = self.submitit_executor(submitit, tasks)
        threads = self._threads(tasks)
        with executor.batch():
            jobs = [executor.submit(run_task, task, threads) for task in tasks]
        first = jobs[0].job_id.split("_")[0]
        print(f"submitted {len(jobs)} run(s) to {self.params.cluster} as job {first}; its output: "
              f"{str(self.folder).replace('%j', first + '*')}", flush=True)
        if not self.params.wait:
            for task in tasks:
                finished(task, None)
            return
        by_job = {job.job_id: task for job, task in zip(jobs, tasks)}
        poll = 1 if self.params.cluster == "local" else 15  # seconds between looks at Slurm's accounting
        for job in submitit.helpers.as_completed(jobs, poll_frequency=poll):
            task = by_job[job.job_id]
            try:
                code = job.result()
            except Exception as exc:  # the job died: out of time, out of memory, node failure
                with task.log.open("a") as handle:
                    handle.write(f"slurm: job {job.job_id} ended without a result: {exc}\n")
                code = -1
            finished(task, code)

    def _threads(self, tasks: Sequence[BenchTask]) -> int:
        return max(task.threads or self.params.cpus_per_run for task in tasks)

    def submitit_executor(self, submitit: Any, tasks: Sequence[BenchTask]) -> Any:
        """A submitit executor holding every sbatch setting of the suite's runs."""
        p = self.params
        gpus = p.gpus_per_run if p.gpus_per_run is not None else max(task.gpus for task in tasks)
        try:
            executor = submitit.AutoExecutor(folder=self.folder, cluster=p.cluster)
        except RuntimeError as exc:  # no srun on this machine
            raise GanforgeError(f"cannot submit to Slurm from here ({exc}): run `ganforge bench` on a login node of "
                                "the cluster, or set the executor's cluster: local to try the suite on this machine") \
                from None
        extra = {key.replace("_", "-"): value for key, value in p.sbatch.items()}
        executor.update_parameters(
            name=f"ganforge-{self.ctx.suite}", timeout_min=p.time_minutes, nodes=1, tasks_per_node=1,
            cpus_per_task=max(p.cpus_per_run, self._threads(tasks)), gpus_per_node=gpus or None, mem_gb=p.mem_gb,
            slurm_partition=p.partition, slurm_account=p.account, slurm_qos=p.qos, slurm_constraint=p.constraint,
            slurm_array_parallelism=p.array_parallelism or self.ctx.jobs or 256, slurm_setup=list(p.setup) or None,
            slurm_additional_parameters=extra or None)
        return executor


def slurm_executor(params: Any, ctx: ExecutorContext) -> SlurmExecutor:
    return SlurmExecutor(params, ctx)
