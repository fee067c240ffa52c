"""Registration of the MLflow tracker. Imports neither torch nor mlflow."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ganforge.sdk import Params, hookimpl


class MLflowParams(Params):
    """Log a run's scalars and sample grids to MLflow."""

    tracking_uri: str | None = Field(None, description="MLflow tracking URI (a server's http(s) address, or file:PATH); default: a local store in <run>/mlruns.")
    experiment: str = Field("ganforge", description="Experiment the run is logged under.")
    run_name: str | None = Field(None, description="MLflow run name (default: the recipe's name).")
    log_images: bool = Field(True, description="Also log sample grids as image artifacts.")


@hookimpl
def ganforge_register_trackers(register):
    register("mlflow", params=MLflowParams, factory="ganforge_mlflow.tracker:mlflow_tracker",
             summary="MLflow: scalars and sample grids in a local store (<run>/mlruns) or on a server.")


@hookimpl
def ganforge_kit_examples(folder: Path) -> list[dict]:
    return [{"output": {"trackers": [{"type": "mlflow", "tracking_uri": f"file:{folder / 'mlruns'}"}]}}]
