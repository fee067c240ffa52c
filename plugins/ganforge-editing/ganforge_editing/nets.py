"""SRGAN's networks (Ledig et al. 2017): the SRResNet generator (residual blocks, sub-pixel
upsampling) and its VGG-style discriminator."""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import GanforgeError


class ResidualBlock(nn.Module):
    def __init__(self, width: int, batch_norm: bool):
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(width)) if batch_norm else nn.Identity
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), norm(), nn.PReLU(width),
                                  nn.Conv2d(width, width, 3, padding=1), norm())

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """conv9-PReLU, ``blocks`` residual blocks, conv-BN plus the long skip, then one
    (conv -> 4x channels -> PixelShuffle(2) -> PReLU) stage per factor of two, and a conv9 out.
    With ``bicubic_skip`` the net predicts a correction to bicubic upsampling (starting at it)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int, width: int, blocks: int,
                 batch_norm: bool, bicubic_skip: bool):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise GanforgeError(f"srresnet-generator upsamples by powers of two (2, 4, 8); the data's scale is {scale}")
        self.scale, self.bicubic_skip = scale, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(in_channels, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width, batch_norm) for _ in range(blocks)])
        self.join = nn.Sequential(nn.Conv2d(width, width, 3, padding=1),
                                  nn.BatchNorm2d(width) if batch_norm else nn.Identity())
        up = []
        for _ in range(int(math.log2(scale))):
            up += [nn.Conv2d(width, width * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.upsample = nn.Sequential(*up)
        self.tail = nn.Conv2d(width, out_channels, 9, padding=4)
        if bicubic_skip:  # start exactly at the bicubic baseline
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: Tensor) -> Tensor:
        features = self.head(x)
        out = self.tail(self.upsample(features + self.join(self.blocks(features))))
        if self.bicubic_skip:
            return (out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)).clamp(-1, 1)
        return out.tanh()

    @classmethod
    def build(cls, params, ctx) -> "SRResNet":
        info = ctx.data_info
        if info is None or info.source_shape is None or len(info.source_shape) != 3:
            raise GanforgeError("srresnet-generator upsamples images: use super-resolution data "
                                "(super-resolution, shapes-super-resolution)")
        scale = info.shape[1] // info.source_shape[1]
        if scale * info.source_shape[1] != info.shape[1]:
            raise GanforgeError(f"srresnet-generator: the target side {info.shape[1]} is not a whole multiple of the "
                                f"source side {info.source_shape[1]}")
        return cls(info.source_shape[0], info.shape[0], scale, params.width, params.blocks, params.batch_norm,
                   params.bicubic_skip)


class SRGANDiscriminator(nn.Module):
    """Eight 3x3 conv layers (stride 1 and 2 in turn, channels doubling every second layer from
    ``width``), LeakyReLU 0.2 and batch norm, then dense 1024 and one logit per image."""

    def __init__(self, channels: int, width: int, layers: int, dense: int):
        super().__init__()
        body, c_in = [], channels
        for i in range(layers):
            c_out = width * 2 ** (i // 2)
            body.append(nn.Conv2d(c_in, c_out, 3, stride=1 + i % 2, padding=1))
            if i:
                body.append(nn.BatchNorm2d(c_out))
            body.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.body = nn.Sequential(*body)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, dense), nn.LeakyReLU(0.2),
                                  nn.Linear(dense, 1))
        self.conditional = False

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x)).flatten()

    @classmethod
    def build(cls, params, ctx) -> "SRGANDiscriminator":
        info = ctx.data_info
        if info is None or not info.is_image:
            raise GanforgeError("srgan-discriminator judges images; this data holds vectors")
        return cls(info.shape[0], params.width, params.layers, params.dense)
