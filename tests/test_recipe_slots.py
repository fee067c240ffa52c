"""Removing inherited slots, never building what the game does not use, and showing where every
value of a composed recipe came from."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO, write_recipe
from ganforge.recipe import RecipeError, load_recipe

OFFLINE_DATA = {
    "pix2pixhd-facades": ["data={type: shapes-edges, size: 64, length: 4}", "eval.data=null", "eval.metrics=[]",
                          "eval.best=null", "models.generator.global_blocks=1", "models.generator.local_blocks=1",
                          "models.generator.width=4", "models.discriminator.width=8",
                          "models.discriminator.receptive_field=16", "models.discriminator.scales=2"],
    "srgan-celeba": ["data={type: shapes-super-resolution, size: 32, factor: 4, length: 4}", "eval.data=null",
                     "eval.metrics=[]", "models.generator.blocks=1", "models.generator.width=8",
                     "models.discriminator.width=8"],
}


@pytest.fixture
def no_pretrained_weights(tmp_path, monkeypatch):
    """No VGG19 anywhere: no weights folder, no hub cache, no downloads."""
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("GANFORGE_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-home"))


@pytest.mark.parametrize("recipe,switch_off", [
    ("pix2pixhd-facades", "objective.perceptual_weight=0"),
    ("srgan-celeba", "objective.content=pixel"),
])
def test_a_vgg_recipe_with_the_vgg_term_off_builds_and_trains_offline(tmp_path, registry, no_pretrained_weights,
                                                                      recipe, switch_off):
    from ganforge.build import build_run
    from ganforge.pipeline import train
    from ganforge.weights import MissingWeights

    path = REPO / "recipes" / f"{recipe}.yaml"
    base = OFFLINE_DATA[recipe] + [f"output.dir={tmp_path / 'run'}", "output.trackers=[]"]
    with pytest.raises(MissingWeights):  # the VGG term on: its weights are needed, and missing here
        build_run(load_recipe(path, base, registry).recipe, registry=registry)
    loaded = load_recipe(path, base + [switch_off, "train.steps=2", "train.batch_size=1", "train.progress=false"],
                         registry)
    run = build_run(loaded.recipe, registry=registry)
    assert set(run.losses) == {"adversarial"}, "the unused VGG loss is never built"
    folder = train(loaded, registry=registry)
    assert (folder.checkpoints / "step_00000002").is_dir()


def test_set_null_removes_an_inherited_slot(registry):
    path = REPO / "recipes" / "pix2pixhd-facades.yaml"
    loaded = load_recipe(path, ["losses.perceptual=null", "objective.perceptual_weight=0"], registry)
    assert set(loaded.recipe.losses) == {"adversarial"}
    with pytest.raises(RecipeError, match="needs a loss named 'perceptual'"):  # the game still uses it
        load_recipe(path, ["losses.perceptual=null"], registry)


def test_a_file_that_extends_another_removes_a_slot_with_null(tmp_path, registry):
    child = write_recipe(tmp_path / "no-vgg.yaml", f"""\
        extends: {REPO / 'recipes' / 'pix2pixhd-facades.yaml'}
        name: no-vgg
        objective: {{perceptual_weight: 0}}
        losses:
          perceptual: null
        """)
    assert set(load_recipe(child, registry=registry).recipe.losses) == {"adversarial"}


def test_removing_a_slot_that_is_not_there_is_a_located_error(tmp_path, registry):
    child = write_recipe(tmp_path / "typo.yaml", f"""\
        extends: {REPO / 'recipes' / 'pix2pixhd-facades.yaml'}
        name: typo
        losses:
          perceptal: null
        """)
    with pytest.raises(RecipeError) as error:
        load_recipe(child, registry=registry)
    message = str(error.value)
    assert ("typo.yaml:4: losses.perceptal: null removes an inherited losses entry, but there is no 'perceptal'"
            in message)
    assert "'perceptual'" in message
    with pytest.raises(RecipeError, match="--set models.critic=null: models.critic: .*no 'critic' to remove"):
        load_recipe(REPO / "recipes" / "quickstart.yaml", ["models.critic=null"], registry)


def test_validate_print_marks_every_value_from_an_extended_file_or_an_override(tmp_path, registry, capsys):
    from ganforge.cli import main

    parent = REPO / "recipes" / "pix2pix-facades.yaml"
    child = write_recipe(tmp_path / "maps.yaml", f"""\
        extends: {parent}
        name: maps
        data:
          root: {tmp_path / 'maps'}
        """)
    assert main(["validate", str(child), "--print", "--set", "train.steps=10"]) == 0
    out = capsys.readouterr().out.splitlines()
    data_block = out[out.index("data:"):out.index("models:")]
    direction = next(line for line in data_block if line.strip().startswith("direction:"))
    root = next(line for line in data_block if line.strip().startswith("root:"))
    direction_line = next(i for i, line in enumerate(parent.read_text().splitlines(), 1) if "direction: BtoA" in line)
    assert direction.endswith(f"pix2pix-facades.yaml:{direction_line}")
    assert "#" not in root, "the child's own value carries no mark"
    assert next(line for line in out if line.strip().startswith("steps:")).endswith("# --set train.steps=10")
    out = "\n".join(out)
    assert yaml.safe_load(out) == load_recipe(child, ["train.steps=10"], registry).resolved()


def test_inherited_data_settings_are_named_when_a_recipe_changes_its_data(tmp_path, capsys):
    from ganforge.cli import main

    child = write_recipe(tmp_path / "maps.yaml", f"""\
        extends: {REPO / 'recipes' / 'pix2pix-facades.yaml'}
        name: maps
        data:
          root: {tmp_path / 'maps'}
        """)
    assert main(["validate", str(child), "--no-preflight"]) == 0  # the folder named does not exist
    err = capsys.readouterr().err
    assert "inherits data.direction (" in err and "pix2pix-facades.yaml:" in err
    assert main(["validate", str(REPO / "recipes" / "pix2pix-facades.yaml"), "--no-preflight"]) == 0
    assert "inherits" not in capsys.readouterr().err
