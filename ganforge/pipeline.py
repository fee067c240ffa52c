"""Recipe -> run folder (``train``); run folder -> samples (``sample``) and evaluation
(``evaluate_checkpoint``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganforge import distributed
from ganforge.build import build_run
from ganforge.capabilities import SkipsUnreadable
from ganforge.data.info import DataInfo
from ganforge.errors import DataError, GanforgeError
from ganforge.eval.session import data_fingerprint
from ganforge.recipe import LoadedRecipe, recipe_from_data
from ganforge.registry import Registry, default_registry
from ganforge.train.fast import resolve_precision
from ganforge.samples import render, save_png, to_uint8
from ganforge.train.determinism import deterministic_algorithms
from ganforge.train.checkpoint import find_checkpoint, load_checkpoint, unflatten_into
from ganforge.train.rundir import RunFolder, manifest
from ganforge.train.trainer import Trainer


def run_folder_for(recipe: Any) -> RunFolder:
    return RunFolder(Path(recipe.output.dir) if recipe.output.dir else Path("runs") / recipe.name)


def train(loaded: LoadedRecipe, *, resume: bool = False, registry: Registry | None = None,
          reschedule: bool = False, data: Any = None) -> RunFolder:
    """Train a loaded recipe into its run folder; ``resume`` continues from the newest checkpoint
    (``reschedule``: spreading a decaying learning rate over a changed ``train.steps``); ``data``
    is the recipe's data when already built (by the preflight). Under torchrun every rank calls
    this; rank 0 alone writes the run folder, holding its lock."""
    with deterministic_algorithms(loaded.recipe.train.deterministic):
        folder = run_folder_for(loaded.recipe)
        if os.environ.get("RANK", "0") == "0":  # rank 0 under torchrun, or the only process
            with folder.lock():
                return _train(loaded, resume, registry or default_registry(), reschedule, data)
        return _train(loaded, resume, registry or default_registry(), reschedule, data)


def _train(loaded: LoadedRecipe, resume: bool, registry: Registry, reschedule: bool, data: Any) -> RunFolder:
    recipe = loaded.recipe
    world = distributed.init_from_env(recipe.train.device)
    folder = run_folder_for(recipe)
    device = distributed.device_for(world, recipe.train.device)
    run = build_run(recipe, registry=registry, run_dir=folder.path, device=torch.device(device) if device else None,
                    data=data)
    resolved = loaded.resolved()
    if world.is_main:
        record = manifest(resolved, loaded.source, str(run.device), run.ctx.data_info.to_json(), world_size=world.size)
        record["data_fingerprint"] = data_fingerprint(run.data, recipe.data)
        record["precision"] = resolve_precision(recipe.train.precision, run.device)
        if isinstance(run.data, SkipsUnreadable):  # counted once, here, however often they are met again
            record["data_skipped"] = {"count": len(run.data.skipped), "files": [str(f) for f in run.data.skipped[:50]]}
        folder.start(resolved, record, resume=resume, registry=registry)
    distributed.barrier()
    trackers = [run.ctx.build("tracker", t) for t in recipe.output.trackers] if world.is_main else []
    trainer = Trainer(run, folder, trackers, reschedule=reschedule)
    try:
        trainer.fit(resume=resume)
    finally:
        trainer.close()
    distributed.barrier()
    return folder


def rebuild_run(folder: RunFolder, recipe_data: dict, *, registry: Registry | None = None, device: str = "cpu",
                with_data: bool = False) -> Any:
    """Build a run from its folder's saved recipe (or ``recipe_data``, a changed copy of it).
    Without ``with_data`` no dataset is loaded: the saved data info sizes the nets."""
    loaded = recipe_from_data(recipe_data, registry, source=str(folder.recipe_file))
    info = None if with_data else DataInfo.from_json(folder.read_manifest()["data_info"])
    return build_run(loaded.recipe, registry=registry, device=torch.device(device), data_info=info, optimizers=False)


def load_weights(run: Any, checkpoint: Path, *, use_ema: bool = True) -> tuple[int, bool]:
    """Load a checkpoint into ``run``'s nets (the EMA generator when asked and present), in
    eval mode. Returns (step, whether EMA weights were used)."""
    nets, ema, state = load_checkpoint(checkpoint)
    if state.get("imported"):  # a file of another implementation: only the nets it held exist
        for name in [n for n in run.nets if n not in state["imported"]["nets"]]:
            del run.nets[name]
    unflatten_into(run.nets, nets)
    ema_used = use_ema and ema is not None
    if ema_used:
        unflatten_into({n: run.nets[n] for n in run.objective.generators}, ema)
    run.objective.load_state_dict(state.get("objective", {}))  # e.g. the training stage of a coarse-to-fine game
    for net in run.nets.values():
        net.eval()
    return int(state["step"]), ema_used


def load_generator(path: Path, *, registry: Registry | None = None, device: str = "cpu",
                   use_ema: bool = True) -> tuple[Any, int]:
    """Rebuild a run's nets from its folder alone (saved recipe and data info, no dataset) and
    load a checkpoint: ``path`` is a run folder or a checkpoint folder. Returns (run, step)."""
    checkpoint = find_checkpoint(Path(path))
    folder = RunFolder(checkpoint.parent.parent)
    run = rebuild_run(folder, folder.read_recipe(), registry=registry, device=device)
    step, _ = load_weights(run, checkpoint, use_ema=use_ema)
    return run, step


def evaluate_checkpoint(path: Path, *, metrics: list[str | dict] | None = None, samples: int | None = None,
                        batch_size: int | None = None, device: str = "cpu", use_ema: bool = True,
                        registry: Registry | None = None, source: str = "cli") -> dict[str, Any]:
    """Evaluate a checkpoint (or a run's newest) with the recipe's ``eval.metrics``, or the
    evaluators in ``metrics``: names (their recipe settings if configured, else defaults) or
    whole slots such as ``{"type": "fid", "samples": 5000}``. The record, marked with
    ``source``, is appended to the run's ``eval.json`` and returned."""
    import sys

    from ganforge.eval.runner import build_evaluators, evaluate

    checkpoint = find_checkpoint(Path(path), warn=lambda message: print(f"ganforge: {message}", file=sys.stderr))
    folder = RunFolder(checkpoint.parent.parent)
    recipe_data = folder.read_recipe()
    section = dict(recipe_data.get("eval") or {})
    section["metrics"] = select_metrics(section.get("metrics") or [], metrics, samples)
    if not section["metrics"]:
        raise GanforgeError(f"{folder.recipe_file} lists no eval.metrics; name the metrics to compute, "
                            "e.g. --metrics fid,kid")
    if batch_size is not None:
        section["batch_size"] = batch_size
    recipe_data = {**recipe_data, "eval": section}
    try:
        run = rebuild_run(folder, recipe_data, registry=registry, device=device, with_data=True)
    except DataError as missing:  # evaluators that need no data (FID on a stats file) still run
        run = rebuild_run(folder, recipe_data, registry=registry, device=device)
        run.ctx.data_missing = str(missing)
    config = run.recipe.eval
    evaluators = build_evaluators(run, config.metrics)
    for evaluator in evaluators.values():  # weights and classifier files before anything is computed
        evaluator.preflight()
    step, ema_used = load_weights(run, checkpoint, use_ema=use_ema)
    result = evaluate(run, evaluators, batch_size=config.batch_size, seed=config.seed)
    record = {"step": step, "source": source, "checkpoint": str(checkpoint), "ema": ema_used, **result}
    folder.append_eval(record)
    return record


def select_metrics(configured: list[Any], names: list[str | dict] | None, samples: int | None) -> list[Any]:
    """The evaluator slots to run: the configured ones, or those asked for (a name keeps its
    configured settings, or the defaults; a slot is taken as it is), each with ``samples``
    overridden when given."""
    slots = [{"type": m} if isinstance(m, str) else dict(m) for m in configured]
    if names:
        by_type = {slot.get("type"): slot for slot in slots}
        slots = [dict(name) if isinstance(name, dict) else dict(by_type.get(name, {"type": name})) for name in names]
    if samples is not None:
        for slot in slots:
            slot["samples"] = samples
    return slots


@torch.no_grad()
def sample(path: Path, n: int = 64, *, out: Path | None = None, seed: int = 0, singles: bool = True,
           registry: Registry | None = None, device: str = "cpu", truncation: float | None = None) -> Path:
    """Write ``grid.png`` (and one PNG per image) of ``n`` samples from a checkpoint; the same
    seed gives the same images. ``truncation`` redraws latent values beyond +-truncation."""
    run, step = load_generator(path, registry=registry, device=device)
    generator = torch.Generator().manual_seed(seed)
    inputs = run.objective.sample_inputs(n, generator)
    if truncation is not None:
        inputs = run.objective.truncate(inputs, truncation, generator)
    samples = run.objective.sample(run.nets, {k: v.to(run.device) for k, v in inputs.items()})
    name = f"sample_step{step:08d}_seed{seed}" + (f"_trunc{truncation:g}" if truncation is not None else "")
    out = Path(out) if out else find_checkpoint(Path(path)).parent.parent / "samples" / name
    out.mkdir(parents=True, exist_ok=True)
    save_png(render(samples), out / "grid.png")
    if singles and samples.dim() == 4:
        for index, image in enumerate(samples):
            save_png(to_uint8(image), out / f"{index:05d}.png")
    return out
