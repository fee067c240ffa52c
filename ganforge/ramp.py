"""Settings that move during training: ``{start, end, until, shape}`` in place of a number takes
a value from ``start`` to ``end`` over the first ``until`` of ``train.steps``, along a half cosine
(or a line), and keeps ``end`` after. R3GAN's schedules of gamma, Adam's beta2 and the
augmentation probability are such ramps. Imports no torch."""

from __future__ import annotations

import math
from typing import Any, Literal, Union

from pydantic import Field

from ganforge.params import Params


class Ramp(Params):
    """A value moving from ``start`` to ``end`` over the first ``until`` of training, then held."""

    start: float = Field(..., allow_inf_nan=False, description="Value at step 0.")
    end: float = Field(..., allow_inf_nan=False, description="Value from `until` on.")
    until: float = Field(1.0, gt=0, le=1, description="Fraction of train.steps over which the value moves.")
    shape: Literal["cosine", "linear"] = Field("cosine", description="Half cosine (slow, fast, slow) or a straight line.")

    def at(self, step: int, total_steps: int) -> float:
        t = min(step / max(self.until * total_steps, 1), 1.0)
        weight = (1 - math.cos(math.pi * t)) / 2 if self.shape == "cosine" else t
        return self.start + (self.end - self.start) * weight


Rampable = Union[float, Ramp]


def value_at(setting: Any, clock: Any) -> float:
    """A number as it is, a :class:`Ramp` at the clock's step (its start without a clock)."""
    if isinstance(setting, Ramp):
        return setting.start if clock is None else setting.at(clock.step, clock.total_steps)
    return float(setting)


def check_range(setting: Any, low: float, high: float | None, name: str) -> Any:
    """Both ends of a ramp (or the number) within [low, high]; a ValueError naming the setting."""
    values = (setting.start, setting.end) if isinstance(setting, Ramp) else (setting,)
    for value in values:
        if value < low or (high is not None and value > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"{name} must be {bound}, got {value}")
    return setting
