"""Interchange: generators exported to ONNX and TorchScript (checked against PyTorch, run with
onnxruntime), sampling and translating from a run folder alone (``ganforge.load``), and
reference statistics written, read back and checked."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ganforge
from conftest import write_recipe
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.export import export

ONNX = pytest.importorskip("onnxruntime", reason="onnxruntime is a development dependency")


def tiny_recipe(folder: Path, objective: str = "unconditional", **extra) -> dict:
    recipe = {
        "name": f"tiny-{objective}", "seed": 2,
        "data": {"type": "shapes", "size": 16, "length": 64},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8}},
        "objective": {"type": objective},
        "train": {"steps": 4, "batch_size": 8, "device": "cpu", "progress": False, "checkpoint_every": 2,
                  "ema": {"decay": 0.9}},
        "output": {"dir": str(folder), "trackers": []},
    }
    recipe.update(extra)
    return recipe


def trained(folder: Path, recipe: dict) -> Path:
    path = write_recipe(folder.parent / f"{folder.name}.yaml", recipe)
    assert main(["train", str(path)]) == 0
    return folder


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interchange") / "dcgan"
    return trained(folder, tiny_recipe(folder))


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interchange") / "cgan"
    recipe = tiny_recipe(folder, "conditional")
    recipe["data"]["sides"] = [3, 4, 5, 6]
    recipe["models"] = {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8, "conditional": True},
                        "discriminator": {"type": "dcgan-discriminator", "width": 8, "conditional": True}}
    return trained(folder, recipe)


# ----------------------------------------------------------------- ganforge.load

def test_load_samples_from_the_run_folder_alone(dcgan_run, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(dcgan_run, moved)  # no dataset, no recipe file: the folder is enough
    model = ganforge.load(moved)
    assert model.step == 4 and model.ema and not model.is_translation
    first, again, other = model.sample(6, seed=3), model.sample(6, seed=3), model.sample(6, seed=4)
    assert first.shape == (6, 3, 16, 16) and first.min() >= -1 and first.max() <= 1
    assert torch.equal(first, again) and not torch.equal(first, other)
    contract = model.contract()
    assert contract["inputs"] == {"z": {"shape": [8], "dtype": "float32", "distribution": "normal(0, 1)"}}
    assert contract["output"] == {"shape": [3, 16, 16], "range": [-1.0, 1.0]}
    with pytest.raises(GanforgeError, match="makes samples from noise: use .sample"):
        model.translate(first)


def test_truncation_bounds_the_latents_and_keeps_the_seed(dcgan_run):
    model = ganforge.load(dcgan_run)
    z = model.inputs(500, seed=1, truncation=0.5)["z"]
    assert z.abs().max() <= 0.5 and z.std() > 0.2
    assert torch.equal(z, model.inputs(500, seed=1, truncation=0.5)["z"])
    plain = model.inputs(500, seed=1)["z"]
    inside = plain.abs() <= 0.5
    assert torch.equal(z[inside], plain[inside])  # only values beyond the threshold are redrawn
    assert not torch.equal(model.sample(4, seed=1, truncation=0.5), model.sample(4, seed=1))


def test_sample_command_with_truncation(dcgan_run, tmp_path, capsys):
    assert main(["sample", str(dcgan_run), "--n", "4", "--seed", "5", "--truncation", "0.7", "--out",
                 str(tmp_path / "a")]) == 0
    assert main(["sample", str(dcgan_run), "--n", "4", "--seed", "5", "--truncation", "0.7", "--out",
                 str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "grid.png").read_bytes() == (tmp_path / "b" / "grid.png").read_bytes()
    assert len(list((tmp_path / "a").glob("0000*.png"))) == 4


def test_an_incomplete_run_folder_says_what_is_missing(dcgan_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(dcgan_run, broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(GanforgeError, match=r"incomplete run folder: manifest\.json is missing.*copy the whole run"):
        ganforge.load(broken)
    shutil.rmtree(broken / "checkpoints")
    with pytest.raises(GanforgeError, match="no checkpoint found"):
        ganforge.load(broken)
    with pytest.raises(GanforgeError, match="does not exist"):
        ganforge.load(tmp_path / "nowhere")
    assert main(["sample", str(broken)]) == 1


def test_load_translates_with_a_translation_run(tmp_path):
    folder = tmp_path / "p2p"
    recipe = {
        "name": "tiny-p2p", "data": {"type": "shapes-edges", "size": 16, "length": 16},
        "models": {"generator": {"type": "unet-generator", "width": 4, "depth": 4},
                   "discriminator": {"type": "patchgan-discriminator", "width": 4, "receptive_field": 16,
                                     "conditional": True}},
        "objective": {"type": "pix2pix"},
        "train": {"steps": 2, "batch_size": 2, "device": "cpu", "progress": False, "checkpoint_every": 2},
        "output": {"dir": str(folder), "trackers": []},
    }
    model = ganforge.load(trained(folder, recipe))
    assert model.is_translation
    images = torch.rand(3, *model.info.source_shape) * 2 - 1
    out = model.translate(images)
    assert out.shape == (3, *model.info.shape) and torch.equal(out, model.translate(images))
    with pytest.raises(GanforgeError, match="no latent inputs: use .translate"):
        model.sample(2)
    with pytest.raises(GanforgeError, match=r"translate takes images of shape \(N, 1, H, W\)"):
        model.translate(torch.zeros(2, 5, 16, 16))
    report = export(model, tmp_path / "p2p.onnx", "onnx")
    assert report["max_abs_difference"] < 1e-4 and report["contract"]["inputs"]["source"]["shape"] == [1, 16, 16]


# ----------------------------------------------------------------- export

def test_onnx_export_matches_pytorch_and_records_its_contract(dcgan_run, tmp_path, capsys):
    out = tmp_path / "g.onnx"
    assert main(["export", str(dcgan_run), "--format", "onnx", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "max abs difference" in shown and "EMA weights" in shown
    from ganforge.export import read_contract

    contract = read_contract(out)
    assert contract["inputs"]["z"]["shape"] == [8] and contract["output"]["shape"] == [3, 16, 16]
    assert contract["ema"] is True and contract["step"] == 4 and contract["batch_axis"] == 0
    session = ONNX.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    model = ganforge.load(dcgan_run)
    z = model.inputs(7, seed=9)["z"]  # a batch size the export never saw
    got = torch.from_numpy(session.run(None, {"z": z.numpy()})[0])
    assert got.shape == (7, 3, 16, 16)
    assert (got - model.generate({"z": z})).abs().max() < 1e-4


@pytest.mark.filterwarnings("ignore::FutureWarning")  # TorchScript is deprecated in favour of torch.export
def test_torchscript_export_of_a_conditional_generator(conditional_run, tmp_path):
    from ganforge.export import read_contract

    out = tmp_path / "g.pt"
    assert main(["export", str(conditional_run), "--format", "torchscript", "--out", str(out)]) == 0
    contract = read_contract(out)
    assert list(contract["inputs"]) == ["z", "y"] and contract["inputs"]["y"]["dtype"] == "int64"
    assert contract["classes"] == 4
    scripted = torch.jit.load(str(out))
    model = ganforge.load(conditional_run)
    inputs = model.inputs(5, seed=1)
    assert torch.allclose(scripted(inputs["z"], inputs["y"]), model.generate(inputs), atol=1e-5)
    onnx_file = tmp_path / "g.onnx"
    report = export(model, onnx_file, "onnx")
    session = ONNX.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {"z": inputs["z"].numpy(), "y": inputs["y"].numpy()})[0]
    assert np.abs(got - model.generate(inputs).numpy()).max() <= report["max_abs_difference"] + 1e-5


def test_an_export_beyond_the_tolerance_fails_and_leaves_no_file(dcgan_run, tmp_path, monkeypatch):
    import ganforge.export as exporting

    real = exporting._onnx_runner
    monkeypatch.setattr(exporting, "_onnx_runner", lambda out: (lambda inputs: real(out)(inputs) + 1e-3))
    out = tmp_path / "g.onnx"
    with pytest.raises(exporting.ExportMismatch, match=r"differs from the PyTorch model by up to 0\.001.*removed"):
        export(ganforge.load(dcgan_run), out, "onnx")
    assert not out.exists()
    assert main(["export", str(dcgan_run), "--out", str(out)]) == 1


# ----------------------------------------------------------------- reference statistics

def digits(path: Path, seed: int = 0, n: int = 40) -> Path:
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.integers(0, 256, size=(n, 16, 16), dtype=np.uint8))
    return path


@pytest.fixture
def classifier(tmp_path):
    from ganforge.eval.classifier import SmallClassifier, save_classifier

    torch.manual_seed(0)
    path = tmp_path / "clf.safetensors"
    save_classifier(SmallClassifier(1, 10, width=4).eval(), path, {"test_accuracy": 0.5})
    return path


def fid_of(npz: Path, slot: dict) -> dict:
    from ganforge.build import build_run
    from ganforge.eval.runner import build_evaluators, evaluate
    from ganforge.recipe import recipe_from_data

    recipe = {"name": "npz-fid", "data": {"type": "npz", "path": str(npz)},
              "models": {"generator": {"type": "dcgan-generator", "z_dim": 4, "width": 4},
                         "discriminator": {"type": "dcgan-discriminator", "width": 4}},
              "objective": {"type": "unconditional"}, "train": {"device": "cpu"}, "eval": {"metrics": [slot]}}
    run = build_run(recipe_from_data(recipe).recipe)
    return evaluate(run, build_evaluators(run, run.recipe.eval.metrics), batch_size=10)


def test_stats_written_and_read_back_give_the_fid_of_the_images(tmp_path, classifier, monkeypatch, capsys):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    npz = digits(tmp_path / "digits.npz")
    stats = tmp_path / "stats.npz"
    assert main(["stats", "compute", str(npz), "--out", str(stats), "--features", "classifier",
                 "--classifier", str(classifier), "--samples", "30"]) == 0
    assert "mu and sigma of 30 images" in capsys.readouterr().out
    with np.load(stats, allow_pickle=False) as saved:  # the layout pytorch-fid and clean-fid read
        assert saved["mu"].shape == (saved["sigma"].shape[0],) and saved["sigma"].dtype == np.float64
        meta = json.loads(str(saved["ganforge_meta"]))
    assert meta["features"].startswith("classifier:clf.safetensors@") and meta["samples"] == 30 and meta["preprocessing"]
    base = {"type": "fid", "features": "classifier", "classifier": str(classifier), "samples": 20}
    from_images = fid_of(npz, {**base, "reference_samples": 30})
    from_file = fid_of(npz, {**base, "reference_stats": str(stats)})
    assert from_file["metrics"]["fid"] == pytest.approx(from_images["metrics"]["fid"], rel=1e-9)
    assert from_file["protocols"]["fid"]["reference"]["check"] == "metadata checked"
    assert from_file["protocols"]["fid"]["reference"]["samples"] == 30

    from ganforge.eval.classifier import SmallClassifier, save_classifier

    torch.manual_seed(1)  # the classifier retrained to the same file: its old statistics no longer apply
    save_classifier(SmallClassifier(1, 10, width=4).eval(), classifier, {"test_accuracy": 0.5})
    with pytest.raises(GanforgeError, match="computed with features 'classifier:clf.safetensors@.*not comparable"):
        fid_of(npz, {**base, "reference_stats": str(stats)})


def test_stats_of_another_network_or_resize_are_refused(tmp_path):
    from ganforge.eval.session import PREPROCESSING
    from ganforge.eval.stats import check_matches, read_stats, write_stats

    network = SimpleNamespace(name="inception-v3:pt_inception.pth", resize="bilinear 299")
    path = tmp_path / "s.npz"
    meta = {"features": "classifier:clf.safetensors", "resize": "bilinear 299", "preprocessing": PREPROCESSING}
    write_stats(path, np.zeros(3), np.eye(3), meta)
    with pytest.raises(GanforgeError, match="computed with features 'classifier:clf.safetensors'.*not comparable"):
        check_matches(path, read_stats(path)[2], network, 3)
    write_stats(path, np.zeros(3), np.eye(3), {**meta, "features": network.name, "resize": "nearest 256"})
    with pytest.raises(GanforgeError, match="computed with resize 'nearest 256'"):
        check_matches(path, read_stats(path)[2], network, 3)
    np.savez(path, mu=np.zeros(2048), sigma=np.eye(2048))  # another tool's file: no metadata
    mu, sigma, none = read_stats(path)
    assert none is None and "assumed InceptionV3" in check_matches(path, none, network, 2048)
    with pytest.raises(GanforgeError, match="no ganforge metadata"):
        check_matches(path, None, SimpleNamespace(name="classifier:c", resize="none"), 2048)
    with pytest.raises(GanforgeError, match="not found; make them with `ganforge stats compute"):
        read_stats(tmp_path / "missing.npz")
    np.savez(path, means=np.zeros(2))
    with pytest.raises(GanforgeError, match="not a statistics file with arrays mu and sigma"):
        read_stats(path)


def test_fid_against_a_stats_file_needs_no_reference_data(tmp_path, classifier, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    npz = digits(tmp_path / "digits.npz")
    stats = tmp_path / "stats.npz"
    from ganforge.eval.stats import compute_stats

    compute_stats(npz, stats, features="classifier", classifier=classifier)
    result = fid_of(npz, {"type": "fid", "features": "classifier", "classifier": str(classifier), "samples": 20,
                          "reference_stats": str(stats)})
    assert not list((tmp_path / "cache").rglob("*.safetensors"))  # no reference features were computed
    assert result["metrics"]["fid"] > 0


def test_the_reference_cache_key_follows_file_content(tmp_path):
    from PIL import Image

    from ganforge.builtin.data import ImageFolderParams
    from ganforge.data.image_folder import ImageFolder

    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.bmp")
    before = ImageFolder(ImageFolderParams(root=str(tmp_path)), seed=0).fingerprint()
    target = tmp_path / "1.bmp"
    stat = target.stat()
    Image.new("RGB", (8, 8), (0, 0, 250)).save(target)  # same name, same size (an uncompressed format)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the old modification time
    assert target.stat().st_size == stat.st_size
    assert ImageFolder(ImageFolderParams(root=str(tmp_path)), seed=0).fingerprint() != before


def test_ganforge_eval_uses_a_stats_file_when_the_dataset_is_gone(tmp_path, classifier, monkeypatch, capsys):
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    npz = digits(tmp_path / "digits.npz")
    stats = tmp_path / "stats.npz"
    assert main(["stats", "compute", str(npz), "--out", str(stats), "--features", "classifier",
                 "--classifier", str(classifier)]) == 0
    folder = tmp_path / "run"
    recipe = tiny_recipe(folder, data={"type": "npz", "path": str(npz)})
    recipe["train"].pop("ema")
    features = {"features": "classifier", "classifier": str(classifier), "samples": 20}
    recipe["eval"] = {"metrics": [{"type": "fid", **features, "reference_stats": str(stats)},
                                  {"type": "kid", **features, "subsets": 2}]}
    trained(folder, recipe)
    npz.unlink()  # the training data is no longer here
    capsys.readouterr()
    assert main(["eval", str(folder), "--metrics", "fid", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["metrics"]["fid"] > 0 and record["protocols"]["fid"]["reference"]["stats"] == str(stats)
    assert main(["eval", str(folder), "--metrics", "kid"]) == 1
    assert "no data was loaded" in capsys.readouterr().err
