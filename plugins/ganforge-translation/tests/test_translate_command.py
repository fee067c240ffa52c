"""``ganforge translate``: a run folder alone is enough to translate folders of images, with
side-by-side comparison sheets; pairs are split by direction; the reverse direction needs a
model that has one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from translation_fixtures import one_thread, registry, save_image, tiny_cyclegan, tiny_pix2pix  # noqa: F401 (fixtures)
from ganforge.errors import GanforgeError
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge_translation.translate import translate_files


def inputs(folder, size: int = 20):
    rng = np.random.default_rng(0)
    save_image(folder / "single.png", rng.integers(0, 256, (size, size, 3)))
    save_image(folder / "nested" / "pair.png", rng.integers(0, 256, (size, 2 * size, 3)))
    return folder


def test_translate_a_folder_with_comparison_sheets(tmp_path, registry):
    folder = train(recipe_from_data(tiny_pix2pix(tmp_path, steps=2), registry), registry=registry)
    out = tmp_path / "out"
    written = translate_files(folder.path, [inputs(tmp_path / "in")], out)
    assert sorted(p.name for p in written) == ["pair.png", "single.png"]
    assert Image.open(out / "single.png").size == (16, 16)  # the model's size
    # a single image has no target: input | output; a pair shows its other half too
    assert Image.open(out / "sheets" / "single.png").size == (2 * 18 + 2, 20)
    assert Image.open(out / "sheets" / "pair.png").size == (3 * 18 + 2, 20)
    assert (out / "comparison.png").is_file()


def test_translate_refuses_the_reverse_direction_of_a_one_way_model(tmp_path, registry):
    folder = train(recipe_from_data(tiny_pix2pix(tmp_path, steps=1), registry), registry=registry)
    with pytest.raises(GanforgeError, match="one way only"):
        translate_files(folder.path, [inputs(tmp_path / "in")], tmp_path / "out", direction="BtoA")


def test_cyclegan_translates_both_ways_from_the_command_line(tmp_path, registry):
    folder = train(recipe_from_data(tiny_cyclegan(tmp_path, steps=1), registry), registry=registry)
    source = inputs(tmp_path / "in")
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        done = subprocess.run([sys.executable, "-m", "ganforge", "translate", str(folder.path), str(source),
                               "--out", str(out), "--direction", direction], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "wrote 2 translated images" in done.stdout
        assert (out / "single.png").is_file() and (out / "sheets" / "pair.png").is_file()
    forward = np.asarray(Image.open(tmp_path / "AtoB" / "single.png"))
    backward = np.asarray(Image.open(tmp_path / "BtoA" / "single.png"))
    assert not np.array_equal(forward, backward)  # two different generators


def test_translate_explains_missing_inputs(tmp_path, registry):
    folder = train(recipe_from_data(tiny_pix2pix(tmp_path, steps=1), registry), registry=registry)
    with pytest.raises(GanforgeError, match="does not exist"):
        translate_files(folder.path, [tmp_path / "nowhere"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanforgeError, match="no images"):
        translate_files(folder.path, [tmp_path / "empty"], tmp_path / "out")
