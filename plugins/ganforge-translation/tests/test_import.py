"""``ganforge import`` of reference pix2pix, CycleGAN and pix2pixHD generators: outputs equal to
the reference implementations' (fixtures in tests/reference/, made by make_fixtures.py from the
reference code), the layouts written back, and located errors for files that cannot be imported."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.importer import import_checkpoint
from reference_layouts import fill_state, label_maps, read_fixture, seeded_images, subsample
from translation_fixtures import one_thread, tiny_pix2pix  # noqa: F401  (an autouse fixture)

JUNYANZ = ["unet256_batch_dropout_eval", "unet256_batch_train", "unet128_instance", "resnet9_instance_A",
           "resnet6_batch_dropout_eval", "resnet6_batch_train", "resnet6_instance_legacy"]


def reference_file(tmp_path, name: str, file_name: str = "latest_net_G.pth"):
    """The fixture's net saved as the reference saves it (torch.save of the state dict)."""
    meta, expected = read_fixture(name)
    path = tmp_path / file_name
    torch.save(fill_state(meta["layout"], meta["seed"], set(meta["norm_weights"])), path)
    return path, meta, expected["output"]


def assert_matches_reference(output: torch.Tensor, meta: dict, expected: torch.Tensor) -> None:
    assert (subsample(output, meta["stride"]) - expected).abs().max() <= 1e-5
    assert abs(float(output.double().abs().sum()) - meta["abs_sum"]) <= 1e-5 * output.numel()


def junyanz_options(meta: dict) -> dict:
    options = {} if meta["mode"] == "train" else {"eval": True}
    if meta["netG"].startswith("unet") and not meta["dropout"]:
        options["no_dropout"] = True
    return options


@pytest.mark.parametrize("name", JUNYANZ)
def test_junyanz_generators_translate_as_the_reference_does(tmp_path, name):
    path, meta, expected = reference_file(tmp_path, f"junyanz_{name}")
    run, imported = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", junyanz_options(meta))
    assert imported.notes[0].startswith(f"latest_net_G.pth: {meta['netG']}, {meta['norm']} norm, ngf {meta['ngf']}")
    output = ganforge.load(run).translate(seeded_images(tuple(meta["input"]), meta["seed"]))
    assert_matches_reference(output, meta, expected)


def test_without_eval_batch_norm_uses_each_images_own_statistics(tmp_path):
    path, meta, expected = reference_file(tmp_path, "junyanz_unet256_batch_train")
    run, _ = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {"no_dropout": True})
    model = ganforge.load(run)
    x = seeded_images(tuple(meta["input"]), meta["seed"])
    together, alone = model.translate(x), torch.cat([model.translate(x[:1]), model.translate(x[1:])])
    assert torch.allclose(together, alone, atol=1e-6)  # one image's output does not depend on the batch
    evaluated, _ = import_checkpoint("junyanz-pix2pix", path, tmp_path / "eval", {"no_dropout": True, "eval": True})
    assert (ganforge.load(evaluated).translate(x) - together).abs().max() > 1e-2  # --eval: running statistics


def test_pix2pix_dropout_stays_on_without_eval(tmp_path):
    path, meta, _ = reference_file(tmp_path, "junyanz_unet256_batch_dropout_eval")
    with pytest.raises(GanforgeError, match="cannot show whether it was trained with dropout.*--no_dropout false"):
        import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {})  # it matters without --eval: asked
    run, imported = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {"no_dropout": "false"})
    recipe = ganforge.load(run).run.recipe
    assert recipe.models["generator"].test_dropout and recipe.models["generator"].test_batch_stats
    assert any("dropout stays on" in note for note in imported.notes)
    model = ganforge.load(run)
    x = seeded_images(tuple(meta["input"]), meta["seed"])
    torch.manual_seed(0)
    first = model.translate(x)
    torch.manual_seed(1)
    assert not torch.equal(first, model.translate(x))
    assert main(["export", str(run), "--out", str(tmp_path / "g.onnx")]) == 1  # no file can match a random net
    assert not (tmp_path / "g.onnx").exists()


