"""Shared fixtures. Plugin loading is strict in the project's own tests."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("GANFORGE_STRICT_PLUGINS", "1")
if "PYTEST_XDIST_WORKER" in os.environ:  # tests share the cores: one thread each (subprocesses inherit it)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def tiny_ring(tmp_path: Path, **train) -> dict:
    """A tiny, fast recipe on the 8-mode ring."""
    return {
        "name": "tiny-ring",
        "seed": 3,
        "data": {"type": "gaussian-mixture", "layout": "ring", "size": 2000},
        "models": {
            "generator": {"type": "mlp-generator", "z_dim": 2, "width": 32, "depth": 2},
            "discriminator": {"type": "mlp-discriminator", "width": 32, "depth": 2},
        },
        "objective": {"type": "unconditional"},
        "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 1e-3}},
        "train": {"steps": 20, "batch_size": 50, "device": "cpu", "log_every": 5, "sample_every": 10,
                  "checkpoint_every": 10, "progress": False, **train},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def write_recipe(path: Path, data: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(data) if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def install_fixture_plugin(site: Path, dist: str, module: str, source: str, entry_name: str | None = None) -> None:
    """Lay out a plugin distribution in ``site`` as an installer does: the module plus a
    ``.dist-info`` folder whose ``entry_points.txt`` names it in the ``ganforge`` group."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[ganforge]\n{entry_name or module} = {module}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A fresh site folder on sys.path for fixture plugin distributions."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("gf_fixture")]:
        del sys.modules[name]


@pytest.fixture
def registry():
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry

    return Registry(create_plugins(strict=True))
