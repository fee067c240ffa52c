"""The training loop. Everything is set up before the loop; the loop reads top to bottom:
k discriminator steps, one generator step, schedules, EMA, then logging, samples,
evaluation and checkpoints at their intervals."""

from __future__ import annotations

import inspect
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from ganforge import distributed
from ganforge.augment import RGB_ONLY, AdaptiveProbability, Augmented, DiffAugment
from ganforge.ramp import value_at
from ganforge.build import Run
from ganforge.capabilities import ClosingTracker, ImageTracker, Tracker, require
from ganforge.data.stream import BatchStream
from ganforge.errors import GanforgeError, RunFolderError
from ganforge.objective import Objective
from ganforge.samples import comparison_sheet, render, save_png
from ganforge.train.checkpoint import (
    checkpoint_bytes, latest_good_checkpoint, list_checkpoints, load_checkpoint, prune_checkpoints, rng_state,
    save_checkpoint, set_aside_newer, set_rng_state, unflatten_into,
)
from ganforge.train.ema import EMA
from ganforge.train.fast import compile_in_place, double_backward_error, resolve_precision, to_channels_last
from ganforge.files import writing
from ganforge.train.periodic_eval import PeriodicEval
from ganforge.train.rundir import RunFolder
from ganforge.train.synced_norm import synchronise_batch_norm


SPREAD_OVER_STEPS = ("linear-decay", "cosine")
"""Learning-rate schedules whose shape depends on ``train.steps``."""


class Interrupted(GanforgeError):
    """Training stopped on request (Ctrl-C or SIGTERM) after saving a checkpoint."""

    def __init__(self, step: int, checkpoint: Path):
        self.step, self.checkpoint = step, checkpoint
        super().__init__(f"interrupted at step {step}; checkpoint saved in {checkpoint}. "
                         "Continue with the same command plus --resume.")


class NonFiniteLoss(GanforgeError):
    """A logged loss became NaN or infinite."""


