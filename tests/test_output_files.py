"""What a run writes is the user's, with the permissions a plain write gives (not the private
0600 of a temporary file), and its manifest counts the images it skipped, once."""

from __future__ import annotations

import json
import os
import stat

import pytest

from conftest import tiny_ring
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_run_files_have_the_users_normal_permissions(tmp_path, registry):
    umask = os.umask(0o022)
    try:
        folder = train(recipe_from_data(tiny_ring(tmp_path, steps=4, checkpoint_every=4, sample_every=4), registry),
                       registry=registry)
        written = [folder.recipe_file, folder.manifest_file, folder.samples / "step_00000004.png",
                   *(folder.checkpoints / "step_00000004").iterdir()]
        assert {mode(path) for path in written} == {0o644}, {str(p): oct(mode(p)) for p in written}
    finally:
        os.umask(umask)


def with_a_broken_image(tmp_path, count: int, steps: int) -> dict:
    """A tiny DCGAN on ``count`` plain PNGs and one file that is not an image (``on_error: skip``)."""
    import numpy as np
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for i in range(count):
        Image.fromarray(np.full((16, 16, 3), i * 20, np.uint8)).save(images / f"{i:02d}.png")
    (images / "broken.png").write_bytes(b"not an image at all")
    recipe = tiny_ring(tmp_path, steps=steps, checkpoint_every=steps)
    recipe["data"] = {"type": "image-folder", "root": str(images), "size": 16, "on_error": "skip"}
    recipe["models"] = {"generator": {"type": "dcgan-generator", "z_dim": 4, "width": 4},
                        "discriminator": {"type": "dcgan-discriminator", "width": 4}}
    recipe["train"]["batch_size"] = 4
    return recipe


def test_skipped_images_are_counted_once_in_the_manifest(tmp_path, registry):
    recipe = with_a_broken_image(tmp_path, count=12, steps=6)  # three epochs of 12 images
    with pytest.warns(UserWarning, match="skipped 1 unreadable image file"):
        folder = train(recipe_from_data(recipe, registry), registry=registry)
    skipped = json.loads(folder.manifest_file.read_text())["data_skipped"]
    assert skipped["count"] == 1 and skipped["files"][0].endswith("broken.png")


def test_a_skipped_image_is_warned_about_once_by_train_and_by_validate(tmp_path, capsys, recwarn):
    from conftest import write_recipe
    from ganforge.cli import main

    path = write_recipe(tmp_path / "r.yaml", with_a_broken_image(tmp_path, count=8, steps=4))
    assert main(["train", str(path)]) == 0  # the preflight builds the data too, silently
    assert sum("skipped 1 unreadable image" in str(w.message) for w in recwarn) == 1
    capsys.readouterr()
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err.count("skipped 1 unreadable image") == 1
