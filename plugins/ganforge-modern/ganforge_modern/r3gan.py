"""R3GAN's nets (Huang, Gokaslan, Kuleshov, Tompkin, NeurIPS 2024, "The GAN is dead; long live
the GAN! A Modern GAN Baseline"): a modernised ResNet without normalisation layers. Each
residual block is an inverted bottleneck (1x1 expansion, grouped 3x3 convolution, 1x1
projection) with biased leaky ReLUs; the last convolution of every block starts at zero and the
others are scaled by the number of blocks (fix-up initialisation), so the nets start as
identities plus a linear path. Resampling is bilinear-like filtering with [1, 3, 3, 1]; the
generator starts from a learned 4x4 basis modulated by a linear map of z, the discriminator
ends with a 4x4 depthwise convolution and a linear map to one logit."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import GanforgeError
from ganforge_modern.stylegan2 import check_resolution, image_info

LEAK = 0.2
ACTIVATION_GAIN = math.sqrt(2 / (1 + LEAK ** 2))


def msr_init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """Weights N(0, gain^2 / fan_in) (He's initialisation with an explicit gain); no bias."""
    fan_in = layer.weight.shape[1] * layer.weight[0][0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    return layer


def conv(in_channels: int, out_channels: int, kernel: int, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    return msr_init(nn.Conv2d(in_channels, out_channels, kernel, padding=(kernel - 1) // 2, groups=groups, bias=False),
                    gain)


class BiasedLeakyReLU(nn.Module):
    """A learned bias per channel, then leaky ReLU (0.2)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1).to(x.dtype), LEAK)


class InvertedBottleneck(nn.Module):
    """x + project(act(grouped(act(expand(x))))): channels x ``expansion`` inside, ``cardinality``
    groups in the 3x3 convolution; ``blocks`` (all the net's blocks) scales the initialisation."""

    def __init__(self, channels: int, cardinality: int, expansion: int, blocks: int, kernel: int = 3):
        super().__init__()
        inner = channels * expansion
        if inner % cardinality:
            raise GanforgeError(f"an R3GAN block of {channels} channels expanded {expansion}x has {inner} channels, which "
                                f"{cardinality} groups do not divide; choose a cardinality that divides {inner}")
        gain = ACTIVATION_GAIN * blocks ** (-1 / 4)  # fix-up: L^(-1/(2m-2)) for m = 3 layers per block
        self.expand = conv(channels, inner, 1, gain=gain)
        self.act1 = BiasedLeakyReLU(inner)
        self.grouped = conv(inner, inner, kernel, groups=cardinality, gain=gain)
        self.act2 = BiasedLeakyReLU(inner)
        self.project = conv(inner, channels, 1, gain=0.0)  # the block starts as the identity

    def forward(self, x: Tensor) -> Tensor:
        return x + self.project(self.act2(self.grouped(self.act1(self.expand(x)))))


def lowpass_kernel() -> Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])  # [1, 2, 1] convolved with [1, 1]
    kernel = taps[:, None] * taps[None, :]
    return kernel / kernel.sum()


class Upsample(nn.Module):
    """A 1x1 convolution when the channels change, then 2x upsampling through the low-pass filter
    (a depthwise transposed convolution)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.linear = conv(in_channels, out_channels, 1) if in_channels != out_channels else None
        self.register_buffer("kernel", (lowpass_kernel() * 4).expand(out_channels, 1, 4, 4).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.linear is not None:
            x = self.linear(x)
        return F.conv_transpose2d(x, self.kernel.to(x.dtype), stride=2, padding=1, groups=self.kernel.shape[0])


class Downsample(nn.Module):
    """2x downsampling through the low-pass filter (a depthwise convolution), then a 1x1
    convolution when the channels change."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.linear = conv(in_channels, out_channels, 1) if in_channels != out_channels else None
        self.register_buffer("kernel", lowpass_kernel().expand(in_channels, 1, 4, 4).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.conv2d(x, self.kernel.to(x.dtype), stride=2, padding=1, groups=self.kernel.shape[0])
        return self.linear(x) if self.linear is not None else x


class GenerativeBasis(nn.Module):
    """A learned 4x4 basis per channel, scaled per sample by a linear map of z."""

    def __init__(self, z_dim: int, channels: int):
        super().__init__()
        self.basis = nn.Parameter(torch.randn(channels, 4, 4))
        self.linear = msr_init(nn.Linear(z_dim, channels, bias=False))

    def forward(self, z: Tensor) -> Tensor:
        return self.basis[None] * self.linear(z)[:, :, None, None]


class DiscriminativeBasis(nn.Module):
    """A 4x4 depthwise convolution to one value per channel, then a linear map to the outputs."""

    def __init__(self, channels: int, outputs: int):
        super().__init__()
        self.basis = msr_init(nn.Conv2d(channels, channels, 4, groups=channels, bias=False))
        self.linear = msr_init(nn.Linear(channels, outputs, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.basis(x).flatten(1))


def stage_settings(resolution: int, widths: list[int] | None, cardinalities: list[int] | None,
                   blocks: list[int] | None, net: str) -> tuple[list[int], list[int], list[int]]:
    """(widths, cardinalities, blocks), one per stage from 4 px to the data's side (the paper's
    CIFAR-10 nets where not given); a located error when a list's length differs."""
    stages = check_resolution(resolution, net) - 1
    settings = (("widths", widths or [768] * stages), ("cardinalities", cardinalities or [96] * stages),
                ("blocks", blocks or [2] * stages))
    for name, values in settings:
        if len(values) != stages:
            raise GanforgeError(f"{net}: `{name}` has {len(values)} entries, but {resolution} px images need one per "
                                f"stage from 4 px up, {stages}; give {stages} values (e.g. {name}: {[values[0]] * stages})")
    return tuple(values for _, values in settings)


OUTPUTS = ("linear", "tanh", "clamp")
"""How the generator's image layer ends (see :class:`R3GANGenerator`)."""


class R3GANGenerator(nn.Module):
    """z -> image: the basis at 4 px, then per stage an upsampling (from the second stage on) and
    residual blocks, and a 1x1 convolution to the image channels. ``output="linear"`` (the
    paper's) is unbounded while training and clamped to [-1, 1] otherwise; ``"tanh"`` bounds
    it; ``"clamp"`` clamps it while training too, with the gradient of the identity."""

    def __init__(self, resolution: int, channels: int = 3, z_dim: int = 64, widths: list[int] | None = None,
                 cardinalities: list[int] | None = None, blocks: list[int] | None = None, expansion: int = 2,
                 output: str = "linear"):
        super().__init__()
        widths, cardinalities, blocks = stage_settings(resolution, widths, cardinalities, blocks, "r3gan-generator")
        if output not in OUTPUTS:
            raise GanforgeError(f"r3gan-generator: output {output!r} is not one of {', '.join(OUTPUTS)}")
        self.output = output
        depth = sum(blocks)
        self.z_dim = z_dim
        self.stages = nn.ModuleList()
        for i in range(len(widths)):
            transition = GenerativeBasis(z_dim, widths[0]) if i == 0 else Upsample(widths[i - 1], widths[i])
            self.stages.append(nn.Sequential(transition, *[InvertedBottleneck(widths[i], cardinalities[i], expansion, depth)
                                                           for _ in range(blocks[i])]))
        self.to_image = conv(widths[-1], channels, 1)

    def forward(self, z: Tensor) -> Tensor:
        x = z
        for stage in self.stages:
            x = stage(x)
        image = self.to_image(x)
        if self.output == "tanh":
            return torch.tanh(image)
        if self.output == "clamp" and self.training:  # the clamped value, the identity's gradient
            return image + (image.clamp(-1, 1) - image).detach()
        return image if self.training else image.clamp(-1, 1)

    @classmethod
    def build(cls, params, ctx) -> "R3GANGenerator":
        info = image_info(ctx, "r3gan-generator")
        return cls(info.size, info.channels, params.z_dim, params.widths, params.cardinalities, params.blocks,
                   params.expansion, params.output)


class R3GANDiscriminator(nn.Module):
    """image -> logit: a 1x1 convolution to the first width, per stage residual blocks and a
    downsampling (the last stage ends with the 4x4 basis instead)."""

    def __init__(self, resolution: int, channels: int = 3, widths: list[int] | None = None,
                 cardinalities: list[int] | None = None, blocks: list[int] | None = None, expansion: int = 2):
        super().__init__()
        widths, cardinalities, blocks = stage_settings(resolution, widths, cardinalities, blocks, "r3gan-discriminator")
        stages, depth = len(widths), sum(blocks)
        self.from_image = conv(channels, widths[0], 1)
        self.stages = nn.ModuleList()
        for i in range(stages):
            transition = Downsample(widths[i], widths[i + 1]) if i + 1 < stages else DiscriminativeBasis(widths[i], 1)
            self.stages.append(nn.Sequential(*[InvertedBottleneck(widths[i], cardinalities[i], expansion, depth)
                                               for _ in range(blocks[i])], transition))

    def forward(self, x: Tensor) -> Tensor:
        x = self.from_image(x)
        for stage in self.stages:
            x = stage(x)
        return x.reshape(x.shape[0])

    @classmethod
    def build(cls, params, ctx) -> "R3GANDiscriminator":
        info = image_info(ctx, "r3gan-discriminator")
        return cls(info.size, info.channels, params.widths, params.cardinalities, params.blocks, params.expansion)
