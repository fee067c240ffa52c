"""The training loop. Everything is set up before the loop; the loop reads top to bottom:
k discriminator steps, one generator step, schedules, EMA, then logging, samples,
evaluation and checkpoints at their intervals."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from ganforge.build import Run
from ganforge.data.stream import BatchStream
from ganforge.errors import GanforgeError, RunFolderError
from ganforge.samples import render, save_png
from ganforge.train.checkpoint import (
    find_checkpoint, list_checkpoints, load_checkpoint, prune_checkpoints, rng_state,
    save_checkpoint, set_rng_state, unflatten_into,
)
from ganforge.train.ema import EMA
from ganforge.train.periodic_eval import PeriodicEval
from ganforge.train.rundir import RunFolder


class Interrupted(GanforgeError):
    """Training stopped on request (Ctrl-C or SIGTERM) after saving a checkpoint."""

    def __init__(self, step: int, checkpoint: Path):
        self.step, self.checkpoint = step, checkpoint
        super().__init__(f"interrupted at step {step}; checkpoint saved in {checkpoint}. "
                         "Continue with the same command plus --resume.")


class NonFiniteLoss(GanforgeError):
    """A logged loss became NaN or infinite."""


class Precision:
    """Autocast and (for fp16) gradient scaling, chosen once from ``train.precision``."""

    def __init__(self, mode: str, device: torch.device):
        self.device_type = device.type
        self.dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[mode]
        self.scaler = torch.amp.GradScaler(device.type, enabled=mode == "fp16")

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None)


class Meter:
    """Sums logged tensors on their device; one host transfer per log interval."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        for key, value in logs.items():
            value = value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value
            self.counts[key] = self.counts.get(key, 0) + 1

    def pop(self) -> dict[str, float]:
        if not self.sums:
            return {}
        values = torch.stack([self.sums[k] / self.counts[k] for k in self.sums]).cpu().tolist()
        out = dict(zip(self.sums, values))
        self.sums, self.counts = {}, {}
        return out


