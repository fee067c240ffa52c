"""Recipe -> run folder (``train``), and run folder -> samples (``sample``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.build import build_run
from ganforge.data.info import DataInfo
from ganforge.recipe import LoadedRecipe, recipe_from_data
from ganforge.registry import Registry, default_registry
from ganforge.samples import render, save_png, to_uint8
from ganforge.train.checkpoint import find_checkpoint, load_checkpoint, unflatten_into
from ganforge.train.rundir import RunFolder, manifest
from ganforge.train.trainer import Trainer


def run_folder_for(recipe: Any) -> RunFolder:
    return RunFolder(Path(recipe.output.dir) if recipe.output.dir else Path("runs") / recipe.name)


def train(loaded: LoadedRecipe, *, resume: bool = False, registry: Registry | None = None) -> RunFolder:
    """Train a loaded recipe into its run folder; ``resume`` continues from the newest checkpoint."""
    recipe, registry = loaded.recipe, registry or default_registry()
    folder = run_folder_for(recipe)
    run = build_run(recipe, registry=registry, run_dir=folder.path)
    resolved = loaded.resolved()
    folder.start(resolved, manifest(resolved, loaded.source, str(run.device), run.ctx.data_info.to_json()),
                 resume=resume)
    trainer = Trainer(run, folder, [run.ctx.build("tracker", t) for t in recipe.output.trackers])
    try:
        trainer.fit(resume=resume)
    finally:
        trainer.close()
    return folder


def load_generator(path: Path, *, registry: Registry | None = None, device: str = "cpu",
                   use_ema: bool = True) -> tuple[Any, int]:
    """Rebuild a run's nets from its folder alone (saved recipe and data info, no dataset) and
    load a checkpoint: ``path`` is a run folder or a checkpoint folder. Returns (run, step)."""
    checkpoint = find_checkpoint(Path(path))
    folder = RunFolder(checkpoint.parent.parent)
    loaded = recipe_from_data(folder.read_recipe(), registry, source=str(folder.recipe_file))
    info = DataInfo.from_json(folder.read_manifest()["data_info"])
    run = build_run(loaded.recipe, registry=registry, device=torch.device(device), data_info=info)
    nets, ema, state = load_checkpoint(checkpoint)
    unflatten_into(run.nets, nets)
    if use_ema and ema is not None:
        unflatten_into({n: run.nets[n] for n in run.objective.generators}, ema)
    for net in run.nets.values():
        net.eval()
    return run, int(state["step"])


@torch.no_grad()
def sample(path: Path, n: int = 64, *, out: Path | None = None, seed: int = 0, singles: bool = True,
           registry: Registry | None = None, device: str = "cpu") -> Path:
    """Write ``grid.png`` (and one PNG per image) of ``n`` samples from a checkpoint."""
    run, step = load_generator(path, registry=registry, device=device)
    inputs = run.objective.sample_inputs(n, torch.Generator().manual_seed(seed))
    samples = run.objective.sample(run.nets, {k: v.to(run.device) for k, v in inputs.items()})
    out = Path(out) if out else find_checkpoint(Path(path)).parent.parent / "samples" / f"sample_step{step:08d}_seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    save_png(render(samples), out / "grid.png")
    if singles and samples.dim() == 4:
        for index, image in enumerate(samples):
            save_png(to_uint8(image), out / f"{index:05d}.png")
    return out
