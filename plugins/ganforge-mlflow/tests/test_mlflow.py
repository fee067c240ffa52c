"""The MLflow tracker: a run's losses and sample grids land in a local MLflow store, and a
resumed run appends to the same MLflow run."""

from __future__ import annotations

import torch

from ganforge.pipeline import train
from ganforge.recipe import recipe_from_data


def ring(tmp_path, steps: int) -> dict:
    torch.set_num_threads(1)
    return {
        "name": "mlflow-ring", "seed": 0, "data": {"type": "gaussian-mixture", "size": 256},
        "models": {"generator": {"type": "mlp-generator", "z_dim": 2, "width": 16, "depth": 1},
                   "discriminator": {"type": "mlp-discriminator", "width": 16, "depth": 1}},
        "objective": "unconditional",
        "train": {"steps": steps, "batch_size": 16, "device": "cpu", "progress": False, "log_every": 2,
                  "sample_every": 4, "sample_count": 16, "checkpoint_every": 4},
        "output": {"dir": str(tmp_path / "run"), "trackers": ["mlflow"]},
    }


def test_losses_and_samples_go_to_a_local_mlflow_store_and_resume_appends(tmp_path):
    from mlflow.tracking import MlflowClient

    train(recipe_from_data(ring(tmp_path, 4)))
    train(recipe_from_data(ring(tmp_path, 8)), resume=True)
    run_id = (tmp_path / "run" / "mlflow_run_id").read_text().strip()
    client = MlflowClient(f"file:{tmp_path / 'run' / 'mlruns'}")
    run = client.get_run(run_id)
    assert run.info.run_name == "mlflow-ring" and run.info.status == "FINISHED"
    history = client.get_metric_history(run_id, "g/loss")
    assert [m.step for m in history] == [2, 4, 6, 8]
    artifacts = {a.path for a in client.list_artifacts(run_id, "samples")}
    assert {"samples/step_00000004.png", "samples/step_00000008.png"} <= artifacts
