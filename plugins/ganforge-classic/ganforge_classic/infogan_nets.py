"""The MNIST nets of InfoGAN (Chen et al. 2016, appendix C.1): fully connected layers around two
(transposed) convolutions, for images whose side is a multiple of 4 (28 x 28 MNIST as is).
D's last hidden layer is shared by the real/fake logit and the Q head."""

from __future__ import annotations

from torch import Tensor, nn

from ganforge.sdk import GanforgeError
from ganforge_classic.dcgan import dcgan_init


def _quarter(shape: tuple[int, ...], name: str) -> int:
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] % 4:
        raise GanforgeError(f"{name} needs square images whose side is a multiple of 4; the data gives {shape}. "
                            "Resize the data (for example `data.size: 28`).")
    return shape[1] // 4


def q_head(features: int, outputs: int, hidden: int) -> nn.Module:
    """Q: linear, batch norm, leaky ReLU, linear; or, with no ``hidden`` units, one linear layer."""
    if not hidden:
        return nn.Linear(features, outputs)
    return nn.Sequential(nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, inplace=True),
                         nn.Linear(hidden, outputs))


class InfoGANGenerator(nn.Module):
    """z -> FC ``fc_width`` -> FC to 2*``width`` maps of side/4 -> two transposed convolutions
    (``width`` maps of side/2, then the image); batch norm and ReLU between, tanh out."""

    def __init__(self, z_dim: int, shape: tuple[int, ...], width: int = 64, fc_width: int = 1024):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(shape)
        side = _quarter(shape, "infogan-generator")
        self.net = nn.Sequential(
            nn.Linear(z_dim, fc_width, bias=False), nn.BatchNorm1d(fc_width), nn.ReLU(inplace=True),
            nn.Linear(fc_width, 2 * width * side * side, bias=False), nn.BatchNorm1d(2 * width * side * side),
            nn.ReLU(inplace=True), nn.Unflatten(1, (2 * width, side, side)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, shape[0], 4, 2, 1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)

    @classmethod
    def build(cls, params, ctx) -> "InfoGANGenerator":
        return cls(params.z_dim, ctx.data_info.shape, params.width, params.fc_width)


class InfoGANDiscriminator(nn.Module):
    """An image -> two strided convolutions (``width``, 2*``width``) -> FC ``fc_width``: the
    shared features, read by a one-logit head and, with ``aux_outputs``, by the Q head (an MLP
    of ``aux_hidden`` units), returning ``(logit, aux)``."""

    def __init__(self, shape: tuple[int, ...], width: int = 64, fc_width: int = 1024, aux_outputs: int = 0,
                 aux_hidden: int = 128):
        super().__init__()
        side = _quarter(shape, "infogan-discriminator")
        self.aux_outputs = aux_outputs
        self.trunk = nn.Sequential(
            nn.Conv2d(shape[0], width, 4, 2, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.1, inplace=True),
            nn.Flatten(), nn.Linear(2 * width * side * side, fc_width, bias=False), nn.BatchNorm1d(fc_width),
            nn.LeakyReLU(0.1, inplace=True))
        self.head = nn.Linear(fc_width, 1)
        self.aux = q_head(fc_width, aux_outputs, aux_hidden) if aux_outputs else None
        self.apply(dcgan_init)

    def features(self, x: Tensor) -> Tensor:
        """The shared hidden layer (used by feature matching)."""
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        features = self.trunk(x)
        logit = self.head(features).flatten()
        return (logit, self.aux(features)) if self.aux is not None else logit

    @classmethod
    def build(cls, params, ctx) -> "InfoGANDiscriminator":
        return cls(ctx.data_info.shape, params.width, params.fc_width, params.aux_outputs, params.aux_hidden)
