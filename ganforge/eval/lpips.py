"""LPIPS from torchmetrics with the torchvision backbone loaded from a resolved weights file."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.eval.weights import KnownWeights, resolve_weights

BACKBONES = {
    "alex": KnownWeights("AlexNet (torchvision ImageNet)", "alexnet-owt-7be5be79.pth",
                         "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "lpips with net: alex"),
    "vgg": KnownWeights("VGG16 (torchvision ImageNet)", "vgg16-397923af.pth",
                        "https://download.pytorch.org/models/vgg16-397923af.pth", "lpips with net: vgg"),
}


def build_lpips(net: str, weights: str | Path | None, download: bool, device: torch.device) -> torch.nn.Module:
    """torchmetrics' LPIPS module; inputs in [-1, 1], output (N, 1, 1, 1) distances."""
    from torchmetrics.functional.image.lpips import _LPIPS

    path = resolve_weights(BACKBONES[net], weights, download=download)
    model = _LPIPS(pretrained=True, net=net, pnet_rand=True)  # linear heads from torchmetrics, backbone below
    backbone = torch.load(path, map_location="cpu", weights_only=True)
    for slice_ in (getattr(model.net, f"slice{i}") for i in range(1, 6)):
        for index, layer in slice_.named_children():
            own = {k: backbone[f"features.{index}.{k}"] for k in layer.state_dict()}
            layer.load_state_dict(own)
    return model.to(device).eval().requires_grad_(False)
