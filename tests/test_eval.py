"""Evaluation: metrics equal the reference implementations, protocols are recorded, reference
statistics are cached, and evaluation runs in training and from the command line. All
offline: InceptionV3 and the LPIPS backbone are randomly initialised files."""

from __future__ import annotations

import json
import math
import re
from unittest import mock

import numpy as np
import pytest
import torch
from torch import nn

from conftest import tiny_ring, write_recipe

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory):
    """A GANFORGE_WEIGHTS_DIR with random InceptionV3 and AlexNet files under the standard names."""
    import torchvision

    from ganforge.eval.testing import write_random_inception

    folder = tmp_path_factory.mktemp("weights")
    write_random_inception(folder)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), folder / "alexnet-owt-7be5be79.pth")
    return folder


@pytest.fixture
def offline(tmp_path, monkeypatch, weights_dir):
    monkeypatch.setenv("GANFORGE_WEIGHTS_DIR", str(weights_dir))
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return weights_dir


def tiny_shapes(tmp_path, n: int, metrics: list, **eval_config) -> dict:
    return {
        "name": "tiny-shapes",
        "seed": 1,
        "data": {"type": "shapes", "size": 16, "length": n},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                   "discriminator": {"type": "dcgan-discriminator", "width": 8}},
        "objective": {"type": "unconditional"},
        "train": {"steps": 4, "batch_size": 8, "device": "cpu", "progress": False, "checkpoint_every": 2},
        "eval": {"metrics": metrics, **eval_config},
        "output": {"dir": str(tmp_path / "run"), "trackers": []},
    }


def build(recipe: dict, registry):
    from ganforge.build import build_run
    from ganforge.recipe import recipe_from_data

    return build_run(recipe_from_data(recipe, registry).recipe, registry=registry)



# ---------------------------------------------------------------- agreement with references

def test_fid_kid_is_equal_torch_fidelity(tmp_path, offline, registry):
    """Same generator samples and the same real images through both code paths."""
    from torch_fidelity import calculate_metrics

    from ganforge.eval.features import to_uint8
    from ganforge.eval.runner import build_evaluators, evaluate
    from ganforge.eval.testing import UInt8Images

    n = 20
    metrics = [{"type": "fid", "samples": n, "reference_samples": n},
               {"type": "kid", "samples": n, "reference_samples": n, "subsets": 10, "subset_size": 10},
               {"type": "inception-score", "samples": n, "splits": 2}]
    run = build(tiny_shapes(tmp_path, n, metrics), registry)
    result = evaluate(run, build_evaluators(run, run.recipe.eval.metrics), batch_size=n, seed=5)

    for net in run.nets.values():
        net.eval()  # as evaluate() samples
    with torch.no_grad():
        inputs = run.objective.sample_inputs(n, torch.Generator().manual_seed(5))
        fake = to_uint8(run.objective.sample(run.nets, inputs))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))  # the reference subset's order
    real = to_uint8(torch.stack([run.data[int(i)]["x"] for i in order]))
    theirs = calculate_metrics(input1=UInt8Images(fake), input2=UInt8Images(real), fid=True, kid=True, isc=True,
                               feature_extractor="inception-v3-compat",
                               feature_extractor_weights_path=str(offline / INCEPTION_FILE),
                               kid_subsets=10, kid_subset_size=10, isc_splits=2, batch_size=n, cuda=False,
                               cache=False, verbose=False, save_cpu_ram=True)
    ours = result["metrics"]
    for key, their_key in [("fid", "frechet_inception_distance"), ("kid", "kernel_inception_distance_mean"),
                           ("kid_std", "kernel_inception_distance_std"), ("inception_score", "inception_score_mean"),
                           ("inception_score_std", "inception_score_std")]:
        assert ours[key] == pytest.approx(theirs[their_key], rel=1e-6, abs=1e-12), key
    assert ours["fid"] > 0 and ours["inception_score"] > 1.0  # the random network tells images apart
    protocol = result["protocols"]["fid"]
    assert protocol["features"] == f"inception-v3:{INCEPTION_FILE}"
    assert protocol["samples"] == n and protocol["reference"]["samples"] == n
    assert set(result["versions"]) >= {"torch", "torch-fidelity", "torchmetrics", "ganforge"}


