"""StyleGAN2's nets (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"):
a mapping network from z to w, a synthesis network of modulated and demodulated convolutions
with per-layer noise and skip connections to RGB, and a residual discriminator with minibatch
standard deviation. Every weight is stored at unit scale and multiplied by its He constant at
run time (the equalised learning rate); resampling is FIR filtering with [1, 3, 3, 1].

The arithmetic follows the paper's configuration F as both reference implementations compute it
(rosinality's stylegan2-pytorch and NVIDIA's stylegan2-ada-pytorch), so their weights load and
give the same images (``ganforge import stylegan2``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import GanforgeError, rank_randn

SQRT2 = math.sqrt(2.0)
TAPS = (1.0, 3.0, 3.0, 1.0)


def fir_kernel(gain: float = 1.0, channels: int | None = None) -> Tensor:
    """The 2-D [1, 3, 3, 1] filter, normalised to sum to ``gain``; with ``channels``, one copy per
    channel (channels, 1, 4, 4), the weight of a depthwise convolution."""
    taps = torch.tensor(TAPS)
    kernel = taps[:, None] * taps[None, :]
    kernel = kernel / kernel.sum() * gain
    return kernel if channels is None else kernel.expand(channels, 1, *kernel.shape).clone()


def upfirdn(x: Tensor, kernel: Tensor, up: int = 1, pad: tuple[int, int] = (0, 0)) -> Tensor:
    """Upsample by inserting ``up - 1`` zeros after each pixel, pad (before, after) on both
    axes, and filter each channel (a true convolution: the kernel is flipped). ``kernel`` is
    (k, k), or (channels, 1, k, k) for a depthwise convolution of known channels (faster, and
    of fixed shape for exports)."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    if kernel.dim() == 4:
        return F.conv2d(x, kernel.flip([2, 3]).to(x.dtype), groups=kernel.shape[0])
    x = F.conv2d(x.reshape(n * c, 1, *x.shape[2:]), kernel.flip([0, 1]).to(x.dtype)[None, None])  # each channel alone
    return x.reshape(n, c, *x.shape[2:])


def lrelu(x: Tensor, clamp: float | None = None) -> Tensor:
    """Leaky ReLU (0.2) scaled by sqrt(2) to keep the signal's magnitude, optionally clamped."""
    x = F.leaky_relu(x, 0.2) * SQRT2
    return x.clamp(-clamp, clamp) if clamp is not None else x


