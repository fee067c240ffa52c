"""Built-in trackers. ``metrics.jsonl`` is always written by the run folder itself."""

from __future__ import annotations

from pydantic import Field

from ganforge.hookspecs import hookimpl
from ganforge.params import Params


class TensorBoardParams(Params):
    """TensorBoard event files in ``<run>/tb``."""

    flush_secs: int = Field(30, ge=1, description="Seconds between flushes to disk.")


@hookimpl
def ganforge_register_trackers(register):
    register("tensorboard", params=TensorBoardParams, factory="ganforge.trackers:tensorboard",
             summary="TensorBoard scalars and sample images in <run>/tb.")
