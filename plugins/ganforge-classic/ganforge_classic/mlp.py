"""Fully connected generator and discriminator."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganforge_classic.packing import pack

ACTIVATIONS = {"relu": nn.ReLU, "leaky-relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


class Maxout(nn.Module):
    """A linear layer whose outputs are the maximum over ``pieces`` affine maps."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(*x.shape[:-1], self.out_features, self.pieces).amax(-1)


class MLPGenerator(nn.Module):
    """z -> hidden layers -> a sample of ``out_shape`` (tanh for images, linear for vectors)."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], width: int, depth: int, batch_norm: bool,
                 activation: str, tanh_output: bool):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        layers: list[nn.Module] = []
        size = z_dim
        for _ in range(depth):
            layers += [nn.Linear(size, width, bias=not batch_norm)]
            layers += [nn.BatchNorm1d(width)] if batch_norm else []
            layers += [ACTIVATIONS[activation]()]
            size = width
        layers.append(nn.Linear(size, math.prod(out_shape)))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z).view(len(z), *self.out_shape)

    @classmethod
    def build(cls, params, ctx) -> "MLPGenerator":
        info = ctx.data_info
        return cls(params.z_dim, info.shape, params.width, params.depth, params.batch_norm, params.activation,
                   tanh_output=info.is_image)


class MLPDiscriminator(nn.Module):
    """A sample (flattened) -> hidden layers -> one logit per sample (per pack of ``pack``)."""

    def __init__(self, in_shape: tuple[int, ...], width: int, depth: int, activation: str, maxout_pieces: int,
                 batch_norm: bool, dropout: float, pack: int = 1):
        super().__init__()
        self.pack = pack
        layers: list[nn.Module] = [nn.Flatten()]
        size = math.prod(in_shape) * pack
        for _ in range(depth):
            if activation == "maxout":
                layers.append(Maxout(size, width, maxout_pieces))
            else:
                layers += [nn.Linear(size, width)]
            layers += [nn.BatchNorm1d(width)] if batch_norm else []
            layers += [ACTIVATIONS[activation]()] if activation != "maxout" else []
            layers += [nn.Dropout(dropout)] if dropout else []
            size = width
        layers.append(nn.Linear(size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(pack(x, self.pack)).squeeze(-1)

    @classmethod
    def build(cls, params, ctx) -> "MLPDiscriminator":
        return cls(ctx.data_info.shape, params.width, params.depth, params.activation, params.maxout_pieces,
                   params.batch_norm, params.dropout, params.pack)
