"""Perceptual losses on VGG19 features (pix2pixHD's feature loss, SRGAN's content loss), with
the standard torchvision ImageNet weights found like every other pretrained file."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import GanforgeError
from ganforge.weights import KnownWeights, resolve_weights

VGG19 = KnownWeights("VGG19 (torchvision ImageNet)", "vgg19-dcbb9e9d.pth",
                     "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
                     "the vgg-perceptual loss (pix2pixHD's feature loss, SRGAN's content loss)",
                     setting="the vgg-perceptual loss's `weights:` (losses.<name>.weights)",
                     offline="Offline, turn the VGG term off: pix2pixhd's objective.perceptual_weight: 0 or srgan's "
                             "objective.content: pixel (the loss is then never built).")

# Index of each ReLU in torchvision's vgg19().features.
LAYERS = {"relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_2": 13, "relu3_3": 15,
          "relu3_4": 17, "relu4_1": 20, "relu4_2": 22, "relu4_3": 24, "relu4_4": 26, "relu5_1": 29, "relu5_2": 31,
          "relu5_3": 33, "relu5_4": 35}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def vgg19_features(weights: str | Path | None, depth: int, download: bool = True) -> nn.Sequential:
    """The first ``depth`` layers of VGG19's convolutional trunk with ImageNet weights, frozen.
    Only those layers' tensors are read from the weights file."""
    from torchvision.models.vgg import cfgs, make_layers

    path = resolve_weights(VGG19, weights, download=download)
    with torch.random.fork_rng(devices=[]):  # its throwaway initialisation must not move the training RNG
        trunk = make_layers(cfgs["E"])[:depth]  # VGG19's trunk, as torchvision.models.vgg19().features
    saved = torch.load(path, map_location="cpu", weights_only=True)
    wanted = {f"features.{k}": v for k, v in trunk.state_dict().items()}
    missing = [k for k in wanted if k not in saved]
    if missing:
        raise GanforgeError(f"{path} is not a torchvision VGG19 state dict (it lacks {missing[0]}); "
                            f"use {VGG19.filename} from {VGG19.url}")
    trunk.load_state_dict({k[len("features."):]: saved[k] for k in wanted})
    return trunk.eval().requires_grad_(False)


class VGGPerceptual(nn.Module):
    """``sum_i w_i * |phi_i(output) - phi_i(target)|`` over VGG19 ReLU layers ``phi_i``; images
    in [-1, 1] (greyscale repeated to RGB) are normalised as ImageNet inputs first."""

    role = "perceptual"

    def __init__(self, trunk: nn.Sequential, layers: list[str], layer_weights: list[float], criterion: str = "l1"):
        super().__init__()
        self.trunk, self.taps = trunk, [LAYERS[name] for name in layers]
        self.layer_weights, self.criterion = list(layer_weights), criterion
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, images: Tensor) -> list[Tensor]:
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        x = ((images + 1) / 2 - self.mean) / self.std
        taps, out = set(self.taps), {}
        for index, layer in enumerate(self.trunk):
            x = layer(x)
            if index in taps:
                out[index] = x
        return [out[i] for i in self.taps]

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        distance = F.l1_loss if self.criterion == "l1" else F.mse_loss
        with torch.no_grad():
            goals = self.features(target.float())
        mine = self.features(output.float())
        return sum(w * distance(a, b) for w, a, b in zip(self.layer_weights, mine, goals))


def vgg_perceptual(params, ctx) -> VGGPerceptual:
    trunk = vgg19_features(params.weights, max(LAYERS[n] for n in params.layers) + 1, params.download)
    return VGGPerceptual(trunk, params.layers, params.layer_weights, params.criterion).to(ctx.device)