def test_frechet_distance_equals_a_float64_scipy_reference():
    from scipy import linalg

    from ganforge.eval.evaluators import frechet_distance

    rng = np.random.default_rng(0)
    d = 16
    a, b = rng.normal(size=(d, 40)), rng.normal(size=(d, 40)) * 1.7
    s1, s2 = a @ a.T / 40, b @ b.T / 40
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    root = linalg.sqrtm(s1 @ s2).real
    expected = float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-8)


def test_fid_streams_statistics_in_float64():
    """Running sums over batches give the same mean and covariance as all features at once."""
    from ganforge.eval.evaluators import FID

    features = torch.randn(300, 12, dtype=torch.float64) * 1e3 + 5e3  # large offset: float32 sums would drift
    fid = FID(mock.Mock(samples=300))
    for chunk in features.split(70):
        fid.accumulate({"pool": chunk.float()})
    fid.seen = 300
    fid.reference = {"pool": features.float()}
    assert fid.total.dtype == torch.float64
    assert fid.compute()["fid"] == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- mode coverage

def test_mode_coverage_on_constructed_points():
    from ganforge.eval.evaluators import mode_coverage

    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    points = torch.tensor([[0.01, 0.0], [0.0, -0.02], [0.02, 0.02],  # three at mode 0
                           [1.0, 0.03],                              # one at mode 1
                           [0.0, 0.71],                              # 2.9 std from mode 2: high quality
                           [0.5, 0.5]])                              # between modes: low quality
    out = mode_coverage(points, centers, std=0.1, threshold=3.0)
    assert out["modes"] == 3
    assert out["high_quality"] == pytest.approx(100 * 5 / 6)
    p = np.array([3, 1, 1]) / 5
    assert out["reverse_kl"] == pytest.approx(float((p * np.log(p * 4)).sum()))
    none = mode_coverage(torch.tensor([[5.0, 5.0]]), centers, std=0.1)
    assert none == {"modes": 0, "high_quality": 0.0, "reverse_kl": None}
    uniform = mode_coverage(centers.repeat(3, 1), centers, std=0.1)
    assert uniform["modes"] == 4 and uniform["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("layout", ["ring", "grid"])
def test_mode_coverage_scores_the_real_mixture_as_perfect(layout):
    """The protocol's own data passes it: every mode, 98.9% high quality (the mass of a 2-D
    Gaussian within 3 std), reverse KL ~0."""
    from ganforge.builtin.data import GaussianMixtureParams
    from ganforge.data.gaussian_mixture import GaussianMixture, mixture_centers
    from ganforge.eval.evaluators import mode_coverage

    std = {"ring": 0.01, "grid": 0.05}[layout]  # the protocol's
    data = GaussianMixture(mixture_centers(GaussianMixtureParams(layout=layout)), std, 2500, seed=0)
    points = torch.stack([data[i]["x"] for i in range(2500)])
    out = mode_coverage(points, data.centers, std=data.std, threshold=3.0)
    assert out["modes"] == len(data.centers) and 97.5 < out["high_quality"] < 100 and out["reverse_kl"] < 0.02


def test_mode_coverage_evaluates_a_ring_generator(tmp_path, registry):
    from ganforge.eval.runner import build_evaluators, evaluate

    recipe = tiny_ring(tmp_path)
    recipe["eval"] = {"metrics": [{"type": "mode-coverage", "samples": 300}]}
    run = build(recipe, registry)
    result = evaluate(run, build_evaluators(run, run.recipe.eval.metrics), batch_size=128)
    assert 0 <= result["metrics"]["modes"] <= 8
    assert result["protocols"]["mode-coverage"] == {"samples": 300, "modes": 8, "std": 0.01, "threshold_std": 3.0}


# ---------------------------------------------------------------- reference statistics cache

def digits_npz(path, seed: int = 0, n: int = 40):
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.integers(0, 256, size=(n, 16, 16), dtype=np.uint8), y_train=rng.integers(0, 10, n))
    return path


def random_classifier(path, in_channels: int = 1, classes: int = 10):
    from ganforge.eval.classifier import SmallClassifier, save_classifier

    torch.manual_seed(0)
    save_classifier(SmallClassifier(in_channels, classes, width=4).eval(), path, {"test_accuracy": 0.5})
    return path