def test_cyclegan_pair_translates_both_ways(tmp_path):
    g_a, meta_a, expected_a = reference_file(tmp_path, "junyanz_resnet9_instance_A", "latest_net_G_A.pth")
    g_b, meta_b, expected_b = reference_file(tmp_path, "junyanz_resnet9_instance_B", "latest_net_G_B.pth")
    run, _ = import_checkpoint("junyanz-cyclegan", g_a, tmp_path / "run", {"G_B": str(g_b)})
    model = ganforge.load(run)
    assert model.run.recipe.objective.type == "cyclegan"
    assert_matches_reference(model.translate(seeded_images(tuple(meta_a["input"]), meta_a["seed"])), meta_a, expected_a)
    back = model.translate(seeded_images(tuple(meta_b["input"]), meta_b["seed"]), reverse=True)
    assert_matches_reference(back, meta_b, expected_b)


def test_a_single_cyclegan_generator_is_a_one_way_model(tmp_path):
    g_a, meta, expected = reference_file(tmp_path, "junyanz_resnet9_instance_A", "horse2zebra.pth")
    run, imported = import_checkpoint("junyanz-cyclegan", g_a, tmp_path / "run", {})
    model = ganforge.load(run)
    assert set(model.nets) == {"generator"}  # the discriminator was not in the file, so it is not used
    assert_matches_reference(model.translate(seeded_images(tuple(meta["input"]), meta["seed"])), meta, expected)
    with pytest.raises(GanforgeError, match="one way"):
        model.translate(seeded_images(tuple(meta["input"]), 0), reverse=True)
    assert any("one-way" in note for note in imported.notes)


def test_pix2pixhd_global_generator_on_label_maps(tmp_path):
    path, meta, expected = reference_file(tmp_path, "pix2pixhd_global_labels")
    run, _ = import_checkpoint("pix2pixhd", path, tmp_path / "run", {"label_nc": 4, "size": 64})
    labels, instances = label_maps(2, 64, 4, meta["seed"])
    output = ganforge.load(run).translate(torch.cat([labels, instances], 1).float())
    assert_matches_reference(output, meta, expected)

    # the same maps as files, through `ganforge translate`
    for folder in ("labels", "instances"):
        (tmp_path / folder).mkdir()
    for i in range(2):
        Image.fromarray(labels[i, 0].numpy().astype(np.uint8), mode="L").save(tmp_path / "labels" / f"{i}.png")
        Image.fromarray(instances[i, 0].numpy().astype(np.uint16)).save(tmp_path / "instances" / f"{i}.png")
    code = main(["translate", str(run), str(tmp_path / "labels"), "--out", str(tmp_path / "out"),
                 "--instances", str(tmp_path / "instances")])
    assert code == 0
    written = np.asarray(Image.open(tmp_path / "out" / "0.png"), dtype=np.float32)
    exact = ((output[0].permute(1, 2, 0).numpy() + 1) * 127.5)
    assert np.abs(written - exact).max() <= 1.0
    assert main(["translate", str(run), str(tmp_path / "labels"), "--out", str(tmp_path / "out2")]) == 1  # no instances


def test_pix2pixhd_local_enhancer_on_images(tmp_path):
    path, meta, expected = reference_file(tmp_path, "pix2pixhd_local_images")
    run, imported = import_checkpoint("pix2pixhd", path, tmp_path / "run", {"no_instance": True, "size": 64})
    output = ganforge.load(run).translate(seeded_images(tuple(meta["input"]), meta["seed"]))
    assert_matches_reference(output, meta, expected)
    assert "local generator, ngf 2, 2 global downsamplings" in imported.notes[0]


def test_pix2pixhd_asks_for_the_label_classes(tmp_path):
    path, _, _ = reference_file(tmp_path, "pix2pixhd_global_labels")
    with pytest.raises(GanforgeError, match="give --label_nc .*4 if it was trained with instance maps"):
        import_checkpoint("pix2pixhd", path, tmp_path / "run", {"size": 64})
    with pytest.raises(GanforgeError, match="--label_nc 5 makes 6"):
        import_checkpoint("pix2pixhd", path, tmp_path / "run", {"size": 64, "label_nc": 5})
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- the run folder works everywhere

