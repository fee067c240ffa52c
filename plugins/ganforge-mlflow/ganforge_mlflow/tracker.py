"""The MLflow tracker: one MLflow run per ganforge run folder, resumed with it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class MLflowTracker:
    """Scalars go to ``log_metric`` at their step; sample grids to ``<tag>/step_<N>.png``
    artifacts. The MLflow run id is kept in ``<run>/mlflow_run_id``, so ``--resume`` appends to
    the same MLflow run."""

    def __init__(self, tracking_uri: str, experiment: str, run_name: str, log_images: bool, run_dir: Path):
        if tracking_uri.startswith("file:"):
            # MLflow 3 keeps its file store for local use behind this switch.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client, self.log_images = MlflowClient(tracking_uri), log_images
        marker = run_dir / "mlflow_run_id"
        if marker.is_file():
            self.run_id = marker.read_text().strip()
        else:
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
            self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
            run_dir.mkdir(parents=True, exist_ok=True)
            marker.write_text(self.run_id + "\n")

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric
        import time

        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in values.items() if np.isfinite(value)]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None:
        if self.log_images:
            self.client.log_image(self.run_id, image, artifact_file=f"{tag}/step_{step:08d}.png")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def mlflow_tracker(params: Any, ctx: Any) -> MLflowTracker:
    run_dir = Path(ctx.run_dir)
    uri = params.tracking_uri or f"file:{(run_dir / 'mlruns').resolve()}"
    name = params.run_name or (ctx.recipe.name if ctx.recipe is not None else None) or run_dir.name
    return MLflowTracker(uri, params.experiment, name, params.log_images, run_dir)
