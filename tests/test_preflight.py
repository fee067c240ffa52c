"""Preflight: what can be known before step 0 is said before step 0, as a located recipe error,
by `ganforge validate` and at the start of `ganforge train`, and nothing is written first."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import REPO, tiny_ring, write_recipe
from ganforge.cli import main
from ganforge.recipe import RecipeError, load_recipe


def tiny_images(tmp_path, **changes) -> dict:
    """A tiny DCGAN on 16 px shapes."""
    recipe = tiny_ring(tmp_path)
    recipe["data"] = {"type": "shapes", "size": 16, "length": 64}
    recipe["models"] = {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                        "discriminator": {"type": "dcgan-discriminator", "width": 8}}
    recipe["train"]["batch_size"] = 8
    for path, value in changes.items():
        node = recipe
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return recipe


def problem_of(tmp_path, capsys, recipe: dict, *extra: str) -> str:
    path = write_recipe(tmp_path / "r.yaml", recipe)
    assert main(["validate", str(path), *extra]) == 2
    return capsys.readouterr().err


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("GANFORGE_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-home"))


def test_a_data_folder_that_does_not_exist_is_located_at_its_root(tmp_path, capsys):
    recipe = tiny_images(tmp_path)
    recipe["data"] = {"type": "image-folder", "root": str(tmp_path / "nowhere")}
    err = problem_of(tmp_path, capsys, recipe)
    assert "r.yaml:" in err and f"data.root: image folder {tmp_path / 'nowhere'} does not exist" in err
    assert main(["validate", str(tmp_path / "r.yaml"), "--no-preflight"]) == 0  # the file alone is fine


@pytest.mark.parametrize("recipe,overrides,key,message", [
    ("pix2pix-shapes", ["models.generator.depth=8"], "models.generator", "needs an image side that is a multiple of 256"),
    ("pix2pix-shapes", ["models.discriminator.receptive_field=70", "data.size=16", "models.generator.depth=4"],
     "models.discriminator", "needs images of at least 24 px; the data's are 16 px"),
    ("quickstart", ["train.batch_size=64", "data.length=10"], "train.batch_size", "fewer than one batch of 64"),
])
def test_nets_that_do_not_fit_the_data_are_located(recipe, overrides, key, message, capsys):
    args = ["validate", str(REPO / "recipes" / f"{recipe}.yaml")]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f": {key}: " in err and message in err, err


def test_missing_evaluation_weights_name_the_file_the_key_and_the_offline_route(tmp_path, capsys, offline):
    err = problem_of(tmp_path, capsys, tiny_images(tmp_path, **{"eval.metrics": [{"type": "fid", "samples": 16}]}))
    assert "eval.metrics[0].weights: InceptionV3" in err and "weights-inception-2015-12-05-6726825d.pth" in err
    assert "GANFORGE_WEIGHTS_DIR" in err and "ganforge classifier train" in err and "features: classifier" in err


def test_missing_vgg_weights_point_at_the_loss_setting_not_an_evaluator(capsys, offline):
    from test_recipe_slots import OFFLINE_DATA

    args = ["validate", str(REPO / "recipes" / "pix2pixhd-facades.yaml")]
    for override in OFFLINE_DATA["pix2pixhd-facades"]:
        args += ["--set", override]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "losses.perceptual.weights: " in err and "the vgg-perceptual loss's `weights:`" in err
    assert "perceptual_weight: 0" in err and "evaluator's `weights:`" not in err


BROKEN = '''
import torch
from ganforge.sdk import Params, hookimpl


class WrongParams(Params):
    """A generator that makes 8x8 images whatever the data."""


class WrongSize(torch.nn.Module):
    z_dim = 4

    def __init__(self):
        super().__init__()
        self.out = torch.nn.Linear(4, 3 * 8 * 8)

    def forward(self, z):
        return torch.tanh(self.out(z)).view(len(z), 3, 8, 8)


def build(params, ctx):
    return WrongSize()


@hookimpl
def ganforge_register_generators(register):
    register("gf-wrong-size", params=WrongParams, factory="gf_fixture_wrong:build", summary="wrong size")
'''


def test_a_step_that_fails_names_the_net_that_failed(plugin_site, tmp_path):
    from conftest import install_fixture_plugin
    from ganforge.plugins import create_plugins
    from ganforge.preflight import preflight
    from ganforge.recipe import recipe_from_data
    from ganforge.registry import Registry

    install_fixture_plugin(plugin_site, "gf-fixture-wrong", "gf_fixture_wrong", BROKEN)
    registry = Registry(create_plugins(strict=True))
    recipe = tiny_images(tmp_path)
    recipe["models"]["generator"] = {"type": "gf-wrong-size"}
    with pytest.raises(RecipeError) as error:
        preflight(recipe_from_data(recipe, registry, source=str(tmp_path / "r.yaml")), registry=registry)
    message = str(error.value)
    assert "models.discriminator: a training step on 4 real item(s) fails in discriminator" in message
    assert "(3, 16, 16)" in message


@pytest.mark.parametrize("where", ["file", "dev-null", "proc"])
def test_an_output_folder_that_cannot_be_a_folder_is_located(tmp_path, capsys, where):
    target = {"file": tmp_path / "a-file", "dev-null": "/dev/null", "proc": "/proc/ganforge-run"}[where]
    if where == "file":
        target.write_text("not a folder")
    err = problem_of(tmp_path, capsys, tiny_images(tmp_path, **{"output.dir": str(target)}))
    assert "output.dir: " in err and ("not a folder" in err or "cannot write the run folder" in err), err


def test_a_disk_without_room_for_checkpoints_is_said_with_the_bytes(tmp_path, capsys, monkeypatch):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    err = problem_of(tmp_path, capsys, tiny_images(tmp_path))
    assert "output.dir: the disk holding" in err and "0.0 MiB free" in err and "MiB (3 checkpoints)" in err


def test_validate_reports_what_the_preflight_checked(tmp_path, capsys):
    path = write_recipe(tmp_path / "r.yaml", tiny_images(tmp_path))
    state = torch.get_rng_state()
    assert main(["validate", str(path)]) == 0
    assert "preflight: 64 items, a step of every phase on 4, no evaluators" in capsys.readouterr().out
    assert torch.equal(torch.get_rng_state(), state), "the preflight leaves the global RNG as it was"


def test_train_stops_before_step_0_and_writes_nothing_when_the_first_evaluation_would_fail(tmp_path):
    recipe = tiny_images(tmp_path, **{"eval.every": 2, "eval.metrics": ["lpips"]})
    path = write_recipe(tmp_path / "r.yaml", recipe)
    env = {"GANFORGE_OFFLINE": "1", "GANFORGE_WEIGHTS_DIR": str(tmp_path / "none"),
           "TORCH_HOME": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "ganforge", "train", str(path)], capture_output=True, text=True,
                            cwd=REPO, env=env)
    assert result.returncode == 2, result.stderr
    assert "eval.metrics[0].weights: " in result.stderr and "alexnet-owt-7be5be79.pth" in result.stderr
    assert "use l1, psnr or ssim" in result.stderr
    assert not (tmp_path / "run").exists(), "nothing is written before the preflight passes"


def test_every_shipped_recipe_on_built_in_data_passes_the_preflight():
    from ganforge.preflight import preflight

    for name in ("quickstart", "pix2pix-shapes", "cyclegan-shapes", "pix2pixhd-shapes", "srgan-shapes",
                 "context-encoder-shapes", "gan-ring"):
        preflight(load_recipe(REPO / "recipes" / f"{name}.yaml"), output=False)


def test_train_builds_its_data_once_taking_the_preflights(tmp_path, monkeypatch):
    """Reading every file header of a large image folder is not done twice."""
    from ganforge.data.shapes import Shapes

    built = []
    original = Shapes.__init__
    monkeypatch.setattr(Shapes, "__init__", lambda self, *a, **k: built.append(1) or original(self, *a, **k))
    path = write_recipe(tmp_path / "r.yaml", tiny_images(tmp_path, **{"train.steps": 2}))
    assert main(["train", str(path)]) == 0
    assert len(built) == 1