def pairs_folder(tmp_path, size: int = 64):
    """A few A|B images side by side."""
    data = tmp_path / "pairs"
    data.mkdir()
    for i in range(3):
        pair = (seeded_images((1, 3, size, 2 * size), i)[0].permute(1, 2, 0).numpy() + 1) * 127.5
        Image.fromarray(pair.astype(np.uint8)).save(data / f"{i}.png")
    return data


def test_the_imported_run_folder_records_its_source_and_refuses_to_resume(tmp_path):
    from ganforge.pipeline import train

    path, meta, _ = reference_file(tmp_path, "junyanz_resnet6_batch_dropout_eval")
    run, _ = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run",
                               {"eval": True, "crop_size": 64, "data": str(pairs_folder(tmp_path))})
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["imported"]["format"] == "junyanz-pix2pix"
    assert manifest["imported"]["source_sha256"] == ganforge.sdk.file_sha256(path)
    assert manifest["imported"]["options"]["eval"] is True
    loaded = ganforge.load_recipe(run / "recipe.resolved.yaml", overrides=[f"output.dir={run}"])
    with pytest.raises(GanforgeError, match="no training state to resume"):
        train(loaded, resume=True)


def test_the_imported_run_evaluates_and_exports_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    path, meta, _ = reference_file(tmp_path, "junyanz_resnet6_batch_dropout_eval")
    data = pairs_folder(tmp_path)
    run, _ = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run",
                               {"eval": True, "crop_size": 64, "data": str(data)})
    assert main(["eval", str(run), "--metrics", "l1"]) == 0
    record = json.loads((run / "eval.json").read_text())[-1]
    assert record["step"] == 0 and 0 < record["metrics"]["l1"] < 2
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "g.onnx")]) == 0
    assert (tmp_path / "g.onnx").stat().st_size > 0


# ---------------------------------------------------------------- written back

@pytest.mark.parametrize("name", ["unet256_batch_dropout_eval", "unet128_instance", "resnet6_batch_dropout_eval"])
def test_export_writes_the_reference_layout_back(tmp_path, name):
    path, meta, _ = reference_file(tmp_path, f"junyanz_{name}")
    run, _ = import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", junyanz_options(meta))
    out = tmp_path / "back.pth"
    assert main(["export", str(run), "--format", "junyanz-pix2pix", "--out", str(out)]) == 0
    original, written = torch.load(path, weights_only=True), torch.load(out, weights_only=True)
    assert list(written) == list(original)  # the reference's names, in its order
    assert all(torch.equal(written[k], original[k]) for k in original)


def test_a_ganforge_trained_unet_runs_as_the_reference_layout(tmp_path):
    """ganforge -> reference layout -> ganforge gives the same translations."""
    from ganforge.pipeline import train
    from ganforge.recipe import recipe_from_data

    recipe = tiny_pix2pix(tmp_path, steps=2)
    recipe["data"]["size"] = recipe["eval"]["data"]["size"] = 128
    recipe["models"]["generator"] = {"type": "unet-generator", "depth": 7, "width": 2, "max_width": 16,
                                     "outer_bias": False, "dropout": 0.5, "dropout_blocks": 2}
    recipe["train"]["batch_size"] = 2
    train(recipe_from_data(recipe))
    out = tmp_path / "net_G.pth"
    assert main(["export", str(tmp_path / "run"), "--format", "junyanz", "--out", str(out)]) == 0
    back, _ = import_checkpoint("junyanz-pix2pix", out, tmp_path / "back", {"eval": True})
    x = seeded_images((2, 1, 128, 128), 0)  # edge images
    assert torch.allclose(ganforge.load(back).translate(x), ganforge.load(tmp_path / "run").translate(x), atol=1e-6)


