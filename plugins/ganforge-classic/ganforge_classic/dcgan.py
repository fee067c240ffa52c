"""DCGAN (Radford et al. 2016) for any square power-of-two size from 16 up."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.sdk import GanforgeError
from ganforge_classic.conditioning import LabelConditioned, check_aux_with_pack, embedding_for
from ganforge_classic.packing import pack


def _layers_for(size: int, shape: tuple[int, ...], name: str) -> int:
    if len(shape) != 3 or shape[1] != shape[2] or size < 16 or size & (size - 1):
        raise GanforgeError(f"{name} needs square images whose side is a power of two from 16 up; the data "
                            f"gives {shape}. Resize the data (for example `data.size: 32`).")
    return int(math.log2(size)) - 2  # halvings from size to 4


def dcgan_init(module: nn.Module) -> None:
    """Weights from N(0, 0.02); batch-norm scales from N(1, 0.02), as in the DCGAN paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(LabelConditioned, nn.Module):
    """z (and, when conditional, a label embedding) -> transposed convolutions -> an image."""

    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int = 64, max_width: int = 512,
                 batch_norm: bool = True, embedding: nn.Module | None = None):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(shape)
        self.embedding = embedding
        inputs = z_dim + (embedding.dim if embedding is not None else 0)
        ups = _layers_for(shape[-1], shape, "dcgan-generator")
        widths = [min(width * 2 ** i, max_width) for i in reversed(range(ups))]
        layers: list[nn.Module] = [nn.ConvTranspose2d(inputs, widths[0], 4, 1, 0, bias=not batch_norm)]
        for i in range(ups):
            layers += [nn.BatchNorm2d(widths[i])] if batch_norm else []
            layers.append(nn.ReLU(inplace=True))
            out = widths[i + 1] if i + 1 < ups else shape[0]
            layers.append(nn.ConvTranspose2d(widths[i], out, 4, 2, 1, bias=not batch_norm or i + 1 == ups))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.embedding is not None:
            z = torch.cat([z, self.embedding(y, "dcgan-generator")], 1)
        return self.net(z[:, :, None, None])  # (N, Z) -> (N, Z, 1, 1), batch size left symbolic for export

    @classmethod
    def build(cls, params, ctx) -> "DCGANGenerator":
        embedding = embedding_for(params.conditional, params.embed_dim, ctx, "dcgan-generator")
        return cls(params.z_dim, ctx.data_info.shape, params.width, params.max_width, params.batch_norm, embedding)


def conv_trunk(channels: int, size: int, width: int, max_width: int, norm: str) -> tuple[nn.Sequential, int]:
    """Strided convolutions halving ``size`` down to 4x4; returns the trunk and its channels."""
    wrap = spectral_norm if norm == "spectral" else (lambda m: m)
    layers: list[nn.Module] = []
    for i in range(int(math.log2(size)) - 2):
        out = min(width * 2 ** i, max_width)
        layers.append(wrap(nn.Conv2d(channels, out, 4, 2, 1, bias=norm != "batch" or i == 0)))
        if norm == "batch" and i > 0:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        channels = out
    return nn.Sequential(*layers), channels


class DCGANDiscriminator(LabelConditioned, nn.Module):
    """An image (with label-embedding channels when conditional) -> strided convolutions ->
    one logit per image, or per pack of ``pack`` images. With ``aux_outputs`` it also returns
    an auxiliary head's outputs: ``(logit, aux)``."""

    def __init__(self, shape: tuple[int, ...], width: int = 64, max_width: int = 512, norm: str = "batch",
                 pack: int = 1, *, embedding: nn.Module | None = None, aux_outputs: int = 0):
        super().__init__()
        check_aux_with_pack(aux_outputs, pack, "dcgan-discriminator")
        _layers_for(shape[-1], shape, "dcgan-discriminator")
        self.pack, self.embedding, self.aux_outputs = pack, embedding, aux_outputs
        channels = (shape[0] + (embedding.dim if embedding is not None else 0)) * pack
        self.trunk, features = conv_trunk(channels, shape[-1], width, max_width, norm)
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        self.head = wrap(nn.Conv2d(features, 1, 4, 1, 0))
        self.aux = wrap(nn.Linear(features * 16, aux_outputs)) if aux_outputs else None
        self.apply(dcgan_init)

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The last 4x4 feature maps (used by feature matching)."""
        if self.embedding is not None:
            labels = self.embedding(y, "dcgan-discriminator")[:, :, None, None]
            x = torch.cat([x, labels.expand(-1, -1, *x.shape[2:])], 1)
        return self.trunk(pack(x, self.pack))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        features = self.features(x, y)
        logit = self.head(features).flatten()
        return (logit, self.aux(features.flatten(1))) if self.aux is not None else logit

    @classmethod
    def build(cls, params, ctx) -> "DCGANDiscriminator":
        embedding = embedding_for(params.conditional, params.embed_dim, ctx, "dcgan-discriminator")
        return cls(ctx.data_info.shape, params.width, params.max_width, params.norm, params.pack,
                   embedding=embedding, aux_outputs=params.aux_outputs)


class DCGANEncoder(nn.Module):
    """An image -> strided convolutions -> a latent vector of ``z_dim`` (BiGAN's E)."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int = 64, max_width: int = 512):
        super().__init__()
        _layers_for(shape[-1], shape, "dcgan-encoder")
        self.z_dim = z_dim
        self.trunk, features = conv_trunk(shape[0], shape[-1], width, max_width, "batch")
        self.head = nn.Conv2d(features, z_dim, 4, 1, 0)
        self.apply(dcgan_init)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x)).flatten(1)

    @classmethod
    def build(cls, params, ctx) -> "DCGANEncoder":
        return cls(ctx.data_info.shape, params.z_dim, params.width, params.max_width)
