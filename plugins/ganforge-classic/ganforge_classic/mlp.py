"""Fully connected generator, discriminator and encoder."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganforge_classic.conditioning import GaussianNoise, LabelConditioned, check_aux_with_pack, embedding_for
from ganforge_classic.packing import pack

ACTIVATIONS = {"relu": nn.ReLU, "leaky-relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}


class Maxout(nn.Module):
    """A linear layer whose outputs are the maximum over ``pieces`` affine maps."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        # max, not amax: its backward routes each gradient through the saved argmax, where
        # amax's rebuilds a mask of ties (a sixth of a step on the 2-D protocol's nets).
        return self.linear(x).view(*x.shape[:-1], self.out_features, self.pieces).max(-1).values


def hidden_layers(size: int, width: int, depth: int, activation: str, *, maxout_pieces: int = 5,
                  batch_norm: bool = False, dropout: float = 0.0, noise_std: float = 0.0) -> list[nn.Module]:
    """``depth`` hidden layers of ``width`` units from an input of ``size``."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [GaussianNoise(noise_std)] if noise_std else []
        if activation == "maxout":
            layers.append(Maxout(size, width, maxout_pieces))
        else:
            layers.append(nn.Linear(size, width, bias=not batch_norm))
        layers += [nn.BatchNorm1d(width)] if batch_norm else []
        layers += [ACTIVATIONS[activation]()] if activation != "maxout" else []
        layers += [nn.Dropout(dropout)] if dropout else []
        size = width
    return layers


class MLPGenerator(LabelConditioned, nn.Module):
    """z (and, when conditional, a label embedding) -> hidden layers -> a sample of
    ``out_shape`` (tanh for images, linear for vectors)."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], width: int, depth: int, batch_norm: bool,
                 activation: str, tanh_output: bool, embedding: nn.Module | None = None):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        self.embedding = embedding
        size = z_dim + (embedding.dim if embedding is not None else 0)
        layers = hidden_layers(size, width, depth, activation, batch_norm=batch_norm)
        layers.append(nn.Linear(width if depth else size, math.prod(out_shape)))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.embedding is not None:
            z = torch.cat([z, self.embedding(y, "mlp-generator")], 1)
        return self.net(z).unflatten(1, self.out_shape)

    @classmethod
    def build(cls, params, ctx) -> "MLPGenerator":
        info = ctx.data_info
        embedding = embedding_for(params.conditional, params.embed_dim, ctx, "mlp-generator")
        return cls(params.z_dim, info.shape, params.width, params.depth, params.batch_norm, params.activation,
                   tanh_output=info.is_image, embedding=embedding)


class MLPDiscriminator(LabelConditioned, nn.Module):
    """A sample (flattened; with its label embedding when conditional) -> hidden layers -> one
    logit per sample, or per pack of ``pack`` samples. With ``aux_outputs`` it also returns an
    auxiliary head's outputs: ``(logit, aux)``."""

    def __init__(self, in_shape: tuple[int, ...], width: int, depth: int, activation: str, maxout_pieces: int,
                 batch_norm: bool, dropout: float, pack: int = 1, *, embedding: nn.Module | None = None,
                 aux_outputs: int = 0, noise_std: float = 0.0, extra_inputs: int = 0):
        super().__init__()
        check_aux_with_pack(aux_outputs, pack, "mlp-discriminator")
        self.pack, self.embedding, self.aux_outputs = pack, embedding, aux_outputs
        size = (math.prod(in_shape) + extra_inputs + (embedding.dim if embedding is not None else 0)) * pack
        self.trunk = nn.Sequential(*hidden_layers(size, width, depth, activation, maxout_pieces=maxout_pieces,
                                                  batch_norm=batch_norm, dropout=dropout, noise_std=noise_std))
        features = width if depth else size
        self.head = nn.Linear(features, 1)
        self.aux = nn.Linear(features, aux_outputs) if aux_outputs else None

    def inputs(self, x: Tensor, y: Tensor | None) -> Tensor:
        x = x.flatten(1)
        if self.embedding is not None:
            x = torch.cat([x, self.embedding(y, "mlp-discriminator")], 1)
        return pack(x, self.pack)

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The last hidden layer (used by feature matching)."""
        return self.trunk(self.inputs(x, y))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        features = self.features(x, y)
        logit = self.head(features).squeeze(-1)
        return (logit, self.aux(features)) if self.aux is not None else logit

    @classmethod
    def build(cls, params, ctx) -> "MLPDiscriminator":
        embedding = embedding_for(params.conditional, params.embed_dim, ctx, "mlp-discriminator")
        return cls(ctx.data_info.shape, params.width, params.depth, params.activation, params.maxout_pieces,
                   params.batch_norm, params.dropout, params.pack, embedding=embedding,
                   aux_outputs=params.aux_outputs, noise_std=params.noise_std)


class JointMLPDiscriminator(MLPDiscriminator):
    """BiGAN/ALI discriminator: judges a pair (x, z) of a sample and a latent vector."""

    def __init__(self, in_shape: tuple[int, ...], z_dim: int, width: int, depth: int, activation: str,
                 maxout_pieces: int, dropout: float):
        super().__init__(in_shape, width, depth, activation, maxout_pieces, False, dropout, extra_inputs=z_dim)
        self.z_dim = z_dim

    def features(self, x: Tensor, z: Tensor) -> Tensor:  # type: ignore[override]
        """The last hidden layer of the pair."""
        return self.trunk(torch.cat([x.flatten(1), z], 1))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:  # type: ignore[override]
        return self.head(self.features(x, z)).squeeze(-1)

    @classmethod
    def build(cls, params, ctx) -> "JointMLPDiscriminator":
        return cls(ctx.data_info.shape, params.z_dim, params.width, params.depth, params.activation,
                   params.maxout_pieces, params.dropout)


class CodeDiscriminator(MLPDiscriminator):
    """An adversarial autoencoder's discriminator: judges latent codes of ``z_dim`` values (with
    the item's label embedding when conditional), not samples."""

    def __init__(self, z_dim: int, width: int, depth: int, activation: str, maxout_pieces: int, dropout: float,
                 embedding: nn.Module | None = None):
        super().__init__((z_dim,), width, depth, activation, maxout_pieces, False, dropout, embedding=embedding)
        self.code_dim = z_dim  # the JudgesCodes capability

    @classmethod
    def build(cls, params, ctx) -> "CodeDiscriminator":
        embedding = embedding_for(params.conditional, params.embed_dim, ctx, "code-discriminator")
        return cls(params.z_dim, params.width, params.depth, params.activation, params.maxout_pieces, params.dropout,
                   embedding=embedding)


class MLPEncoder(nn.Module):
    """A sample (flattened) -> hidden layers -> a latent vector of ``z_dim`` (BiGAN's E)."""

    def __init__(self, in_shape: tuple[int, ...], z_dim: int, width: int, depth: int, activation: str,
                 batch_norm: bool):
        super().__init__()
        self.z_dim = z_dim
        size = math.prod(in_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        layers += hidden_layers(size, width, depth, activation, batch_norm=batch_norm)
        layers.append(nn.Linear(width if depth else size, z_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @classmethod
    def build(cls, params, ctx) -> "MLPEncoder":
        return cls(ctx.data_info.shape, params.z_dim, params.width, params.depth, params.activation,
                   params.batch_norm)
