"""``ganforge import stylegan2 FILE --out RUN``: StyleGAN2 generators trained with the reference
implementations, as a ganforge run whose ``stylegan2-generator`` gives the same images.

* rosinality/stylegan2-pytorch: a ``torch.save`` checkpoint with ``g_ema`` (and ``g``, ``d``,
  optimizer states, ``args``), or a converted one with ``g_ema`` and ``latent_avg``.
* NVlabs/stylegan2-ada-pytorch: a network pickle (``G_ema`` and friends), read by
  :mod:`ganforge_modern.nvidia_pickle` without running the code it carries."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.sdk import DataInfo, GanforgeError, ImportedRun, read_state_dict
from ganforge_modern.stylegan2 import StyleGAN2Generator, fir_kernel

ADAM = {"lr": 0.002, "betas": [0.0, 0.99]}


def run_name(source: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(source).stem).strip("-")[:80] or "stylegan2"


def channel_schedule(widths: dict[int, int], source: Path) -> tuple[int, int]:
    """(channel_base, channel_max) giving ``widths`` (channels by resolution) as min(base / r, max)."""
    top = max(widths.values())
    below = [r for r in sorted(widths) if widths[r] < top]
    base = widths[below[0]] * below[0] if below else top * max(widths)
    if any(min(base // r, top) != c for r, c in widths.items()):
        raise GanforgeError(f"{source}: the channels by resolution {dict(sorted(widths.items()))} do not follow "
                            "min(channel_base / resolution, channel_max); ganforge's stylegan2-generator cannot hold them")
    return base, top


class StyleGAN2Checkpoint:
    """The ``stylegan2`` checkpoint format: rosinality's or NVIDIA's, detected from the file."""

    def __init__(self, params: Any, ctx: Any = None):
        self.params = params

    def read(self, source: Path) -> ImportedRun:
        source = Path(source)
        layout = self.params.layout or ("nvidia" if source.suffix == ".pkl" else "rosinality")
        if layout == "nvidia":
            from ganforge_modern.nvidia_pickle import read_network_pickle

            return self.from_nvidia(read_network_pickle(source), source)
        return self.from_rosinality(source)

    # ------------------------------------------------------------ rosinality

    def from_rosinality(self, source: Path) -> ImportedRun:
        state = read_state_dict(source, safe_classes=(argparse.Namespace,))
        notes = []
        if "g_ema" in state or "g" in state:
            which = self.params.weights if self.params.weights in state else ("g_ema" if "g_ema" in state else "g")
            if which != self.params.weights:
                notes.append(f"the file has no {self.params.weights}; imported {which}")
            g = state[which]
            latent_avg = state.get("latent_avg")
        elif "style.1.weight" in state:
            g, latent_avg, which = state, None, "the generator"
        else:
            raise GanforgeError(f"{source} is not a rosinality StyleGAN2 checkpoint: it has neither g_ema nor g "
                                f"(its keys start {', '.join(list(state)[:4])}); an NVIDIA .pkl needs --layout nvidia")
        if not isinstance(g, dict) or "style.1.weight" not in g:
            raise GanforgeError(f"{source}: {which} is not a rosinality Generator state dict (no style.1.weight)")
        mapping_layers = len([k for k in g if re.fullmatch(r"style\.\d+\.weight", k)])
        w_dim, z_dim = g["style.1.weight"].shape
        rgbs = len([k for k in g if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k)])
        resolution = 2 ** (rgbs + 2)
        widths = {4: g["input.input"].shape[1]}
        for j in range(rgbs):
            widths[2 ** (j + 3)] = g[f"convs.{2 * j}.conv.weight"].shape[1]
        base, top = channel_schedule(widths, source)
        channels = g["to_rgb1.conv.weight"].shape[1]
        standard = fir_kernel(4.0)
        for key, value in g.items():
            if key.endswith((".blur.kernel", ".upsample.kernel")) and not torch.allclose(value, standard):
                raise GanforgeError(f"{source}: {key} is not the [1, 3, 3, 1] filter; ganforge's StyleGAN2 uses only that one")
        tensors = {}
        for key, value in g.items():
            ours = self.rosinality_name(key)
            if ours is None:
                continue
            tensors[f"generator.{ours}"] = value.detach().float().reshape(self.rosinality_shape(key, value))
        settings = {"z_dim": z_dim, "w_dim": w_dim, "mapping_layers": mapping_layers, "mapping_lr": 0.01,
                    "channel_base": base, "channel_max": top}
        notes.insert(0, f"{source.name} ({which}): {resolution} px, {channels} channels, z {z_dim}, w {w_dim}, "
                        f"{mapping_layers} mapping layers, channels {dict(sorted(widths.items()))}")
        notes.append("mapping learning-rate multiplier 0.01 (rosinality's default; the file does not record it)")
        w_avg = self.truncation_centre(latent_avg, tensors, settings, resolution, channels, notes)
        tensors["generator.mapping.w_avg"] = w_avg
        return self.imported(source, settings, resolution, channels, tensors, notes)

    @staticmethod
    def rosinality_name(key: str) -> str | None:
        """ganforge's name of a rosinality generator tensor (None: a resampling filter, not kept)."""
        if key.endswith((".blur.kernel", ".upsample.kernel")):
            return None
        if m := re.fullmatch(r"style\.(\d+)\.(weight|bias)", key):
            return f"mapping.layers.{int(m[1]) - 1}.{m[2]}"
        if key == "input.input":
            return "synthesis.const"
        if m := re.fullmatch(r"noises\.noise_(\d+)", key):
            return f"synthesis.layers.{m[1]}.noise_const"
        if m := re.fullmatch(r"(conv1|convs\.(\d+))\.(.+)", key):
            layer = 0 if m[1] == "conv1" else int(m[2]) + 1
            rest = {"conv.weight": "conv.weight", "conv.modulation.weight": "conv.affine.weight",
                    "conv.modulation.bias": "conv.affine.bias", "noise.weight": "noise_strength",
                    "activate.bias": "bias"}.get(m[3])
            return f"synthesis.layers.{layer}.{rest}" if rest else key
        if m := re.fullmatch(r"(to_rgb1|to_rgbs\.(\d+))\.(.+)", key):
            block = 0 if m[1] == "to_rgb1" else int(m[2]) + 1
            rest = {"conv.weight": "conv.weight", "conv.modulation.weight": "conv.affine.weight",
                    "conv.modulation.bias": "conv.affine.bias", "bias": "bias"}.get(m[3])
            return f"synthesis.to_rgb.{block}.{rest}" if rest else key
        return key  # unknown: the strict check names it

    @staticmethod
    def rosinality_shape(key: str, value: Tensor) -> tuple[int, ...]:
        if key == "input.input" or key.endswith("conv.weight") or key.startswith("noises."):
            return tuple(value.shape[1:]) if not key.startswith("noises.") else tuple(value.shape[2:])
        if key.endswith("noise.weight"):
            return ()
        if re.fullmatch(r"(to_rgb1|to_rgbs\.\d+)\.bias", key):
            return (value.shape[1],)
        return tuple(value.shape)

    def truncation_centre(self, latent_avg: Tensor | None, tensors: dict[str, Tensor], settings: dict, resolution: int,
                          channels: int, notes: list[str]) -> Tensor:
        """w_avg: the checkpoint's ``latent_avg``, or the mean w of seeded z (rosinality's mean_latent)."""
        if latent_avg is not None:
            notes.append("truncation centre: the checkpoint's latent_avg")
            return latent_avg.detach().float().reshape(-1)
        g = StyleGAN2Generator(resolution, channels, **settings).eval()
        g.mapping.load_state_dict({k[len("generator.mapping."):]: v for k, v in tensors.items()
                                   if k.startswith("generator.mapping.layers.")}, strict=False)
        n = self.params.mean_latent_samples
        with torch.no_grad():
            z = torch.randn(n, settings["z_dim"], generator=torch.Generator().manual_seed(0))
            centre = g.mapping(z).mean(0)
        notes.append(f"truncation centre: the mean w of {n} seeded z (the file has no latent_avg; rosinality's "
                     "generate.py draws its own, so truncated images differ from its by that draw)")
        return centre

    # ------------------------------------------------------------ NVIDIA

    def from_nvidia(self, network: dict, source: Path) -> ImportedRun:
        from ganforge_modern.nvidia_pickle import generator_tensors

        settings, resolution, channels, tensors, notes = generator_tensors(network, source)
        return self.imported(source, settings, resolution, channels, tensors, notes)

    # ------------------------------------------------------------ the run

    def imported(self, source: Path, settings: dict, resolution: int, channels: int, tensors: dict[str, Tensor],
                 notes: list[str]) -> ImportedRun:
        name = run_name(source)
        notes.append("the discriminator is not imported: fine-tuning starts one from scratch")
        notes.append("sampling uses the stored constant noise (random noise while training); --truncation is psi in W")
        recipe = {
            "name": name,
            "data": {"type": "image-folder", "root": str(Path(self.params.data or f"datasets/{name}").expanduser().resolve()), "size": resolution,
                     "channels": channels},
            "models": {"generator": {"type": "stylegan2-generator", **settings},
                       "discriminator": {"type": "stylegan2-discriminator", "channel_base": settings["channel_base"],
                                         "channel_max": settings["channel_max"]}},
            "objective": {"type": "stylegan2"},
            "losses": {"adversarial": "non-saturating", "r1": {"type": "r1", "gamma": 10.0, "every": 16}},
            "optim": {"generator": ADAM, "discriminator": ADAM},
            "train": {"batch_size": 16, "ema": {"decay": 0.998}},
        }
        return ImportedRun(recipe, DataInfo(shape=(channels, resolution, resolution)), tensors, notes)
