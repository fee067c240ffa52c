"""Tiny recipes for the conformance kit that use every editing component."""

from __future__ import annotations

from pathlib import Path

from ganforge.sdk import example_images, example_npz, hookimpl

TRAIN = {"steps": 2, "batch_size": 4, "log_every": 1, "sample_every": 100, "sample_count": 2, "checkpoint_every": 100}
SR_D = {"type": "srgan-discriminator", "width": 4, "layers": 4, "dense": 8}
PATCH = {"type": "patchgan-discriminator", "receptive_field": 16, "width": 4}


def recipe(name: str, data: dict, models: dict, objective: dict | str, **sections) -> dict:
    return {"name": name, "seed": 0, "data": data, "models": models, "objective": objective,
            "train": dict(TRAIN), **sections}


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    images = example_images(folder / "images", count=4, size=16, classes=1)
    sr = {"type": "shapes-super-resolution", "size": 16, "length": 8, "factor": 2}
    hole = {"type": "shapes-inpainting", "size": 16, "length": 8}
    shapes_labels = str(example_npz(folder / "shapes-labels.npz", shape=(16, 16, 3), classes=6))
    return [
        recipe("kit-srgan", sr, {"generator": {"type": "srresnet-generator", "blocks": 1, "width": 4}, "discriminator": SR_D},
               "srgan", eval={"data": {**sr, "seed": 3}, "metrics": ["psnr"]}),
        recipe("kit-srgan-folder", {"type": "super-resolution", "root": str(images), "size": 16, "factor": 4},
               {"generator": {"type": "srresnet-generator", "blocks": 1, "width": 4, "bicubic_skip": True},
                "discriminator": SR_D}, "srgan"),
        recipe("kit-context-encoder", hole, {"generator": {"type": "unet-generator", "depth": 4, "width": 4, "skip": False},
                                             "discriminator": PATCH}, "context-encoder",
               eval={"data": {**hole, "seed": 3}, "metrics": ["l1"]}),
        recipe("kit-inpainting-folder", {"type": "inpainting", "root": str(images), "size": 16, "mask": "random"},
               {"generator": {"type": "unet-generator", "depth": 4, "width": 4}, "discriminator": PATCH},
               "context-encoder"),
        recipe("kit-ccgan", {**hole, "length": 16}, {"generator": {"type": "unet-generator", "depth": 4, "width": 4},
                                                     "discriminator": {"type": "dcgan-discriminator", "width": 4,
                                                                       "aux_outputs": 6}},
               {"type": "ccgan", "labels": 6, "labelled_batch": 4},
               eval={"metrics": [{"type": "heldout-accuracy", "samples": 8, "data": {
                   "type": "npz", "path": shapes_labels, "images": "x_test", "labels": "y_test"}}]}),
    ]
