"""Latent-space tools on a trained noise-to-image generator (``ganforge.load(run)``):

* paths between latents, linear or spherical (``interpolate``);
* an encoder E that inverts the frozen G (``train_encoder``): z -> G -> E ~ z and
  x -> E -> G ~ x, optionally initialised from the discriminator's trunk;
* attribute vectors (mean latent of images with an attribute minus those without) and edits;
* vector arithmetic between the mean latents of labelled sets (``analogy``: a - b + c);
* image completion by latent optimisation (Yeh et al. 2017): find z whose G(z) matches the
  known pixels, with a prior term from the discriminator, then blend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.sdk import GanforgeError


# ----------------------------------------------------------------- paths

def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    return a + (b - a) * t


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (along the great circle, scaled between the two norms), the path
    that keeps Gaussian latents at a typical norm; falls back to lerp for parallel vectors."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    cos = ((a / na) * (b / nb)).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    parallel = sin.abs() < 1e-6
    out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.where(parallel, torch.ones_like(sin), sin)
    return torch.where(parallel, lerp(a, b, t), out)


def path(a: Tensor, b: Tensor, steps: int, method: str = "slerp") -> Tensor:
    """``steps`` latents from ``a`` to ``b`` (both ends included): (steps, D), or (rows, steps, D)
    for batches of starts and ends."""
    if steps < 2:
        raise GanforgeError("an interpolation needs at least 2 steps")
    if method not in ("lerp", "slerp"):
        raise GanforgeError(f"unknown interpolation {method!r}; use lerp or slerp")
    t = torch.linspace(0, 1, steps, dtype=a.dtype).view(steps, 1)
    walk = slerp if method == "slerp" else lerp
    if a.dim() == 1:
        return walk(a.expand(steps, -1), b.expand(steps, -1), t)
    return torch.stack([walk(x.expand(steps, -1), y.expand(steps, -1), t) for x, y in zip(a, b)])


def check_latent_model(model: Any) -> None:
    if model.is_translation or "z" not in model.contract()["inputs"]:
        raise GanforgeError(f"{model.folder} holds a {model.run.recipe.objective.type} model; latent tools need a "
                            "generator of latents z (unconditional, conditional, InfoGAN, BiGAN ...)")


@torch.no_grad()
def interpolate(model: Any, rows: int = 4, steps: int = 8, method: str = "slerp", seed: int = 0) -> Tensor:
    """``rows`` paths of ``steps`` images each between random latents: (rows * steps, C, H, W),
    row by row. Other inputs (a conditional model's labels) stay those of each row's start."""
    check_latent_model(model)
    starts, ends = model.inputs(rows, seed), model.inputs(rows, seed + 1)
    z = path(starts["z"], ends["z"], steps, method).reshape(rows * steps, -1)
    others = {k: v.repeat_interleave(steps, 0) for k, v in starts.items() if k != "z"}
    return model.generate({"z": z, **others})


def save_strip(images: Tensor, rows: int, out: Path) -> Path:
    """Rows of images as one PNG, or as an animated GIF (one frame per column) for .gif."""
    from PIL import Image

    from ganforge.sdk import comparison_sheet, save_png

    steps = len(images) // rows
    grid = images.view(rows, steps, *images.shape[1:])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        frames = [Image.fromarray(comparison_sheet([grid[:, i]])) for i in range(steps)]
        frames[0].save(out, save_all=True, append_images=frames[1:] + frames[-2:0:-1], duration=120, loop=0)
    else:
        save_png(comparison_sheet([grid[:, i] for i in range(steps)]), out)
    return out


# ----------------------------------------------------------------- encoder

@dataclass
class EncoderReport:
    losses: list[float] = field(default_factory=list)
    initialised_from: str = "random"


def new_encoder(model: Any, width: int = 64, from_discriminator: bool = False) -> tuple[nn.Module, str]:
    """A DCGAN-style encoder of the model's images into its latent size; with
    ``from_discriminator``, its trunk starts as a copy of the discriminator's (which must be a
    dcgan-discriminator of the same width with batch norm)."""
    from ganforge_classic import DCGANDiscriminator, DCGANEncoder

    check_latent_model(model)
    z_dim = model.contract()["inputs"]["z"]["shape"][0]
    if not from_discriminator:
        return DCGANEncoder(model.info.shape, z_dim, width), "random"
    names = [n for n in model.objective.discriminators if isinstance(model.nets[n], DCGANDiscriminator)]
    if not names:
        raise GanforgeError("from_discriminator needs a dcgan-discriminator (it has no convolutional trunk to copy)")
    d = model.nets[names[0]]
    spec = model.run.recipe.models[names[0]]
    encoder = DCGANEncoder(model.info.shape, z_dim, spec.width, spec.max_width)
    try:
        encoder.trunk.load_state_dict(d.trunk.state_dict())
    except RuntimeError as exc:
        raise GanforgeError(f"the discriminator's trunk does not fit an encoder ({str(exc).splitlines()[0]}); it needs "
                            "norm: batch, pack: 1 and no conditioning") from None
    return encoder, f"discriminator {names[0]!r}"


def train_encoder(model: Any, images: Tensor, *, steps: int = 1000, batch_size: int = 64, lr: float = 2e-4,
                  latent_weight: float = 1.0, pixel_weight: float = 1.0, width: int = 64,
                  from_discriminator: bool = False, seed: int = 0) -> tuple[nn.Module, EncoderReport]:
    """Train E to invert the frozen generator: ``latent_weight`` x |E(G(z)) - z|^2 on fresh
    latents plus ``pixel_weight`` x |G(E(x)) - x| on real ``images``."""
    check_latent_model(model)
    torch.manual_seed(seed)
    encoder, origin = new_encoder(model, width, from_discriminator)
    encoder = encoder.to(model.device).train()
    for net in model.nets.values():
        net.requires_grad_(False)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(seed)
    report = EncoderReport(initialised_from=origin)
    for step in range(steps):
        inputs = model.inputs(batch_size, seed=seed * 1_000_003 + step)
        z = inputs["z"].to(model.device)
        with torch.no_grad():
            fake = model.objective.sample(model.nets, {k: v.to(model.device) for k, v in inputs.items()})
        loss = latent_weight * F.mse_loss(encoder(fake), z)
        if pixel_weight and len(images):
            pick = torch.randint(len(images), (batch_size,), generator=generator)
            real = images[pick].to(model.device)
            extra = {k: v.to(model.device) for k, v in inputs.items() if k != "z"}
            loss = loss + pixel_weight * F.l1_loss(model.objective.sample(model.nets, {"z": encoder(real), **extra}), real)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        report.losses.append(float(loss.detach()))
    return encoder.eval(), report


@torch.no_grad()
def reconstruct(model: Any, encoder: nn.Module, images: Tensor) -> Tensor:
    """G(E(x)): how well the generator, through the encoder, reproduces each image."""
    return model.generate({"z": encoder(images.to(model.device)).cpu()})


def save_encoder(encoder: nn.Module, out: Path, meta: dict[str, Any]) -> Path:
    import json

    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, out,
              metadata={"ganforge_encoder": json.dumps(meta)})
    return out


# ----------------------------------------------------------------- attributes

@torch.no_grad()
def attribute_vectors(codes: Tensor, labels: Tensor, names: list[str] | None = None) -> dict[str, Tensor]:
    """For each class k: the mean latent (E(x) in Z, the projection in W) of images of class k
    minus that of the others."""
    out = {}
    for k in labels.unique().tolist():
        inside = labels == k
        if inside.all() or not inside.any():
            continue
        out[names[k] if names else str(k)] = codes[inside].mean(0) - codes[~inside].mean(0)
    return out


def edit(z: Tensor, vectors: dict[str, Tensor], amounts: dict[str, float]) -> Tensor:
    """``z`` plus ``amount`` x each named attribute vector (negative amounts remove it)."""
    unknown = sorted(set(amounts) - set(vectors))
    if unknown:
        raise GanforgeError(f"no attribute {', '.join(map(repr, unknown))}; known: {', '.join(vectors)}")
    return z + sum(amount * vectors[name] for name, amount in amounts.items())


def fit_attribute_probe(codes: Tensor, labels: Tensor, names: list[str], *,
                        steps: int = 500, lr: float = 0.01) -> dict[str, Tensor]:
    """A linear probe on the latents: softmax regression from standardised E(x) to the label's
    values (full-batch Adam). Attribute extraction reads an image's labels off it; the mean-
    difference vectors, which edits use, are far noisier classifiers (they ignore how the
    other factors spread the latents)."""
    codes = codes.detach()
    mean, std = codes.mean(0), codes.std(0).clamp(min=1e-6)
    probe = nn.Linear(codes.shape[1], len(names))
    nn.init.zeros_(probe.weight), nn.init.zeros_(probe.bias)  # a convex problem: start deterministic
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(probe((codes - mean) / std), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return {"weight": probe.weight.detach(), "bias": probe.bias.detach(), "mean": mean, "std": std}


@torch.no_grad()
def rank_attributes(codes: Tensor, names: list[str], probe: dict[str, Tensor]) -> list[list[tuple[str, float]]]:
    """For each image's latent, the attributes it carries, most likely first: the probe's
    probability of each of ``names`` (the values of the label it was fitted on)."""
    codes = (codes.detach() - probe["mean"]) / probe["std"]
    probabilities = (codes @ probe["weight"].T + probe["bias"]).softmax(1)
    return [sorted(zip(names, row.tolist()), key=lambda item: -item[1]) for row in probabilities]


# ----------------------------------------------------------------- vector arithmetic

def matching(labels: dict[str, Tensor], where: dict[str, int]) -> Tensor:
    """Which items carry every label value in ``where`` ({"y": 1, "color": 0}): a bool mask."""
    unknown = sorted(set(where) - set(labels))
    if unknown:
        raise GanforgeError(f"no label {', '.join(map(repr, unknown))}; the data has {', '.join(sorted(labels))}")
    n = len(next(iter(labels.values())))
    mask = torch.ones(n, dtype=torch.bool)
    for name, value in where.items():
        mask &= labels[name] == value
    return mask


@torch.no_grad()
def check_analogy_sets(sets: list[Tensor]) -> None:
    """Three masks, each selecting at least one image."""
    if len(sets) != 3:
        raise GanforgeError("an analogy needs three sets: a - b + c")
    for name, mask in zip("abc", sets):
        if int(mask.sum()) == 0:
            raise GanforgeError(f"set {name} selects no image; loosen its labels or use more --images")


def analogy(codes: Tensor, sets: list[Tensor], *, rows: int = 4, per_row: int = 3, seed: int = 0) -> Tensor:
    """Latent arithmetic a - b + c (Radford et al. 2016) from the latents of images and three
    sets of them given as masks: returns (1 + rows, 4, D) latents, columns a, b, c and a - b + c. Row 0 uses each
    set's mean latent; each further row the mean of ``per_row`` members drawn at random, so
    the rows show how much the answer depends on the examples chosen."""
    check_analogy_sets(sets)
    generator = torch.Generator().manual_seed(seed)
    table = []
    for row in range(1 + rows):
        means = []
        for mask in sets:
            members = codes[mask]
            if row:
                members = members[torch.randint(len(members), (per_row,), generator=generator)]
            means.append(members.mean(0))
        a, b, c = means
        table.append(torch.stack([a, b, c, a - b + c]))
    return torch.stack(table)


# ----------------------------------------------------------------- completion by latent optimisation

@dataclass
class Completion:
    images: Tensor          # the known pixels with the hole filled from G(z), blended
    generated: Tensor       # G(z) itself
    masked_error: list[float]  # mean |G(z) - x| on the known pixels, per step
    hole_error: list[float]    # mean |G(z) - x| inside the hole, per step (when the truth is known)


def complete(model: Any, images: Tensor, hole: Tensor, *, steps: int = 300, lr: float = 0.03, restarts: int = 4,
             prior_weight: float = 0.003, seed: int = 0) -> Completion:
    """Semantic inpainting (Yeh et al. 2017): for each image, optimise ``restarts`` latents so
    that G(z) matches the known pixels (L1, outside ``hole`` = 1) plus ``prior_weight`` x the
    discriminator's non-saturating loss (G(z) should look real), keep the best, and blend G(z)
    into the hole. ``images`` in [-1, 1] (N, C, H, W); ``hole`` (N, 1, H, W) or (1, 1, H, W)."""
    check_latent_model(model)
    n = len(images)
    images, hole = images.to(model.device), hole.to(model.device).expand(n, 1, *images.shape[2:])
    known = 1 - hole
    starts = model.inputs(n * restarts, seed)
    z = starts["z"].to(model.device).clone().requires_grad_(True)
    extra = {k: v.to(model.device) for k, v in starts.items() if k != "z"}
    target, mask, inside = (t.repeat(restarts, 1, 1, 1) for t in (images, known, hole))
    d_names = [name for name in model.objective.discriminators]
    d = model.nets[d_names[0]] if d_names and prior_weight else None
    for net in model.nets.values():
        net.requires_grad_(False)
    optimizer = torch.optim.Adam([z], lr=lr)
    masked_error, hole_error = [], []
    for _ in range(steps):
        fake = model.objective.sample(model.nets, {"z": z, **extra})
        per_image = ((fake - target).abs() * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1)
        loss = per_image.sum()
        if d is not None:
            logits = d(fake)
            logits = logits[0] if isinstance(logits, tuple) else logits
            loss = loss + prior_weight * F.softplus(-logits.flatten()).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            masked_error.append(float(per_image.mean()))
            hole_error.append(float(((fake - target).abs() * inside).sum() / (inside.sum() * fake.shape[1]).clamp(min=1)))
    with torch.no_grad():
        fake = model.objective.sample(model.nets, {"z": z, **extra})
        scores = ((fake - target).abs() * mask).flatten(1).sum(1).view(restarts, n)
        best = scores.argmin(0)
        generated = fake.view(restarts, n, *fake.shape[1:])[best, torch.arange(n)]
        completed = images * known + generated * hole
    return Completion(completed.cpu(), generated.cpu(), masked_error, hole_error)


def psnr(a: Tensor, b: Tensor) -> float:
    mse = float(((a - b) / 2).pow(2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))
