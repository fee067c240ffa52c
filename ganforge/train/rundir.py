"""The run folder: resolved recipe, manifest, metrics, samples, checkpoints, TensorBoard."""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import yaml

from ganforge.errors import RunFolderError, RunFolderInUse
from ganforge.files import atomic_write_text
from ganforge.recipe.later import without_later_defaults
from ganforge.registry import Registry

RECIPE_FILE = "recipe.resolved.yaml"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
BEST_FILE = "best.json"
LOCK_FILE = ".ganforge.lock"
# Settings a resumed run may change: they do not affect the weights it computes.
RESUME_MAY_CHANGE = {("train", "steps"), ("train", "progress"), ("train", "log_every"), ("train", "sample_every"),
                     ("train", "checkpoint_every"), ("train", "keep_checkpoints"), ("train", "nan_rollback"), ("output",),
                     ("eval",)}


class RunFolder:
    """Paths and writes of one run folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.recipe_file = self.path / RECIPE_FILE
        self.manifest_file = self.path / MANIFEST_FILE
        self.metrics_file = self.path / METRICS_FILE
        self.eval_file = self.path / EVAL_FILE
        self.best_file = self.path / BEST_FILE
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"

    @contextmanager
    def lock(self, file: str = LOCK_FILE) -> Iterator[None]:
        """Hold the folder as its one writer while the block runs (``file``: the lock's name, for
        a holder of the folder for longer than training, such as a bench job). Another process
        holding it is refused, named by its pid; a lock left by a killed process (the kernel
        releases it) is taken over, and said so."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / file, "a+", encoding="utf-8")
        except OSError as exc:
            raise RunFolderError(f"cannot write the run folder {self.path} ({exc.strerror or exc}); choose a writable "
                                 "folder with --set output.dir=...") from None
        with handle:
            handle.seek(0)
            holder = handle.read().strip()
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = holder or "pid unknown"
                raise RunFolderInUse(f"run folder {self.path} is in use by another ganforge process ({holder}); two "
                                     "writers would interleave its checkpoints and metrics. Wait for it to finish or "
                                     "stop it, or train into another output.dir") from None
            if holder:
                print(f"ganforge: took over the run folder's lock from {holder}, which no longer runs", file=sys.stderr)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                         f"{dt.datetime.now().isoformat(timespec='seconds')}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()  # an empty file: released cleanly
                handle.flush()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def start(self, resolved: dict, manifest: dict, *, resume: bool, registry: Registry | None = None) -> None:
        """Create (or, on resume, check) the folder and write the recipe and manifest (``registry``:
        the components ``resolved`` was built from, which declare their settings added later)."""
        if resume:
            if not self.recipe_file.is_file():
                raise RunFolderError(f"cannot resume: {self.recipe_file} is missing; "
                                     "is this the run folder of an earlier `ganforge train`?")
            saved = without_later_defaults(yaml.safe_load(self.recipe_file.read_text()), registry)
            changed = diff_keys(saved, without_later_defaults(copy.deepcopy(resolved), registry))
            changed = [k for k in changed if not any(k[: len(p)] == p for p in RESUME_MAY_CHANGE)]
            if changed:
                names = ", ".join(".".join(map(str, k)) for k in changed[:8])
                raise RunFolderError(f"cannot resume {self.path}: the recipe changed since the run started "
                                     f"({names}). Undo those changes, or start a new run with another "
                                     "output.dir.")
        elif self.checkpoints.is_dir() and any(self.checkpoints.iterdir()):
            raise RunFolderError(f"run folder {self.path} already holds a run; resume it with --resume, or "
                                 "choose another folder with --set output.dir=...")
        try:
            for folder in (self.path, self.samples, self.checkpoints):
                folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.recipe_file, yaml.safe_dump(resolved, sort_keys=False))
            atomic_write_text(self.manifest_file, json.dumps(manifest, indent=2) + "\n")
        except PermissionError as exc:
            raise RunFolderError(f"cannot write the run folder {self.path}: {exc.strerror}; choose a writable "
                                 "folder with --set output.dir=...") from None

    def log(self, record: dict[str, Any]) -> None:
        with self.metrics_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def truncate_metrics(self, step: int) -> None:
        """Drop records after ``step`` (logged after the checkpoint a run resumes from)."""
        if not self.metrics_file.is_file():
            return
        keep = [line for line in self.metrics_file.read_text().splitlines()
                if line.strip() and _record_step(line) <= step]
        atomic_write_text(self.metrics_file, "".join(line + "\n" for line in keep))

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_file.is_file():
            return []
        return [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]

    def read_evals(self) -> list[dict[str, Any]]:
        """Evaluation records, oldest first (``eval.json`` is a JSON list)."""
        if not self.eval_file.is_file():
            return []
        try:
            records = json.loads(self.eval_file.read_text())
        except json.JSONDecodeError as exc:
            raise RunFolderError(f"{self.eval_file} is not valid JSON ({exc}); move it aside to start a new one") from None
        if not isinstance(records, list):
            raise RunFolderError(f"{self.eval_file} should hold a JSON list of evaluation records")
        return records

    def write_evals(self, records: list[dict[str, Any]]) -> None:
        atomic_write_text(self.eval_file, json.dumps(records, indent=1) + "\n")

    def append_eval(self, record: dict[str, Any]) -> None:
        self.write_evals([*self.read_evals(), record])

    def truncate_evals(self, step: int) -> None:
        """Drop evaluations of steps after ``step`` (made after the checkpoint a run resumes from)."""
        records = self.read_evals()
        kept = [r for r in records if r.get("step", 0) <= step]
        if len(kept) != len(records):
            self.write_evals(kept)

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_file.is_file():
            raise RunFolderError(f"{self.manifest_file} is missing; {self.path} is not a complete run folder")
        return json.loads(self.manifest_file.read_text())

    def read_recipe(self) -> dict[str, Any]:
        if not self.recipe_file.is_file():
            raise RunFolderError(f"{self.recipe_file} is missing; {self.path} is not a complete run folder")
        return yaml.safe_load(self.recipe_file.read_text())


def _record_step(line: str) -> float:
    try:
        return json.loads(line).get("step", 0)
    except json.JSONDecodeError:
        return float("inf")  # a torn last line from a killed run


def diff_keys(old: Any, new: Any, path: tuple = ()) -> list[tuple]:
    """Key paths whose values differ between two plain-data trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [k for key in sorted(set(old) | set(new), key=str)
                for k in diff_keys(old.get(key), new.get(key), path + (key,))]
    return [] if old == new else [path]


def manifest(resolved: dict, source: Path | None, device: str, data_info: dict, world_size: int = 1) -> dict[str, Any]:
    """Versions, device, git commit and hashes: enough to tell two runs apart later."""
    import torch

    distributions = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and (name.startswith("ganforge") or name in {"torch", "torchvision", "pydantic", "pluggy", "numpy"}):
            distributions[name] = dist.version
    return {
        "ganforge": distributions.get("ganforge"),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device,
        "world_size": world_size,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor() or platform.machine(),
        "packages": dict(sorted(distributions.items())),
        "git_commit": git_commit(source.parent if source else Path.cwd()),
        "recipe_source": str(source) if source else None,
        "recipe_sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
        "data_info": data_info,
    }


def git_commit(folder: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
