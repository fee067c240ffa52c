"""The executors that ``ganforge bench`` can place a suite's runs with: this machine, a Ray
cluster, a Slurm cluster (through submitit). Ray and submitit are optional extras."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ganforge.hookspecs import hookimpl
from ganforge.params import Params


class LocalParams(Params):
    """Worker processes on this machine, ``--jobs`` at a time (the cores shared out between them)."""


class RayParams(Params):
    """Each (run, seed) a Ray task."""

    address: str | None = Field(None, description="Cluster to connect to ('auto', 'host:6379', 'ray://host:10001'); "
                                                  "default: $RAY_ADDRESS, else a local cluster started for the suite.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local cluster started when no address is given "
                                                         "(default: all of this machine's).")
    cpus_per_run: int = Field(1, ge=1, description="CPUs each run asks for (at least the suite's `threads`), and its "
                                                   "threads unless the suite pins them.")
    gpus_per_run: float | None = Field(None, ge=0, description="GPUs each run asks for (default: 1 when the suite or "
                                                              "recipe trains on cuda, else 0).")
    retries: int = Field(2, ge=0, description="Times a run is started again when its worker or node dies (it "
                                              "resumes from its last checkpoint).")


class SlurmParams(Params):
    """Each (run, seed) a task of a Slurm array job, submitted through submitit."""

    cluster: Literal["slurm", "local"] = Field("slurm", description="'slurm' submits with sbatch; 'local' runs the "
                                                                   "same submitit jobs as processes of this machine "
                                                                   "(no Slurm needed: for trying a suite out).")
    partition: str | None = Field(None, description="Slurm partition (sbatch --partition).")
    time_minutes: int = Field(240, ge=1, description="Time limit of each run (sbatch --time); a run stopped by it "
                                                     "resumes from its last checkpoint at the next `ganforge bench`.")
    cpus_per_run: int = Field(4, ge=1, description="CPUs of each run (--cpus-per-task, at least the suite's "
                                                   "`threads`), and its threads unless the suite pins them.")
    gpus_per_run: int | None = Field(None, ge=0, description="GPUs of each run (--gpus-per-node; default: 1 when the "
                                                            "suite or recipe trains on cuda, else 0).")
    mem_gb: int | None = Field(None, ge=1, description="Memory of each run (--mem).")
    array_parallelism: int | None = Field(None, ge=1, description="Runs of the array at once (%N; default: "
                                                                  "`--jobs`, else 256).")
    account: str | None = Field(None, description="sbatch --account.")
    qos: str | None = Field(None, description="sbatch --qos.")
    constraint: str | None = Field(None, description="sbatch --constraint.")
    sbatch: dict[str, str | int] = Field(default_factory=dict, description="More sbatch directives, e.g. "
                                                                          "{mail-type: END}.")
    setup: list[str] = Field(default_factory=list, description="Shell lines run before each run, e.g. "
                                                               "['module load cuda', 'source .venv/bin/activate'].")
    logs: Path | None = Field(None, description="Folder of Slurm's job scripts and output (%j: the job id); default "
                                                "<out>/slurm.")
    wait: bool = Field(True, description="Wait for the runs and report; false: submit, print the job id and return "
                                         "(`ganforge bench --report-only` reports when they are done).")


@hookimpl
def ganforge_register_executors(register):
    register("local", params=LocalParams, factory="ganforge.bench.local:local_executor",
             summary="Worker processes on this machine, --jobs at a time (the default).")
    register("ray", params=RayParams, factory="ganforge.bench.ray_executor:ray_executor",
             summary="Each run a Ray task on a Ray cluster (needs the 'ray' extra).")
    register("slurm", params=SlurmParams, factory="ganforge.bench.slurm_executor:slurm_executor",
             summary="Each run a task of a Slurm array job, through submitit (needs the 'slurm' extra).")
