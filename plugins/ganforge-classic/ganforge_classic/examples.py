"""Tiny recipes for the conformance kit (``ganforge.testing``): between them they use every
classic component and the core's evaluators."""

from __future__ import annotations

from pathlib import Path

from ganforge.sdk import example_classifier, example_inception_weights, example_npz, hookimpl

TRAIN = {"steps": 2, "batch_size": 8, "log_every": 1, "sample_every": 100, "sample_count": 4, "checkpoint_every": 100}
RING = {"type": "gaussian-mixture", "size": 64}
SHAPES = {"type": "shapes", "size": 16, "length": 32}
MLP_G = {"type": "mlp-generator", "z_dim": 2, "width": 16, "depth": 1}
MLP_D = {"type": "mlp-discriminator", "width": 16, "depth": 1}
DCGAN_G = {"type": "dcgan-generator", "z_dim": 16, "width": 8}
DCGAN_D = {"type": "dcgan-discriminator", "width": 8}


def recipe(name: str, data: dict, models: dict, objective: dict | str, **sections) -> dict:
    return {"name": name, "seed": 0, "data": data, "models": models, "objective": objective,
            "train": dict(TRAIN), **sections}


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    weights = str(example_inception_weights(folder / "weights"))
    features = {"weights": weights, "samples": 8, "reference_samples": 8, "download": False}
    digits = str(example_npz(folder / "digits.npz"))
    shapes_labels = str(example_npz(folder / "shapes-labels.npz", shape=(16, 16, 3), classes=6))
    held_out = {"type": "npz", "path": shapes_labels, "images": "x_test", "labels": "y_test"}
    return [
        recipe("kit-ring", RING, {"generator": MLP_G, "discriminator": {**MLP_D, "activation": "maxout"}},
               "unconditional", losses={"adversarial": "non-saturating", "gp": "gradient-penalty", "r1": "r1"},
               eval={"metrics": [{"type": "mode-coverage", "samples": 64}]}),
        recipe("kit-wgan", RING, {"generator": MLP_G, "discriminator": MLP_D}, {"type": "wgan", "d_steps": 1},
               losses={"adversarial": "wasserstein"}),
        recipe("kit-minimax", RING, {"generator": MLP_G, "discriminator": MLP_D}, "unconditional",
               losses={"adversarial": "minimax"}),
        recipe("kit-dcgan", SHAPES, {"generator": DCGAN_G, "discriminator": DCGAN_D}, "unconditional",
               losses={"adversarial": "hinge"},
               eval={"metrics": [{"type": "fid", **features}, {"type": "kid", **features, "subset_size": 4},
                                 {"type": "inception-score", **features, "splits": 2},
                                 {"type": "precision-recall", **features}]}),
        recipe("kit-lsgan", SHAPES, {"generator": DCGAN_G, "discriminator": {**DCGAN_D, "norm": "spectral"}},
               "unconditional", losses={"adversarial": "least-squares"}),
        recipe("kit-conditional", SHAPES, {"generator": {**DCGAN_G, "conditional": True},
                                           "discriminator": {**DCGAN_D, "conditional": True}}, "conditional",
               eval={"metrics": [{"type": "classifier-accuracy", "samples": 8,
                                  "classifier": str(example_classifier(folder / "shapes-classifier.safetensors", 3, 6))}]}),
        recipe("kit-acgan", SHAPES, {"generator": {**DCGAN_G, "conditional": True},
                                     "discriminator": {**DCGAN_D, "aux_outputs": 6}}, "acgan",
               eval={"metrics": [{"type": "heldout-accuracy", "samples": 16,
                                  "data": {"type": "npz", "path": shapes_labels, "labels": "y_test"}}]}),
        recipe("kit-infogan", SHAPES, {"generator": {"type": "infogan-generator", "z_dim": 16, "width": 8, "fc_width": 16},
                                       "discriminator": {"type": "infogan-discriminator", "width": 8, "fc_width": 16,
                                                         "aux_outputs": 5, "aux_hidden": 8}},
               {"type": "infogan", "categorical": [3], "continuous": 2}),
        recipe("kit-sgan", SHAPES, {"generator": DCGAN_G, "discriminator": {**DCGAN_D, "aux_outputs": 6}},
               {"type": "semi-supervised", "labels": 12, "labelled_batch": 8}),
        recipe("kit-bigan", RING, {"generator": MLP_G, "encoder": {"type": "mlp-encoder", "z_dim": 2, "width": 16, "depth": 1},
                                   "discriminator": {"type": "joint-mlp-discriminator", "z_dim": 2, "width": 16, "depth": 1}},
               "bigan"),
        recipe("kit-bigan-images", SHAPES, {"generator": DCGAN_G, "encoder": {"type": "dcgan-encoder", "z_dim": 16, "width": 8},
                                            "discriminator": {"type": "joint-mlp-discriminator", "z_dim": 16, "width": 16,
                                                              "depth": 1}}, "bigan"),
        recipe("kit-aae", SHAPES, {"encoder": {"type": "mlp-encoder", "z_dim": 2, "width": 16, "depth": 1},
                                   "decoder": {**MLP_G, "width": 16},
                                   "discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 16, "depth": 1}},
               {"type": "aae", "prior": "mixture", "components": 4},
               eval={"metrics": [{"type": "reconstruction-error", "samples": 16, "data": held_out},
                                 {"type": "prior-match", "samples": 16, "data": held_out}]}),
        recipe("kit-aae-supervised", SHAPES,
               {"encoder": {"type": "dcgan-encoder", "z_dim": 2, "width": 8}, "decoder": {**DCGAN_G, "z_dim": 2},
                "discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 16, "depth": 1,
                                  "conditional": True}},
               {"type": "aae", "prior": "mixture", "components": 6, "supervised": True}),
        recipe("kit-cogan", {"type": "coupled-npz", "path": digits, "size": 16, "second": "edges"},
               {"generator": {"type": "coupled-generator", "z_dim": 8, "width": 8},
                "discriminator": {"type": "coupled-discriminator", "width": 8}}, "cogan",
               eval={"metrics": [{"type": "pixel-agreement", "mapping": "edges", "samples": 8}]}),
        recipe("kit-aae-semi-supervised", SHAPES,
               {"encoder": {"type": "mlp-encoder", "z_dim": 8, "width": 16, "depth": 1},
                "decoder": {**MLP_G, "z_dim": 8, "width": 16},
                "class_discriminator": {"type": "code-discriminator", "z_dim": 6, "width": 16, "depth": 1},
                "style_discriminator": {"type": "code-discriminator", "z_dim": 2, "width": 16, "depth": 1}},
               {"type": "aae-semi-supervised", "labels": 12, "labelled_batch": 6},
               eval={"metrics": [{"type": "heldout-accuracy", "samples": 16, "data": held_out}]}),
        recipe("kit-bgan", RING, {"generator": MLP_G, "discriminator": MLP_D}, "unconditional",
               losses={"adversarial": "boundary-seeking"}),
        recipe("kit-bgan-discrete", {"type": "npz", "path": digits, "size": 16, "binarize": 0.5},
               {"generator": DCGAN_G, "discriminator": DCGAN_D}, {"type": "bgan-discrete", "samples": 3}),
        recipe("kit-stacked", {"type": "stacked-mnist", "path": digits, "length": 32, "size": 16},
               {"generator": DCGAN_G, "discriminator": {**DCGAN_D, "pack": 2}}, "unconditional",
               eval={"metrics": [{"type": "stacked-mnist", "samples": 8,
                                  "classifier": str(example_classifier(folder / "digit-classifier.safetensors", 1, 10))}]}),
    ]
