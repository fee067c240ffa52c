"""``ganforge bench`` executors: the same tiny suite (two recipes, two seeds, deterministic on
CPU) run by the local executor, by a real local Ray cluster and by submitit's local executor
gives bit-for-bit the same numbers and weights; the Slurm path renders the sbatch script it
submits; a worker killed or stopped mid-sweep is resumed by the next call; a report drawn from a store
alone has its metric curves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from ganforge.bench.executor import BenchTask, ExecutorContext, run_task
from ganforge.bench.suite import load_suite
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.recipe.errors import RecipeError
from ganforge.registry import default_registry
from test_bench import suite_file

RUNS = [("gan", 0), ("pacgan2", 0), ("gan", 1), ("pacgan2", 1)]


def bench(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ganforge", "bench", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def numbers(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    return {(r["run"], r["seed"]): r["metrics"] for r in results["runs"] if r["status"] == "done"}


def final_weights(out: Path, run: str, seed: int) -> dict:
    checkpoints = sorted((out / run / f"seed{seed}" / "checkpoints").glob("step_*"))
    return load_file(checkpoints[-1] / "nets.safetensors")


def assert_same_runs(out: Path, reference: Path) -> None:
    assert numbers(out) == numbers(reference) and len(numbers(out)) == len(RUNS)
    for run, seed in RUNS:
        mine, theirs = final_weights(out, run, seed), final_weights(reference, run, seed)
        assert mine.keys() == theirs.keys()
        assert all((mine[k] == theirs[k]).all() for k in mine), f"{run} seed {seed} weights differ"


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    suite = suite_file(folder, set=["train.steps=20"])
    started = time.perf_counter()
    bench(suite, "--out", folder / "local", "--jobs", "2", "--store", folder / "store.jsonl")
    print(f"local executor: {time.perf_counter() - started:.1f} s")
    return suite, folder


# ----------------------------------------------------------------- the kind

def test_executors_are_components_of_their_own_kind(capsys):
    registry = default_registry()
    assert {"local", "ray", "slurm"} <= set(registry.names("executor"))
    assert registry.get("executor", "slurm").distribution == "ganforge"
    assert main(["plugins"]) == 0
    listed = capsys.readouterr().out
    assert "executor      ray" in listed and "executor      slurm" in listed


def test_a_suites_executor_is_checked_where_it_is_written(tmp_path):
    with pytest.raises(RecipeError, match=r"tiny\.yaml:\d+: executor\.type: unknown executor 'rya'; did you mean "
                                          r"'ray'"):
        load_suite(suite_file(tmp_path, executor={"type": "rya"}))
    with pytest.raises(RecipeError, match=r"tiny\.yaml:\d+: executor\.time_minutes: Input should be greater than "
                                          r"or equal to 1"):
        load_suite(suite_file(tmp_path, executor={"type": "slurm", "time_minutes": 0}))
    with pytest.raises(RecipeError, match="executor: an executor is a name"):
        load_suite(suite_file(tmp_path, executor=3))
    assert load_suite(suite_file(tmp_path, executor="ray")).executor_slot == {"type": "ray"}


def test_command_line_executor_settings_are_checked(tmp_path, capsys):
    suite = suite_file(tmp_path)
    assert main(["bench", str(suite), "--executor", "ray", "--executor-set", "cpus_per_run=0"]) != 0
    assert "executor ray: cpus_per_run: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert main(["bench", str(suite), "--executor", "slurm", "--executor-set", "partition"]) != 0
    assert "--executor-set 'partition': give KEY=VALUE" in capsys.readouterr().err
    assert main(["bench", str(suite), "--executor", "kubernetes"]) != 0
    assert "unknown executor 'kubernetes'" in capsys.readouterr().err


def test_a_missing_engine_names_the_extra(tmp_path, monkeypatch):
    import ganforge.bench.ray_executor as module

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    executor = module.RayExecutor(default_registry().get("executor", "ray").params(), ExecutorContext(tmp_path, 1, "x"))
    with pytest.raises(GanforgeError, match=r"pip install 'ganforge\[ray\]' \(or `uv sync --extra ray`\)"):
        executor.run([], lambda task, code: None)


def test_run_task_runs_the_worker_with_its_threads_and_appends_its_log(tmp_path):
    job = tmp_path / "job.json"
    job.write_text("{}")
    task = BenchTask("r/seed0", job, tmp_path / "r", threads=None, gpus=0)
    assert run_task(task, threads=1) != 0  # an empty job is refused by the worker...
    assert "KeyError" in task.log.read_text() and task.log.read_text().startswith("--- ")  # ...and its log says why


# ----------------------------------------------------------------- the same numbers from every engine

def test_ray_runs_the_suite_to_the_same_numbers_and_weights(local_sweep):
    pytest.importorskip("ray", reason="the 'ray' extra is not installed (uv sync installs it with the dev group)")
    suite, folder = local_sweep
    started = time.perf_counter()
    done = bench(suite, "--out", folder / "ray", "--executor", "ray", "--executor-set", "num_cpus=2")
    print(f"ray executor (a local cluster started and stopped): {time.perf_counter() - started:.1f} s")
    assert "ray executor on a local Ray cluster" in done.stdout
    assert_same_runs(folder / "ray", folder / "local")
    for run, seed in RUNS:  # Ray lowers its workers' priority; the runs it starts train at the normal one
        record = json.loads((folder / "ray" / run / f"seed{seed}" / "bench.json").read_text())
        assert record["segments"][-1]["nice"] == os.nice(0)


def test_submitit_runs_the_suite_to_the_same_numbers_and_weights(local_sweep):
    pytest.importorskip("submitit", reason="the 'slurm' extra is not installed (uv sync installs it with the dev group)")
    suite, folder = local_sweep
    started = time.perf_counter()
    done = bench(suite, "--out", folder / "submitit", "--executor", "slurm", "--executor-set", "cluster=local",
                 "--jobs", "2")
    print(f"slurm executor through submitit's local cluster: {time.perf_counter() - started:.1f} s")
    assert "submitted 4 run(s) to local as job" in done.stdout
    assert_same_runs(folder / "submitit", folder / "local")
    assert list((folder / "submitit" / "slurm").glob("*/*_log.out"))  # submitit's own logs, where it keeps them


# ----------------------------------------------------------------- Slurm

FAKE_SBATCH = """#!/bin/sh
cp "$1" "{keep}"
echo "Submitted batch job 4242"
"""


def test_the_slurm_path_submits_one_array_job_with_the_suites_directives(tmp_path):
    pytest.importorskip("submitit", reason="the 'slurm' extra is not installed (uv sync installs it with the dev group)")
    keep = tmp_path / "submitted.sh"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(keep=keep))
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")  # submitit only checks that Slurm is there
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).chmod(0o755)
    suite = suite_file(tmp_path, executor={
        "type": "slurm", "partition": "gpu", "time_minutes": 90, "cpus_per_run": 6, "gpus_per_run": 1,
        "mem_gb": 16, "account": "gan-lab", "sbatch": {"mail-type": "END"}, "setup": ["module load cuda"],
        "wait": False})
    done = bench(suite, "--out", tmp_path / "out", "--jobs", "3",
                 env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert "submitted 4 run(s) to slurm as job 4242" in done.stdout
    assert done.stdout.count("  submitted ") == 4  # the bench returns at once, runs missing until they end
    script = keep.read_text()
    for directive in ["--array=0-3%3", "--partition=gpu", "--time=90", "--cpus-per-task=6", "--gpus-per-node=1",
                      "--mem=16GB", "--account=gan-lab", "--mail-type=END", "--job-name=ganforge-tiny",
                      "--nodes=1", "--ntasks-per-node=1"]:
        assert f"#SBATCH {directive}\n" in script, directive
    assert f"#SBATCH --output={tmp_path / 'out' / 'slurm'}/%A_%a/%A_%a_0_log.out" in script
    assert "module load cuda\n" in script and "submitit.core._submit" in script
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["status"] for r in results["runs"]} == {"missing"}
    refused = bench(suite, "--out", tmp_path / "out", check=False, env={"PATH": os.path.dirname(sys.executable)})
    assert refused.returncode != 0 and "cannot submit to Slurm from here" in refused.stderr
    assert "set the executor's cluster: local" in refused.stderr
    for run, seed in RUNS:  # each task's job file is on the shared storage the nodes read
        job = json.loads((tmp_path / "out" / run / f"seed{seed}" / "bench.job.json").read_text())
        assert job["seed"] == seed and job["run"] == run


# ----------------------------------------------------------------- interrupted sweeps

def worker_of(job_file: Path) -> int | None:
    """The pid of the bench worker running ``job_file``, if one is running."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ganforge.bench.worker" in cmdline and str(job_file).encode() in cmdline:
                return int(proc.name)
    return None