def test_reference_statistics_are_cached_and_invalidated_when_the_data_changes(tmp_path, registry, monkeypatch):
    from ganforge.eval.runner import build_evaluators, evaluate

    monkeypatch.setenv("GANFORGE_CACHE_DIR", str(tmp_path / "cache"))
    npz = digits_npz(tmp_path / "digits.npz")
    classifier = random_classifier(tmp_path / "clf.safetensors")
    recipe = {
        "name": "npz-fid", "data": {"type": "npz", "path": str(npz), "labels": "y_train"},
        "models": {"generator": {"type": "dcgan-generator", "z_dim": 4, "width": 4},
                   "discriminator": {"type": "dcgan-discriminator", "width": 4}},
        "objective": {"type": "unconditional"}, "train": {"device": "cpu"},
        "eval": {"metrics": [{"type": "fid", "features": "classifier", "classifier": str(classifier),
                              "samples": 20, "reference_samples": 30}]},
    }

    def fid_run():
        run = build(recipe, registry)
        evaluators = build_evaluators(run, run.recipe.eval.metrics)
        from ganforge.eval.session import EvalSession

        session = EvalSession(run.data, run.recipe.data, run.device)
        result = evaluate(run, evaluators, batch_size=10, session=session)
        return result, session

    first, session = fid_run()
    assert session.cache_hits == 0
    cached = list((tmp_path / "cache" / "reference").glob("*.safetensors"))
    assert len(cached) == 1
    second, session = fid_run()
    assert session.cache_hits == 1 and second["metrics"]["fid"] == pytest.approx(first["metrics"]["fid"], rel=1e-6)
    assert re.fullmatch(r"classifier:clf\.safetensors@[0-9a-f]{12}", first["protocols"]["fid"]["features"])

    digits_npz(npz, seed=1)  # same shape, other pixels
    third, session = fid_run()
    assert session.cache_hits == 0
    assert len(list((tmp_path / "cache" / "reference").glob("*.safetensors"))) == 2
    assert third["metrics"]["fid"] != pytest.approx(first["metrics"]["fid"], rel=1e-6)

    from ganforge.eval.classifier import SmallClassifier, save_classifier

    torch.manual_seed(1)  # the classifier retrained to the same file: another feature network
    save_classifier(SmallClassifier(1, 10, width=4).eval(), classifier, {"test_accuracy": 0.5})
    fourth, session = fid_run()
    assert session.cache_hits == 0, "reference features of the old classifier must not be reused"
    assert len(list((tmp_path / "cache" / "reference").glob("*.safetensors"))) == 3
    assert fourth["protocols"]["fid"]["features"] != third["protocols"]["fid"]["features"]
    assert fourth["metrics"]["fid"] != pytest.approx(third["metrics"]["fid"], rel=1e-6)


def test_image_folder_fingerprint_follows_the_files(tmp_path):
    from PIL import Image

    from ganforge.builtin.data import ImageFolderParams
    from ganforge.data.image_folder import ImageFolder

    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    before = ImageFolder(ImageFolderParams(root=str(tmp_path)), seed=0).fingerprint()
    assert ImageFolder(ImageFolderParams(root=str(tmp_path)), seed=0).fingerprint() == before
    Image.new("RGB", (8, 8), (255, 255, 255)).save(tmp_path / "3.png")
    assert ImageFolder(ImageFolderParams(root=str(tmp_path)), seed=0).fingerprint() != before


# ---------------------------------------------------------------- weights

