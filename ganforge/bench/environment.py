"""The environment a benchmark ran in: package versions from the lock file, torch, CUDA,
device and git commit (recipe and data fingerprints are per run, in each run's manifest)."""

from __future__ import annotations

import hashlib
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from ganforge.train.rundir import git_commit


def find_lock_file(start: Path | None = None) -> Path | None:
    """The ``uv.lock`` of the project being run: searched upwards from the working directory,
    then from the installed package (an editable install of this repository)."""
    for origin in (start or Path.cwd(), Path(__file__).resolve().parent):
        for folder in (origin, *origin.parents):
            if (folder / "uv.lock").is_file():
                return folder / "uv.lock"
    return None


def locked_packages(lock: Path) -> dict[str, str]:
    """Package name -> version pinned in a uv lock file."""
    blocks = lock.read_text().split("[[package]]")[1:]
    found = (re.search(r'^name = "([^"]+)"\s*\nversion = "([^"]+)"', block.lstrip(), re.M) for block in blocks)
    return {m.group(1): m.group(2) for m in found if m}


def environment(device: str | None = None) -> dict[str, Any]:
    """A fingerprint of where the numbers were made."""
    import torch

    lock = find_lock_file()
    installed = {name: _version(name) for name in ("ganforge", "torch", "torchvision", "torch-fidelity", "torchmetrics",
                                                   "numpy", "pydantic")}
    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "omp_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "device": device or ("cuda" if cuda else "cpu"),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "installed": installed,
        "lock_file": str(lock) if lock else None,
        "lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock else None,
        "locked_packages": locked_packages(lock) if lock else None,
        "git_commit": git_commit(lock.parent if lock else Path.cwd()),
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
