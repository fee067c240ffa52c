"""The small classifier (feature network for domain metrics), its CLI, and Stacked MNIST."""

from __future__ import annotations

import argparse
import functools

import numpy as np
import pytest
import torch
from torch.utils.data import Subset

from conftest import SHARED_DATA, write_recipe
from ganforge.builtin.data import ShapesParams
from ganforge.builtin.stacked_mnist import StackedMNISTParams
from ganforge.data.shapes import Shapes
from ganforge.data.stacked_mnist import StackedMNIST, build as build_stacked
from ganforge.errors import DataError, GanforgeError
from ganforge.eval.classifier import SmallClassifier, load_classifier, save_classifier, train_classifier
from ganforge.eval.classifier_cli import add_classifier_command
from ganforge.recipe.errors import RecipeError


class Ctx:
    seed = 0


@functools.lru_cache(maxsize=1)
def two_shapes() -> Shapes:
    """Triangles against octagons, 16 px, white on black: easy to separate."""
    return Shapes(ShapesParams(size=16, length=600, sides=[3, 8], colors=["white"]), seed=0)


def train_shapes(steps: int, seed: int = 0):
    data = two_shapes()
    return train_classifier(Subset(data, range(500)), Subset(data, range(500, 600)), steps=steps,
                            batch_size=32, seed=seed, width=8, info=data.info)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_classifier_shapes(shape):
    model = SmallClassifier(shape[0], num_classes=10, width=8).eval()
    features, logits = model.features_and_logits(torch.rand(5, *shape) * 2 - 1)
    assert features.shape == (5, 32) and logits.shape == (5, 10)
    assert torch.equal(model(torch.zeros(2, *shape)), model.features_and_logits(torch.zeros(2, *shape))[1])


def test_training_separates_shapes_and_is_deterministic():
    model, accuracy = train_shapes(steps=100)
    assert accuracy > 0.8, f"test accuracy {accuracy} on two easy shapes"
    assert not model.training and isinstance(accuracy, float)
    state = torch.get_rng_state()
    again, _ = train_shapes(steps=100)
    assert torch.equal(state, torch.get_rng_state()), "training leaves the global RNG alone"
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    other, _ = train_shapes(steps=5, seed=1)
    assert not torch.equal(other.head.weight, train_shapes(steps=5, seed=0)[0].head.weight)


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = SmallClassifier(3, 4, width=8)
    model(torch.rand(8, 3, 32, 32))  # move the batch-norm statistics off their defaults
    model.eval()
    path = tmp_path / "clf" / "shapes.safetensors"
    save_classifier(model, path, {"class_names": ["a", "b", "c", "d"], "test_accuracy": 0.9, "data": {"type": "shapes"}})
    loaded, meta = load_classifier(path)
    assert meta["in_channels"] == 3 and meta["num_classes"] == 4 and meta["width"] == 8
    assert meta["class_names"] == ["a", "b", "c", "d"] and meta["test_accuracy"] == 0.9
    assert meta["data"] == {"type": "shapes"}
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
        assert torch.equal(model.features_and_logits(x)[0], loaded.features_and_logits(x)[0])


def test_load_rejects_what_is_not_a_classifier(tmp_path):
    from safetensors.torch import save_file

    with pytest.raises(GanforgeError, match="not found.*ganforge classifier train"):
        load_classifier(tmp_path / "missing.safetensors")
    (tmp_path / "text.safetensors").write_text("not a tensor file")
    with pytest.raises(GanforgeError, match="not a safetensors file.*ganforge classifier train"):
        load_classifier(tmp_path / "text.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(GanforgeError, match="not a ganforge classifier.*ganforge classifier train"):
        load_classifier(tmp_path / "other.safetensors")


# ---------------------------------------------------------------- stacked mnist

@pytest.fixture
def digits_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), y_train=np.arange(50) % 10)
    return path


@pytest.mark.parametrize("size", [28, 32])
def test_stacked_mnist_items(digits_npz, size):
    data = build_stacked(StackedMNISTParams(path=digits_npz, length=200, size=size), Ctx())
    assert len(data) == 200 and data.info.shape == (3, size, size)
    assert data.info.num_classes == 1000 and data.info.class_names is None
    labels = set()
    for i in range(200):
        item = data[i]
        assert item["x"].shape == (3, size, size) and item["x"].dtype == torch.float32
        assert -1 <= item["x"].min() and item["x"].max() <= 1
        assert item["digits"].dtype == torch.long and item["digits"].shape == (3,)
        r, g, b = item["digits"].tolist()
        assert int(item["y"]) == 100 * r + 10 * g + b
        labels.add(int(item["y"]))
    assert len(labels) > 150, "draws cover many of the 1000 modes"
    if size == 28:  # each channel is one of the source digits, unchanged
        images = np.load(digits_npz)["x_train"]
        x = ((data[0]["x"] + 1) * 127.5).round().to(torch.uint8).numpy()
        assert all(any(np.array_equal(x[c], image) for image in images) for c in range(3))


def test_stacked_mnist_is_deterministic_per_seed(digits_npz):
    a = StackedMNIST(StackedMNISTParams(path=digits_npz, length=10), seed=1)
    b = build_stacked(StackedMNISTParams(path=digits_npz, length=10, seed=1), Ctx())
    c = StackedMNIST(StackedMNISTParams(path=digits_npz, length=10), seed=2)
    assert all(torch.equal(a[i]["x"], b[i]["x"]) and torch.equal(a[i]["digits"], b[i]["digits"]) for i in range(10))
    assert any(not torch.equal(a[i]["digits"], c[i]["digits"]) for i in range(10))