class EqualizedLinear(nn.Module):
    """A dense layer with the equalised learning rate: weights N(0, 1/lr) scaled at run time
    by lr/sqrt(fan_in), biases by lr."""

    def __init__(self, in_features: int, out_features: int, lr_multiplier: float = 1.0, bias_init: float = 0.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain, self.bias_gain, self.activate = lr_multiplier / math.sqrt(in_features), lr_multiplier, activate

    def forward(self, x: Tensor) -> Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.activate else x


class EqualizedConv(nn.Module):
    """A convolution with the equalised learning rate; ``down`` blurs and strides by 2."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True, down: bool = False,
                 activate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.gain, self.down, self.activate = 1 / math.sqrt(in_channels * kernel * kernel), down, activate
        self.padding = 0 if down else kernel // 2
        excess = len(TAPS) - 2 + kernel - 1
        self.blur_pad = ((excess + 1) // 2, excess // 2)
        self.register_buffer("fir", fir_kernel(channels=in_channels), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.down:
            x = upfirdn(x, self.fir, pad=self.blur_pad)
        x = F.conv2d(x, self.weight * self.gain, self.bias, stride=2 if self.down else 1, padding=self.padding)
        return lrelu(x) if self.activate else x


class ModulatedConv(nn.Module):
    """A convolution whose input channels are scaled per sample by a style (an affine map of w)
    and whose output channels are then renormalised to unit expected variance (demodulation);
    ``up`` doubles the resolution (a transposed convolution, then the blur)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, w_dim: int, demodulate: bool = True,
                 up: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.gain, self.demodulate, self.up = 1 / math.sqrt(in_channels * kernel * kernel), demodulate, up
        self.register_buffer("fir", fir_kernel(4.0, out_channels), persistent=False)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        # modulate the input, convolve with the shared weight, demodulate the output: the same
        # arithmetic as a per-sample weight, with no batch-sized grouping (so exports take any batch)
        styles = self.affine(w) * self.gain
        x = x * styles[:, :, None, None].to(x.dtype)
        if self.up:
            x = upfirdn(F.conv_transpose2d(x, self.weight.transpose(0, 1).to(x.dtype), stride=2), self.fir, pad=(1, 1))
        else:
            x = F.conv2d(x, self.weight.to(x.dtype), padding=self.weight.shape[-1] // 2)
        if self.demodulate:
            scale = (self.weight[None] * styles[:, None, :, None, None]).square().sum([2, 3, 4])
            x = x * torch.rsqrt(scale + 1e-8)[:, :, None, None].to(x.dtype)
        return x


class StyledLayer(nn.Module):
    """A modulated 3x3 convolution, then noise (one learned strength), bias and leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv(in_channels, out_channels, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.conv_clamp = conv_clamp

    def forward(self, x: Tensor, w: Tensor, noise_mode: str) -> Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            x = x + rank_randn(x.shape[0], 1, *x.shape[2:], device=x.device).to(x.dtype) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        return lrelu(x + self.bias.view(1, -1, 1, 1), self.conv_clamp)


class ToRGB(nn.Module):
    """A modulated 1x1 convolution to the image channels (not demodulated), plus a bias."""

    def __init__(self, in_channels: int, channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.conv_clamp = conv_clamp

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        x = self.conv(x, w) + self.bias.view(1, -1, 1, 1)
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp else x


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    return min(channel_base // resolution, channel_max)


def image_info(ctx, net: str):
    """The data's description; a clear error for data that are not images."""
    info = ctx.data_info
    if info is None or not info.is_image:
        raise GanforgeError(f"{net} works on images; the recipe's data are not images (use image data such as "
                            "image-folder, shapes or stacked-mnist)")
    return info


def check_resolution(resolution: int, what: str) -> int:
    """log2 of the resolution; a located error unless it is a power of two of at least 4."""
    if resolution < 4 or resolution & (resolution - 1):
        raise GanforgeError(f"{what} needs an image side that is a power of two (4, 8, ..., 1024); the data's is "
                            f"{resolution}. Resize the data (size: 32, 64, 128, ...)")
    return int(math.log2(resolution))


class Mapping(nn.Module):
    """z -> w: pixel norm, then ``layers`` dense layers with leaky ReLU at a reduced learning rate.
    ``w_avg`` follows the mean w while training (the centre that truncation pulls toward)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_multiplier: float, w_avg_beta: float = 0.995):
        super().__init__()
        self.layers = nn.ModuleList(EqualizedLinear(z_dim if i == 0 else w_dim, w_dim, lr_multiplier, activate=True)
                                    for i in range(layers))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: Tensor) -> Tensor:
        x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        for layer in self.layers:
            x = layer(x)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return x


class Synthesis(nn.Module):
    """ws -> image: a learned 4x4 constant, then per resolution an upsampling styled layer and a
    styled layer, each resolution's RGB added to the upsampled RGB of the one below (skips)."""

    def __init__(self, w_dim: int, resolution: int, channels: int, channel_base: int, channel_max: int,
                 conv_clamp: float | None = None):
        super().__init__()
        top = check_resolution(resolution, "stylegan2-generator")
        sizes = [2 ** i for i in range(2, top + 1)]
        width = [channels_at(r, channel_base, channel_max) for r in sizes]
        self.const = nn.Parameter(torch.randn(width[0], 4, 4))
        self.layers = nn.ModuleList([StyledLayer(width[0], width[0], w_dim, 4, conv_clamp=conv_clamp)])
        self.to_rgb = nn.ModuleList([ToRGB(width[0], channels, w_dim, conv_clamp)])
        for below, c, r in zip(width, width[1:], sizes[1:]):
            self.layers.append(StyledLayer(below, c, w_dim, r, up=True, conv_clamp=conv_clamp))
            self.layers.append(StyledLayer(c, c, w_dim, r, conv_clamp=conv_clamp))
            self.to_rgb.append(ToRGB(c, channels, w_dim, conv_clamp))
        self.num_ws = len(self.layers) + 1
        self.register_buffer("fir", fir_kernel(4.0, channels), persistent=False)

    def forward(self, ws: Tensor, noise_mode: str = "const") -> Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        x = self.layers[0](x, ws[:, 0], noise_mode)
        rgb = self.to_rgb[0](x, ws[:, 1])
        for block, i in enumerate(range(1, len(self.layers), 2), start=1):
            x = self.layers[i](x, ws[:, i], noise_mode)
            x = self.layers[i + 1](x, ws[:, i + 1], noise_mode)
            rgb = upfirdn(rgb, self.fir, up=2, pad=(2, 1)) + self.to_rgb[block](x, ws[:, i + 2])
        return rgb


class StyleGAN2Generator(nn.Module):
    """``G(z)``: images of the data's shape, not squashed while training (D sees them as they
    are) and clamped to [-1, 1] otherwise, as the references clamp when they write images. ``psi`` pulls
    w toward ``w_avg`` (truncation in W, per sample); ``z_mix`` with ``mix_from`` takes the styles
    of layers ``mix_from`` onward from a second code (style mixing). Noise is random while
    training and the stored constant noise otherwise (``noise_mode`` chooses: random, const, none)."""

    def __init__(self, resolution: int, channels: int = 3, z_dim: int = 512, w_dim: int = 512, mapping_layers: int = 8,
                 mapping_lr: float = 0.01, channel_base: int = 32768, channel_max: int = 512,
                 conv_clamp: float | None = None):
        super().__init__()
        self.z_dim, self.w_dim, self.resolution, self.channels = z_dim, w_dim, resolution, channels
        self.mapping = Mapping(z_dim, w_dim, mapping_layers, mapping_lr)
        self.synthesis = Synthesis(w_dim, resolution, channels, channel_base, channel_max, conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.noise_mode: str | None = None

    def styles(self, z: Tensor, psi: Tensor | float | None = None, z_mix: Tensor | None = None,
               mix_from: int | None = None) -> Tensor:
        """The per-layer styles ``ws`` (N, num_ws, w_dim) of ``z`` (and of ``z_mix`` from layer ``mix_from``)."""
        ws = self.mapping(z)[:, None].repeat(1, self.num_ws, 1)
        if z_mix is not None and mix_from is not None:
            ws[:, mix_from:] = self.mapping(z_mix)[:, None]
        if psi is not None:
            psi = torch.as_tensor(psi, dtype=ws.dtype, device=ws.device).reshape(-1, 1, 1)
            ws = self.mapping.w_avg.to(ws.dtype).lerp(ws, psi)
        return ws

    def synthesize(self, ws: Tensor) -> Tensor:
        """Images of per-layer styles ``ws`` (N, num_ws, w_dim)."""
        noise_mode = self.noise_mode or ("random" if self.training else "const")
        image = self.synthesis(ws, noise_mode)
        return image if self.training else image.clamp(-1, 1)  # as the references clamp when they write images

    def forward(self, z: Tensor, psi: Tensor | float | None = None, z_mix: Tensor | None = None,
                mix_from: int | None = None, return_styles: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        ws = self.styles(z, psi, z_mix, mix_from)
        image = self.synthesize(ws)
        return (image, ws) if return_styles else image

    @classmethod
    def build(cls, params, ctx) -> "StyleGAN2Generator":
        info = image_info(ctx, "stylegan2-generator")
        return cls(info.size, info.channels, params.z_dim, params.w_dim, params.mapping_layers, params.mapping_lr,
                   params.channel_base, params.channel_max, params.conv_clamp)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions (the second blurs and halves the resolution) beside a blurred,
    strided 1x1 skip; the sum is scaled by 1/sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = EqualizedConv(in_channels, in_channels, 3)
        self.down = EqualizedConv(in_channels, out_channels, 3, down=True)
        self.skip = EqualizedConv(in_channels, out_channels, 1, bias=False, down=True, activate=False)

    def forward(self, x: Tensor) -> Tensor:
        return (self.down(self.conv(x)) + self.skip(x)) / SQRT2


def minibatch_stddev(x: Tensor, group: int = 4) -> Tensor:
    """``x`` with one more channel: the standard deviation of each feature across a group of
    samples, averaged, for every sample of the group (so D can see a lack of variety)."""
    n, c, h, w = x.shape
    group = max(g for g in range(1, min(group, n) + 1) if n % g == 0)
    y = x.reshape(group, -1, c, h, w)
    y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean([1, 2, 3])  # (n / group,)
    y = y.reshape(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2's residual discriminator: from RGB, residual blocks down to 4x4, minibatch
    standard deviation, a 3x3 convolution and two dense layers to one logit."""

    def __init__(self, resolution: int, channels: int = 3, channel_base: int = 32768, channel_max: int = 512,
                 mbstd_group: int = 4):
        super().__init__()
        top = check_resolution(resolution, "stylegan2-discriminator")
        sizes = [2 ** i for i in range(top, 1, -1)]
        width = [channels_at(r, channel_base, channel_max) for r in sizes]
        self.from_rgb = EqualizedConv(channels, width[0], 1)
        self.blocks = nn.Sequential(*[ResidualBlock(a, b) for a, b in zip(width, width[1:])])
        self.mbstd_group = mbstd_group
        self.conv = EqualizedConv(width[-1] + 1, width[-1], 3)
        self.dense = EqualizedLinear(width[-1] * 16, width[-1], activate=True)
        self.out = EqualizedLinear(width[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.from_rgb(x))
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.dense(x.flatten(1))).squeeze(1)

    @classmethod
    def build(cls, params, ctx) -> "StyleGAN2Discriminator":
        info = image_info(ctx, "stylegan2-discriminator")
        return cls(info.size, info.channels, params.channel_base, params.channel_max, params.mbstd_group)
