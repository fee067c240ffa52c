"""Latent-space tools on a small trained DCGAN: paths between latents, an encoder that
inverts the generator (and beats a random one), and completion by latent optimisation."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import ganforge
from ganforge.errors import GanforgeError
from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data
from ganforge_editing import latent


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("latent") / "run"
    # Seed 2: a generator that covers the shapes after 300 steps (seed 1's collapses onto a few,
    # so no encoder can invert real images through it, trained or not).
    recipe = {"name": "latent-dcgan", "seed": 2, "data": {"type": "shapes", "size": 16, "length": 512},
              "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 16},
                         "discriminator": {"type": "dcgan-discriminator", "width": 16}},
              "objective": {"type": "unconditional"},
              "train": {"steps": 300, "batch_size": 32, "device": "cpu", "progress": False, "checkpoint_every": 300,
                        "sample_every": 1000},
              "output": {"dir": str(folder), "trackers": []}}
    train(recipe_from_data(recipe))
    return ganforge.load(folder)


def test_paths_start_and_end_at_their_latents():
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    walk = latent.path(a, b, 5, "slerp")
    assert torch.allclose(walk[0], a) and torch.allclose(walk[-1], b, atol=1e-6)
    assert torch.allclose(walk.norm(dim=1), torch.full((5,), 3.0), atol=1e-5)  # on the circle
    assert torch.allclose(latent.path(a, b, 3, "lerp")[1], torch.tensor([1.5, 1.5]))
    assert torch.allclose(latent.slerp(a, 2 * a, torch.tensor([0.5])), 1.5 * a)  # parallel: linear
    assert latent.path(torch.randn(4, 8), torch.randn(4, 8), 6).shape == (4, 6, 8)
    with pytest.raises(GanforgeError, match="unknown interpolation 'cubic'"):
        latent.path(a, b, 3, "cubic")


def test_interpolation_rows_run_from_one_seed_to_the_next(model, tmp_path):
    images = latent.interpolate(model, rows=3, steps=5, method="slerp", seed=4)
    assert images.shape == (15, 3, 16, 16)
    starts, ends = model.sample(3, seed=4), model.sample(3, seed=5)
    assert torch.allclose(images[0::5], starts, atol=1e-5) and torch.allclose(images[4::5], ends, atol=1e-5)
    png = latent.save_strip(images, 3, tmp_path / "strip.png")
    assert Image.open(png).size[0] > Image.open(png).size[1]  # five columns, three rows
    gif = Image.open(latent.save_strip(images, 3, tmp_path / "strip.gif"))
    assert gif.n_frames == 5 + 3  # there and back


def test_a_trained_encoder_inverts_the_generator_better_than_a_random_one(model):
    from ganforge.build import build_run

    data = build_run(model.run.recipe).data  # the run's own shapes; the last 32 are not trained on
    real = torch.stack([data[i]["x"] for i in range(128)])
    train_images, held_out = real[:96], real[96:]
    encoder, report = latent.train_encoder(model, train_images, steps=150, batch_size=32, lr=1e-3, width=16)
    random_encoder, _ = latent.new_encoder(model, width=16)
    random_encoder.eval()
    z = model.inputs(64, seed=99)["z"]
    fakes = model.generate({"z": z})  # x -> E -> G ~ x on images the generator can make
    trained_error = (latent.reconstruct(model, encoder, fakes) - fakes).abs().mean()
    random_error = (latent.reconstruct(model, random_encoder, fakes) - fakes).abs().mean()
    assert trained_error < 0.6 * random_error, (float(trained_error), float(random_error))
    ours = (latent.reconstruct(model, encoder, held_out) - held_out).abs().mean()
    theirs = (latent.reconstruct(model, random_encoder, held_out) - held_out).abs().mean()
    assert ours < 0.9 * theirs, (float(ours), float(theirs))
    assert report.losses[-1] < report.losses[0]


def test_an_encoder_can_start_from_the_discriminator(model):
    encoder, origin = latent.new_encoder(model, from_discriminator=True)
    d = model.nets["discriminator"]
    assert origin == "discriminator 'discriminator'"
    for key, value in d.trunk.state_dict().items():
        assert torch.equal(encoder.trunk.state_dict()[key], value)


def test_attribute_vectors_and_edits():
    codes = torch.tensor([[1.0, 0.0], [1.0, 0.2], [-1.0, 0.0], [-1.0, -0.2]])
    vectors = latent.attribute_vectors(codes, torch.tensor([1, 1, 0, 0]), ["plain", "bright"])
    assert torch.allclose(vectors["bright"], torch.tensor([2.0, 0.2]))
    assert torch.allclose(latent.edit(codes[2], vectors, {"bright": 1.0}), torch.tensor([1.0, 0.2]))
    probe = latent.fit_attribute_probe(codes, torch.tensor([1, 1, 0, 0]), ["plain", "bright"], steps=200)
    ranked = latent.rank_attributes(torch.tensor([[0.8, 0.1], [-0.9, 0.0]]), ["plain", "bright"], probe)
    assert ranked[0][0][0] == "bright" and ranked[1][0][0] == "plain" and ranked[0][0][1] > 0.9
    assert sum(p for _, p in ranked[0]) == pytest.approx(1.0)
    with pytest.raises(GanforgeError, match="no attribute 'smile'"):
        latent.edit(codes[0], vectors, {"smile": 1.0})


def test_arithmetic_adds_and_subtracts_the_mean_latents_of_labelled_sets():
    codes = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0], [5.0, 5.0]])
    labels = {"y": torch.tensor([0, 0, 1, 1, 1]), "color": torch.tensor([0, 0, 0, 0, 1])}
    assert latent.matching(labels, {"y": 1, "color": 0}).tolist() == [False, False, True, True, False]
    sets = [latent.matching(labels, {"y": 0}), latent.matching(labels, {"y": 1, "color": 0}),
            latent.matching(labels, {"color": 1})]
    table = latent.analogy(codes, sets, rows=3, per_row=1, seed=0)
    assert table.shape == (4, 4, 2)
    assert torch.allclose(table[0], torch.tensor([[2.0, 0.0], [0.0, 3.0], [5.0, 5.0], [7.0, 2.0]]))
    assert torch.allclose(table[1:, 3], table[1:, 0] - table[1:, 1] + table[1:, 2])
    assert set(map(tuple, table[1:, 0].tolist())) <= {(1.0, 0.0), (3.0, 0.0)}  # single members of set a
    with pytest.raises(GanforgeError, match="set b selects no image"):
        latent.analogy(codes, [sets[0], sets[0] & sets[1], sets[2]])
    with pytest.raises(GanforgeError, match="no label 'smile'"):
        latent.matching(labels, {"smile": 1})


def test_completion_error_falls_during_latent_optimisation(model):
    truth = model.sample(4, seed=7)  # images the generator can make: a perfect latent exists
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 4:12, 4:12] = 1
    result = latent.complete(model, truth, hole, steps=80, restarts=2, lr=0.05, seed=3)
    assert result.masked_error[-1] < 0.6 * result.masked_error[0], result.masked_error[::10]
    assert result.hole_error[-1] < result.hole_error[0]
    known = (1 - hole).expand_as(truth)
    assert torch.equal(result.images * known, truth * known)
    assert result.images.shape == truth.shape


def test_latent_tools_refuse_translation_models(tmp_path):
    recipe = {"name": "t", "data": {"type": "shapes-super-resolution", "size": 16, "length": 8, "factor": 2},
              "models": {"generator": {"type": "srresnet-generator", "blocks": 1, "width": 4},
                         "discriminator": {"type": "srgan-discriminator", "width": 4, "layers": 2, "dense": 4}},
              "objective": "srgan", "train": {"steps": 1, "batch_size": 2, "device": "cpu", "progress": False},
              "output": {"dir": str(tmp_path / "sr"), "trackers": []}}
    train(recipe_from_data(recipe))
    with pytest.raises(GanforgeError, match="latent tools need a generator of latents"):
        latent.interpolate(ganforge.load(tmp_path / "sr"))


def test_latent_commands_end_to_end(model, tmp_path, capsys):
    from ganforge.cli import main
    from ganforge.samples import save_png, to_uint8

    run = str(model.folder)
    encoder = tmp_path / "e.safetensors"
    assert main(["latent", "interpolate", run, "--rows", "2", "--steps", "4", "--out", str(tmp_path / "i.gif")]) == 0
    assert main(["latent", "encode", run, "--steps", "20", "--images", "200", "--width", "16", "--out", str(encoder)]) == 0
    assert "held-out L1" in capsys.readouterr().out and (tmp_path / "e-reconstructions.png").is_file()
    attributes = tmp_path / "a.safetensors"
    assert main(["latent", "attributes", run, "--encoder", str(encoder), "--images", "200", "--out", str(attributes)]) == 0
    assert "square" in capsys.readouterr().out
    assert main(["latent", "arithmetic", run, "--encoder", str(encoder), "--images", "300", "--rows", "2",
                 "--a", "y=square,color=red", "--b", "y=square,color=blue", "--c", "y=triangle,color=blue",
                 "--out", str(tmp_path / "arith.png")]) == 0
    assert "a | b | c | a - b + c" in capsys.readouterr().out
    sheet = Image.open(tmp_path / "arith.png")
    assert sheet.size[0] > sheet.size[1]  # four columns, three rows
    assert main(["latent", "arithmetic", run, "--encoder", str(encoder), "--a", "y=circle", "--b", "y=0",
                 "--c", "y=1", "--out", str(tmp_path / "x.png")]) == 1
    assert "'circle' is not a value of y; use triangle, square" in capsys.readouterr().err
    picture = tmp_path / "in.png"
    save_png(to_uint8(model.sample(1, seed=2)[0]), picture)
    assert main(["latent", "edit", run, str(picture), "--encoder", str(encoder), "--attributes", str(attributes),
                 "--add", "square=+1.5", "--remove", "triangle", "--out", str(tmp_path / "edit.png")]) == 0
    assert "attributes it carries" in capsys.readouterr().out
    assert main(["latent", "edit", run, str(picture), "--encoder", str(encoder), "--attributes", str(attributes),
                 "--add", "smile=1", "--out", str(tmp_path / "x.png")]) == 1
    assert main(["latent", "complete", run, str(picture), "--steps", "10", "--restarts", "1",
                 "--out", str(tmp_path / "done")]) == 0
    assert (tmp_path / "done" / "in.png").is_file()
    assert main(["latent", "degenerate", run, "--steps", "4", "--grids", "3", "--out", str(tmp_path / "deg")]) == 0
    assert len(list((tmp_path / "deg").glob("step_*.png"))) == 3
    assert main(["latent", "project", run, "--encoder", str(encoder), "--images", "200",
                 "--out", str(tmp_path / "p.png")]) == 0
    assert Image.open(tmp_path / "p.png").size[0] > 400
    assert main(["latent", "encode", run, "--steps", "1", "--from-discriminator", "--images", "70",
                 "--out", str(tmp_path / "d.safetensors")]) == 0
    assert "E started from discriminator" in capsys.readouterr().out


def test_a_number_of_sides_vector_moves_a_classifier_the_right_way(tmp_path):
    """Triangles and octagons: the attribute vector of each class, added to random latents,
    makes a shape classifier see more of that class in the generated images, and subtracted,
    less; a linear probe on the latents reads the class of held-out shapes."""
    from ganforge.build import build_run
    from ganforge.eval.classifier import train_classifier

    shapes = {"type": "shapes", "size": 16, "length": 1024, "sides": [3, 8], "colors": ["yellow"],
              "scale": [0.8, 1.0], "jitter": 0.05}
    recipe = {"name": "sides", "seed": 1, "data": shapes,
              "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 16},
                         "discriminator": {"type": "dcgan-discriminator", "width": 16}},
              "objective": {"type": "unconditional"},
              "train": {"steps": 400, "batch_size": 32, "device": "cpu", "progress": False, "checkpoint_every": 400,
                        "sample_every": 1000},
              "output": {"dir": str(tmp_path / "run"), "trackers": []}}
    train(recipe_from_data(recipe))
    model = ganforge.load(tmp_path / "run")
    data = build_run(model.run.recipe).data
    held_out = build_run(recipe_from_data({**recipe, "data": {**shapes, "seed": 77, "length": 256}}).recipe).data
    classifier, accuracy = train_classifier(data, held_out, steps=100, batch_size=64, width=8)
    assert accuracy > 0.9
    images = torch.stack([data[i]["x"] for i in range(512)])
    labels = torch.stack([data[i]["y"] for i in range(512)])
    encoder, _ = latent.train_encoder(model, images, steps=150, batch_size=32, lr=1e-3, width=16)
    with torch.no_grad():
        codes = encoder(images)
    vectors = latent.attribute_vectors(codes, labels, ["triangle", "octagon"])
    z = model.inputs(256, seed=5)["z"]
    with torch.no_grad():
        before = classifier(model.generate({"z": z})).softmax(1)
        for k, name in enumerate(["triangle", "octagon"]):
            added = classifier(model.generate({"z": latent.edit(z, vectors, {name: 1.0})})).softmax(1)[:, k].mean()
            removed = classifier(model.generate({"z": latent.edit(z, vectors, {name: -1.0})})).softmax(1)[:, k].mean()
            seen = (name, float(removed), float(before[:, k].mean()), float(added))
            assert added > before[:, k].mean() + 0.05 and removed < before[:, k].mean() - 0.05, seen
            assert added - removed > 0.25, seen
    # attribute extraction: a linear probe on E(x) reads the number of sides of held-out shapes
    probe = latent.fit_attribute_probe(codes, labels, ["triangle", "octagon"])
    test_images = torch.stack([held_out[i]["x"] for i in range(128)])
    truth = [["triangle", "octagon"][int(held_out[i]["y"])] for i in range(128)]
    with torch.no_grad():
        ranked = latent.rank_attributes(encoder(test_images), ["triangle", "octagon"], probe)
    assert sum(r[0][0] == t for r, t in zip(ranked, truth)) / 128 > 0.8


def test_attributes_from_an_image_folders_celeba_table_end_to_end(tmp_path, capsys):
    """The CelebA path without CelebA: octagons and triangles saved as an image folder with a
    ``list_attr_celeba.txt`` whose -1/1 column ``Octagon`` says which is which. ``attributes
    --factor Octagon`` names the vectors after the column, its probe reads the column on the
    folder's images, and ``edit --add Octagon=+1`` makes the classifier see more octagons."""
    from ganforge.build import build_run
    from ganforge.cli import main
    from ganforge.eval.classifier import train_classifier
    from ganforge.samples import save_png, to_uint8
    from safetensors import safe_open

    shapes = {"type": "shapes", "size": 16, "length": 512, "sides": [3, 8], "colors": ["yellow"],
              "scale": [0.8, 1.0], "jitter": 0.05}
    nets = {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 16},
            "discriminator": {"type": "dcgan-discriminator", "width": 16}}
    source = build_run(recipe_from_data({"name": "s", "data": shapes, "models": nets,
                                         "objective": {"type": "unconditional"}}).recipe).data
    rows = ["512", "Octagon Bright"]
    for i in range(len(source)):
        save_png(to_uint8(source[i]["x"]), tmp_path / "faces" / f"{i:06d}.png")
        rows.append(f"{i:06d}.png {1 if int(source[i]['y']) else -1:2d} {1 if i % 2 else -1:2d}")
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(rows) + "\n")
    folder = {"type": "image-folder", "root": str(tmp_path / "faces"), "size": 16,
              "attributes": str(tmp_path / "list_attr_celeba.txt")}
    recipe = {"name": "octagons", "seed": 1, "data": folder, "models": nets,
              "objective": {"type": "unconditional"},
              "train": {"steps": 400, "batch_size": 32, "device": "cpu", "progress": False, "checkpoint_every": 400,
                        "sample_every": 1000},
              "output": {"dir": str(tmp_path / "run"), "trackers": []}}
    train(recipe_from_data(recipe))
    run = str(tmp_path / "run")
    assert main(["latent", "encode", run, "--steps", "150", "--images", "512", "--width", "16"]) == 0
    assert main(["latent", "attributes", run, "--factor", "Octagon", "--images", "512"]) == 0
    assert "not Octagon (|v|" in capsys.readouterr().out
    assert main(["latent", "attributes", run, "--factor", "Smiling", "--out", str(tmp_path / "x.safetensors")]) == 1
    assert "has no label 'Smiling'; it has Bright, Octagon" in capsys.readouterr().err
    with safe_open(str(tmp_path / "run" / "attributes.safetensors"), "pt") as handle:
        assert json.loads(handle.metadata()["factors"]) == {"Octagon": ["not Octagon", "Octagon"]}

    # a second factor adds its vectors and probe to the first's
    assert main(["latent", "attributes", run, "--factor", "Bright", "--images", "512"]) == 0
    assert "kept the vectors of Octagon" in capsys.readouterr().out
    with safe_open(str(tmp_path / "run" / "attributes.safetensors"), "pt") as handle:
        assert set(json.loads(handle.metadata()["factors"])) == {"Octagon", "Bright"}
        assert {"Octagon", "not Octagon", "Bright", "not Bright"} <= set(handle.keys())

    # edit's ranking names the right attribute: the probe stored in the file reads the column
    for i in range(2):
        assert main(["latent", "edit", run, str(tmp_path / f"faces/{i:06d}.png"), "--add", "Octagon=+1",
                     "--out", str(tmp_path / "edit.png")]) == 0
        assert "attributes it carries (probability): " in capsys.readouterr().out
    model = ganforge.load(tmp_path / "run")
    from ganforge_editing.latent_cli import _load_attributes, _load_encoder
    vectors, factors = _load_attributes(model, None)
    names, probe = factors["Octagon"]
    images = torch.stack([source[i]["x"] for i in range(128)])
    truth = [names[int(source[i]["y"])] for i in range(128)]
    with torch.no_grad():
        ranked = latent.rank_attributes(_load_encoder(model, None)(images), names, probe)
    assert sum(r[0][0] == t for r, t in zip(ranked, truth)) / 128 > 0.8

    # and the vector moves generated images toward octagons
    classifier, accuracy = train_classifier(source, source, steps=100, batch_size=64, width=8)
    assert accuracy > 0.9
    z = model.inputs(256, seed=5)["z"]
    with torch.no_grad():
        before = classifier(model.generate({"z": z})).softmax(1)[:, 1].mean()
        after = classifier(model.generate({"z": latent.edit(z, vectors, {"Octagon": 1.0})})).softmax(1)[:, 1].mean()
    assert after > before + 0.05, (float(before), float(after))