class StopRequest:
    """The first Ctrl-C (or SIGTERM) asks the loop to stop after the current step; a second
    Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains a built :class:`Run`, writing into a :class:`RunFolder`."""

    def __init__(self, run: Run, folder: RunFolder, trackers: list[Any] = ()):
        self.run, self.folder, self.trackers = run, folder, list(trackers)
        self.config = run.recipe.train
        self.precision = Precision(self.config.precision, run.device)
        self.stream = BatchStream(run.data, self.config.batch_size, run.recipe.seed,
                                  workers=self.config.workers, device=run.device)
        objective = run.objective
        ema = self.config.ema
        self.ema = EMA({n: run.nets[n] for n in objective.generators}, ema.decay, ema.start) if ema else None
        self.trained = (*objective.generators, *objective.discriminators)
        self.evaluation = PeriodicEval(run, folder)
        self._reference: torch.Tensor | None = None

    # ------------------------------------------------------------------ the loop

    def fit(self, resume: bool = False) -> int:
        """Train to ``train.steps``; returns the final step."""
        run, config, objective, nets = self.run, self.config, self.run.objective, self.run.nets
        step = self.restore() if resume else self.seed_everything()
        fixed = objective.sample_inputs(config.sample_count, torch.Generator().manual_seed(run.recipe.seed))
        fixed = {k: v.to(run.device) for k, v in fixed.items()}
        meter, started, start_step = Meter(), time.perf_counter(), step
        progress = self._progress(step)
        with StopRequest() as stop:
            while step < config.steps:
                for _ in range(objective.d_steps):
                    batch = next(self.stream)
                    meter.add(self.phase(objective.discriminators, objective.discriminator_loss, batch))
                meter.add(self.phase(objective.generators, objective.generator_loss, batch))
                for scheduler in run.schedulers.values():
                    scheduler.step()
                step += 1
                if self.ema:
                    self.ema.update(nets, step)
                if progress is not None:
                    progress.update(1)

                last = step == config.steps
                eval_due = self.evaluation.due(step, last)
                checkpoint_due = last or stop.requested or eval_due or step % config.checkpoint_every == 0
                if checkpoint_due or step % config.log_every == 0:
                    rate = (step - start_step) / (time.perf_counter() - started)
                    self.log(step, meter.pop(), rate, progress)
                if last or step % config.sample_every == 0:
                    self.save_samples(step, fixed)
                record = self.evaluate(step) if eval_due else None
                if checkpoint_due:
                    path = self.checkpoint(step)
                    if record is not None and self.evaluation.improved(record["metrics"]):
                        self.evaluation.save_best(step, path)
                    if stop.requested and not last:
                        raise Interrupted(step, path)
        if progress is not None:
            progress.close()
        return step

    def phase(self, names: tuple[str, ...], loss_fn: Callable, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One optimisation step of the nets in ``names`` (the others are frozen for it)."""
        nets, optimizers, scaler = self.run.nets, self.run.optimizers, self.precision.scaler
        for name in self.trained:
            nets[name].requires_grad_(name in names)
        for name in names:
            optimizers[name].zero_grad(set_to_none=True)
        with self.precision.autocast():
            loss, logs = loss_fn(nets, batch)
        scaler.scale(loss).backward()
        for name in names:
            scaler.step(optimizers[name])
        scaler.update()
        return logs

    # ------------------------------------------------------------------ around the loop

    def seed_everything(self) -> int:
        seed = self.run.recipe.seed
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        self.evaluation.restore(0)  # a fresh run: no evaluation of an earlier attempt survives
        return 0

    def log(self, step: int, values: dict[str, float], rate: float, progress: Any) -> None:
        bad = [key for key, value in values.items() if not np.isfinite(value)]
        if bad:
            good = list_checkpoints(self.folder.checkpoints)
            raise NonFiniteLoss(
                f"{bad[0]} became {values[bad[0]]} by step {step}; training stopped. The last good checkpoint "
                f"is {good[-1] if good else 'none (no checkpoint was written yet)'}. Lower the learning rate, "
                "use precision fp32, or add a gradient penalty, then start again or --resume."
            )
        values.update({f"lr/{name}": opt.param_groups[0]["lr"] for name, opt in self.run.optimizers.items()})
        record = {"step": step, "time": round(time.time(), 3), "it_s": round(rate, 3), **values}
        self.folder.log(record)
        for tracker in self.trackers:
            if hasattr(tracker, "log_scalars"):
                tracker.log_scalars(step, values)
        losses = {k: v for k, v in values.items() if "loss" in k}
        if progress is not None:
            progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        elif self.config.progress:
            shown = "  ".join(f"{k}={v:.4f}" for k, v in losses.items())
            print(f"step {step}/{self.config.steps}  {shown}  {rate:.1f} it/s", file=sys.stderr, flush=True)

    def evaluate(self, step: int) -> dict[str, Any]:
        """Run ``eval.metrics`` on the generator (its EMA copy when there is one)."""
        nets = {**self.run.nets, **(self.ema.nets if self.ema else {})}
        record = self.evaluation.evaluate(step, nets, ema=self.ema is not None)
        numbers = {f"eval/{k}": float(v) for k, v in record["metrics"].items() if isinstance(v, (int, float))}
        for tracker in self.trackers:
            if hasattr(tracker, "log_scalars"):
                tracker.log_scalars(step, numbers)
        if self.config.progress:
            shown = "  ".join(f"{k[5:]}={v:.4g}" for k, v in numbers.items())
            tqdm.write(f"eval at step {step}: {shown}  ({record['seconds']:.1f}s)", file=sys.stderr)
        return record

    @torch.no_grad()
    def save_samples(self, step: int, fixed: dict[str, torch.Tensor]) -> Path:
        nets = {**self.run.nets, **(self.ema.nets if self.ema else {})}
        modes = {name: net.training for name, net in nets.items()}
        for net in nets.values():
            net.eval()
        try:
            samples = self.run.objective.sample(nets, fixed)
        finally:
            for name, net in nets.items():
                net.train(modes[name])
        picture = render(samples, self.reference() if samples.dim() == 2 else None)
        path = self.folder.samples / f"step_{step:08d}.png"
        save_png(picture, path)
        for tracker in self.trackers:
            if hasattr(tracker, "log_image"):
                tracker.log_image(step, "samples", picture)
        return path

    def reference(self, n: int = 2000) -> torch.Tensor:
        """Real points drawn behind generated ones in 2-D scatter plots."""
        if self._reference is None:
            data = self.run.data
            self._reference = torch.stack([data[i]["x"] for i in range(min(n, len(data)))])
        return self._reference

    def checkpoint(self, step: int) -> Path:
        run = self.run
        state = {
            "optimizers": {name: opt.state_dict() for name, opt in run.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in run.schedulers.items()},
            "scaler": self.precision.scaler.state_dict(),
            "stream": self.stream.state_dict(),
            "rng": rng_state(),
        }
        path = save_checkpoint(self.folder.checkpoints, step, run.nets, self.ema.nets if self.ema else None, state)
        prune_checkpoints(self.folder.checkpoints, self.config.keep_checkpoints)
        return path

    def restore(self) -> int:
        """Load the newest checkpoint; returns its step."""
        if not list_checkpoints(self.folder.checkpoints):
            raise RunFolderError(f"nothing to resume in {self.folder.path}: it has no checkpoint yet; "
                                 "start the run without --resume")
        path = find_checkpoint(self.folder.checkpoints)
        nets, ema, state = load_checkpoint(path)
        unflatten_into(self.run.nets, nets)
        if self.ema:
            if ema is None:
                raise RunFolderError(f"{path} has no EMA weights but the recipe asks for train.ema")
            unflatten_into(self.ema.nets, ema)
        for name, optimizer in self.run.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.run.schedulers.items():
            saved = {k: v for k, v in state["schedulers"][name].items() if k != "lr_lambdas"}
            scheduler.load_state_dict({**scheduler.state_dict(), **saved})
        self.precision.scaler.load_state_dict(state["scaler"])
        self.stream.load_state_dict(state["stream"])
        set_rng_state(state["rng"])
        self.folder.truncate_metrics(state["step"])
        self.evaluation.restore(int(state["step"]))
        return int(state["step"])

    def _progress(self, step: int) -> Any:
        if not (self.config.progress and sys.stderr.isatty()):
            return None
        return tqdm(total=self.config.steps, initial=step, desc=self.run.recipe.name, unit="step",
                    dynamic_ncols=True, file=sys.stderr)

    def close(self) -> None:
        for tracker in self.trackers:
            if hasattr(tracker, "close"):
                tracker.close()
