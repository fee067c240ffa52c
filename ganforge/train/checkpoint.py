"""Checkpoints: ``checkpoints/step_<N>/`` holding ``nets.safetensors``, ``ema.safetensors``
(when EMA is on) and ``state.pt`` (optimizers, schedulers, data position, RNG states),
written into a temporary folder and renamed into place."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save

from ganforge.errors import RunFolderError
from ganforge.train.files import atomic_write_bytes

PREFIX = "step_"


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
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    random.setstate(state["python"])


def save_checkpoint(directory: Path, step: int, nets: dict[str, torch.nn.Module],
                    ema_nets: dict[str, torch.nn.Module] | None, state: dict[str, Any]) -> Path:
    """Write checkpoint ``step`` atomically; returns its folder."""
    final = directory / f"{PREFIX}{step:08d}"
    tmp = directory / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta = {"step": str(step)}
    atomic_write_bytes(tmp / "nets.safetensors", save(flatten_state(nets), metadata=meta))
    if ema_nets:
        atomic_write_bytes(tmp / "ema.safetensors", save(flatten_state(ema_nets), metadata=meta))
    buffer = io.BytesIO()
    torch.save({"step": step, **state}, buffer)
    atomic_write_bytes(tmp / "state.pt", buffer.getvalue())
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


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


def find_checkpoint(path: Path) -> Path:
    """A checkpoint folder, or the newest one of a run folder (or of its checkpoints/)."""
    path = Path(path)
    if (path / "nets.safetensors").is_file():
        return path
    for candidate in (path / "checkpoints", path):
        found = list_checkpoints(candidate)
        if found:
            return found[-1]
    raise RunFolderError(f"no checkpoint found in {path}; pass a run folder or a checkpoints/step_<N> folder")
