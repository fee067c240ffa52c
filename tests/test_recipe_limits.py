"""`ganforge validate` never crashes or hangs: oversized, deeply nested, alias-bombed, tagged and
special-file recipes, huge numbers and values that validate but could not train are each a
located error, answered within a time bound (hypothesis generates the cases)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, write_recipe
from ganforge.cli import main

QUICKSTART = yaml.safe_load((REPO / "recipes" / "quickstart.yaml").read_text())
SECONDS = 20.0  # a bound against runaway parsing (an alias bomb takes minutes), with room for a busy machine
"""Every case is answered within this."""


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def answer(args: list[str], capsys) -> tuple[int, str, float]:
    """Exit code, stderr and seconds of `ganforge validate ARGS --no-preflight`: never an
    unhandled exception (main would raise it)."""
    started = time.perf_counter()
    code = main(["validate", *args, "--no-preflight"])
    return code, capsys.readouterr().err, time.perf_counter() - started


def located_error(code: int, err: str, seconds: float) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "problem" in err, err
    assert seconds < SECONDS, f"{seconds:.1f}s"


def test_a_ten_megabyte_value_in_a_file_or_an_override(tmp_path, capsys):
    big = "x" * 10_000_000
    path = tmp_path / "big.yaml"
    path.write_text(f"name: big\ncomment: {big}\n")
    code, err, seconds = answer([str(path)], capsys)
    located_error(code, err, seconds)
    assert "larger than a recipe may be (1000000 bytes)" in err
    code, err, seconds = answer([str(REPO / "recipes" / "quickstart.yaml"), "--set", f"name={big}"], capsys)
    located_error(code, err, seconds)
    assert "--set name=" in err and "more than a recipe may hold" in err


@given(depth=st.integers(65, 3000), flow=st.booleans())
@fuzz(20)
def test_deep_nesting(tmp_path_factory, capsys, depth, flow):
    folder = tmp_path_factory.mktemp("deep")
    if flow:
        text = "name: deep\nx: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "name: deep\n" + "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "v: 1\n"
    (folder / "deep.yaml").write_text(text)
    code, err, seconds = answer([str(folder / "deep.yaml")], capsys)
    located_error(code, err, seconds)
    assert "nested deeper than a recipe may be" in err or "larger than a recipe may be" in err


@given(width=st.integers(5, 12), levels=st.integers(5, 12))
@fuzz(15)
def test_alias_bombs(tmp_path_factory, capsys, width, levels):
    lines = ["name: bomb", "a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    folder = tmp_path_factory.mktemp("bomb")
    (folder / "bomb.yaml").write_text("\n".join(lines) + "\n")
    code, err, seconds = answer([str(folder / "bomb.yaml")], capsys)
    located_error(code, err, seconds)


@pytest.mark.parametrize("where", ["zero", "null", "folder", "fifo"])
def test_special_files_as_recipes(tmp_path, capsys, where):
    path = {"zero": Path("/dev/zero"), "null": Path("/dev/null"), "folder": tmp_path}.get(where, tmp_path / "fifo")
    if where == "fifo":
        os.mkfifo(path)
    code, err, seconds = answer([str(path)], capsys)
    located_error(code, err, seconds)
    assert "not a regular file" in err


TAGS = ["!!python/object/apply:os.system", "!!python/name:os.system", "!custom", "!!binary", "!!set", "!!omap",
        "!!timestamp", "!!python/tuple"]


@given(tag=st.sampled_from(TAGS), shape=st.sampled_from(["scalar", "list", "mapping"]),
       key=st.sampled_from(["name", "data", "models.generator", "train.steps", "eval.metrics", "colors"]))
@fuzz(60)
def test_yaml_tags_are_refused_wherever_they_appear(tmp_path_factory, capsys, tag, shape, key):
    value = {"scalar": "echo hi", "list": "[echo, hi]", "mapping": "{a: 1}"}[shape]
    recipe = dict(QUICKSTART)
    marker = "__TAGGED__"
    node = recipe
    *parents, last = key.split(".")
    for part in parents:
        node[part] = dict(node.get(part) or {})
        node = node[part]
    node[last] = marker
    text = yaml.safe_dump(recipe, sort_keys=False).replace(marker, f"{tag} {value}")
    folder = tmp_path_factory.mktemp("tag")
    (folder / "tagged.yaml").write_text(text)
    code, err, seconds = answer([str(folder / "tagged.yaml")], capsys)
    located_error(code, err, seconds)
    assert "tagged.yaml:" in err and "is not allowed in a recipe" in err, err


NUMERIC = ["seed", "train.steps", "train.batch_size", "train.sample_count", "train.workers", "train.log_every",
           "optim.generator.lr", "optim.generator.eps", "optim.generator.weight_decay", "optim.generator.betas.0",
           "models.generator.z_dim", "models.generator.width", "models.discriminator.max_width"]


@given(key=st.sampled_from(NUMERIC), value=st.one_of(
    st.sampled_from(["1e400", "-1e400", ".inf", "-.inf", ".nan", "true", "false", "-1", "10000000000000000000000",
                     "1e308", "2e10", "99999999999"]),
    st.integers(-10**30, 10**30).map(str)))
@fuzz(150)
def test_huge_negative_and_non_finite_numbers(capsys, key, value):
    code, err, seconds = answer([str(REPO / "recipes" / "quickstart.yaml"), "--set", f"{key}={value}"], capsys)
    assert code in (0, 2) and "Traceback" not in err and seconds < SECONDS
    if value in ("1e400", "-1e400", ".inf", "-.inf", ".nan", "true", "false", "10000000000000000000000"):
        assert code == 2, f"{key}={value} validated"
        assert f"--set {key}={value}" in err


@given(value=st.one_of(st.integers(10**6, 10**9), st.sampled_from([200_001, 10**8])),
       key=st.sampled_from(["models.generator.width", "models.discriminator.width", "models.generator.z_dim",
                            "models.generator.max_width", "train.sample_count"]))
@fuzz(25)
def test_sizes_no_machine_could_hold_are_refused_before_anything_is_built(capsys, key, value):
    code, err, seconds = answer([str(REPO / "recipes" / "quickstart.yaml"), "--set", f"{key}={value}"], capsys)
    located_error(code, err, seconds)
    assert "less than or equal to" in err


def test_every_value_that_validates_also_builds_or_fails_with_a_located_error(tmp_path, capsys):
    """Values inside the ranges but wrong for this data (caught by the preflight, located)."""
    for override in ("models.generator.width=4096", "data.size=128", "train.batch_size=65536"):
        path = write_recipe(tmp_path / "q.yaml", {**QUICKSTART, "output": {"dir": str(tmp_path / "run")}})
        code = main(["validate", str(path), "--set", override])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, err
        if code == 2:
            assert "q.yaml:" in err or "--set" in err
