"""The generator layouts of the pix2pix/CycleGAN reference code (junyanz/pytorch-CycleGAN-and-
pix2pix): its ``unet_128``/``unet_256`` and ``resnet_6blocks``/``resnet_9blocks`` state dicts
read into ganforge's U-Net and ResNet generators and written back.

The architectures are the same; the names differ, and the reference U-Net joins a skip
connection before the decoder's features where ganforge joins it after, so the input channels
of each joined transposed convolution are swapped (their halves are equal: the swap is its own
inverse). The reference reads ``--netG``, ``--norm``, ``--ngf`` and ``--no_dropout`` from the
command line; here they are read from the tensors' names and shapes."""

from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from ganforge.sdk import GanforgeError

NORM_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
LAYOUTS = ("unet_128", "unet_256", "resnet_6blocks", "resnet_9blocks")


class LayoutError(GanforgeError):
    """A state dict that does not have a reference generator's layout."""


@dataclass(frozen=True)
class Layout:
    """A reference generator, as its state dict shows it. ``levels`` is the U-Net's depth (7 for
    unet_128, 8 for unet_256), ``blocks`` the ResNet's residual blocks; ``dropout`` is None for
    a U-Net, whose dropout layers hold no tensors."""

    kind: str  # "unet" or "resnet"
    ngf: int
    norm: str  # "batch" or "instance"
    input_nc: int
    output_nc: int
    levels: int = 0
    blocks: int = 0
    dropout: bool | None = None

    @property
    def netG(self) -> str:
        return f"unet_{2 ** self.levels}" if self.kind == "unet" else f"resnet_{self.blocks}blocks"


@dataclass(frozen=True)
class Pair:
    """A module of the reference net and the same module of ganforge's; ``swap``: its input
    channels are two joined halves in the other order."""

    reference: str
    ours: str
    norm: bool = False
    swap: bool = False
    bias: bool = True


# ---------------------------------------------------------------- reading the layout

def describe(state: dict[str, Tensor]) -> Layout:
    """The reference layout of ``state``, from its names and shapes; :class:`LayoutError` naming
    the first key that does not fit and the closest known layout."""
    keys = list(state)
    if any(k.startswith("model.model.") for k in keys):
        layout = _describe_unet(state)
    elif "model.1.weight" in state and any(".conv_block." in k for k in keys):
        layout = _describe_resnet(state)
    else:
        raise LayoutError(f"the file is not a reference pix2pix/CycleGAN generator: its first key {keys[0]!r} fits "
                          f"neither layout (unet_* keys start model.model., resnet_* keys model.<i>.conv_block.). "
                          f"{closest(keys)}")
    expected = {f"{pair.reference}.{suffix}" for pair in pairs(layout) for suffix in _suffixes(pair, layout)}
    for key in keys:
        if key not in expected and not _stale_instance_key(key, layout, expected):
            raise LayoutError(f"key {key!r} does not fit the reference {layout.netG} layout with {layout.norm} norm "
                              f"(ngf {layout.ngf}) that the other keys describe; the closest keys it has are "
                              f"{difflib.get_close_matches(key, sorted(expected), n=2, cutoff=0) or 'none'}"
                              + (f". {hint}" if not (hint := closest(keys)).startswith("Known") else ""))
    missing = sorted(expected - set(keys))
    if missing:
        raise LayoutError(f"the file lacks {missing[0]!r} (and {len(missing) - 1} more) of the reference "
                          f"{layout.netG} layout; it is truncated or of another architecture")
    return layout


def closest(keys: list[str]) -> str:
    """A hint naming the known layout that the keys look most like."""
    if any(re.match(r"model\d+_\d+\.", k) for k in keys) or (keys and "model.1.weight" in keys):
        return "It looks like a pix2pixHD generator: import it with the pix2pixhd format."
    if any(k.startswith(("g_ema.", "style.", "convs.", "to_rgbs.")) for k in keys):
        return "It looks like a StyleGAN2 generator (rosinality layout)."
    if any(k.startswith(("generator.", "nets.")) for k in keys):
        return "It looks like a ganforge checkpoint: use its run folder directly."
    return "Known layouts: " + ", ".join(LAYOUTS) + "."


def _describe_unet(state: dict[str, Tensor]) -> Layout:
    first = _tensor(state, "model.model.0.weight")
    ngf, input_nc = first.shape[0], first.shape[1]
    prefix, levels = "model.model.1.model.", 1
    while f"{prefix}3.model.1.weight" in state:
        prefix += "3.model."
        levels += 1
    levels += 1  # the innermost level is the last prefix
    batch = "model.model.1.model.2.weight" in state
    output_nc = _tensor(state, "model.model.3.weight").shape[1]
    return Layout("unet", ngf, "batch" if batch else "instance", input_nc, output_nc, levels=levels)


