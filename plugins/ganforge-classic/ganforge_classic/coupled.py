"""Coupled GANs (Liu and Tuzel 2016): two GANs, one per domain, whose generators share their
first layers and whose discriminators share their last, so that one z gives a corresponding
pair of images without any paired data.

A pair travels as one image, the two domains side by side (``(C, H, 2W)``): the data gives an
image of the first domain beside an unrelated one of the second, the coupled generator draws a
pair, and the coupled discriminator judges each half with its own first layers, returning one
logit per domain. The standard GAN game on those logits is the paper's sum of the two games."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import DataAdapter, DataInfo, Evaluator, Fingerprinted, GanforgeError
from ganforge_classic.dcgan import _layers_for, dcgan_init
from ganforge_classic.objectives import Unconditional


def edges(images: Tensor) -> Tensor:
    """The outline of each stroke: the image dilated by a 3x3 square, minus the image (in [-1, 1])."""
    unit = (images + 1) / 2
    return (F.max_pool2d(unit, 3, stride=1, padding=1) - unit) * 2 - 1


def negative(images: Tensor) -> Tensor:
    return -images


MAPPINGS = {"edges": edges, "negative": negative}
"""How the second domain is made from the first (CoGAN's MNIST tasks A and B)."""


def halves(pairs: Tensor) -> tuple[Tensor, Tensor]:
    """The first and the second domain of side-by-side pairs."""
    width = pairs.shape[-1] // 2
    return pairs[..., :width], pairs[..., width:]


@runtime_checkable
class Coupled(Protocol):
    """A net of a coupled pair: it makes or judges two domains side by side, each ``domain_shape``."""

    domain_shape: tuple[int, ...]


def domain_shape(shape: tuple[int, ...], who: str) -> tuple[int, ...]:
    """The shape of one domain of side-by-side pairs of square images, or an error saying so."""
    if len(shape) != 3 or shape[2] != 2 * shape[1]:
        raise GanforgeError(f"{who} makes or judges pairs of square images side by side, (C, H, 2H); the data gives "
                            f"{shape}. Use two-domain data such as `coupled-npz`")
    return (shape[0], shape[1], shape[1])


class CoupledNpz(DataAdapter):
    """Images of an .npz (the first domain) beside unrelated images made into the second domain
    (edges or negatives): the images are shuffled (by ``split_seed``) and split into two halves,
    one per domain, so no pair shows the same image."""

    def __init__(self, images: DataAdapter, mapping: str, split_seed: int):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(split_seed))
        half = len(images) // 2
        if half == 0:
            raise GanforgeError("coupled-npz needs at least 2 images (one per domain)")
        self.images, self.mapping, self.split_seed = images, MAPPINGS[mapping], split_seed
        self.first, self.second = order[:half].tolist(), order[half:2 * half].tolist()
        c, h, w = images.info.shape
        self.info = DataInfo(shape=(c, h, 2 * w))

    def __len__(self) -> int:
        return len(self.first)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        a = self.images[self.first[index]]["x"]
        b = self.mapping(self.images[self.second[index]]["x"][None])[0]
        return {"x": torch.cat([a, b], -1)}

    def fingerprint(self) -> str:
        """The images' content, the mapping and the split (cached reference statistics are keyed by it)."""
        content = self.images.fingerprint() if isinstance(self.images, Fingerprinted) else "unknown"
        return f"{content}:{self.mapping.__name__}:split{self.split_seed}:{len(self.first)}"


def coupled_npz(params, ctx) -> CoupledNpz:
    npz = ctx.registry.get("data", "npz")
    images = npz.build(npz.params.model_validate({"path": params.path, "images": params.images, "size": params.size,
                                                  "limit": params.limit}), ctx)
    if images.info.shape[1] != images.info.shape[2]:
        raise GanforgeError(f"coupled-npz needs square images; {params.path} holds {tuple(images.info.shape)}; set size")
    return CoupledNpz(images, params.second, params.split_seed)


