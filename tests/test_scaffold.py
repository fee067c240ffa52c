"""``ganforge new-plugin``: the package it writes builds into a wheel, installs, shows up in
``ganforge plugins``, trains its recipe and passes its own tests (the conformance kit)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from ganforge.errors import GanforgeError
from ganforge.scaffold import scaffold


def run(*args, cwd=None, env=None):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_scaffolded_plugin_installs_trains_and_passes_its_tests(tmp_path):
    out = run("-m", "ganforge", "new-plugin", "tiny-gan", "--out", str(tmp_path))
    root = tmp_path / "ganforge-tiny-gan"
    assert f"wrote {root}" in out
    assert {p.name for p in root.iterdir()} == {"pyproject.toml", "README.md", "ganforge_tiny_gan", "recipes", "tests"}
    run("-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist"), cwd=root)
    wheel = next((tmp_path / "dist").glob("ganforge_tiny_gan-0.1.0-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a pure-Python wheel installs by unpacking it
        archive.extractall(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "GANFORGE_STRICT_PLUGINS": "1", "OMP_NUM_THREADS": "1"}
    listing = run("-m", "ganforge", "plugins", cwd=tmp_path, env=env)
    assert "tiny-gan  (ganforge-tiny-gan 0.1.0)" in listing and "tiny-gan-generator" in listing
    run("-m", "ganforge", "train", str(root / "recipes" / "tiny-gan.yaml"), "--set", "train.steps=3",
        "--set", "eval.every=3", "--set", f"output.dir={tmp_path / 'run'}", "--set", "output.trackers=[]", cwd=tmp_path, env=env)
    assert (tmp_path / "run" / "eval.json").is_file()
    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests"), cwd=root, env=env)
    assert "2 passed" in tests  # the kit on its generator, and the recipe


def test_plugin_names_are_checked(tmp_path):
    with pytest.raises(GanforgeError, match="lower-case letters"):
        scaffold("My_GAN", tmp_path)
    scaffold("ok", tmp_path)
    with pytest.raises(GanforgeError, match="exists already"):
        scaffold("ok", tmp_path)


def test_the_hook_reference_in_the_docs_is_current():
    from pathlib import Path

    from ganforge.hookdoc import END, START, hook_reference

    text = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    generated = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == hook_reference().strip(), "run `python -m ganforge.hookdoc docs/plugins.md`"
    assert "### `ganforge_kit_examples(folder: Path) -> list[dict]`" in generated