def test_an_attributes_file_without_names_or_probe_asks_to_be_made_again(model, tmp_path):
    from safetensors.torch import save_file

    from ganforge_editing.latent_cli import _load_attributes

    old = tmp_path / "attributes.safetensors"
    save_file({"square": torch.zeros(8), "triangle": torch.zeros(8)}, str(old))  # vectors only: the first format
    with pytest.raises(GanforgeError, match=r"written by an older ganforge; make it again with `ganforge latent "
                                            r"attributes .*run`"):
        _load_attributes(model, old)
    save_file({"square": torch.zeros(8)}, str(old), metadata={"names": '["square"]'})  # names, but no probe
    with pytest.raises(GanforgeError, match="written by an older ganforge"):
        _load_attributes(model, old)
    with pytest.raises(GanforgeError, match=r"no attribute vectors at .*nope.safetensors; make them with"):
        _load_attributes(model, tmp_path / "nope.safetensors")


def test_project_draws_an_autoencoders_own_2d_codes_coloured_by_class(tmp_path):
    """An AAE trains its own encoder: `latent project` uses it, and draws 2-D codes as they are."""
    from ganforge.cli import main

    folder = tmp_path / "aae"
    recipe = {"name": "aae", "seed": 0, "data": {"type": "shapes", "size": 16, "length": 64},
              "models": {"encoder": {"type": "mlp-encoder", "z_dim": 2, "width": 16, "depth": 1},
                         "decoder": {"type": "mlp-generator", "z_dim": 2, "width": 16, "depth": 1},
                         "discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 16, "depth": 1}},
              "objective": {"type": "aae", "prior": "mixture", "components": 4},
              "train": {"steps": 2, "batch_size": 8, "device": "cpu", "progress": False, "checkpoint_every": 2,
                        "sample_every": 1000},
              "output": {"dir": str(folder), "trackers": []}}
    train(recipe_from_data(recipe))
    model = ganforge.load(folder)
    images = torch.stack([model.training_data()[i]["x"] for i in range(5)])
    assert model.objective.encode(model.nets, images).shape == (5, 2)
    assert main(["latent", "project", str(folder), "--images", "60", "--out", str(tmp_path / "codes.png")]) == 0
    assert Image.open(tmp_path / "codes.png").size[0] > 400
