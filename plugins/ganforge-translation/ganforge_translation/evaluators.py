"""``cycle-error``: how well a CycleGAN's two generators undo each other on the evaluation data."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

from ganforge.sdk import CycleConsistent, Evaluator


class CycleError(Evaluator):
    """Mean absolute error (images in [0, 1]) of F(G(a)) against a and of G(F(b)) against b."""

    name = "cycle-error"
    needs = "nets"
    keys = ("cycle_error", "cycle_error_a", "cycle_error_b")
    objective_needs = (CycleConsistent,)

    def __init__(self, params: Any):
        self.p, self.samples = params, params.samples
        self.session: Any = None

    def prepare(self, session: Any) -> None:
        self.session = session

    @torch.no_grad()
    def measure(self, run: Any, nets: dict, batch_size: int) -> None:
        cycle = run.objective.cycle_errors
        data = self.session.require_data("cycle-error")
        errors: dict[str, list[torch.Tensor]] = {"a": [], "b": []}
        self.count = 0
        for batch in DataLoader(data, batch_size=batch_size):
            if self.count >= self.samples:
                break
            keep = self.samples - self.count
            batch = {k: v[:keep].to(run.device) for k, v in batch.items() if torch.is_tensor(v)}
            for side, values in cycle(nets, batch).items():
                errors[side].append(values.float().cpu())
            self.count += len(batch["source"])
        self.errors = {side: torch.cat(values) for side, values in errors.items()}

    def compute(self) -> dict[str, float]:
        a, b = float(self.errors["a"].mean()), float(self.errors["b"].mean())
        return {"cycle_error": (a + b) / 2, "cycle_error_a": a, "cycle_error_b": b}

    def protocol(self) -> dict[str, Any]:
        return {"images": self.count, "range": "images scaled to [0, 1]"}


def cycle_error(params: Any, ctx: Any) -> CycleError:
    return CycleError(params)
