"""Image-to-image generators: pix2pix's U-Net and CycleGAN's ResNet. Each maps a source image
(``ctx.data_info.source_shape``) to an image of the data's shape, in [-1, 1]."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.sdk import GanforgeError
from ganforge_translation.layers import NoiseDropout, conv_bias, init_weights, norm_layer, resnet_trunk, to_image


def translation_shapes(ctx, net: str, reverse: bool = False) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(input shape, output shape) of a net on the recipe's data: source -> target, or target ->
    source with ``reverse``; a clear error for data that is not translation data."""
    info = ctx.data_info
    if info is None or not info.is_translation:
        raise GanforgeError(f"{net} translates images, but the recipe's data has no `source` images; use a "
                            "translation data adapter (paired-folder, unpaired-folder, edges, shapes-edges, shapes-recolor)")
    return (info.shape, info.source_shape) if reverse else (info.source_shape, info.shape)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: ``depth`` stride-2 convolutions down (to 1x1 for 256 px and depth 8) and
    transposed convolutions back up, each decoder level joined to its encoder level by a skip
    connection; dropout in the ``dropout_blocks`` innermost decoder levels is the noise source."""

    def __init__(self, in_channels: int, out_channels: int, size: int, depth: int = 8, width: int = 64,
                 max_width: int = 512, norm: str = "batch", dropout: float = 0.5, dropout_blocks: int = 3,
                 test_dropout: bool = False, skip: bool = True, outer_bias: bool = True,
                 test_batch_stats: bool = False):
        super().__init__()
        if size % 2**depth:
            fits = max(d for d in range(1, depth + 1) if size % 2**d == 0) if size % 2 == 0 else 0
            raise GanforgeError(f"unet-generator with depth {depth} needs an image side that is a multiple of "
                                f"{2**depth}; the data's is {size}. Set depth: {fits} or less, or resize the data"
                                if fits else f"unet-generator needs an even image side; the data's is {size}")
        self.in_channels, self.out_channels, self.size, self.skip = in_channels, out_channels, size, skip
        channels = [min(width * 2**i, max_width) for i in range(depth)]
        bias = conv_bias(norm)
        self.down = nn.ModuleList()
        for i, c in enumerate(channels):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(in_channels if i == 0 else channels[i - 1], c, 4, 2, 1,
                                    bias=bias or (i == 0 and outer_bias)))
            if 0 < i < depth - 1:  # neither the outermost nor the innermost level is normalised
                layers.append(norm_layer(norm, c, test_batch_stats))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            incoming = channels[i] * (2 if skip and i < depth - 1 else 1)
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(incoming, out_channels, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ReLU(True), nn.ConvTranspose2d(incoming, channels[i - 1], 4, 2, 1, bias=bias),
                      norm_layer(norm, channels[i - 1], test_batch_stats)]
            if dropout and 1 <= depth - 1 - i <= dropout_blocks:
                layers.append(NoiseDropout(dropout, test_dropout))
            self.up.append(nn.Sequential(*layers))
        init_weights(self)

    def forward(self, source: Tensor) -> Tensor:
        skips = []
        x = source
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        for level, block in enumerate(self.up):
            if level and self.skip:
                x = torch.cat([x, skips.pop()], 1)
            x = block(x)
        return x

    @classmethod
    def build(cls, params, ctx) -> "UNetGenerator":
        source, target = translation_shapes(ctx, "unet-generator", params.reverse)
        return cls(source[0], target[0], target[-1], params.depth, params.width, params.max_width, params.norm,
                   params.dropout, params.dropout_blocks, params.test_dropout, params.skip, params.outer_bias,
                   params.test_batch_stats)


class ResNetGenerator(nn.Module):
    """CycleGAN's generator (Johnson et al.): a 7x7 convolution, ``downsamplings`` stride-2
    convolutions, ``blocks`` residual blocks, as many transposed convolutions back up and a 7x7
    convolution to the output; reflection padding and instance norm throughout."""

    def __init__(self, in_channels: int, out_channels: int, size: int, blocks: int = 9, width: int = 64,
                 downsamplings: int = 2, norm: str = "instance", dropout: float = 0.0, test_dropout: bool = False,
                 test_batch_stats: bool = False):
        super().__init__()
        if size % 2**downsamplings:
            raise GanforgeError(f"resnet-generator with {downsamplings} downsamplings needs an image side that is a "
                                f"multiple of {2**downsamplings}; the data's is {size}")
        self.in_channels, self.out_channels, self.size = in_channels, out_channels, size
        layers, channels = resnet_trunk(in_channels, width, downsamplings, blocks, norm, dropout, test_dropout,
                                        test_batch_stats)
        self.net = nn.Sequential(*layers, *to_image(channels, out_channels))
        init_weights(self)

    def forward(self, source: Tensor) -> Tensor:
        return self.net(source)

    @classmethod
    def build(cls, params, ctx) -> "ResNetGenerator":
        source, target = translation_shapes(ctx, "resnet-generator", params.reverse)
        return cls(source[0], target[0], target[-1], params.blocks, params.width, params.downsamplings, params.norm,
                   params.dropout, params.test_dropout, params.test_batch_stats)
