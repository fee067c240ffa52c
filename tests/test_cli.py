"""The command line end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

from conftest import REPO, tiny_ring, write_recipe

TINY_DCGAN = {
    "name": "tiny-dcgan",
    "data": {"type": "shapes", "size": 16, "length": 64},
    "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 4},
               "discriminator": {"type": "dcgan-discriminator", "width": 4}},
    "objective": "unconditional",
    "train": {"steps": 4, "batch_size": 8, "device": "cpu", "log_every": 2, "sample_every": 2,
              "checkpoint_every": 2, "progress": False},
}


def ganforge(*args: str, cwd=REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_train_then_sample_end_to_end(tmp_path):
    recipe = write_recipe(tmp_path / "tiny.yaml", TINY_DCGAN)
    result = ganforge("train", str(recipe), "--set", f"output.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert (run / "samples" / "step_00000004.png").is_file()
    assert (run / "checkpoints" / "step_00000004" / "nets.safetensors").is_file()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2

    result = ganforge("sample", str(run / "checkpoints" / "step_00000004"), "--n", "6", "--out", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    grid = Image.open(tmp_path / "s" / "grid.png")
    singles = sorted((tmp_path / "s").glob("0*.png"))
    assert len(singles) == 6 and Image.open(singles[0]).size == (16, 16)
    assert grid.size[0] > 16
    again = ganforge("sample", str(run), "--n", "6", "--out", str(tmp_path / "s2"))
    assert again.returncode == 0
    assert (tmp_path / "s" / "00003.png").read_bytes() == (tmp_path / "s2" / "00003.png").read_bytes(), "same seed, same images"


def test_train_default_run_folder_is_runs_name_in_the_working_directory(tmp_path):
    recipe = write_recipe(tmp_path / "recipes" / "tiny.yaml", dict(TINY_DCGAN, train=dict(TINY_DCGAN["train"], steps=2)))
    result = ganforge("train", str(recipe), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "tiny-dcgan" / "recipe.resolved.yaml").is_file()


def test_recipe_mistakes_are_reported_without_a_traceback(tmp_path):
    bad = write_recipe(tmp_path / "bad.yaml", "name: bad\ndata: {type: shapez}\nmodels: {}\nobjective: unconditional\n")
    for command in ("train", "validate"):
        result = ganforge(command, str(bad))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert f"{bad}:2: data: unknown type 'shapez'; did you mean 'shapes'" in result.stderr
    missing = ganforge("validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_data_mistakes_are_reported_without_a_traceback(tmp_path):
    data = tiny_ring(tmp_path)
    data["data"] = {"type": "npz", "path": "missing.npz"}
    data["models"]["generator"]["type"] = "mlp-generator"
    result = ganforge("train", str(write_recipe(tmp_path / "r.yaml", data)))
    assert result.returncode == 2, result.stderr  # found by the preflight: a located recipe error, before step 0
    assert "r.yaml:" in result.stderr and "data.path: npz file" in result.stderr
    assert "missing.npz not found" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_validate_prints_the_resolved_recipe(tmp_path):
    recipe = write_recipe(tmp_path / "tiny.yaml", TINY_DCGAN)
    result = ganforge("validate", str(recipe), "--print", "--set", "train.steps=9")
    assert result.returncode == 0, result.stderr
    assert "steps: 9" in result.stdout and "precision: fp32" in result.stdout


def test_validate_checks_a_bench_suite_and_each_of_its_runs(tmp_path):
    write_recipe(tmp_path / "tiny.yaml", tiny_ring(tmp_path))
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: tiny-suite\nseeds: 2\nmetrics: [{type: mode-coverage, samples: 100}]\nruns:\n"
                     "  plain: {recipe: tiny.yaml}\n  wider: {recipe: tiny.yaml, set: [models.generator.width=64]}\n")
    result = ganforge("validate", str(suite))
    assert result.returncode == 0, result.stderr
    assert "plain: ok (unconditional, 20 steps; " in result.stdout and "wider: ok" in result.stdout
    assert f"{suite}: ok (suite tiny-suite, 2 runs, seeds [0, 1])" in result.stdout

    suite.write_text(suite.read_text() + "  broken: {recipe: tiny.yaml, set: [models.generator.widht=6]}\n")
    result = ganforge("validate", str(suite), "--no-preflight")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "1 problem in run 'broken' of the suite:" in result.stderr
    assert f"{suite}:7: models.generator.widht: unknown key 'widht'; did you mean 'width'" in result.stderr  # its line
    result = ganforge("validate", str(suite), "--set", "train.steps=2")
    assert result.returncode == 1 and "is a bench suite: --set and --print apply to recipes" in result.stderr


def test_schema_and_plugins_commands(tmp_path):
    result = ganforge("schema", "--out", str(tmp_path / "schema.json"))
    assert result.returncode == 0
    assert "dcgan-generator" in (tmp_path / "schema.json").read_text()
    result = ganforge("plugins", "--json")
    rows = {row["distribution"]: row for row in json.loads(result.stdout)}
    assert "generator:dcgan-generator" in rows["ganforge-classic"]["components"]


def test_listing_validating_and_schema_do_not_import_torch(tmp_path):
    recipe = write_recipe(tmp_path / "tiny.yaml", TINY_DCGAN)
    probe = (
        "import sys, runpy\n"
        "from ganforge.cli import main\n"
        "for argv in (['plugins'], ['validate', sys.argv[1], '--no-preflight'], ['schema']):\n"
        "    assert main(argv) == 0\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(recipe)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_readme_starts_with_the_two_commands():
    lines = [line.strip() for line in (REPO / "README.md").read_text().splitlines() if line.strip()]
    commands = [line for line in lines[:12] if line.startswith("uv run")]
    assert commands[:2] == ["uv run ganforge train recipes/quickstart.yaml", "uv run pytest"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "uv run pytest" in ci


def test_plugins_can_add_subcommands(plugin_site):
    from conftest import install_fixture_plugin

    install_fixture_plugin(plugin_site, "ganforge-hello", "gf_fixture_hello", """
        from ganforge import hookimpl

        def hello(args):
            print(f"hello {args.who}")
            return 0

        @hookimpl
        def ganforge_add_commands(subparsers):
            parser = subparsers.add_parser("hello", help="say hello")
            parser.add_argument("who")
            parser.set_defaults(handler=hello)
    """)
    result = ganforge("hello", "world", env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello world"
