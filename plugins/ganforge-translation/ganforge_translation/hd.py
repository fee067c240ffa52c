"""pix2pixHD's generator: a global generator that works at half resolution and a local
enhancer that adds the full-resolution detail, trained coarse to fine."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.sdk import GanforgeError
from ganforge_translation.generators import translation_shapes
from ganforge_translation.layers import ResnetBlock, conv_bias, init_weights, norm_layer, resnet_trunk, to_image


def half(x: Tensor) -> Tensor:
    """pix2pixHD's downsampling of inputs between scales: 3x3 average pooling of stride 2."""
    return nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class GlobalGenerator(nn.Module):
    """G1: a 7x7 convolution, ``downsamplings`` stride-2 convolutions, ``blocks`` residual
    blocks and as many transposed convolutions back up; ``head`` maps its last features to an image."""

    def __init__(self, in_channels: int, out_channels: int, width: int, downsamplings: int, blocks: int, norm: str):
        super().__init__()
        layers, channels = resnet_trunk(in_channels, width, downsamplings, blocks, norm)
        self.body = nn.Sequential(*layers)
        self.head = to_image(channels, out_channels)

    def forward(self, source: Tensor) -> Tensor:
        return self.head(self.body(source))


class Pix2PixHDGenerator(nn.Module):
    """``g(source_half, coarse=True)``: G1 alone on a half-resolution source (the first training stage).
    ``forward(source)``: G1's features on the downsampled source added to the local enhancer's
    (G2) features of the full-resolution source, then G2's residual blocks and upsampling.
    With ``local_enhancers: 0`` the generator is G1 alone at full resolution. ``freeze_global``
    runs G1 without gradients (pix2pixHD's first epochs of fine training)."""

    def __init__(self, in_channels: int, out_channels: int, size: int, width: int = 32, global_downsamplings: int = 4,
                 global_blocks: int = 9, local_blocks: int = 3, local_enhancers: int = 1, norm: str = "instance",
                 label_classes: int = 0, instance_edges: bool = False):
        super().__init__()
        self.label_classes, self.instance_edges = label_classes, instance_edges
        if label_classes:
            expected = 1 + instance_edges
            if in_channels != expected:
                raise GanforgeError(f"pix2pixhd-generator with label_classes takes label maps of {expected} channel(s) "
                                    f"(label ids{' and instance ids' if instance_edges else ''}); the data's sources "
                                    f"have {in_channels}. Use label-maps data")
            in_channels = label_classes + instance_edges
        elif instance_edges:
            in_channels += 1
        factor = 2 ** (global_downsamplings + local_enhancers)
        if size % factor:
            raise GanforgeError(f"pix2pixhd-generator with {global_downsamplings} global downsamplings and "
                                f"{local_enhancers} local enhancer(s) needs an image side that is a multiple of "
                                f"{factor}; the data's is {size}")
        self.in_channels, self.out_channels, self.size = in_channels, out_channels, size
        self.local_enhancers, self.freeze_global = local_enhancers, False
        global_width = width * 2**local_enhancers
        self.global_net = GlobalGenerator(in_channels, out_channels, global_width, global_downsamplings,
                                          global_blocks, norm)
        if local_enhancers:
            bias = conv_bias(norm)
            c = width
            self.local_down = nn.Sequential(
                nn.ReflectionPad2d(3), nn.Conv2d(in_channels, c, 7, bias=bias), norm_layer(norm, c), nn.ReLU(True),
                nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias), norm_layer(norm, c * 2), nn.ReLU(True))
            self.local_up = nn.Sequential(
                *[ResnetBlock(c * 2, norm) for _ in range(local_blocks)],
                nn.ConvTranspose2d(c * 2, c, 3, 2, 1, output_padding=1, bias=bias), norm_layer(norm, c), nn.ReLU(True),
                *to_image(c, out_channels))
        init_weights(self)

    def encode(self, source: Tensor) -> Tensor:
        """pix2pixHD's input: label ids one-hot encoded (``label_classes``), then the instance
        boundaries (``instance_edges``: 1 where a pixel's instance id differs from a 4-neighbour's),
        both from the source's channels (label ids, then instance ids); images pass as they are."""
        if not (self.label_classes or self.instance_edges):
            return source
        if self.label_classes:
            classes = torch.arange(self.label_classes, device=source.device, dtype=source.dtype).view(1, -1, 1, 1)
            encoded = [(source[:, :1] == classes).to(source.dtype)]
        else:
            encoded = [source[:, :-1]]
        if self.instance_edges:
            encoded.append(instance_boundaries(source[:, -1:]))
        return torch.cat(encoded, 1)

    def coarse(self, source_half: Tensor) -> Tensor:
        """G1's image for a half-resolution source (the coarse training stage)."""
        return self.global_net(self.encode(source_half))

    def forward(self, source: Tensor, coarse: bool = False) -> Tensor:
        if coarse:
            return self.coarse(source)
        source = self.encode(source)
        if not self.local_enhancers:
            return self.global_net(source)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_global):
            coarse_features = self.global_net.body(half(source))
        return self.local_up(self.local_down(source) + coarse_features)

    @classmethod
    def build(cls, params, ctx) -> "Pix2PixHDGenerator":
        source, target = translation_shapes(ctx, "pix2pixhd-generator")
        return cls(source[0], target[0], target[-1], params.width, params.global_downsamplings, params.global_blocks,
                   params.local_blocks, params.local_enhancers, params.norm, params.label_classes,
                   params.instance_edges)


def instance_boundaries(instances: Tensor) -> Tensor:
    """1 where a pixel's id differs from its left, right, upper or lower neighbour's (pix2pixHD's
    edge map of an instance map), else 0; (N, 1, H, W)."""
    edge = torch.zeros_like(instances, dtype=torch.bool)
    horizontal = instances[..., :, 1:] != instances[..., :, :-1]
    vertical = instances[..., 1:, :] != instances[..., :-1, :]
    edge[..., :, 1:] |= horizontal
    edge[..., :, :-1] |= horizontal
    edge[..., 1:, :] |= vertical
    edge[..., :-1, :] |= vertical
    return edge.to(instances.dtype)
