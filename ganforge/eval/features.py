"""Feature networks: uint8 images in, named features out (``pool`` for FID/KID/PR, ``logits``
for IS and accuracy). InceptionV3 is torch-fidelity's port of the TensorFlow FID network."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from ganforge.files import file_sha256
from ganforge.weights import INCEPTION_V3, MissingWeights, resolve_weights


class FeatureNetwork(Protocol):
    name: str
    """Names the network and its weights; part of every result's protocol and cache key."""

    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        """uint8 (N, 3, H, W) images on the network's device -> {"pool": (N, D), "logits": (N, K)}."""


def classifier_name(path: str | Path) -> str:
    """``classifier:<file name>@<first 12 hex of its SHA-256>``: a classifier retrained to the same
    file is another feature network, so its results, statistics and cached features differ."""
    return f"classifier:{Path(path).name}@{file_sha256(Path(path))[:12]}"


def to_uint8(images: Tensor) -> Tensor:
    """Generator output in [-1, 1] -> uint8 RGB, quantised exactly as a saved PNG would be."""
    images = ((images.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def check_loads_safely(path: Path) -> None:
    """Refuse a weights file that holds anything but tensors (which could run code when
    unpickled); the same bytes then load safely in any loader."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MissingWeights(f"{path} is not a plain PyTorch state dict ({type(exc).__name__}: {exc}). "
                             f"Replace it with {INCEPTION_V3.url}") from None
    if not isinstance(state, dict) or not state:
        raise MissingWeights(f"{path} holds no state dict. Replace it with {INCEPTION_V3.url}")


class InceptionV3Features:
    """torch-fidelity's InceptionV3 with the 2015-12-05 weights: 2048-d pool, 1008 logits."""

    def __init__(self, weights: str | Path | None = None, *, download: bool = True, device: str | torch.device = "cpu"):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = resolve_weights(INCEPTION_V3, weights, download=download)
        check_loads_safely(path)  # torch-fidelity itself loads with weights_only=False
        self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                               feature_extractor_weights_path=str(path)).to(device)
        self.name = f"inception-v3:{path.name}"
        self.resize = "torch-fidelity inception-v3-compat: bilinear to 299x299 inside the network (TF-1 compatible)"

    @torch.no_grad()
    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        pool, logits = self.net(images)
        return {"pool": pool, "logits": logits}


class ClassifierFeatures:
    """A classifier trained with ``ganforge classifier train``: its penultimate layer and logits."""

    def __init__(self, path: str | Path, *, device: str | torch.device = "cpu"):
        from ganforge.eval.classifier import load_classifier

        self.model, self.meta = load_classifier(Path(path), device=device)
        self.in_channels = int(self.meta["in_channels"])
        self.name = classifier_name(path)
        self.resize = "none (images at the classifier's input size)"

    @torch.no_grad()
    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        x = images.float() / 127.5 - 1
        if self.in_channels == 1 and x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        pool, logits = self.model.features_and_logits(x)
        return {"pool": pool.float(), "logits": logits.float()}
