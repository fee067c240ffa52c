"""Latent tools in W on a small StyleGAN2 run: straight paths between styles, truncation and
style-mixing sheets, inversion into W and W+, and clear errors on generators without a W space."""

from __future__ import annotations

import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge_editing import latent_w

pytest.importorskip("ganforge_modern", reason="the W tools work on ganforge-modern's StyleGAN2")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("latent-w") / "run"
    recipe = {"name": "latent-w", "seed": 0, "data": {"type": "shapes", "size": 16, "length": 64},
              "models": {"generator": {"type": "stylegan2-generator", "z_dim": 8, "w_dim": 8, "mapping_layers": 2,
                                       "channel_base": 64, "channel_max": 8},
                         "discriminator": {"type": "stylegan2-discriminator", "channel_base": 64, "channel_max": 8}},
              "objective": {"type": "stylegan2"},
              "losses": {"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 1.0, "every": 4}},
              "train": {"steps": 20, "batch_size": 4, "progress": False, "checkpoint_every": 20, "sample_every": 100},
              "output": {"dir": str(folder), "trackers": []}}
    train(recipe_from_data(recipe))
    return ganforge.load(folder)


def generator(model):
    return model.nets["generator"]


def test_paths_in_w_run_between_the_styles_of_two_codes(model):
    g = generator(model)
    images = latent_w.interpolate_w(model, rows=2, steps=4, seed=3)
    assert images.shape == (8, 3, 16, 16)
    with torch.no_grad():
        start = g.synthesize(g.styles(model.inputs(2, 3)["z"]))
        end = g.synthesize(g.styles(model.inputs(2, 4)["z"]))
    assert torch.allclose(images[0::4], start, atol=1e-5) and torch.allclose(images[3::4], end, atol=1e-5)


def test_truncation_sheet_ends_at_the_mean_image(model):
    sheet = latent_w.truncation_sheet(model, [1.0, 0.5, 0.0], rows=3).view(3, 3, 3, 16, 16)
    assert torch.allclose(sheet[0, 2], sheet[1, 2], atol=1e-5) and torch.allclose(sheet[0, 2], sheet[2, 2], atol=1e-5)
    assert not torch.allclose(sheet[0, 0], sheet[1, 0])
    assert torch.allclose(sheet[:, 0], model.sample(3, seed=0), atol=1e-5)  # psi 1: the plain samples


def test_mixing_sheet_takes_coarse_styles_from_rows_and_fine_from_columns(model):
    g = generator(model)
    cells = latent_w.mixing_sheet(model, rows=2, columns=3, mix_from=2)
    assert cells.shape == ((2 + 1) * (3 + 1), 3, 16, 16)
    with torch.no_grad():
        a, b = g.styles(model.inputs(2, 0)["z"]), g.styles(model.inputs(3, 1)["z"])
        expected = g.synthesize(torch.cat([a[1:2, :2], b[2:3, 2:]], 1))
    assert torch.allclose(cells[2 * 4 + 3], expected[0], atol=1e-5)  # row source 1, column source 2
    with pytest.raises(GanforgeError, match="--mix-from must be between 1 and"):
        latent_w.mixing_sheet(model, mix_from=0)


def test_inversion_into_w_plus_finds_the_generators_own_images(model):
    targets = model.sample(2, seed=9)
    result = latent_w.invert(model, targets, space="w+", steps=60, lr=0.05)
    assert result.ws.shape == (2, generator(model).num_ws, 8)
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert (result.images - targets).abs().mean() < (model.sample(2, seed=10) - targets).abs().mean()
    one = latent_w.invert(model, targets, space="w", steps=5)
    assert torch.equal(one.ws[:, 0], one.ws[:, -1])  # one w for every layer
    with pytest.raises(GanforgeError, match="--space must be w or w"):
        latent_w.invert(model, targets, space="z")


def test_the_commands_write_their_sheets(model, tmp_path):
    from ganforge.sdk import save_png, to_uint8

    run = str(model.folder)
    assert main(["latent", "truncation", run, "--psi", "1,0.5", "--out", str(tmp_path / "t.png")]) == 0
    assert main(["latent", "mix", run, "--rows", "2", "--columns", "2", "--out", str(tmp_path / "m.png")]) == 0
    assert main(["latent", "interpolate", run, "--space", "w", "--out", str(tmp_path / "i.png")]) == 0
    save_png(to_uint8(model.sample(1, seed=5)[0]), tmp_path / "face.png")
    assert main(["latent", "invert", run, str(tmp_path / "face.png"), "--steps", "5", "--out", str(tmp_path / "inv")]) == 0
    assert (tmp_path / "inv" / "sheet.png").is_file() and (tmp_path / "inv" / "styles.safetensors").is_file()
    assert main(["latent", "truncation", run, "--psi", "one", "--out", str(tmp_path / "x.png")]) == 1


def test_generators_without_a_w_space_are_told_so(tmp_path):
    folder = tmp_path / "dcgan"
    recipe = {"name": "z-only", "seed": 0, "data": {"type": "shapes", "size": 16, "length": 32},
              "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                         "discriminator": {"type": "dcgan-discriminator", "width": 8}},
              "objective": "unconditional",
              "train": {"steps": 1, "batch_size": 4, "progress": False, "checkpoint_every": 1},
              "output": {"dir": str(folder), "trackers": []}}
    train(recipe_from_data(recipe))
    with pytest.raises(GanforgeError, match="no W space"):
        latent_w.truncation_sheet(ganforge.load(folder), [1.0])


def test_attribute_vectors_in_w_recover_a_known_direction(model):
    """Images made from two clusters of styles, projected into W: the vector of the second
    cluster points from the first toward it, and editing adds exactly that vector."""
    from ganforge_editing.latent import attribute_vectors, edit

    g = generator(model)
    with torch.no_grad():
        w = g.styles(model.inputs(2, 11)["z"])[:, 0]
        direction = w[1] - w[0]
        gen = torch.Generator().manual_seed(0)
        ws = torch.cat([w[0] + 0.05 * torch.randn(4, 8, generator=gen), w[1] + 0.05 * torch.randn(4, 8, generator=gen)])
        images = g.synthesize(ws[:, None].expand(-1, g.num_ws, -1))
    projection = latent_w.Projection(model, steps=60, chunk=5)
    codes = projection(images)
    assert codes.shape == (8, 8)
    vectors = attribute_vectors(codes, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), ["first", "second"])
    assert torch.nn.functional.cosine_similarity(vectors["second"], direction, dim=0) > 0.7
    assert torch.allclose(edit(codes[0], vectors, {"second": 1.0}), codes[0] + vectors["second"])
    again = projection.generate(codes)
    assert (again - images).abs().mean() < (images[:4] - images[4:]).abs().mean() / 2