def test_missing_weights_name_the_file_the_url_and_the_folder(tmp_path, monkeypatch):
    from ganforge.eval.features import InceptionV3Features
    from ganforge.weights import MissingWeights

    monkeypatch.setenv("GANFORGE_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.raises(MissingWeights) as caught:
        InceptionV3Features()
    message = str(caught.value)
    assert INCEPTION_FILE in message and "GANFORGE_WEIGHTS_DIR" in message
    assert "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_FILE in message
    with pytest.raises(MissingWeights, match="does not exist"):
        InceptionV3Features(tmp_path / "nope.pth")


def test_weights_that_are_not_a_plain_state_dict_are_refused(tmp_path):
    from ganforge.eval.features import InceptionV3Features
    from ganforge.weights import MissingWeights

    import argparse

    bad = tmp_path / INCEPTION_FILE
    torch.save({"x": argparse.Namespace(code="anything unpickled runs")}, bad)
    with pytest.raises(MissingWeights, match="not a plain PyTorch state dict"):
        InceptionV3Features(bad)


def test_weights_found_in_the_torch_hub_cache(tmp_path, monkeypatch):
    from ganforge.weights import INCEPTION_V3, resolve_weights

    monkeypatch.delenv("GANFORGE_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = tmp_path / "hub" / "checkpoints" / INCEPTION_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert resolve_weights(INCEPTION_V3) == target


# ---------------------------------------------------------------- paired metrics

def test_paired_metrics_values(offline):
    from ganforge.eval.evaluators import L1, LPIPS, PSNR, SSIM
    from ganforge.eval.session import EvalSession

    session = EvalSession(None, None, torch.device("cpu"))
    target = torch.rand(4, 3, 32, 32) * 1.6 - 0.8
    output = target + 0.2  # 0.1 in [0, 1] units
    params = mock.Mock(samples=10, net="alex", weights=None, download=False)
    values = {}
    for cls in (PSNR, SSIM, L1, LPIPS):
        metric = cls(params)
        metric.prepare(session)
        metric.update({"fake": output, "target": target}, session)
        values.update(metric.compute())
        same = cls(params)
        same.prepare(session)
        same.update({"fake": target, "target": target}, session)
        values[cls.key + "_same"] = same.compute()[cls.key]
    assert values["psnr"] == pytest.approx(20.0, rel=1e-4)  # 10 log10(1 / 0.1^2)
    assert values["l1"] == pytest.approx(0.1, rel=1e-5)
    assert values["ssim_same"] == pytest.approx(1.0, abs=1e-6) and values["ssim"] < 1.0
    assert values["lpips_same"] == pytest.approx(0.0, abs=1e-6) and values["lpips"] > 0
    with pytest.raises(Exception, match="paired task"):
        PSNR(params).update({"fake": output}, session)


def test_paired_metrics_need_a_paired_objective(tmp_path, registry):
    from ganforge.errors import GanforgeError
    from ganforge.eval.runner import build_evaluators, evaluate

    recipe = tiny_ring(tmp_path)
    recipe["eval"] = {"metrics": ["psnr"]}
    run = build(recipe, registry)
    with pytest.raises(GanforgeError, match="psnr compares outputs with targets.*not a paired task"):
        evaluate(run, build_evaluators(run, run.recipe.eval.metrics))


# ---------------------------------------------------------------- classifier-based metrics

class IntensityDigits(nn.Module):
    """A stand-in digit classifier: the digit is the image's mean intensity in tenths."""

    in_channels, num_classes = 1, 10

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        level = (x.mean(dim=(1, 2, 3)) + 1) / 2 * 9
        return -(level[:, None] - torch.arange(10.0)).abs() + self.anchor


def digit_images(triples: list[tuple[int, int, int]]) -> torch.Tensor:
    values = torch.tensor(triples, dtype=torch.float32) / 9 * 2 - 1
    return values[:, :, None, None].expand(-1, -1, 8, 8).clone()


def with_model(evaluator):
    evaluator.model, evaluator.meta = IntensityDigits(), {"test_accuracy": 1.0}
    evaluator.p.classifier = "digits.safetensors"
    evaluator.features_name = "classifier:digits.safetensors@0123456789ab"  # what prepare() reads from the file
    return evaluator


def test_stacked_mnist_counts_digit_triples():
    from ganforge.eval.evaluators import StackedMNISTModes, stacked_mnist_modes

    metric = with_model(StackedMNISTModes(mock.Mock(samples=6)))
    metric.update({"fake": digit_images([(1, 2, 3), (1, 2, 3), (9, 0, 0), (0, 0, 7)])}, None)
    metric.update({"fake": digit_images([(1, 2, 3), (4, 5, 6)])}, None)
    out = metric.compute()
    assert out["stacked_mnist_modes"] == 4
    assert int(metric.counts[123]) == 3 and int(metric.counts[900]) == 1 and int(metric.counts[7]) == 1
    p = np.array([3, 1, 1, 1]) / 6
    assert out["stacked_mnist_kl"] == pytest.approx(float((p * np.log(p * 1000)).sum()))
    assert stacked_mnist_modes(torch.ones(1000, dtype=torch.long))["stacked_mnist_kl"] == pytest.approx(0.0, abs=1e-12)
    assert metric.protocol()["samples"] == 6


def test_classifier_accuracy_uses_the_conditioning_labels():
    from ganforge.errors import GanforgeError
    from ganforge.eval.evaluators import ClassifierAccuracy

    metric = with_model(ClassifierAccuracy(mock.Mock(samples=4)))
    fake = digit_images([(3, 3, 3), (5, 5, 5), (7, 7, 7), (1, 1, 1)])
    metric.update({"fake": fake, "y": torch.tensor([3, 5, 0, 1])}, None)
    assert metric.compute() == {"classifier_accuracy": 0.75}
    with pytest.raises(GanforgeError, match="conditional generator"):
        metric.update({"fake": fake}, None)
    with pytest.raises(GanforgeError, match="knows 10 classes"):
        metric.update({"fake": fake, "y": torch.tensor([3, 5, 12, 1])}, None)


def test_classifier_metrics_check_the_recipe(tmp_path, registry):
    from ganforge.recipe import recipe_from_data
    from ganforge.recipe.errors import RecipeError

    recipe = tiny_ring(tmp_path)
    recipe["eval"] = {"metrics": [{"type": "fid", "features": "classifier"}]}
    with pytest.raises(RecipeError, match="features: classifier needs `classifier:`"):
        recipe_from_data(recipe, registry)
    recipe["eval"] = {"metrics": ["stacked-mnist"]}
    with pytest.raises(RecipeError, match="classifier"):
        recipe_from_data(recipe, registry)


def test_feature_metrics_refuse_vector_data(tmp_path, registry, offline):
    from ganforge.errors import GanforgeError
    from ganforge.eval.runner import build_evaluators, evaluate

    recipe = tiny_ring(tmp_path)
    recipe["eval"] = {"metrics": ["fid"]}
    run = build(recipe, registry)
    with pytest.raises(GanforgeError, match="fid measures images.*use mode-coverage"):
        evaluate(run, build_evaluators(run, run.recipe.eval.metrics))


# ---------------------------------------------------------------- in training and on the command line

def ring_with_eval(tmp_path, **train) -> dict:
    recipe = tiny_ring(tmp_path, checkpoint_every=1000, **train)
    recipe["eval"] = {"every": 10, "metrics": [{"type": "mode-coverage", "samples": 500}],
                      "best": {"metric": "high_quality", "mode": "max"}}
    return recipe


def train(recipe: dict, tmp_path, registry, resume: bool = False):
    from ganforge.pipeline import train as run_training
    from ganforge.recipe import load_recipe

    path = write_recipe(tmp_path / "recipe.yaml", recipe)
    return run_training(load_recipe(path), resume=resume, registry=registry)


def test_periodic_evaluation_records_results_and_the_best_checkpoint(tmp_path, registry):
    folder = train(ring_with_eval(tmp_path, steps=30), tmp_path, registry)
    records = json.loads(folder.eval_file.read_text())
    assert [r["step"] for r in records] == [10, 20, 30]
    assert all(r["source"] == "train" and r["protocols"]["mode-coverage"]["samples"] == 500 for r in records)
    assert all((folder.checkpoints / f"step_{s:08d}").is_dir() for s in (10, 20, 30))  # forced by evaluation
    best = json.loads(folder.best_file.read_text())
    values = [r["metrics"]["high_quality"] for r in records]
    assert best["value"] == pytest.approx(max(values))
    assert best["step"] == records[values.index(max(values))]["step"]
    assert (folder.checkpoints / "best" / "nets.safetensors").read_bytes() == \
        (folder.checkpoints / f"step_{best['step']:08d}" / "nets.safetensors").read_bytes()
    logged = [json.loads(line) for line in folder.metrics_file.read_text().splitlines()]
    assert logged[-1]["step"] == 30


def test_evaluation_leaves_training_unchanged(tmp_path, registry):
    from safetensors.torch import load_file

    with_eval = train(ring_with_eval(tmp_path / "a", steps=20), tmp_path / "a", registry)
    plain = tiny_ring(tmp_path / "b", checkpoint_every=10, steps=20)
    without = train(plain, tmp_path / "b", registry)
    a = load_file(with_eval.checkpoints / "step_00000020" / "nets.safetensors")
    b = load_file(without.checkpoints / "step_00000020" / "nets.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_drops_evaluations_of_redone_steps(tmp_path, registry):
    import shutil

    recipe = ring_with_eval(tmp_path, steps=20)
    folder = train(recipe, tmp_path, registry)
    first = json.loads(folder.eval_file.read_text())
    shutil.rmtree(folder.checkpoints / "step_00000020")  # as if killed before the last checkpoint
    train(recipe, tmp_path, registry, resume=True)
    again = json.loads(folder.eval_file.read_text())
    assert [r["step"] for r in again] == [10, 20]
    assert again[1]["metrics"] == first[1]["metrics"]  # exact resume: the same numbers


def test_an_unknown_best_metric_fails_before_training(tmp_path, registry):
    from ganforge.errors import GanforgeError

    recipe = ring_with_eval(tmp_path)
    recipe["eval"]["best"] = {"metric": "fid"}
    with pytest.raises(GanforgeError, match="eval.best.metric is 'fid'.*modes, high_quality, reverse_kl"):
        train(recipe, tmp_path, registry)
    assert not (tmp_path / "run" / "checkpoints" / "step_00000010").exists()


def test_eval_command_end_to_end(tmp_path, capsys):
    from ganforge.cli import main

    path = write_recipe(tmp_path / "recipe.yaml", tiny_ring(tmp_path, steps=10))
    assert main(["train", str(path)]) == 0
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["eval", str(run), "--metrics", "mode-coverage", "--samples", "400"]) == 0
    out = capsys.readouterr().out
    assert "modes" in out and "high_quality" in out and "samples=400" in out
    records = json.loads((run / "eval.json").read_text())
    assert records[-1]["source"] == "cli" and records[-1]["step"] == 10
    assert records[-1]["protocols"]["mode-coverage"]["samples"] == 400
    assert math.isfinite(records[-1]["metrics"]["high_quality"])

    assert main(["eval", str(run / "checkpoints" / "step_00000010"), "--metrics", "mode-coverage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["protocols"]["mode-coverage"]["samples"] == 2500
    assert main(["eval", str(run)]) == 1
    assert "lists no eval.metrics" in capsys.readouterr().err
    assert main(["eval", str(run), "--metrics", "nope"]) == 2
    assert "unknown type 'nope'" in capsys.readouterr().err


def test_eval_takes_full_evaluator_settings_from_the_command_line(tmp_path, capsys, monkeypatch):
    """The offline FID of docs/evaluation.md (classifier features) runs from the command line."""
    from ganforge.builtin.examples import example_classifier
    from ganforge.cli import main

    recipe = tiny_ring(tmp_path, steps=4, checkpoint_every=4)
    recipe["data"] = {"type": "shapes", "size": 16, "length": 64}
    recipe["models"] = {"generator": {"type": "dcgan-generator", "z_dim": 8, "width": 8},
                        "discriminator": {"type": "dcgan-discriminator", "width": 8}}
    recipe["train"]["batch_size"] = 8
    assert main(["train", str(write_recipe(tmp_path / "recipe.yaml", recipe)), "--no-preflight"]) == 0
    example_classifier(tmp_path / "clf.safetensors", 3, 6)
    monkeypatch.chdir(tmp_path)  # the classifier file is named relative to where the command runs
    capsys.readouterr()
    slot = "{type: fid, features: classifier, classifier: clf.safetensors, samples: 32, reference_samples: 32}"
    assert main(["eval", "run", "--metric", slot, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert math.isfinite(record["metrics"]["fid"]) and record["protocols"]["fid"]["samples"] == 32
    assert "clf.safetensors" in json.dumps(record["protocols"]["fid"])
    assert main(["eval", "run", "--metric", "{features: classifier}"]) == 2
    assert "an evaluator is a name or a mapping with a 'type'" in capsys.readouterr().err
