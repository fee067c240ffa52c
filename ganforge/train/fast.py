"""The fast path, one setting each: ``train.precision: auto`` (bf16 where the device runs it
natively, else fp32), ``train.channels_last`` (NHWC memory for convolutional nets and their
image batches) and ``train.compile`` (``torch.compile`` of the trained nets, in place)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ganforge.errors import GanforgeError


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX); emulated bf16 is
    slower than fp32."""
    import torch.cpu

    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def resolve_precision(mode: str, device: torch.device) -> str:
    """``auto`` as the device's fastest autocast dtype (``bf16`` or ``fp32``); other modes as they are."""
    if mode != "auto":
        return mode
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def to_channels_last(nets: Iterable[nn.Module]) -> None:
    """Store the 4-D weights of ``nets`` in channels-last order (values and state-dict keys unchanged)."""
    for net in nets:
        net.to(memory_format=torch.channels_last)


def compile_in_place(nets: Iterable[nn.Module]) -> None:
    """``torch.compile`` each net in place: its parameters, state-dict keys and checkpoints stay
    those of the eager net; the first steps pay the compilation."""
    for net in nets:
        net.compile()


def double_backward_error() -> GanforgeError:
    """What to say when a compiled net was differentiated twice (R1, R2, a gradient penalty, path
    length): torch.compile cannot, so these passes must run the nets eagerly."""
    if getattr(torch.compiler, "set_stance", None) is None:
        return GanforgeError(
            f"train.compile: torch {torch.__version__} cannot run a compiled net eagerly, which the double backward "
            "of R1, R2, a gradient penalty or path length needs (torch 2.6 added torch.compiler.set_stance for "
            "this). Upgrade torch to 2.6 or later, or set train.compile: false (--set train.compile=false).")
    return GanforgeError(
        "train.compile: a compiled net was differentiated twice, which torch.compile cannot do. A penalty that "
        "takes torch.autograd.grad(..., create_graph=True) through a net must wrap that pass and the grad in "
        "`with ganforge.sdk.twice_differentiable():` so the net runs eagerly there; or set train.compile: false.")
