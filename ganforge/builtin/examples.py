"""Example fixtures for the conformance kit (``ganforge.testing``): small files written once into
the kit's scratch folder, and the core's own examples (data adapters that read files)."""

from __future__ import annotations

from pathlib import Path

from ganforge._deprecated import renamed
from ganforge.hookspecs import hookimpl


def example_images(folder: Path, count: int = 8, size: int = 16, classes: int = 2, width: int | None = None) -> Path:
    """``count`` random PNGs in ``classes`` subfolders (``width`` for non-square ones)."""
    import numpy as np
    from PIL import Image

    if not folder.is_dir():
        rng = np.random.default_rng(0)
        for i in range(count):
            path = folder / f"class{i % classes}" / f"{i:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (size, width or size, 3), dtype=np.uint8)).save(path)
    return folder


def example_npz(path: Path, count: int = 32, shape: tuple[int, ...] = (28, 28), classes: int = 10) -> Path:
    """Random uint8 images ``x_train``/``x_test`` with labels ``y_train``/``y_test`` (MNIST's keys)."""
    import numpy as np

    if not path.is_file():
        rng = np.random.default_rng(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{key}_{split}": (rng.integers(0, 256, (count, *shape), dtype=np.uint8) if key == "x"
                                     else np.arange(count) % classes) for key in "xy" for split in ("train", "test")}
        np.savez(path, **arrays)
    return path


def example_weights(path: Path, state: dict) -> Path:
    """Save ``state`` (a state dict) to ``path`` unless it is there already."""
    import torch

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)
    return path


def example_inception_weights(folder: Path) -> Path:
    """Random InceptionV3 weights under the standard name (timings and code paths only)."""
    from ganforge.eval.testing import write_random_inception
    from ganforge.weights import INCEPTION_V3

    path = folder / INCEPTION_V3.filename
    return path if path.is_file() else write_random_inception(folder)


def example_classifier(path: Path, in_channels: int, num_classes: int) -> Path:
    """An untrained ``ganforge classifier`` file (for metrics that classify samples)."""
    import torch

    from ganforge.eval.classifier import SmallClassifier, save_classifier

    if not path.is_file():
        torch.manual_seed(0)
        save_classifier(SmallClassifier(in_channels, num_classes, width=8), path, {"test_accuracy": None})
    return path


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    return [
        {"data": {"type": "image-folder", "root": str(example_images(folder / "images")), "labels": True}},
        {"data": {"type": "npz", "path": str(example_npz(folder / "digits.npz")), "labels": "y_train"}},
        {"data": {"type": "stacked-mnist", "path": str(example_npz(folder / "digits.npz")), "length": 16, "size": 16}},
        {"data": {"type": "gaussian-mixture", "size": 64}},
        {"data": {"type": "shapes", "size": 16, "length": 16}},
    ]


__getattr__ = renamed(__name__, {"image_files": "example_images", "npz_file": "example_npz",
                                 "random_weights": "example_weights", "classifier_file": "example_classifier",
                                 "inception_weights": "example_inception_weights"})