def test_export_names_what_the_reference_layout_cannot_hold():
    from ganforge_translation.junyanz import LayoutError, layout_of_slot

    unet = {"type": "unet-generator", "depth": 6, "width": 8, "max_width": 64, "norm": "batch", "outer_bias": True,
            "dropout": 0.5, "dropout_blocks": 3, "skip": True}
    with pytest.raises(LayoutError, match="depth 6 .*outer_bias: true .*dropout 0.5 in 3 levels"):
        layout_of_slot(unet, 3, 3)
    with pytest.raises(LayoutError, match="downsamplings 3"):
        layout_of_slot({"type": "resnet-generator", "norm": "instance", "downsamplings": 3, "dropout": 0,
                        "blocks": 9, "width": 64}, 3, 3)
    with pytest.raises(LayoutError, match="batch or instance norm"):
        layout_of_slot({**unet, "norm": "none"}, 3, 3)


# ---------------------------------------------------------------- files that cannot be imported

class RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/ganforge-import-executed-code"


def test_a_pickle_that_would_run_code_is_refused_and_never_run(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"model.1.weight": RunsCode()}, handle)
    with pytest.raises(GanforgeError, match="refused: loading it would import or run code"):
        import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {})
    torch.save({"model.1.weight": RunsCode()}, tmp_path / "evil2.pth")
    with pytest.raises(GanforgeError, match="refused"):
        import_checkpoint("junyanz-pix2pix", tmp_path / "evil2.pth", tmp_path / "run", {})
    assert not os.path.exists(MARKER)
    assert not (tmp_path / "run").exists()


def test_truncated_and_foreign_files_get_located_errors(tmp_path):
    path, _, _ = reference_file(tmp_path, "junyanz_unet128_instance")
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:5000])
    with pytest.raises(GanforgeError, match="truncated or not a torch.save file"):
        import_checkpoint("junyanz-pix2pix", tmp_path / "cut.pth", tmp_path / "run", {})
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(GanforgeError, match="holds a list, not a state dict"):
        import_checkpoint("junyanz-pix2pix", tmp_path / "list.pth", tmp_path / "run", {})
    torch.save({"epoch": 3, "model": {}}, tmp_path / "training.pth")
    with pytest.raises(GanforgeError, match="'epoch' holds a int, not a tensor"):
        import_checkpoint("junyanz-pix2pix", tmp_path / "training.pth", tmp_path / "run", {})
    hd, _, _ = reference_file(tmp_path, "pix2pixhd_local_images", "hd.pth")
    with pytest.raises(GanforgeError, match="does not fit the reference resnet_.*pix2pixhd format"):
        import_checkpoint("junyanz-pix2pix", hd, tmp_path / "run", {})
    state = torch.load(path, weights_only=True)
    del state["model.model.1.model.1.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(GanforgeError, match="lacks 'model.model.1.model.1.weight'"):
        import_checkpoint("junyanz-pix2pix", tmp_path / "missing.pth", tmp_path / "run", {})
    with pytest.raises(GanforgeError, match="--netG unet_256 does not match .*unet_128"):
        import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {"netG": "unet_256"})
    with pytest.raises(GanforgeError, match="--ngf: Input should be a valid integer"):
        import_checkpoint("junyanz-pix2pix", path, tmp_path / "run", {"ngf": "wide"})
    assert not (tmp_path / "run").exists()  # nothing written by any of them


def test_the_import_command(tmp_path, capsys, monkeypatch):
    path, _, _ = reference_file(tmp_path, "junyanz_unet128_instance")
    monkeypatch.chdir(tmp_path)  # --data is read from where the command runs
    assert main(["import", "junyanz-pix2pix", str(path), "--out", "relative", "--data", "pairs", "--eval"]) == 0
    assert ganforge.load(tmp_path / "relative").run.recipe.data.root == tmp_path / "pairs"
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    assert main(["import", "junyanz-pix2pix", str(path), "--out", str(tmp_path / "taken")]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["import", "junyanz-pix2pix", str(path), "--out", str(tmp_path / "run"), "--no-dropout", "--eval"]) == 0
    out = capsys.readouterr().out
    assert "unet_128, instance norm, ngf 3" in out and (tmp_path / "run" / "checkpoints").is_dir()
    assert main(["import", "junyanz-pix2pix", str(path), "--out", str(tmp_path / "r2"), "--colour", "red"]) == 1
    assert "--colour: Extra inputs are not permitted" in capsys.readouterr().err
    assert main(["import", "pix2pixhd", "--help-format"]) == 0
    assert "--label_nc" in capsys.readouterr().out
