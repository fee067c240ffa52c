"""Exponential moving average of the generator nets."""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn


class EMA:
    """Averaged copies of ``nets``; before ``start`` the copies simply track the weights.
    ``decay`` gives the decay of the update that ends a step (a half-life may ramp up)."""

    def __init__(self, nets: dict[str, nn.Module], decay: Callable[[int], float], start: int = 0):
        self.decay, self.start = decay, start
        self.nets = {name: copy.deepcopy(net).eval().requires_grad_(False) for name, net in nets.items()}

    @torch.no_grad()
    def update(self, nets: dict[str, nn.Module], step: int) -> None:
        weight = 1.0 if step <= self.start else 1.0 - self.decay(step)
        for name, average in self.nets.items():
            live = nets[name]
            params = [p for p in average.parameters()]
            torch._foreach_lerp_(params, [p.detach() for p in live.parameters()], weight)
            for mine, theirs in zip(average.buffers(), live.buffers()):
                mine.copy_(theirs)
