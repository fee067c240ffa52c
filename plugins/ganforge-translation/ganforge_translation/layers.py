"""Building blocks shared by the translation nets: normalisation by name, dropout that can stay
on at test time, and the reflection-padded residual block."""

from __future__ import annotations

from torch import Tensor, nn
import torch.nn.functional as F


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``batch``, ``instance`` (no learned affine, no running statistics, as in CycleGAN) or ``none``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    return nn.Identity()


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

    def __init__(self, channels: int, norm: str, dropout: float = 0.0):
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   norm_layer(norm, channels), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels)]
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
