"""Evaluation during training: every ``eval.every`` steps (and at the last step), on the EMA
generator when there is one, sharded over ranks when there are several. Results go to ``eval.json`` and the trackers; with ``eval.best``
the checkpoint with the best value is copied to ``checkpoints/best`` and described in
``best.json``. The evaluation never touches the training RNG streams."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from torch import nn

from ganforge import distributed
from ganforge.build import Run
from ganforge.errors import GanforgeError
from ganforge.train.checkpoint import rng_state, set_rng_state
from ganforge.files import atomic_write_text
from ganforge.train.rundir import RunFolder

BEST = "best"


class PeriodicEval:
    def __init__(self, run: Run, folder: RunFolder):
        self.run, self.folder, self.config = run, folder, run.recipe.eval
        self.enabled = bool(self.config.every and self.config.metrics)
        self.session: Any = None
        self.best_value: float | None = None
        if self.enabled:
            self.check_best_metric()

    def due(self, step: int, last: bool) -> bool:
        return self.enabled and (last or step % self.config.every == 0)

    def check_best_metric(self) -> None:
        """Fail before training when ``eval.best.metric`` is none of the evaluators' results."""
        from ganforge.eval.runner import build_evaluators

        best = self.config.best
        if best is None:
            return
        declared = [e.keys for e in build_evaluators(self.run, self.config.metrics).values()]
        if all(keys is not None for keys in declared):
            known = [key for keys in declared for key in keys]
            if best.metric not in known:
                error = GanforgeError(f"eval.best.metric is {best.metric!r}, but the evaluators in eval.metrics "
                                      f"report {', '.join(known)}; pick one of those or add the evaluator that reports it")
                error.recipe_path = ("eval", "best", "metric")
                raise error

    def evaluate(self, step: int, nets: dict[str, nn.Module], ema: bool) -> dict[str, Any]:
        """Evaluate ``nets`` at ``step`` and append the record to ``eval.json``."""
        from ganforge.eval.runner import build_evaluators, eval_session, evaluate

        saved = rng_state()
        try:
            if self.session is None:
                self.session = eval_session(self.run, self.config.batch_size)
            result = evaluate(self.run, build_evaluators(self.run, self.config.metrics), nets=nets,
                              batch_size=self.config.batch_size, seed=self.config.seed, session=self.session)
        finally:
            set_rng_state(saved)
        record = {"step": step, "source": "train", "ema": ema, **result}
        if distributed.current_world().is_main:
            self.folder.append_eval(record)
        return record

    def improved(self, metrics: dict[str, Any]) -> bool:
        """Whether ``metrics`` beat the best so far by ``eval.best`` (and remember them if so)."""
        best = self.config.best
        if best is None:
            return False
        if best.metric not in metrics:
            raise GanforgeError(f"eval.best.metric is {best.metric!r}, but the evaluation reported only "
                                f"{', '.join(metrics)}; set eval.best.metric to one of those")
        value = metrics[best.metric]
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None or (value < self.best_value if best.mode == "min" else value > self.best_value):
            self.best_value = float(value)
            return True
        return False

    def save_best(self, step: int, checkpoint: Path) -> Path:
        """Copy ``checkpoint`` to ``checkpoints/best`` (atomically) and write ``best.json``."""
        final = checkpoint.parent / BEST
        tmp = checkpoint.parent / f".{BEST}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(checkpoint, tmp)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        best = self.config.best
        atomic_write_text(self.folder.best_file, json.dumps({
            "step": step, "metric": best.metric, "mode": best.mode, "value": self.best_value,
            "checkpoint": str(final), "copied_from": checkpoint.name}, indent=2) + "\n")
        return final

    def restore(self, step: int) -> None:
        """On resume: forget evaluations after ``step`` and recover the best value before it."""
        self.folder.truncate_evals(step)
        best = self.config.best
        if best is None:
            return
        if self.folder.best_file.is_file():
            saved = json.loads(self.folder.best_file.read_text())
            if saved.get("step", 0) > step:  # the best came from steps being redone
                self.folder.best_file.unlink()
                shutil.rmtree(self.folder.checkpoints / BEST, ignore_errors=True)
        if self.folder.best_file.is_file():
            saved = json.loads(self.folder.best_file.read_text())
            if (saved.get("metric"), saved.get("mode")) == (best.metric, best.mode):
                self.best_value = saved.get("value")
