"""Trackers receive logged scalars and sample images: every tracker has ``log_scalars(step,
values)`` (``ganforge.capabilities.Tracker``); ``log_image(step, tag, image)`` (a uint8 HWC numpy
array) and ``close()`` are optional capabilities (``ImageTracker``, ``ClosingTracker``)."""

from __future__ import annotations

from typing import Any

import numpy as np


class TensorBoardTracker:
    def __init__(self, log_dir: str, flush_secs: int):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=log_dir, flush_secs=flush_secs)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None:
        self.writer.add_image(tag, image, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()


def tensorboard(params: Any, ctx: Any) -> TensorBoardTracker:
    return TensorBoardTracker(str(ctx.run_dir / "tb"), params.flush_secs)
