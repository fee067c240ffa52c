"""PatchGAN and multi-scale discriminators. Both judge an image (joined to its source image
when ``conditional``, as pix2pix's D judges pairs) and are called as ``d(image, source)``:

* ``d(image, source)`` gives patch logits: a map for PatchGAN, a list of maps (one per scale)
  for the multi-scale discriminator;
* ``d(image, source, features=True)`` gives, per scale, every block's activations, the last
  being the logits (pix2pixHD's feature matching reads them).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.sdk import GanforgeError
from ganforge_translation.generators import translation_shapes
from ganforge_translation.layers import conv_bias, init_weights, norm_layer

# Receptive field (px) of the pix2pix PatchGAN -> its number of 4x4 convolutions before the last
# two (n layers in pix2pix's code: 16 px is 1, 70 px is 3, 286 px is 5).
LAYERS_FOR_FIELD = {16: 1, 34: 2, 70: 3, 142: 4, 286: 5}


def receptive_field(layers: int) -> int:
    """Receptive field of the PatchGAN with ``layers`` stride-2 4x4 convolutions followed by two
    stride-1 4x4 convolutions (0 layers: the 1x1 'PixelGAN')."""
    if layers == 0:
        return 1
    field = 1 + 3 + 3  # the two stride-1 4x4 convolutions
    for _ in range(layers):
        field = (field - 1) * 2 + 4
    return field


class PatchGAN(nn.Module):
    """pix2pix's PatchGAN: every output logit judges one ``receptive_field`` x ``receptive_field``
    patch (1 px is the PixelGAN of 1x1 convolutions; 286 px covers a whole 256 px image)."""

    def __init__(self, channels: int, field: int = 70, width: int = 64, max_width: int = 512, norm: str = "batch",
                 conditional: bool = False):
        super().__init__()
        self.conditional, self.receptive_field = conditional, field
        spectral = norm == "spectral"
        norm = "none" if spectral else norm
        wrap = spectral_norm if spectral else (lambda m: m)
        bias = conv_bias(norm)
        blocks: list[nn.Module] = []
        if field == 1:
            blocks = [nn.Sequential(wrap(nn.Conv2d(channels, width, 1)), nn.LeakyReLU(0.2, True)),
                      nn.Sequential(wrap(nn.Conv2d(width, width * 2, 1, bias=bias)), norm_layer(norm, width * 2),
                                    nn.LeakyReLU(0.2, True)),
                      wrap(nn.Conv2d(width * 2, 1, 1))]
        else:
            layers = LAYERS_FOR_FIELD[field]
            blocks.append(nn.Sequential(wrap(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)))
            c = width
            for n in range(1, layers + 1):
                out, stride = min(width * 2**n, max_width), 2 if n < layers else 1
                blocks.append(nn.Sequential(wrap(nn.Conv2d(c, out, 4, stride, 1, bias=bias)), norm_layer(norm, out),
                                            nn.LeakyReLU(0.2, True)))
                c = out
            blocks.append(wrap(nn.Conv2d(c, 1, 4, 1, 1)))
        self.blocks = nn.ModuleList(blocks)
        init_weights(self)

    def join(self, image: Tensor, source: Tensor | None) -> Tensor:
        if not self.conditional:
            return image
        if source is None:
            raise GanforgeError("this discriminator is conditional (it judges source/image pairs) but was given no "
                                "source image")
        return torch.cat([source, image], 1)

    def forward(self, image: Tensor, source: Tensor | None = None, features: bool = False):
        x = self.join(image, source)
        activations = []
        for block in self.blocks:
            x = block(x)
            activations.append(x)
        return [activations] if features else x

    @classmethod
    def build(cls, params, ctx) -> "PatchGAN":
        channels = judged_channels(params, ctx, "patchgan-discriminator")
        check_size(params, ctx, "patchgan-discriminator")
        net = cls(channels, params.receptive_field, params.width, params.max_width, params.norm, params.conditional)
        net.smallest_input = smallest_input(params.receptive_field)
        return net


class MultiScaleDiscriminator(nn.Module):
    """pix2pixHD's discriminator: ``scales`` PatchGANs, the k-th judging the input downsampled
    k times by 3x3 average pooling of stride 2."""

    def __init__(self, channels: int, scales: int = 3, field: int = 70, width: int = 64, max_width: int = 512,
                 norm: str = "instance", conditional: bool = False):
        super().__init__()
        self.conditional, self.scales = conditional, scales
        self.nets = nn.ModuleList(PatchGAN(channels, field, width, max_width, norm, conditional) for _ in range(scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, image: Tensor, source: Tensor | None = None, features: bool = False):
        x = self.nets[0].join(image, source)
        outputs = []
        for index, net in enumerate(self.nets):
            if index:
                x = self.downsample(x)
            activations = []
            y = x
            for block in net.blocks:
                y = block(y)
                activations.append(y)
            outputs.append(activations if features else y)
        return outputs

    @classmethod
    def build(cls, params, ctx) -> "MultiScaleDiscriminator":
        channels = judged_channels(params, ctx, "multiscale-discriminator")
        check_size(params, ctx, "multiscale-discriminator", params.scales)
        net = cls(channels, params.scales, params.receptive_field, params.width, params.max_width, params.norm,
                  params.conditional)
        net.smallest_input = smallest_input(params.receptive_field) * 2 ** (params.scales - 1)
        return net


def smallest_input(field: int) -> int:
    """The smallest image side a PatchGAN takes: its stride-2 layers must leave 3 px or more
    for the two 4x4 convolutions at the end."""
    return 1 if field == 1 else 3 * 2 ** LAYERS_FOR_FIELD[field]


def check_size(params, ctx, net: str, scales: int = 1) -> None:
    size, need = ctx.data_info.size, smallest_input(params.receptive_field) * 2 ** (scales - 1)
    if size < need:
        raise GanforgeError(f"{net} with receptive_field {params.receptive_field}"
                            + (f" and {scales} scales" if scales > 1 else "")
                            + f" needs images of at least {need} px; the data's are {size} px. Use a smaller "
                            + ("receptive_field or fewer scales" if scales > 1 else "receptive_field"))


def judged_channels(params, ctx, net: str) -> int:
    """Input channels: the judged domain's, plus the source's for a conditional discriminator."""
    source, target = translation_shapes(ctx, net)
    judged = target if params.domain == "target" else source
    if params.conditional and params.domain == "source":
        raise GanforgeError(f"{net}: a conditional discriminator judges (source, target) pairs; it cannot also "
                            "judge the source domain. Set domain: target, or conditional: false")
    return judged[0] + (source[0] if params.conditional else 0)


def scales(output) -> list:
    """A discriminator's output as a list over scales (PatchGAN has one)."""
    return output if isinstance(output, list) else [output]