def test_a_worker_killed_or_stopped_mid_sweep_is_resumed_by_the_next_call(tmp_path):
    suite = suite_file(tmp_path, seeds=1, runs={"gan": {"recipe": "recipes/ring.yaml"}}, reference=[],
                       set=["train.steps=400", "train.checkpoint_every=20", "eval.every=200"])
    out = tmp_path / "out"
    folder = out / "gan" / "seed0"
    sweep = subprocess.Popen([sys.executable, "-m", "ganforge", "bench", str(suite), "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not list((folder / "checkpoints").glob("step_*")) and time.time() < deadline:
        time.sleep(0.2)
    pid = worker_of(folder / "bench.job.json")
    assert pid is not None, "the worker was not found running"
    os.kill(pid, signal.SIGKILL)
    output, _ = sweep.communicate(timeout=120)
    assert sweep.returncode != 0 and "FAILED gan seed 0" in output and "exit -9" in output
    killed_at = max(int(p.name.split("_")[1]) for p in (folder / "checkpoints").glob("step_*"))
    assert 0 < killed_at < 400

    # stopped politely (SIGTERM) the next time: an interruption with its checkpoint, not a failure
    sweep = subprocess.Popen([sys.executable, "-m", "ganforge", "bench", str(suite), "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while newest(folder) <= killed_at + 20 and time.time() < deadline:
        time.sleep(0.2)
    os.kill(worker_of(folder / "bench.job.json"), signal.SIGTERM)
    output, _ = sweep.communicate(timeout=120)
    assert sweep.returncode != 0 and "interrupted gan seed 0" in output and "FAILED" not in output, output
    assert "1 of 1 runs were interrupted (gan seed 0): their checkpoints are saved and the same `ganforge bench` " \
           "command resumes them" in output
    record = json.loads((folder / "bench.json").read_text())
    stopped_at = newest(folder)
    assert record["status"] == "interrupted" and record["segments"][-1]["to_step"] == stopped_at > killed_at + 20
    assert "The next `ganforge bench` of this suite resumes it" in (folder / "bench.log").read_text()

    bench(suite, "--out", out)
    record = json.loads((folder / "bench.json").read_text())
    assert record["status"] == "done" and record["step"] == 400
    assert record["segments"][-1]["from_step"] == stopped_at  # resumed, not started over


def newest(folder: Path) -> int:
    return max((int(p.name.split("_")[1]) for p in (folder / "checkpoints").glob("step_*")), default=0)


# ----------------------------------------------------------------- the report from a store alone

def test_a_report_from_the_store_alone_has_each_runs_metric_curves(local_sweep, tmp_path):
    suite, folder = local_sweep
    store = folder / "store.jsonl"
    rows = [json.loads(line) for line in store.read_text().splitlines()]
    assert sorted((row["run"], row["seed"]) for row in rows) == sorted(RUNS)  # each worker appended its own row
    assert all(row["curves"]["eval"]["modes"] for row in rows) and rows[0]["host"] == os.uname().nodename
    assert [step for step, _ in rows[0]["curves"]["eval"]["modes"]] == [10, 20]
    assert len(rows[0]["curves"]["losses"]["g/loss"]) == 4  # logged every 5 of 20 steps
    # another machine: the store, no run folders
    elsewhere = tmp_path / "elsewhere"
    bench(suite, "--out", elsewhere, "--store", store, "--report-only")
    page = (elsewhere / "report.html").read_text()
    assert "2 seed(s) from the results store (trained on" in page
    assert 'alt="gan evaluation during training"' in page and 'alt="pacgan2 losses"' in page


# ----------------------------------------------------------------- the executor kit

class Backwards:
    """A plugin's executor: the tasks last to first, two at a time."""

    def __init__(self, ctx: ExecutorContext):
        self.ctx = ctx

    def run(self, tasks, finished):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda task: finished(task, run_task(task, task.threads or 1)), reversed(tasks)))


class Forgetful(Backwards):
    """Reports one task and forgets the others."""

    def run(self, tasks, finished):
        finished(tasks[0], 0)


class Idle(Backwards):
    """Reports every task done without running any."""

    def run(self, tasks, finished):
        for task in tasks:
            finished(task, 0)


def test_the_executor_kit_passes_a_plugins_executor_and_catches_broken_ones(tmp_path):
    from ganforge.sdk import check_executor
    from ganforge.testing import ConformanceError

    check_executor(Backwards, folder=tmp_path)
    with pytest.raises(ConformanceError, match="executor 'Forgetful' fails reporting each task once"):
        check_executor(Forgetful, folder=tmp_path)  # the local reference is reused
    with pytest.raises(ConformanceError, match="executor 'Idle' fails the same numbers as the local executor"):
        check_executor(Idle, folder=tmp_path)
