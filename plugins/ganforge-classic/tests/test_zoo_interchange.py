"""The newer zoo games outside training: `ganforge sample` draws their grids and `ganforge
export` writes ONNX files that match PyTorch (every sample input is a model input, so a game
must not hand out inputs its generator does not take)."""

from __future__ import annotations

import pytest

from ganforge.cli import main
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from test_aae import semi_aae
from test_bgan import digits
from test_cogan import cogan


@pytest.mark.parametrize("game", ["cogan", "aae-semi-supervised", "bgan-discrete"])
def test_new_games_sample_and_export_to_onnx(tmp_path, game):
    recipe = {"cogan": cogan, "aae-semi-supervised": semi_aae, "bgan-discrete": digits}[game](tmp_path, game)
    folder = train(recipe_from_data(recipe)).path
    assert main(["sample", str(folder), "--n", "4", "--out", str(tmp_path / "samples")]) == 0
    assert (tmp_path / "samples" / "grid.png").is_file()
    out = tmp_path / f"{game}.onnx"
    assert main(["export", str(folder), "--format", "onnx", "--out", str(out)]) == 0
    assert out.is_file() and out.stat().st_size > 1000
