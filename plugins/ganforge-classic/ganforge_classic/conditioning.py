"""What conditional and multi-head nets share: class labels as learned embeddings, and the
optional auxiliary head a discriminator carries for ACGAN, InfoGAN and semi-supervised GANs."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.sdk import GanforgeError


def classes_of(ctx, who: str) -> int:
    """The data's number of classes, or an error saying ``who`` needs labelled data."""
    classes = ctx.data_info.num_classes
    if not classes:
        raise GanforgeError(f"{who} has `conditional: true`, which needs labelled data (a data adapter with "
                            "classes, such as npz with `labels:` or shapes); this data has no labels")
    return classes


class LabelEmbedding(nn.Module):
    """Class index -> a learned vector (Mirza & Osindero feed the label to both nets)."""

    def __init__(self, classes: int, dim: int):
        super().__init__()
        self.classes, self.dim = classes, dim
        self.table = nn.Embedding(classes, dim)

    def forward(self, y: Tensor | None, who: str) -> Tensor:
        if y is None:
            raise GanforgeError(f"{who} is conditional and needs class labels y; use a conditional objective "
                                "(conditional, acgan) or set `conditional: false`")
        return self.table(y.long())


class LabelConditioned:
    """Mixin of nets with an optional label ``embedding``: ``conditional`` (the ``Conditioned``
    capability) says whether they take a class label ``y`` too."""

    embedding: "LabelEmbedding | None"

    @property
    def conditional(self) -> bool:
        return self.embedding is not None


def embedding_for(conditional: bool, embed_dim: int | None, ctx, who: str) -> LabelEmbedding | None:
    if not conditional:
        return None
    classes = classes_of(ctx, who)
    return LabelEmbedding(classes, embed_dim or classes)


def check_aux_with_pack(aux_outputs: int, pack: int, who: str) -> None:
    if aux_outputs and pack > 1:
        raise GanforgeError(f"{who}: aux_outputs classify single samples, so they cannot be combined with "
                            f"pack: {pack}; use one or the other")


class GaussianNoise(nn.Module):
    """Adds N(0, std^2) noise while training (Improved GAN's semi-supervised discriminator)."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: Tensor) -> Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std else x
