"""DCGAN (Radford et al. 2016) for any square power-of-two size from 16 up."""

from __future__ import annotations

import math

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.errors import GanforgeError
from ganforge_classic.packing import pack


def _layers_for(size: int, shape: tuple[int, ...], name: str) -> int:
    if len(shape) != 3 or shape[1] != shape[2] or size < 16 or size & (size - 1):
        raise GanforgeError(f"{name} needs square images whose side is a power of two from 16 up; the data "
                            f"gives {shape}. Resize the data (for example `data.size: 32`).")
    return int(math.log2(size)) - 2  # halvings from size to 4


def dcgan_init(module: nn.Module) -> None:
    """Weights from N(0, 0.02); batch-norm scales from N(1, 0.02), as in the DCGAN paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int = 64, max_width: int = 512,
                 batch_norm: bool = True):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(shape)
        ups = _layers_for(shape[-1], shape, "dcgan-generator")
        widths = [min(width * 2 ** i, max_width) for i in reversed(range(ups))]
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=not batch_norm)]
        for i in range(ups):
            layers += [nn.BatchNorm2d(widths[i])] if batch_norm else []
            layers.append(nn.ReLU(inplace=True))
            out = widths[i + 1] if i + 1 < ups else shape[0]
            layers.append(nn.ConvTranspose2d(widths[i], out, 4, 2, 1, bias=not batch_norm or i + 1 == ups))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z.view(len(z), self.z_dim, 1, 1))

    @classmethod
    def build(cls, params, ctx) -> "DCGANGenerator":
        return cls(params.z_dim, ctx.data_info.shape, params.width, params.max_width, params.batch_norm)


class DCGANDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], width: int = 64, max_width: int = 512, norm: str = "batch",
                 pack: int = 1):
        super().__init__()
        self.pack = pack
        downs = _layers_for(shape[-1], shape, "dcgan-discriminator")
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = []
        channels = shape[0] * pack
        for i in range(downs):
            out = min(width * 2 ** i, max_width)
            layers.append(wrap(nn.Conv2d(channels, out, 4, 2, 1, bias=norm != "batch" or i == 0)))
            if norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels = out
        layers.append(wrap(nn.Conv2d(channels, 1, 4, 1, 0)))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(pack(x, self.pack)).flatten()

    @classmethod
    def build(cls, params, ctx) -> "DCGANDiscriminator":
        return cls(ctx.data_info.shape, params.width, params.max_width, params.norm, params.pack)
