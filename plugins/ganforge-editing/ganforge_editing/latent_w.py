"""Latent tools in W for generators with a style space (StyleGAN2, ``StyleSpace``): paths
between styles, truncation and style-mixing sheets, and inversion of images into W (one w per
image) or W+ (one w per layer), with LPIPS when its weights are at hand and a pixel loss otherwise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import GanforgeError, StyleSpace


def style_generator(model: Any) -> Any:
    """The run's generator, which must have a W space."""
    for name in model.objective.generators:
        net = model.nets.get(name)
        if isinstance(net, StyleSpace):
            return net
    raise GanforgeError(f"{model.folder} holds a {model.run.recipe.objective.type} model whose generator has no W "
                        "space (StyleSpace: styles and synthesize); --space w is for StyleGAN2 runs, use --space z")


@torch.no_grad()
def mean_w(model: Any, g: Any, samples: int = 2000, seed: int = 0) -> Tensor:
    """The mean per-layer styles of ``samples`` seeded codes (N=1, num_ws, w_dim)."""
    return g.styles(model.inputs(samples, seed)["z"].to(model.device)).mean(0, keepdim=True)


@torch.no_grad()
def interpolate_w(model: Any, rows: int = 4, steps: int = 8, seed: int = 0) -> Tensor:
    """``rows`` straight paths in W of ``steps`` images, between the styles of random codes."""
    g = style_generator(model)
    starts, ends = (g.styles(model.inputs(rows, s)["z"].to(model.device)) for s in (seed, seed + 1))
    t = torch.linspace(0, 1, steps, device=model.device).view(1, steps, 1, 1)
    ws = starts[:, None].lerp(ends[:, None], t).reshape(rows * steps, g.num_ws, -1)
    return g.synthesize(ws).cpu()


@torch.no_grad()
def truncation_sheet(model: Any, psis: list[float], rows: int = 4, seed: int = 0) -> Tensor:
    """A grid: one row per code, one column per psi (1 is untruncated, 0 the mean image)."""
    g = style_generator(model)
    z = model.inputs(rows, seed)["z"].to(model.device)
    columns = [g.synthesize(g.styles(z, psi=torch.full((rows,), float(psi), device=model.device))) for psi in psis]
    return torch.stack(columns, 1).reshape(rows * len(psis), *columns[0].shape[1:]).cpu()


@torch.no_grad()
def mixing_sheet(model: Any, rows: int = 4, columns: int = 4, mix_from: int | None = None, seed: int = 0) -> Tensor:
    """Style mixing: a grid whose first row is the column sources, first column the row sources,
    and cell (i, j) row source i's styles before layer ``mix_from`` with column source j's after
    (coarse styles from the row, fine from the column; default: the middle layer)."""
    g = style_generator(model)
    mix_from = g.num_ws // 2 if mix_from is None else mix_from
    if not 0 < mix_from < g.num_ws:
        raise GanforgeError(f"--mix-from must be between 1 and {g.num_ws - 1} (this generator has {g.num_ws} styles)")
    a = g.styles(model.inputs(rows, seed)["z"].to(model.device))
    b = g.styles(model.inputs(columns, seed + 1)["z"].to(model.device))
    cells = []
    blank = torch.ones(1, *g.synthesize(a[:1]).shape[1:], device=model.device)
    cells.append(torch.cat([blank, g.synthesize(b)]))
    for i in range(rows):
        mixed = torch.cat([a[i:i + 1, :mix_from].expand(columns, -1, -1), b[:, mix_from:]], 1)
        cells.append(torch.cat([g.synthesize(a[i:i + 1]), g.synthesize(mixed)]))
    return torch.cat(cells).cpu()


@dataclass
class Inversion:
    ws: Tensor                 # (N, num_ws, w_dim)
    images: Tensor             # G(ws)
    losses: list[float] = field(default_factory=list)
    distance: str = "pixel"


def invert(model: Any, targets: Tensor, *, space: str = "w", steps: int = 300, lr: float = 0.05,
           lpips: Any = None, seed: int = 0) -> Inversion:
    """Find styles whose images match ``targets`` (N, C, H, W in [-1, 1]): one w per image
    (``space`` w) or one per layer (w+), starting from the mean w, by Adam with a cosine-decaying
    learning rate on ``lpips`` (a distance module) when given, else on mean squared plus absolute
    pixel error."""
    if space not in ("w", "w+"):
        raise GanforgeError(f"--space must be w or w+ for inversion, not {space!r}")
    g = style_generator(model)
    for net in model.nets.values():
        net.requires_grad_(False)
    targets = targets.to(model.device)
    start = mean_w(model, g, seed=seed)
    n = len(targets)
    w = (start[:, :1].repeat(n, 1, 1) if space == "w" else start.repeat(n, 1, 1)).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w], lr=lr, betas=(0.9, 0.999))
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1)))
        ws = w.expand(-1, g.num_ws, -1) if space == "w" else w
        images = g.synthesize(ws)
        if lpips is not None:
            loss = lpips(images, targets).sum()
        else:
            loss = (F.mse_loss(images, targets, reduction="none") + (images - targets).abs()).flatten(1).mean(1).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()) / n)
    with torch.no_grad():
        ws = (w.expand(-1, g.num_ws, -1) if space == "w" else w).detach()
        images = g.synthesize(ws)
    return Inversion(ws.cpu(), images.cpu(), losses, "lpips" if lpips is not None else "pixel")


class Projection:
    """The W space's encoder: images to one w each by :func:`invert` (in chunks), and back by
    synthesis. Attribute vectors, edits and arithmetic in W use it as they use E in Z."""

    def __init__(self, model: Any, *, steps: int = 200, lr: float = 0.05, lpips: Any = None, chunk: int = 64,
                 seed: int = 0):
        self.model, self.g = model, style_generator(model)
        self.steps, self.lr, self.lpips, self.chunk, self.seed = steps, lr, lpips, chunk, seed

    def __call__(self, images: Tensor) -> Tensor:
        """(N, w_dim): each image's w."""
        return torch.cat([invert(self.model, part, space="w", steps=self.steps, lr=self.lr, lpips=self.lpips,
                                 seed=self.seed).ws[:, 0] for part in images.split(self.chunk)])

    @torch.no_grad()
    def generate(self, w: Tensor) -> Tensor:
        """Images of ws (N, w_dim), the same w at every layer."""
        return self.g.synthesize(w.to(self.model.device)[:, None].expand(-1, self.g.num_ws, -1)).cpu()
