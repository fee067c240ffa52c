"""Building blocks shared by the translation nets: normalisation by name (and batch norm as the
reference test script runs it), dropout that can stay on at test time, and the reflection-padded
residual block."""

from __future__ import annotations

from torch import Tensor, nn
import torch.nn.functional as F


def norm_layer(kind: str, channels: int, test_batch_stats: bool = False) -> nn.Module:
    """``batch``, ``instance`` (no learned affine, no running statistics, as in CycleGAN) or ``none``.
    ``test_batch_stats``: batch norm that normalises each image by its own statistics when not
    training (see :class:`ImageStatsBatchNorm`)."""
    if kind == "batch":
        return ImageStatsBatchNorm(channels) if test_batch_stats else nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    return nn.Identity()


class ImageStatsBatchNorm(nn.BatchNorm2d):
    """Batch norm as the pix2pix/CycleGAN reference test script runs it without ``--eval``: the
    nets stay in training mode on batches of one image, so each image is normalised by its own
    mean and variance (then scaled and shifted by the learned affine); the running statistics
    are not used. Training is ordinary batch norm."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def conv_bias(norm: str) -> bool:
    """Batch norm makes a convolution's bias redundant; instance norm (without affine) and no norm do not."""
    return norm != "batch"


class NoiseDropout(nn.Module):
    """Dropout as a noise source (pix2pix): active while training, and at test time too when ``always``."""

    def __init__(self, p: float, always: bool = False):
        super().__init__()
        self.p, self.always = p, always

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training or self.always)


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with a skip connection (Johnson et al., CycleGAN)."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0, test_dropout: bool = False,
                 test_batch_stats: bool = False):
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   norm_layer(norm, channels, test_batch_stats), nn.ReLU(True)]
        if dropout:
            layers.append(NoiseDropout(dropout, test_dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                   norm_layer(norm, channels, test_batch_stats)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """pix2pix/CycleGAN initialisation: convolutions N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return net


def resnet_trunk(in_channels: int, width: int, downsamplings: int, blocks: int, norm: str,
                 dropout: float = 0.0, test_dropout: bool = False,
                 test_batch_stats: bool = False) -> tuple[list[nn.Module], int]:
    """The Johnson et al. trunk shared by CycleGAN's generator and pix2pixHD's global one: a
    reflection-padded 7x7 convolution, ``downsamplings`` stride-2 convolutions doubling the
    channels, ``blocks`` residual blocks and transposed convolutions back up. Returns the layers
    and the channels they end with (``width``)."""
    bias = conv_bias(norm)

    def norm_of(channels: int) -> nn.Module:
        return norm_layer(norm, channels, test_batch_stats)

    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7, bias=bias),
                               norm_of(width), nn.ReLU(True)]
    c = width
    for _ in range(downsamplings):
        layers += [nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias), norm_of(c * 2), nn.ReLU(True)]
        c *= 2
    layers += [ResnetBlock(c, norm, dropout, test_dropout, test_batch_stats) for _ in range(blocks)]
    for _ in range(downsamplings):
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias), norm_of(c // 2),
                   nn.ReLU(True)]
        c //= 2
    return layers, c


def to_image(channels: int, out_channels: int) -> nn.Sequential:
    """The last layer of both: a reflection-padded 7x7 convolution to the image, then tanh."""
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh())
