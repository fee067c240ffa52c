"""Tiny recipes for the conformance kit (``ganforge.testing``) that use every translation
component, and the core's paired metrics."""

from __future__ import annotations

from pathlib import Path

from ganforge.sdk import example_images, example_weights, hookimpl

TRAIN = {"steps": 2, "batch_size": 4, "log_every": 1, "sample_every": 100, "sample_count": 2, "checkpoint_every": 100}
EDGES = {"type": "shapes-edges", "size": 16, "length": 16}
RECOLOR = {"type": "shapes-recolor", "size": 16, "length": 16}
UNET = {"type": "unet-generator", "depth": 4, "width": 8}
PATCH = {"type": "patchgan-discriminator", "receptive_field": 1, "width": 8}


def recipe(name: str, data: dict, models: dict, objective: dict | str, **sections) -> dict:
    return {"name": name, "seed": 0, "data": data, "models": models, "objective": objective,
            "train": dict(TRAIN), **sections}


def lpips_backbone(folder: Path) -> Path:
    """Random AlexNet weights under torchvision's name (the whole net: torchvision loads it whole)."""
    path = folder / "alexnet-owt-7be5be79.pth"
    if path.is_file():
        return path
    from torchvision.models import AlexNet

    return example_weights(path, AlexNet().state_dict())


def vgg_trunk(folder: Path) -> Path:
    path = folder / "vgg19-relu1_1.pth"
    if path.is_file():
        return path
    from torchvision.models.vgg import cfgs, make_layers

    return example_weights(path, {f"features.{k}": v for k, v in make_layers(cfgs["E"])[:2].state_dict().items()})


def label_map_folder(folder: Path, count: int = 3, size: int = 16) -> Path:
    """pix2pixHD's layout: test_label/ (ids 0-3), test_inst/ (ids) and test_img/ (photos)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("test_label", "test_inst", "test_img"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        labels = rng.integers(0, 4, (size // 4, size // 4)).repeat(4, 0).repeat(4, 1).astype(np.uint8)
        Image.fromarray(labels).save(folder / "test_label" / f"{i}.png")
        Image.fromarray((labels.astype(np.uint16) * 100 + (np.arange(size) >= size // 2))).save(folder / "test_inst" / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (size, size, 3)).astype(np.uint8)).save(folder / "test_img" / f"{i}.png")
    return folder


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    pairs = example_images(folder / "pairs", count=4, size=16, classes=1, width=32)
    unpaired = folder / "unpaired"
    for side in ("trainA", "trainB"):
        example_images(unpaired / side, count=4, size=16, classes=1)
    return [
        recipe("kit-pix2pix", EDGES, {"generator": UNET, "discriminator": {**PATCH, "conditional": True}}, "pix2pix",
               eval={"data": {**EDGES, "seed": 5}, "metrics": ["l1", "psnr", "ssim"]}),
        recipe("kit-pix2pix-32", {**EDGES, "size": 32},
               {"generator": UNET, "discriminator": {**PATCH, "conditional": True}}, "pix2pix",
               eval={"data": {**EDGES, "size": 32, "seed": 5},
                     "metrics": [{"type": "lpips", "download": False, "weights": str(lpips_backbone(folder / "weights"))}]}),
        recipe("kit-cyclegan", RECOLOR,
               {"g_ab": {"type": "resnet-generator", "blocks": 1, "width": 4},
                "g_ba": {"type": "resnet-generator", "blocks": 1, "width": 4, "reverse": True},
                "d_b": {**PATCH, "norm": "instance"}, "d_a": {**PATCH, "norm": "instance", "domain": "source"}},
               {"type": "cyclegan", "pool_size": 2},
               eval={"data": {**RECOLOR, "paired": True, "seed": 5}, "metrics": ["cycle-error"]}),
        recipe("kit-dualgan", EDGES,
               {"g_ab": {"type": "unet-generator", "depth": 4, "width": 4},
                "g_ba": {"type": "unet-generator", "depth": 4, "width": 4, "reverse": True},
                "d_b": {**PATCH, "norm": "none"}, "d_a": {**PATCH, "norm": "none", "domain": "source"}},
               {"type": "dualgan", "d_steps": 2}, losses={"adversarial": "wasserstein"},
               optim={name: {"type": "rmsprop", "lr": 5e-5} for name in ("g_ab", "g_ba", "d_b", "d_a")}),
        recipe("kit-pix2pixhd", {**EDGES, "size": 32},
               {"generator": {"type": "pix2pixhd-generator", "width": 4, "global_downsamplings": 1, "global_blocks": 1,
                              "local_blocks": 1},
                "discriminator": {"type": "multiscale-discriminator", "scales": 2, "receptive_field": 16, "width": 4,
                                  "conditional": True}},
               {"type": "pix2pixhd", "perceptual_weight": 1.0},
               losses={"adversarial": "least-squares",
                       "perceptual": {"type": "vgg-perceptual", "layers": ["relu1_1"], "layer_weights": [1.0],
                                      "weights": str(vgg_trunk(folder / "weights")), "download": False}}),
        {"data": {"type": "paired-folder", "root": str(pairs / "class0"), "load_size": 18, "crop_size": 16}},
        {"data": {"type": "unpaired-folder", "root": str(unpaired), "load_size": 18, "crop_size": 16}},
        {"data": {"type": "edges", "root": str(example_images(folder / "faces", count=4, size=16)), "size": 16}},
        {"data": dict(RECOLOR)},
        {"data": {"type": "label-maps", "root": str(label_map_folder(folder / "label-maps")), "size": 16}},
    ]