def test_attributes_and_edits_in_w_from_the_command_line(model, tmp_path, capsys):
    from ganforge.sdk import save_png, to_uint8

    run = str(model.folder)
    assert main(["latent", "attributes", run, "--space", "w", "--images", "8", "--project-steps", "5"]) == 0
    written = model.folder / "attributes-w.safetensors"
    assert written.is_file() and "wrote" in capsys.readouterr().out
    save_png(to_uint8(model.sample(1, seed=5)[0]), tmp_path / "shape.png")
    name = "hexagon"
    assert main(["latent", "edit", run, str(tmp_path / "shape.png"), "--space", "w", "--add", f"{name}=+1",
                 "--project-steps", "5", "--out", str(tmp_path / "edit.png")]) == 0
    assert (tmp_path / "edit.png").is_file() and "attributes it carries" in capsys.readouterr().out
    assert main(["latent", "arithmetic", run, "--space", "w", "--a", "y=hexagon", "--b", "y=octagon", "--c", "y=pentagon", "--images", "8",
                 "--rows", "1", "--per-row", "1", "--project-steps", "5", "--out", str(tmp_path / "abc.png")]) == 0
    assert (tmp_path / "abc.png").is_file()
    # vectors made in W are not used in Z, and the command says so
    assert main(["latent", "edit", run, str(tmp_path / "shape.png"), "--attributes", str(written), "--add", f"{name}=1",
                 "--out", str(tmp_path / "z.png")]) == 1
    assert "holds attribute vectors in W, not Z; use --space w" in capsys.readouterr().err