class OutOfMemory(GanforgeError):
    """The device ran out of memory during a training step."""


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

    def __init__(self, run: Run, folder: RunFolder, trackers: list[Any] = (), *, reschedule: bool = False):
        self.run, self.folder, self.trackers = run, folder, list(trackers)
        self.reschedule = reschedule
        for tracker in self.trackers:
            require(tracker, Tracker, "training", f"tracker {type(tracker).__name__}")
        self.image_trackers = [t for t in self.trackers if isinstance(t, ImageTracker)]
        self.closing_trackers = [t for t in self.trackers if isinstance(t, ClosingTracker)]
        self.shares_forward = type(run.objective).generate is not Objective.generate
        self.config = run.recipe.train
        self.world = distributed.current_world()
        if self.config.batch_size % self.world.size:
            raise GanforgeError(f"train.batch_size {self.config.batch_size} is the global batch; it must divide evenly "
                                f"over the {self.world.size} ranks (for example {self.config.batch_size // self.world.size * self.world.size or self.world.size})")
        self.precision = Precision(resolve_precision(self.config.precision, run.device), run.device)
        if self.config.channels_last:
            to_channels_last(run.nets.values())
        self.stream = BatchStream(run.data, self.config.batch_size // self.world.size, run.recipe.seed,
                                  workers=self.config.workers, device=run.device,
                                  rank=self.world.rank, world_size=self.world.size,
                                  channels_last=self.config.channels_last)
        objective = run.objective
        self.parallel = self.data_parallel()
        ema = self.config.ema
        self.ema = EMA({n: run.nets[n] for n in objective.generators},
                       lambda step: ema.decay_at(step, self.config.steps, self.config.batch_size), ema.start) if ema else None
        self.trained = (*objective.generators, *objective.discriminators)
        self.adaptive: AdaptiveProbability | None = None
        self.augment = self.diff_augment()
        self.evaluation = PeriodicEval(run, folder)
        self.lr_scale, self.rollbacks = 1.0, 0  # changed only by train.nan_rollback
        self.checkpoint_bytes = checkpoint_bytes(run)
        self._reference: torch.Tensor | None = None

    # ------------------------------------------------------------------ the loop

    def data_parallel(self) -> dict[str, torch.nn.Module]:
        """DistributedDataParallel wrappers of the trained nets (none in a single process).
        Buffers are not broadcast: a batch-norm or spectral-norm discriminator is called on real
        and fake batches before one backward, and broadcasting would overwrite buffers in use
        (spectral norm's vectors stay equal anyway: they follow weights that DDP keeps equal)."""
        if self.world.size == 1:
            return {}
        from torch.nn.parallel import DistributedDataParallel

        device = self.run.device
        no_buffer_sync = ({"forward_sync_buffers": False}  # torch >= 2.15; buffers still synced once at init
                          if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                          else {"broadcast_buffers": False})
        wrapped = {}
        for name in (*self.run.objective.generators, *self.run.objective.discriminators):
            if self.config.sync_batch_norm:  # every rank normalises over the global batch, as one process would
                self.run.nets[name] = synchronise_batch_norm(self.run.nets[name], device)
            # A game that leaves parts of a net idle for a while (pix2pixHD's coarse stage) says so.
            wrapped[name] = DistributedDataParallel(self.run.nets[name], **no_buffer_sync,
                                                    find_unused_parameters=self.run.objective.unused_parameters,
                                                    device_ids=[device.index] if device.type == "cuda" else None)
        return wrapped

    def diff_augment(self) -> DiffAugment | None:
        config = self.config.augment
        if config is None:
            return None
        info = self.run.ctx.data_info
        if info is None or not info.is_image:
            raise GanforgeError(f"train.augment works on images, but this data holds vectors of shape "
                                f"{info.shape if info else '?'}; remove train.augment")
        colour_only = [name for name in config.policy if name in RGB_ONLY]
        if colour_only and info.shape[0] != 3:
            raise GanforgeError(f"train.augment.policy: {', '.join(colour_only)} work on RGB images, but this data has "
                                f"{info.shape[0]} channel(s); use brightness and contrast instead, or remove them")
        adaptive = config.adaptive
        if adaptive is not None:
            self.adaptive = AdaptiveProbability(adaptive.target, adaptive.interval, adaptive.speed_images,
                                                self.config.batch_size, adaptive.initial)
        probability = adaptive.initial if adaptive is not None else value_at(config.probability, self.run.ctx.clock) \
            if config.probability is not None else None
        return DiffAugment(config.policy, config.translation, config.cutout, probability=probability)

    def fit(self, resume: bool = False) -> int:
        """Train to ``train.steps``; returns the final step."""
        run, config, objective, nets = self.run, self.config, self.run.objective, self.run.nets
        main = self.world.is_main
        step = self.restore() if resume else self.seed_everything()
        fixed = objective.sample_inputs(config.sample_count, torch.Generator().manual_seed(run.recipe.seed))
        fixed = {k: v.to(run.device) for k, v in fixed.items()}
        if config.compile:
            compile_in_place(nets[name] for name in self.trained)
        meter, started, start_step = Meter(), time.perf_counter(), step
        progress = self._progress(step)
        with StopRequest() as stop:
            while step < config.steps:
                try:
                    for logs in self.train_step(step, self.stream):
                        meter.add(logs)
                    if config.compile and step == start_step and main:
                        print(f"train.compile: the first step took {time.perf_counter() - started:.1f} s "
                              "(compiling the nets)", flush=True)
                except torch.OutOfMemoryError:
                    raise OutOfMemory(
                        f"{run.device} ran out of memory at step {step + 1} with train.batch_size "
                        f"{config.batch_size}. Lower it (--set train.batch_size={max(config.batch_size // 2, 1)}), "
                        "use train.precision bf16, or make the nets narrower; then --resume continues from the last "
                        "checkpoint.") from None
                except RuntimeError as exc:  # torch's words for it name neither the setting nor the fix
                    if config.compile and "double backward" in str(exc):
                        raise double_backward_error() from exc
                    raise
                for scheduler in run.schedulers.values():
                    scheduler.step()
                step += 1
                if self.ema:
                    self.ema.update(nets, step)
                if progress is not None:
                    progress.update(1)

                last = step == config.steps
                stopping = distributed.any_across(stop.requested, run.device)  # all ranks stop at one step
                eval_due = self.evaluation.due(step, last)
                checkpoint_due = last or stopping or eval_due or step % config.checkpoint_every == 0
                if checkpoint_due or step % config.log_every == 0:
                    rate = (step - start_step) / (time.perf_counter() - started)
                    try:
                        self.log(step, distributed.mean_across(meter.pop(), run.device), rate, progress)
                    except NonFiniteLoss as exc:
                        step = self.roll_back(step, exc)  # re-raises unless train.nan_rollback allows it
                        meter, started, start_step = Meter(), time.perf_counter(), step
                        if progress is not None:
                            progress.reset(total=config.steps)
                            progress.update(step)
                        continue
                try:
                    if main and (last or step % config.sample_every == 0):
                        self.save_samples(step, fixed)
                    record = self.evaluate(step) if eval_due else None  # every rank takes a share
                except Exception as exc:  # nothing learned is lost: checkpoint first, then say what failed
                    raise self.saved_after(step, exc, "drawing samples or evaluating") from exc
                if checkpoint_due:
                    path = self.checkpoint(step) if main else self.folder.checkpoints / f"step_{step:08d}"
                    if main and record is not None and self.evaluation.improved(record["metrics"]):
                        self.evaluation.save_best(step, path)
                    if stopping and not last:
                        raise Interrupted(step, path)
        if progress is not None:
            progress.close()
        return step

    def train_step(self, step: int, batches: Iterator[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
        """One training step from ``step``: ``d_steps`` discriminator phases, each on the next
        batch (the last one sharing the generator's forward with the generator phase), then the
        generator phase on the last batch. Returns each phase's logs."""
        objective, clock, logs = self.run.objective, self.run.ctx.clock, []
        clock.step = step
        self.follow_ramps(clock)
        for index in range(objective.d_steps):
            clock.d_step = step * objective.d_steps + index
            batch = next(batches)
            generated = self.generate(batch) if index == objective.d_steps - 1 else None
            logs.append(self.phase(objective.discriminators, objective.discriminator_loss, batch, generated))
            if self.adaptive is not None:
                logs[-1].update(self.adapt(logs[-1]))
            elif self.augment is not None and self.augment.probability is not None:
                logs[-1]["augment/p"] = torch.tensor(self.augment.probability)
        logs.append(self.phase(objective.generators, objective.generator_loss, batch, generated))
        return logs

    def follow_ramps(self, clock) -> None:
        """Settings ramped over training (Adam's beta2, a fixed augmentation probability) at this step."""
        for name, config in self.run.recipe.optim.items():
            if config.beta2 is not None and name in self.run.optimizers:
                beta2 = value_at(config.beta2, clock)
                for group in self.run.optimizers[name].param_groups:
                    group["betas"] = (group["betas"][0], beta2)
        augment = self.config.augment
        if augment is not None and augment.probability is not None:
            self.augment.probability = value_at(augment.probability, clock)

    def adapt(self, logs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """ADA: feed this discriminator step's sign on reals (averaged over ranks) to the controller."""
        if "d/real_sign" not in logs:
            raise GanforgeError(f"train.augment.adaptive steers by the discriminator's sign on real images, which the "
                                f"{self.run.recipe.objective.type} objective does not log (d/real_sign); remove "
                                "train.augment.adaptive, or use an objective that logs it (unconditional, conditional, "
                                "stylegan2)")
        device = self.run.device
        r = self.adaptive.observe(logs["d/real_sign"].detach().float(),
                                  average=lambda value: distributed.mean_across({"r": value}, device)["r"])
        self.augment.probability = self.adaptive.p
        out = {"augment/p": torch.tensor(self.adaptive.p)}
        if r is not None:
            out["augment/r"] = torch.tensor(r)
        return out

    def playing(self, names: tuple[str, ...]) -> dict[str, torch.nn.Module]:
        """The nets as a phase training ``names`` sees them: those in ``names`` trainable (and
        through DDP, which averages their gradients over ranks), the others frozen and bare;
        every discriminator behind the augmentation when there is one."""
        nets = self.run.nets
        for name in self.trained:
            nets[name].requires_grad_(name in names)
        playing = {**nets, **{name: self.parallel[name] for name in names if name in self.parallel}}
        if self.augment:  # every discriminator sees augmented inputs, in both phases
            playing.update({name: Augmented(playing[name], self.augment) for name in self.run.objective.discriminators})
        return playing

    def generate(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
        """The objective's shared generator forward for this step (with gradients, for the
        generator phase), or None when it has none."""
        if not self.shares_forward:
            return None
        playing = self.playing(self.run.objective.generators)
        with self.precision.autocast():
            return self.run.objective.generate(playing, batch)

    def phase(self, names: tuple[str, ...], loss_fn: Callable, batch: dict[str, torch.Tensor],
              generated: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """One optimisation step of the nets in ``names`` (the others are frozen for it)."""
        optimizers, scaler = self.run.optimizers, self.precision.scaler
        playing = self.playing(names)
        for name in names:
            optimizers[name].zero_grad(set_to_none=True)
        with self.precision.autocast():
            loss, logs = loss_fn(playing, batch) if generated is None else loss_fn(playing, batch, generated)
        scaler.scale(loss).backward()
        for name in names:
            scaler.step(optimizers[name])
        scaler.update()
        self.run.objective.after_step(names, self.run.nets)
        return logs

    # ------------------------------------------------------------------ around the loop

    def seed_everything(self) -> int:
        seed = self.run.recipe.seed
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        if self.world.is_main:
            self.evaluation.restore(0)  # a fresh run: no evaluation of an earlier attempt survives
        return 0

    def non_finite(self) -> list[str]:
        """The weights, buffers (batch-norm statistics), EMA copies and gradients holding a NaN or
        an infinity, by name."""
        nets = {**self.run.nets, **({f"{n} (EMA)": net for n, net in self.ema.nets.items()} if self.ema else {})}
        tensors = {f"{name}.{key}": value for name, net in nets.items() for key, value in net.state_dict().items()
                   if value.is_floating_point()}
        tensors.update({f"{name}.{key} (gradient)": parameter.grad for name in self.trained
                        for key, parameter in self.run.nets[name].named_parameters() if parameter.grad is not None})
        if not tensors:
            return []
        finite = torch.stack([torch.isfinite(t).all() for t in tensors.values()]).cpu().tolist()  # one device sync
        return [name for name, ok in zip(tensors, finite) if not ok]

    def log(self, step: int, values: dict[str, float], rate: float, progress: Any) -> None:
        """Check the logged values and the weights for NaN and infinity, then log the values."""
        bad = [key for key, value in values.items() if not np.isfinite(value)]
        tensors = self.non_finite()
        if bad or tensors:
            good = list_checkpoints(self.folder.checkpoints)
            what = (f"{bad[0]} became {values[bad[0]]}" if bad else
                    f"{len(tensors)} tensor(s) became NaN or infinite ({', '.join(tensors[:3])}"
                    f"{', ...' if len(tensors) > 3 else ''}) while the logged losses stayed finite")
            raise NonFiniteLoss(
                f"{what} by step {step}; training stopped and nothing of this interval was saved. The last good "
                f"checkpoint is {good[-1] if good else 'none (no checkpoint was written yet)'}. Lower the learning "
                "rate, use precision fp32, or add a gradient penalty, then start again or --resume."
            )
        if not self.world.is_main:
            return
        values.update({f"lr/{name}": opt.param_groups[0]["lr"] for name, opt in self.run.optimizers.items()})
        record = {"step": step, "time": round(time.time(), 3), "it_s": round(rate, 3), **values}
        with writing("metrics.jsonl", self.folder.path):
            self.folder.log(record)
        for tracker in self.trackers:
            try:
                tracker.log_scalars(step, values)
            except Exception as exc:  # nothing learned is lost: checkpoint first, then say what failed
                raise self.saved_after(step, exc, f"the {type(tracker).__name__} tracker") from exc
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
            tracker.log_scalars(step, numbers)
        if self.config.progress and self.world.is_main:
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
        if "source" in fixed:  # translation: input | output | target rows
            picture = comparison_sheet([fixed["source"], samples, *([fixed["x"]] if "x" in fixed else [])])
        else:
            picture = render(samples, self.reference() if samples.dim() == 2 else None)
        path = self.folder.samples / f"step_{step:08d}.png"
        with writing(f"samples of step {step}", self.folder.samples):
            save_png(picture, path)
        for tracker in self.image_trackers:
            tracker.log_image(step, "samples", picture)
        return path

    def reference(self, n: int = 2000) -> torch.Tensor:
        """Real points drawn behind generated ones in 2-D scatter plots."""
        if self._reference is None:
            data = self.run.data
            self._reference = torch.stack([data[i]["x"] for i in range(min(n, len(data)))])
        return self._reference

    def saved_after(self, step: int, error: Exception, what: str) -> GanforgeError:
        """Save the state after ``step`` (complete: the step and its schedules are done) unless a
        checkpoint of it exists, and return the error that says what failed and where the run is."""
        path = self.folder.checkpoints / f"step_{step:08d}"
        detail = str(error) if isinstance(error, GanforgeError) else f"{type(error).__name__}: {error}"
        if self.world.is_main and not (path / "state.pt").is_file():
            try:
                path = self.checkpoint(step)
            except Exception as failed:
                good = list_checkpoints(self.folder.checkpoints)
                return GanforgeError(f"{what} failed at step {step}: {detail}. Saving a checkpoint of step {step} "
                                     f"failed too ({failed}); the newest checkpoint is "
                                     f"{good[-1] if good else 'none'}. Fix the cause and continue with --resume.")
        return GanforgeError(f"{what} failed at step {step}: {detail}. Nothing learned is lost: the run's state at "
                             f"step {step} is in {path}; fix the cause and continue with --resume.")

    def checkpoint(self, step: int) -> Path:
        bad = self.non_finite()
        if bad:  # never write a checkpoint that could not be resumed from
            raise NonFiniteLoss(f"{len(bad)} tensor(s) are NaN or infinite at step {step} ({', '.join(bad[:3])}); "
                                "no checkpoint is written from them")
        run = self.run
        state = {
            "optimizers": {name: opt.state_dict() for name, opt in run.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in run.schedulers.items()},
            "scaler": self.precision.scaler.state_dict(),
            "stream": self.stream.state_dict(),
            "objective": run.objective.state_dict(),
            "rng": rng_state(),
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
            "schedule_steps": self.config.steps,
            "adaptive_augment": self.adaptive.state_dict() if self.adaptive is not None else None,
        }
        with writing(f"checkpoint step {step}", self.folder.checkpoints, needed=self.checkpoint_bytes):
            path = save_checkpoint(self.folder.checkpoints, step, run.nets, self.ema.nets if self.ema else None, state)
        prune_checkpoints(self.folder.checkpoints, self.config.keep_checkpoints)
        return path

    def restore(self) -> int:
        """Load the newest good checkpoint (corrupt newer ones are reported and set aside);
        returns its step."""
        if not list_checkpoints(self.folder.checkpoints):
            raise RunFolderError(f"nothing to resume in {self.folder.path}: it has no checkpoint yet; "
                                 "start the run without --resume")
        path = self.good_checkpoint()
        if path is None:
            raise RunFolderError(f"every checkpoint in {self.folder.checkpoints} is corrupt; the run cannot be "
                                 "continued. Start it again in a new output.dir")
        state = self.load_state(path)
        self.check_horizon(state.get("schedule_steps"))
        self.lr_scale, self.rollbacks = state.get("lr_scale", 1.0), state.get("rollbacks", 0)
        self.warn(f"resumed from step {int(state['step'])} of {self.config.steps} (checkpoint {path})")
        return int(state["step"])

    def check_horizon(self, saved_steps: int | None) -> None:
        """A learning rate that decays over ``train.steps`` keeps the horizon it was planned
        with: resuming with another ``train.steps`` is refused, unless ``--reschedule`` asks to
        spread the rest of the schedule over the new length."""
        steps = self.config.steps
        if saved_steps is None or saved_steps == steps or self.reschedule:
            return
        spread = [f"{name} ({config.schedule.type})" for name, config in self.run.recipe.optim.items()
                  if config.schedule.type in SPREAD_OVER_STEPS and name in self.run.optimizers]
        spread += ramped_settings(self.run.recipe)
        if spread:
            raise RunFolderError(
                f"train.steps changed from {saved_steps} to {steps}, and {', '.join(spread)} move over train.steps "
                f"(learning rates, ramps): resuming would change the values the first {saved_steps} steps were planned "
                f"with. Keep train.steps={saved_steps}, or add --reschedule to spread the rest of the decay over "
                f"{steps} steps (the weights then differ from a run trained {steps} steps from the start)")

    def roll_back(self, step: int, error: NonFiniteLoss) -> int:
        """Go back to the last good checkpoint with lower learning rates (``train.nan_rollback``);
        re-raise ``error`` when rollback is off, used up, or has nowhere to go."""
        policy = self.config.nan_rollback
        if policy is None or self.rollbacks >= policy.max_rollbacks:
            raise error
        path = self.good_checkpoint()
        if path is None:
            raise error
        state = self.load_state(path)  # its learning rates carry the scale it was saved with
        scale = self.lr_scale * policy.lr_factor
        self.scale_learning_rates(scale / state.get("lr_scale", 1.0))
        self.lr_scale, self.rollbacks = scale, self.rollbacks + 1
        what = str(error).split(";")[0]
        if self.world.is_main:
            self.folder.log({"step": int(state["step"]), "event": "nan-rollback", "from_step": step, "error": what,
                             "lr_scale": scale, "rollback": self.rollbacks})
        self.warn(f"{what}; rolled back to step {state['step']} with learning rates x{scale:g} "
                  f"(rollback {self.rollbacks} of {policy.max_rollbacks})")
        return int(state["step"])

    def scale_learning_rates(self, factor: float) -> None:
        for name, optimizer in self.run.optimizers.items():
            scheduler = self.run.schedulers[name]
            scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
            for group in optimizer.param_groups:
                group["lr"] *= factor

    def good_checkpoint(self) -> Path | None:
        """The newest checkpoint that passes its checksums; rank 0 sets newer corrupt ones aside
        while the other ranks wait."""
        path = None
        if self.world.is_main:
            path = latest_good_checkpoint(self.folder.checkpoints, warn=self.warn)
            if path is not None:
                set_aside_newer(self.folder.checkpoints, path, warn=self.warn)
        distributed.barrier()
        if not self.world.is_main:
            path = latest_good_checkpoint(self.folder.checkpoints)
        return path

    def warn(self, message: str) -> None:
        if self.world.is_main:
            tqdm.write(f"ganforge: {message}", file=sys.stderr)

    def load_state(self, path: Path) -> dict[str, Any]:
        """Load checkpoint ``path`` into the nets, optimizers, schedulers, data stream and RNGs,
        and forget what was logged after it. Returns the saved training state."""
        nets, ema, state = load_checkpoint(path)
        if state.get("imported"):
            raise RunFolderError(f"{self.folder.path} was made by `ganforge import` from {state['imported']['source']}: "
                                 "it holds weights but no training state to resume. Fine-tune in a new output.dir "
                                 "instead")
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
        self.run.objective.load_state_dict(state.get("objective", {}))
        if self.adaptive is not None and state.get("adaptive_augment"):
            self.adaptive.load_state_dict(state["adaptive_augment"])
            self.augment.probability = self.adaptive.p
        set_rng_state(state["rng"])
        if self.world.is_main:
            self.folder.truncate_metrics(state["step"])
            self.evaluation.restore(int(state["step"]))
        return state

    def _progress(self, step: int) -> Any:
        if not (self.config.progress and sys.stderr.isatty() and self.world.is_main):
            return None
        return tqdm(total=self.config.steps, initial=step, desc=self.run.recipe.name, unit="step",
                    dynamic_ncols=True, file=sys.stderr)

    def close(self) -> None:
        for tracker in self.closing_trackers:
            tracker.close()


def ramped_settings(recipe: Any) -> list[str]:
    """The settings of ``recipe`` that ramp over train.steps, by key path."""
    from ganforge.ramp import Ramp

    found = [f"optim.{name}.beta2 (ramp)" for name, config in recipe.optim.items() if config.beta2 is not None]
    found += [f"losses.{name}.gamma (ramp)" for name, loss in recipe.losses.items()
              if isinstance(getattr(loss, "gamma", None), Ramp)]
    if recipe.train.ema is not None and isinstance(recipe.train.ema.half_life_images, Ramp):
        found.append("train.ema.half_life_images (ramp)")
    if recipe.train.augment is not None and isinstance(recipe.train.augment.probability, Ramp):
        found.append("train.augment.probability (ramp)")
    return found