def test_stacked_mnist_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        StackedMNIST(StackedMNISTParams(path=tmp_path / "missing.npz"), seed=0)
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.array([0, 1, 2, 12]))
    with pytest.raises(DataError, match="labels 0 to 9"):
        StackedMNIST(StackedMNISTParams(path=tmp_path / "bad.npz"), seed=0)


def test_stacked_mnist_registers(tmp_path, digits_npz):
    import ganforge.builtin.stacked_mnist as module
    from ganforge.plugins import BUILTIN_MODULES, create_plugins
    from ganforge.registry import Registry

    extra = () if module.__name__ in BUILTIN_MODULES else (module,)
    registry = Registry(create_plugins(strict=True, extra=extra))
    spec = registry.get("data", "stacked-mnist")
    assert spec.params is StackedMNISTParams and spec.distribution in {"ganforge", "<local>"}
    data = spec.build(StackedMNISTParams(path=digits_npz, length=3, size=32), Ctx())
    assert data[0]["x"].shape == (3, 32, 32)


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "mnist.npz").is_file(),
                    reason="real MNIST not present at ../shared/data/mnist/mnist.npz")
def test_stacked_mnist_on_real_mnist():
    data = StackedMNIST(StackedMNISTParams(path=SHARED_DATA / "mnist" / "mnist.npz", length=1000), seed=0)
    assert len(data.mnist.pixels) == 60_000 and data.info.shape == (3, 32, 32)
    ys = torch.stack([data[i]["y"] for i in range(1000)])
    assert 0 <= int(ys.min()) and int(ys.max()) < 1000 and len(set(ys.tolist())) > 600
    x = data[0]["x"]
    assert x.min() == -1 and x.max() > 0.9, "black background, bright strokes"


# ---------------------------------------------------------------- command line

def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ganforge")
    add_classifier_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def shapes_recipe(tmp_path, **data) -> dict:
    return {
        "name": "clf", "seed": 4,
        "data": {"type": "shapes", "size": 16, "length": 120, "sides": [3, 8], "colors": ["white"], **data},
        "models": {"generator": {"type": "no-such-net"}},  # sections besides data are not looked at
        "objective": "whatever", "train": {"steps": "many"},
    }


def test_cli_trains_and_saves(tmp_path, capsys):
    recipe = write_recipe(tmp_path / "recipes" / "shapes.yaml", shapes_recipe(tmp_path))
    out = tmp_path / "out" / "shapes.safetensors"
    args = parse("classifier", "train", str(recipe), "--out", str(out), "--steps", "6", "--batch-size", "16",
                 "--width", "8", "--device", "cpu", "--set", "data.length=100")
    assert args.handler(args) == 0
    model, meta = load_classifier(out)
    assert model.in_channels == 3 and model.num_classes == 2 and meta["width"] == 8
    assert meta["class_names"] == ["triangle", "octagon"] and 0 <= meta["test_accuracy"] <= 1
    assert meta["data"]["type"] == "shapes" and meta["data"]["length"] == 100 and meta["seed"] == 4
    printed = capsys.readouterr().out
    assert "90 shapes images" in printed and "10 held out" in printed
    assert "step 6/6" in printed and f"wrote {out}" in printed


def test_cli_trains_at_a_set_thread_count_and_reproduces_the_file(tmp_path):
    """A CPU's sums split by thread, so the file (and the digest results record) is reproducible
    only at one thread count: the default is the published classifiers', and the caller's own
    count comes back afterwards."""
    from ganforge.eval.classifier_cli import PUBLISHED_THREADS

    recipe = write_recipe(tmp_path / "shapes.yaml", shapes_recipe(tmp_path))
    assert parse("classifier", "train", str(recipe), "--out", "x.safetensors").threads == PUBLISHED_THREADS == 2
    before = torch.get_num_threads()
    threads = "2" if before == 1 else "1"  # another count than the caller's, so that its return shows
    files = []
    for name in ("a", "b"):
        files.append(tmp_path / f"{name}.safetensors")
        args = parse("classifier", "train", str(recipe), "--out", str(files[-1]), "--steps", "3", "--batch-size", "16",
                     "--width", "4", "--device", "cpu", "--threads", threads)
        assert args.handler(args) == 0
        assert torch.get_num_threads() == before
    assert files[0].read_bytes() == files[1].read_bytes()
    with pytest.raises(SystemExit):
        parse("classifier", "train", str(recipe), "--out", "x.safetensors", "--threads", "0")


def test_cli_reports_recipe_mistakes(tmp_path):
    recipe = write_recipe(tmp_path / "bad.yaml", shapes_recipe(tmp_path, sidez=[3, 4]))
    args = parse("classifier", "train", str(recipe), "--out", str(tmp_path / "x.safetensors"))
    with pytest.raises(RecipeError) as caught:
        args.handler(args)
    message = str(caught.value)
    assert "data.sidez" in message and "did you mean 'sides'" in message and "bad.yaml:" in message
    assert not (tmp_path / "x.safetensors").exists()


def test_cli_resolves_data_paths_and_needs_labels(tmp_path, digits_npz):
    recipe = write_recipe(tmp_path / "recipes" / "npz.yaml",
                          {"seed": 1, "data": {"type": "npz", "path": "../digits.npz"}})
    args = parse("classifier", "train", str(recipe), "--out", str(tmp_path / "x.safetensors"), "--device", "cpu")
    with pytest.raises(GanforgeError, match="no class labels"):
        args.handler(args)
    args = parse("classifier", "train", str(recipe), "--out", str(tmp_path / "x.safetensors"), "--device", "cpu",
                 "--steps", "2", "--width", "4", "--set", "data.labels=y_train")
    assert args.handler(args) == 0
    assert load_classifier(tmp_path / "x.safetensors")[0].in_channels == 1