class CoupledGenerator(nn.Module):
    """z -> DCGAN transposed convolutions shared by both domains -> the last ``private_layers``
    once per domain -> the pair side by side."""

    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int, max_width: int, private_layers: int):
        super().__init__()
        self.z_dim = z_dim
        self.domain_shape = domain_shape(tuple(shape), "coupled-generator")
        ups = _layers_for(self.domain_shape[-1], self.domain_shape, "coupled-generator")
        if not 1 <= private_layers <= ups:
            raise GanforgeError(f"coupled-generator has {ups} upsampling layers at this size; private_layers must be "
                                f"1 to {ups}, got {private_layers}")
        widths = [min(width * 2 ** i, max_width) for i in reversed(range(ups))] + [self.domain_shape[0]]

        def block(i: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(widths[i]), nn.ReLU(inplace=True),
                    nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=i + 1 == ups)]

        shared = ups - private_layers
        self.shared = nn.Sequential(nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False),
                                    *[m for i in range(shared) for m in block(i)])
        self.heads = nn.ModuleList(nn.Sequential(*[m for i in range(shared, ups) for m in block(i)], nn.Tanh())
                                   for _ in range(2))
        self.apply(dcgan_init)

    def forward(self, z: Tensor) -> Tensor:
        features = self.shared(z[:, :, None, None])
        return torch.cat([head(features) for head in self.heads], -1)

    @classmethod
    def build(cls, params, ctx) -> "CoupledGenerator":
        return cls(params.z_dim, ctx.data_info.shape, params.width, params.max_width, params.private_layers)


class CoupledDiscriminator(nn.Module):
    """Each half of a pair -> its domain's first ``private_layers`` strided convolutions ->
    layers shared by both domains -> one logit per domain: ``(N, 2)``."""

    def __init__(self, shape: tuple[int, ...], width: int, max_width: int, private_layers: int):
        super().__init__()
        self.domain_shape = domain_shape(tuple(shape), "coupled-discriminator")
        downs = _layers_for(self.domain_shape[-1], self.domain_shape, "coupled-discriminator")
        if not 1 <= private_layers <= downs:
            raise GanforgeError(f"coupled-discriminator has {downs} downsampling layers at this size; private_layers "
                                f"must be 1 to {downs}, got {private_layers}")
        widths = [self.domain_shape[0]] + [min(width * 2 ** i, max_width) for i in range(downs)]

        def block(i: int) -> list[nn.Module]:
            return [nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1, bias=i == 0)] + (
                [nn.BatchNorm2d(widths[i + 1])] if i > 0 else []) + [nn.LeakyReLU(0.2, inplace=True)]

        self.private = nn.ModuleList(nn.Sequential(*[m for i in range(private_layers) for m in block(i)])
                                     for _ in range(2))
        self.shared = nn.Sequential(*[m for i in range(private_layers, downs) for m in block(i)],
                                    nn.Conv2d(widths[-1], 1, 4, 1, 0))
        self.apply(dcgan_init)

    def forward(self, pairs: Tensor) -> Tensor:
        # a pass of the shared layers per domain: batch norm keeps each domain's own statistics
        return torch.stack([self.shared(private(half)).flatten() for private, half in zip(self.private, halves(pairs))], 1)

    @classmethod
    def build(cls, params, ctx) -> "CoupledDiscriminator":
        return cls(ctx.data_info.shape, params.width, params.max_width, params.private_layers)


class CoGAN(Unconditional):
    """The sum of the two domains' GAN games (the standard game on the coupled discriminator's
    two logits); the coupling is in the nets' shared weights."""

    name = "cogan"

    def __init__(self, params, ctx):
        for role, name in (("generator", params.generator), ("discriminator", params.discriminator)):
            if not isinstance(ctx.nets[name], Coupled):
                raise GanforgeError(f"the cogan objective couples two domains through shared weights; set "
                                    f"models.{name}.type: coupled-{role}")
        super().__init__(params, ctx)


class PixelAgreement(Evaluator):
    """CoGAN's pixel agreement ratio: the second domain's mapping applied to the first image of
    each generated pair, both binarised at mid-grey, and the share of pixels that agree."""

    name = "pixel-agreement"
    keys = ("pixel_agreement",)

    def __init__(self, params: Any, ctx: Any = None):
        self.p = params
        self.samples = params.samples
        self.agree = self.count = 0

    def update(self, batch: dict[str, Tensor], session: Any) -> None:
        fake = batch["fake"].float()
        domain_shape(tuple(fake.shape[1:]), "pixel-agreement")
        a, b = halves(fake)
        mapped = MAPPINGS[self.p.mapping](a)
        self.agree += float(((mapped > 0) == (b > 0)).float().flatten(1).mean(1).sum())
        self.count += len(fake)

    def compute(self) -> dict[str, float]:
        return {"pixel_agreement": self.agree / self.count}

    def protocol(self) -> dict[str, Any]:
        return {"samples": self.count, "mapping": self.p.mapping, "threshold": "mid-grey (0 in [-1, 1])"}