def _describe_resnet(state: dict[str, Tensor]) -> Layout:
    first = _tensor(state, "model.1.weight")
    ngf, input_nc = first.shape[0], first.shape[1]
    blocks = sorted({int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    dropout = f"model.{blocks[0]}.conv_block.5.weight" not in state  # a padding there, after the dropout
    last = max(int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.weight$", k)))
    output_nc = state[f"model.{last}.weight"].shape[0]
    batch = "model.2.weight" in state
    return Layout("resnet", ngf, "batch" if batch else "instance", input_nc, output_nc, blocks=len(blocks),
                  dropout=dropout)


def _tensor(state: dict[str, Tensor], key: str) -> Tensor:
    if key not in state:
        raise LayoutError(f"the file lacks {key!r}, which every reference generator of its layout has")
    return state[key]


def _suffixes(pair: Pair, layout: Layout) -> tuple[str, ...]:
    if pair.norm:
        return NORM_SUFFIXES if layout.norm == "batch" else ()
    return ("weight", "bias") if pair.bias else ("weight",)


def _stale_instance_key(key: str, layout: Layout, expected: set[str]) -> bool:
    """Running statistics of instance norm layers, saved by PyTorch before 0.4 (the reference
    drops them when loading, and so does the import)."""
    if layout.norm != "instance" or not key.endswith(("running_mean", "running_var", "num_batches_tracked")):
        return False
    module = key.rsplit(".", 1)[0]
    return any(p.reference == module and p.norm for p in pairs(layout))


# ---------------------------------------------------------------- the module pairs

def pairs(layout: Layout) -> list[Pair]:
    """Every module with tensors, in the reference's names and ganforge's."""
    return list(_unet_pairs(layout) if layout.kind == "unet" else _resnet_pairs(layout))


def _unet_pairs(layout: Layout) -> Iterator[Pair]:
    depth, conv_bias = layout.levels, layout.norm == "instance"
    prefix = "model.model."
    for level in range(depth):
        up = f"generator.up.{depth - 1 - level}"
        if level == 0:
            yield Pair(f"{prefix}0", "generator.down.0.0", bias=conv_bias)
            yield Pair(f"{prefix}3", f"{up}.1", swap=True)
        elif level == depth - 1:
            yield Pair(f"{prefix}1", f"generator.down.{level}.1", bias=conv_bias)
            yield Pair(f"{prefix}3", f"{up}.1", bias=conv_bias)
            yield Pair(f"{prefix}4", f"{up}.2", norm=True)
        else:
            yield Pair(f"{prefix}1", f"generator.down.{level}.1", bias=conv_bias)
            yield Pair(f"{prefix}2", f"generator.down.{level}.2", norm=True)
            yield Pair(f"{prefix}5", f"{up}.1", swap=True, bias=conv_bias)
            yield Pair(f"{prefix}6", f"{up}.2", norm=True)
        prefix += "1.model." if level == 0 else "3.model."


def _resnet_pairs(layout: Layout) -> Iterator[Pair]:
    conv_bias = layout.norm == "instance"
    yield Pair("model.1", "generator.net.1", bias=conv_bias)
    yield Pair("model.2", "generator.net.2", norm=True)
    index = 4
    for _ in range(2):  # the reference always downsamples twice
        yield Pair(f"model.{index}", f"generator.net.{index}", bias=conv_bias)
        yield Pair(f"model.{index + 1}", f"generator.net.{index + 1}", norm=True)
        index += 3
    second = 6 if layout.dropout else 5
    for _ in range(layout.blocks):
        for conv in (1, second):
            yield Pair(f"model.{index}.conv_block.{conv}", f"generator.net.{index}.body.{conv}", bias=conv_bias)
            yield Pair(f"model.{index}.conv_block.{conv + 1}", f"generator.net.{index}.body.{conv + 1}", norm=True)
        index += 1
    for _ in range(2):
        yield Pair(f"model.{index}", f"generator.net.{index}", bias=conv_bias)
        yield Pair(f"model.{index + 1}", f"generator.net.{index + 1}", norm=True)
        index += 3
    yield Pair(f"model.{index + 1}", f"generator.net.{index + 1}")  # after the reflection padding


# ---------------------------------------------------------------- converting

def to_ganforge(state: dict[str, Tensor], layout: Layout, net: str = "generator") -> dict[str, Tensor]:
    """The reference tensors under ganforge's names (``<net>.<parameter>``): stale instance norm
    statistics are dropped and joined transposed convolutions have their input halves swapped."""
    out: dict[str, Tensor] = {}
    for pair in pairs(layout):
        ours = net + pair.ours[len("generator"):]
        for suffix in _suffixes(pair, layout):
            value = state[f"{pair.reference}.{suffix}"].detach().clone()
            if pair.swap and suffix == "weight":
                value = swap_halves(value)
            out[f"{ours}.{suffix}"] = value
    return out


def to_reference(state: dict[str, Tensor], layout: Layout, net: str = "generator") -> "OrderedDict[str, Tensor]":
    """ganforge's tensors of ``net`` under the reference's names, in the reference's order."""
    out: OrderedDict[str, Tensor] = OrderedDict()
    for pair in pairs(layout):
        ours = net + pair.ours[len("generator"):]
        for suffix in _suffixes(pair, layout):
            value = state[f"{ours}.{suffix}"].detach().clone()
            if pair.swap and suffix == "weight":
                value = swap_halves(value)
            out[f"{pair.reference}.{suffix}"] = value
    return OrderedDict(sorted(out.items(), key=lambda item: _reference_order(item[0])))


def swap_halves(weight: Tensor) -> Tensor:
    """A transposed convolution's weight (in, out, k, k) with its two input halves exchanged."""
    half = weight.shape[0] // 2
    return torch.cat([weight[half:], weight[:half]])


def _reference_order(key: str) -> tuple:
    """The order ``state_dict()`` lists the reference's keys in (modules by index, depth first)."""
    parts = key.split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts[:-1]) + \
        ((2, NORM_SUFFIXES.index(parts[-1]) if parts[-1] in NORM_SUFFIXES else 9, parts[-1]),)


# ---------------------------------------------------------------- recipe slots

def generator_slot(layout: Layout, *, dropout: bool, reference_eval: bool, reverse: bool = False) -> dict:
    """ganforge's generator block for the layout, behaving at test time as the reference test
    script does with (``reference_eval``) or without ``--eval``."""
    batch_stats = layout.norm == "batch" and not reference_eval
    if layout.kind == "unet":
        slot = {"type": "unet-generator", "depth": layout.levels, "width": layout.ngf, "max_width": layout.ngf * 8,
                "norm": layout.norm, "dropout": 0.5 if dropout else 0.0, "dropout_blocks": layout.levels - 5,
                "test_dropout": dropout and not reference_eval, "outer_bias": layout.norm == "instance",
                "test_batch_stats": batch_stats}
    else:
        slot = {"type": "resnet-generator", "blocks": layout.blocks, "width": layout.ngf, "downsamplings": 2,
                "norm": layout.norm, "dropout": 0.5 if dropout else 0.0,
                "test_dropout": dropout and not reference_eval, "test_batch_stats": batch_stats}
    if reverse:
        slot["reverse"] = True
    return slot


def layout_of_slot(slot: dict, input_nc: int, output_nc: int) -> Layout:
    """The reference layout a ganforge generator block has, or :class:`LayoutError` saying what
    the reference cannot express."""
    kind = slot.get("type")
    norm = slot.get("norm")
    if norm not in ("batch", "instance"):
        raise LayoutError(f"the reference generators use batch or instance norm; this {kind} uses {norm!r}")
    if kind == "unet-generator":
        depth, width = slot["depth"], slot["width"]
        problems = []
        if depth not in (7, 8):
            problems.append(f"depth {depth} (the reference has unet_128: 7 and unet_256: 8)")
        if slot["max_width"] != 8 * width:
            problems.append(f"max_width {slot['max_width']} (the reference caps at 8 x width = {8 * width})")
        if not slot.get("skip", True):
            problems.append("skip: false")
        if norm == "batch" and slot.get("outer_bias", True):
            problems.append("outer_bias: true (the reference's first convolution has no bias with batch norm; "
                            "train with outer_bias: false to export)")
        if slot["dropout"] and (slot["dropout"] != 0.5 or slot["dropout_blocks"] != depth - 5):
            problems.append(f"dropout {slot['dropout']} in {slot['dropout_blocks']} levels (the reference: 0.5 in "
                            f"{depth - 5})")
        if problems:
            raise LayoutError("this U-Net has no reference layout: " + "; ".join(problems))
        return Layout("unet", width, norm, input_nc, output_nc, levels=depth)
    if kind == "resnet-generator":
        problems = []
        if slot["downsamplings"] != 2:
            problems.append(f"downsamplings {slot['downsamplings']} (the reference: 2)")
        if slot["dropout"] not in (0, 0.5):
            problems.append(f"dropout {slot['dropout']} (the reference: 0.5 or none)")
        if problems:
            raise LayoutError("this ResNet generator has no reference layout: " + "; ".join(problems))
        return Layout("resnet", slot["width"], norm, input_nc, output_nc, blocks=slot["blocks"],
                      dropout=bool(slot["dropout"]))
    raise LayoutError(f"the pix2pix/CycleGAN reference has no layout for a {kind}; it has unet-generator and "
                      "resnet-generator layouts")
