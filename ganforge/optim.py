"""Optimizers and learning-rate schedules from recipe settings."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch


def fusable(params: list[torch.nn.Parameter]) -> bool:
    """Whether PyTorch's fused Adam kernel can update ``params``: floating point, on the CPU or a
    GPU. It does the whole update in one pass instead of a dozen tensor operations per
    parameter, which on small nets is a fifth of a training step."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


def make_optimizer(config: Any, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    params = [p for p in parameters if p.requires_grad]
    if config.type in ("adam", "adamw"):
        cls = torch.optim.Adam if config.type == "adam" else torch.optim.AdamW
        return cls(params, lr=config.lr, betas=tuple(config.betas), eps=config.eps, weight_decay=config.weight_decay,
                   fused=fusable(params) or None)
    if config.type == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.RMSprop(params, lr=config.lr, momentum=config.momentum, eps=config.eps,
                               weight_decay=config.weight_decay)


class LearningRateFactor:
    """Multiplier of the base learning rate at a step; plain attributes, so it checkpoints."""

    def __init__(self, schedule: Any, total_steps: int):
        settings = {"start": 0.0, "min_factor": 0.0, "every": 1, "gamma": 1.0, **schedule.model_dump()}
        self.kind = schedule.type
        self.total = total_steps
        self.start, self.min_factor = settings["start"], settings["min_factor"]
        self.every, self.gamma = settings["every"], settings["gamma"]

    def __call__(self, step: int) -> float:
        progress = min(step / self.total, 1.0)
        if self.kind == "linear-decay":
            return 1.0 if progress <= self.start else max(0.0, (1.0 - progress) / (1.0 - self.start))
        if self.kind == "cosine":
            return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.kind == "step":
            return self.gamma ** (step // self.every)
        return 1.0


def make_scheduler(schedule: Any, optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LearningRateFactor(schedule, total_steps))
