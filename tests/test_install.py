"""ganforge installs as users install it: every workspace member built into a wheel, the wheels
installed into a fresh virtual environment with no network (the locked third-party packages from
the package cache, ganforge from the wheel folder), and the quickstart trained there, outside
this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def uv_binary() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.skip("uv is not on PATH; the README runs the tests with `uv run pytest`, which provides it")
    return found


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    shown = " ".join(map(str, command))
    assert result.returncode == 0, f"{shown} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_built_wheels_install_offline_and_train_the_quickstart(tmp_path):
    uv = uv_binary()
    wheels = tmp_path / "wheels"
    # Built with this environment's hatchling (a dev dependency), so no build requirement is fetched.
    run([uv, "build", "--all-packages", "--wheel", "--offline", "--no-build-isolation", "--out-dir", str(wheels)],
        cwd=REPO, env={**os.environ, "VIRTUAL_ENV": sys.prefix})
    built = sorted(p.name.split("-")[0] for p in wheels.glob("*.whl"))
    assert built == ["ganforge", "ganforge_classic", "ganforge_editing", "ganforge_mlflow", "ganforge_modern",
                     "ganforge_translation"]

    # A fresh environment holding the locked third-party packages, from the package cache...
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    run([uv, "sync", "--frozen", "--offline", "--no-dev", "--all-extras", "--no-install-workspace"], cwd=REPO,
        env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)})
    # ...then ganforge and its families from the wheels alone, as `pip install "ganforge[all]"` would.
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--offline", "--no-index", "--python", str(python), "--find-links", str(wheels),
         "ganforge[all]"], cwd=tmp_path, env=env)
    installed = run([uv, "pip", "list", "--python", str(python)], env=env).stdout
    assert all(name in installed for name in ("ganforge-classic", "ganforge-translation", "ganforge-editing",
                                              "ganforge-modern"))

    work = tmp_path / "work"  # outside the checkout: only the installed packages can be imported
    work.mkdir()
    shutil.copy(REPO / "recipes" / "quickstart.yaml", work / "quickstart.yaml")
    ganforge = venv / "bin" / "ganforge"
    plugins = run([str(ganforge), "plugins"], cwd=work, env=env).stdout
    assert "classic" in plugins and "translation" in plugins and "editing" in plugins and "modern" in plugins
    assert "FAILED" not in plugins
    where = run([str(python), "-c", "import ganforge; print(ganforge.__file__)"], cwd=work, env=env).stdout
    assert str(venv) in where and str(REPO) not in where
    run([str(ganforge), "train", "quickstart.yaml", "--set", "train.steps=20", "--set", "train.progress=false",
         "--set", "eval.every=null", "--set", "output.trackers=[]"], cwd=work, env=env)
    assert (work / "runs" / "quickstart" / "checkpoints" / "step_00000020" / "nets.safetensors").is_file()
