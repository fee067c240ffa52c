"""Recipe loading: YAML strictness, inheritance, overrides, located errors and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write_recipe
from ganforge.recipe import RecipeError, load_recipe
from ganforge.recipe.compose import compose_recipe
from ganforge.recipe.schema import recipe_schema
from ganforge.recipe.yaml import load_yaml_text

BASE = """\
name: base
seed: 1
data: {type: shapes, size: 16}
models:
  generator: {type: dcgan-generator, z_dim: 8, width: 8}
  discriminator: {type: dcgan-discriminator, width: 8}
objective: unconditional
optim:
  generator: {lr: 1e-4, betas: [0.5, 0.9]}
train: {steps: 10, batch_size: 8}
"""


def problems(error: RecipeError) -> list[str]:
    return [str(p) for p in error.problems]


def test_yaml_numbers_and_duplicates():
    data, _ = load_yaml_text("lr: 1e-4\nother: 3.0E+2\nflag: yes\non: true\n")
    assert data == {"lr": 1e-4, "other": 300.0, "flag": "yes", "on": True}
    with pytest.raises(RecipeError) as info:
        load_yaml_text("a: 1\nb: 2\na: 3\n", "r.yaml")
    assert problems(info.value) == ["r.yaml:3: a: duplicate key (first set on line 1); keep one"]


def test_invalid_yaml_names_the_line(tmp_path):
    path = write_recipe(tmp_path / "bad.yaml", "name: x\ndata: {type: shapes\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:\d+: not valid YAML"):
        load_recipe(path)


def test_valid_recipe_fills_defaults(tmp_path, registry):
    loaded = load_recipe(write_recipe(tmp_path / "base.yaml", BASE), registry=registry)
    recipe = loaded.recipe
    assert recipe.models["generator"].z_dim == 8
    assert recipe.objective.type == "unconditional" and recipe.objective.d_steps == 1
    assert recipe.losses["adversarial"].type == "non-saturating"
    assert recipe.optim["generator"].lr == 1e-4 and recipe.optim["generator"].betas == (0.5, 0.9)
    assert loaded.resolved()["train"]["precision"] == "fp32"


def test_extends_merges_deeply_lists_replace_and_type_change_replaces(tmp_path, registry):
    write_recipe(tmp_path / "base.yaml", BASE)
    child = write_recipe(tmp_path / "sub" / "child.yaml", """\
        extends: ../base.yaml
        name: child
        models:
          generator: {type: mlp-generator, width: 16}
          discriminator: {width: 16}
        optim:
          generator: {betas: [0.0, 0.99]}
        train: {steps: 20}
    """)
    recipe = load_recipe(child, registry=registry).recipe
    assert recipe.name == "child" and recipe.seed == 1
    assert recipe.train.steps == 20 and recipe.train.batch_size == 8
    generator = recipe.models["generator"]
    assert generator.type == "mlp-generator" and generator.width == 16 and generator.z_dim == 64  # no z_dim leak
    assert recipe.models["discriminator"].type == "dcgan-discriminator" and recipe.models["discriminator"].width == 16
    assert recipe.optim["generator"].betas == (0.0, 0.99) and recipe.optim["generator"].lr == 1e-4


def test_extends_cycle_is_an_error(tmp_path):
    write_recipe(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write_recipe(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(RecipeError, match="extends cycle"):
        compose_recipe(tmp_path / "a.yaml")


def test_overrides_are_yaml_values_applied_in_order(tmp_path, registry):
    path = write_recipe(tmp_path / "base.yaml", BASE)
    recipe = load_recipe(path, ["train.steps=500", "optim.generator.lr=3e-4", "optim.generator.betas.1=0.5",
                                "train.steps=600", "models.generator.type=mlp-generator",
                                "train.ema={decay: 0.99}"], registry=registry).recipe
    assert recipe.train.steps == 600
    assert recipe.optim["generator"].lr == 3e-4 and recipe.optim["generator"].betas == (0.5, 0.5)
    assert recipe.models["generator"].type == "mlp-generator" and recipe.models["generator"].z_dim == 64
    assert recipe.train.ema.decay == 0.99


def test_errors_name_file_line_key_and_fix_all_at_once(tmp_path, registry):
    path = write_recipe(tmp_path / "bad.yaml", """\
        name: bad
        data: {type: shapes, size: 16}
        models:
          generator: {type: dcgan-generatr}
          discriminator: {type: dcgan-discriminator, widht: 8}
        objective: unconditional
        train:
          stpes: 10
          device: gpu
    """)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, registry=registry)
    found = problems(info.value)
    file = str(path)
    assert found[0].startswith(f"{file}:4: models.generator: unknown type 'dcgan-generatr'; "
                               "did you mean 'dcgan-generator'")
    assert found[1].startswith(f"{file}:5: models.discriminator.widht: unknown key 'widht'; did you mean 'width'")
    assert found[2] == f"{file}:8: train.stpes: unknown key 'stpes'; did you mean 'steps'?"
    assert found[3].startswith(f"{file}:9: train.device: 'gpu' is not allowed; expected one of: auto, cpu, cuda, mps")
    assert len(found) == 4


def test_errors_in_inherited_values_point_at_the_base_file(tmp_path, registry):
    base = write_recipe(tmp_path / "base.yaml", BASE.replace("batch_size: 8", "batch_size: -1"))
    child = write_recipe(tmp_path / "child.yaml", "extends: base.yaml\nname: child\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(child, registry=registry)
    [problem] = problems(info.value)
    assert problem.startswith(f"{base}:10: train.batch_size: Input should be greater than or equal to 1")


def test_errors_from_overrides_name_the_override(tmp_path, registry):
    path = write_recipe(tmp_path / "base.yaml", BASE)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["train.steps=many"], registry=registry)
    [problem] = problems(info.value)
    assert problem.startswith("--set train.steps=many: train.steps: Input should be a valid integer")


def test_missing_keys_and_missing_type(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", "name: r\ndata: {size: 16}\nobjective: unconditional\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path, registry=registry)
    found = problems(info.value)
    assert any("models: missing required key" in p for p in found)
    assert any(p.startswith(f"{path}:2: data: needs a 'type'") and "shapes" in p for p in found)


def test_cross_checks_models_losses_and_optimizers(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", BASE.replace("  generator: {lr", "  generatr: {lr").replace(
        "discriminator: {type: dcgan-discriminator", "critic: {type: dcgan-discriminator"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path, registry=registry)
    found = "\n".join(problems(info.value))
    assert "optim.generatr: no model named 'generatr'; did you mean 'generator'?" in found
    assert "objective 'unconditional' needs a discriminator named 'discriminator'" in found
    swapped = write_recipe(tmp_path / "s.yaml", BASE.replace("generator: {type: dcgan-generator, z_dim: 8, width: 8}",
                                                              "generator: {type: dcgan-discriminator}"))
    with pytest.raises(RecipeError, match="needs 'generator' to be a generator, but 'dcgan-discriminator' is a discriminator"):
        load_recipe(swapped, registry=registry)


def test_paths_resolve_relative_to_the_recipe_that_sets_them(tmp_path, registry):
    folder = tmp_path / "images"
    folder.mkdir()
    path = write_recipe(tmp_path / "recipes" / "r.yaml", BASE.replace("data: {type: shapes, size: 16}",
                                                                      "data: {type: image-folder, root: ../images}"))
    recipe = load_recipe(path, registry=registry).recipe
    assert Path(recipe.data.root) == folder.resolve()
    recipe = load_recipe(path, ["data.root=elsewhere"], registry=registry).recipe
    assert Path(recipe.data.root) == (Path.cwd() / "elsewhere").resolve()


def test_schema_contains_plugin_parameters_and_accepts_shorthand(registry):
    schema = recipe_schema(registry)
    text = json.dumps(schema)
    assert "dcgan-generator" in text and "z_dim" in text and "maxout_pieces" in text
    generator_def = next(v for k, v in schema["$defs"].items() if k.endswith("generator_dcgan-generator"))
    assert list(generator_def["properties"])[0] == "type"
    assert generator_def["properties"]["z_dim"]["description"] == "Latent size."
    assert "extends" in schema["properties"]
    assert "ganforge-classic" in schema["description"]


def test_schema_in_docs_is_current(registry):
    """docs/recipe.schema.json is what editors read; regenerate with `ganforge schema --out docs/recipe.schema.json`."""
    from conftest import REPO

    stored = json.loads((REPO / "docs" / "recipe.schema.json").read_text())
    assert stored == json.loads(json.dumps(recipe_schema(registry))), "run: uv run ganforge schema --out docs/recipe.schema.json"


def test_every_shipped_recipe_validates(registry):
    from conftest import REPO

    recipes = sorted((REPO / "recipes").glob("*.yaml"))
    assert len(recipes) >= 5
    for path in recipes:
        load_recipe(path, registry=registry)


def test_control_characters_are_a_located_yaml_error(tmp_path, registry):
    path = tmp_path / "r.yaml"
    path.write_text("name: a\x00b\n")
    with pytest.raises(RecipeError, match=rf"{path}.*not valid YAML"):
        load_recipe(path, registry=registry)


def test_override_mistakes_point_at_the_override(tmp_path, registry):
    path = write_recipe(tmp_path / "base.yaml", BASE)
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["train.steps=["], registry=registry)
    assert problems(info.value)[0].startswith("--set train.steps=[: train.steps: not valid YAML")
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["train.steps.fast=3"], registry=registry)
    assert problems(info.value)[0].startswith("--set train.steps.fast=3: train.steps: Input should be a valid integer")
