"""Checkpoints: ``checkpoints/step_<N>/`` holding ``nets.safetensors``, ``ema.safetensors``
(when EMA is on), ``state.pt`` (optimizers, schedulers, data position, RNG states) and
``checksums.json`` (SHA-256 of each file). Each is written into a temporary folder, synced,
and renamed into place; a checkpoint whose files do not match their checksums is corrupt."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save

from ganforge.errors import RunFolderError
from ganforge.files import atomic_write_bytes, file_sha256

PREFIX = "step_"
CHECKSUMS = "checksums.json"


def flatten_state(nets: dict[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    """All nets' state dicts in one flat mapping: ``<net>.<parameter>``."""
    return {f"{name}.{key}": value.detach().contiguous().cpu()
            for name, net in nets.items() for key, value in net.state_dict().items()}


def unflatten_into(nets: dict[str, torch.nn.Module], tensors: dict[str, torch.Tensor]) -> None:
    for name, net in nets.items():
        own = {key[len(name) + 1:]: value for key, value in tensors.items() if key.startswith(name + ".")}
        net.load_state_dict(own)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        # This process's own device: every rank draws alike (see ganforge.distributed).
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    random.setstate(state["python"])


def checkpoint_bytes(run: Any) -> int:
    """About the size of one checkpoint: every net's tensors, an EMA copy of the generators,
    and the optimizers' state (Adam keeps two tensors per parameter)."""
    def size(net: Any) -> int:
        return sum(t.numel() * t.element_size() for t in net.state_dict().values())

    nets = sum(size(net) for net in run.nets.values())
    ema = sum(size(run.nets[n]) for n in run.objective.generators) if run.recipe.train.ema else 0
    optimizers = 2 * sum(p.numel() * p.element_size() for opt in run.optimizers.values()
                         for group in opt.param_groups for p in group["params"])
    return nets + ema + optimizers


def save_checkpoint(directory: Path, step: int, nets: dict[str, torch.nn.Module],
                    ema_nets: dict[str, torch.nn.Module] | None, state: dict[str, Any]) -> Path:
    """Write checkpoint ``step`` atomically; returns its folder."""
    final = directory / f"{PREFIX}{step:08d}"
    tmp = directory / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta = {"step": str(step)}
    try:
        atomic_write_bytes(tmp / "nets.safetensors", save(flatten_state(nets), metadata=meta))
        if ema_nets:
            atomic_write_bytes(tmp / "ema.safetensors", save(flatten_state(ema_nets), metadata=meta))
        buffer = io.BytesIO()
        torch.save({"step": step, **state}, buffer)
        atomic_write_bytes(tmp / "state.pt", buffer.getvalue())
        sums = {f.name: file_sha256(f) for f in sorted(tmp.iterdir()) if f.is_file()}
        atomic_write_bytes(tmp / CHECKSUMS, json.dumps(sums, indent=1).encode())
        _fsync_folder(tmp)
    except BaseException:  # a full disk, say: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    _fsync_folder(directory)
    return final


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def verify_checkpoint(path: Path) -> str | None:
    """What is wrong with checkpoint ``path`` (a missing, truncated or altered file), or None."""
    try:
        sums = json.loads((path / CHECKSUMS).read_text())
    except FileNotFoundError:
        return f"{CHECKSUMS} is missing"
    except (OSError, ValueError) as exc:
        return f"{CHECKSUMS} is unreadable ({exc})"
    for required in ("nets.safetensors", "state.pt"):
        if required not in sums:
            return f"{CHECKSUMS} does not list {required}"
    for name, expected in sums.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file_sha256(file) != expected:
            return f"{name} does not match its checksum (truncated or altered)"
    return None


def incomplete_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint folders lacking ``nets.safetensors`` or ``state.pt`` (never resumed from)."""
    if not directory.is_dir():
        return []
    complete = set(list_checkpoints(directory))
    return sorted(p for p in directory.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p not in complete)


def latest_good_checkpoint(directory: Path, warn=None) -> Path | None:
    """The newest checkpoint in ``directory`` that passes :func:`verify_checkpoint`; each
    newer corrupt one, and every incomplete one, is reported through ``warn`` and skipped."""
    if warn is not None:
        for path in incomplete_checkpoints(directory):
            missing = [f for f in ("nets.safetensors", "state.pt") if not (path / f).is_file()]
            warn(f"checkpoint {path} is incomplete ({' and '.join(missing)} missing); it is skipped")
    for path in reversed(list_checkpoints(directory)):
        problem = verify_checkpoint(path)
        if problem is None:
            return path
        if warn is not None:
            warn(f"checkpoint {path} is corrupt: {problem}; trying the one before it")
    return None


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and p.name.startswith(PREFIX)
             and (p / "nets.safetensors").is_file() and (p / "state.pt").is_file()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def prune_checkpoints(directory: Path, keep: int) -> None:
    for old in list_checkpoints(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None, dict[str, Any]]:
    """Tensors of the nets, of the EMA nets (or None), and the training state."""
    try:
        nets = load_file(path / "nets.safetensors")
        ema = load_file(path / "ema.safetensors") if (path / "ema.safetensors").is_file() else None
        state = torch.load(path / "state.pt", map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise RunFolderError(f"checkpoint {path} is incomplete ({exc.filename} is missing)") from None
    except Exception as exc:
        raise RunFolderError(f"checkpoint {path} cannot be read: {exc}") from None
    return nets, ema, state


def set_aside_newer(directory: Path, good: Path, warn=None) -> None:
    """Rename checkpoints newer than ``good`` (corrupt ones) to ``corrupt_step_<N>``: kept for
    inspection, never resumed from or pruned in place of good ones."""
    for path in list_checkpoints(directory):
        if int(path.name[len(PREFIX):]) > int(good.name[len(PREFIX):]):
            target = path.with_name(f"corrupt_{path.name}")
            shutil.rmtree(target, ignore_errors=True)
            path.rename(target)
            if warn is not None:
                warn(f"moved the corrupt checkpoint {path.name} aside to {target}")


def find_checkpoint(path: Path, warn=None) -> Path:
    """A checkpoint folder (checked against its checksums), or the newest good one of a run
    folder (or of its checkpoints/); corrupt newer ones are reported through ``warn``."""
    path = Path(path)
    if (path / "nets.safetensors").is_file():
        problem = verify_checkpoint(path)
        if problem:
            raise RunFolderError(f"checkpoint {path} is corrupt: {problem}. Use an earlier checkpoint of the run")
        return path
    for candidate in (path / "checkpoints", path):
        if list_checkpoints(candidate):
            good = latest_good_checkpoint(candidate, warn)
            if good is None:
                raise RunFolderError(f"every checkpoint in {candidate} is corrupt; the run cannot be continued")
            return good
    raise RunFolderError(f"no checkpoint found in {path}; pass a run folder or a checkpoints/step_<N> folder")
