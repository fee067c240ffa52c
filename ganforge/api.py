"""``ganforge.load(run_dir)``: a trained generator from its run folder alone (saved recipe and
data description, newest good checkpoint, EMA weights when present); no dataset, no recipe
file, no options to type again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.errors import GanforgeError


class Generator:
    """A trained generator: ``sample`` for noise-driven models, ``translate`` for
    image-to-image ones. Outputs are images in [-1, 1] (N, C, H, W) or vectors (N, D)."""

    def __init__(self, run: Any, step: int, ema: bool, folder: Path):
        self.run, self.step, self.ema, self.folder = run, step, ema, folder
        self.objective, self.nets = run.objective, run.nets
        self.info = run.ctx.data_info

    @property
    def device(self) -> torch.device:
        return self.run.device

    @property
    def is_translation(self) -> bool:
        return self.info.is_translation

    def inputs(self, n: int, seed: int = 0, truncation: float | None = None) -> dict[str, Tensor]:
        """The generator's inputs for ``n`` samples: the same seed gives the same inputs."""
        if self.is_translation:
            raise GanforgeError(f"{self.folder} holds a translation model ({self.run.recipe.objective.type}); "
                                "it has no latent inputs: use .translate(images)")
        generator = torch.Generator().manual_seed(seed)
        inputs = self.objective.sample_inputs(n, generator)
        if truncation is not None:
            inputs = self.objective.truncate(inputs, truncation, generator)
        return inputs

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, truncation: float | None = None, batch_size: int = 256) -> Tensor:
        """``n`` samples (on the CPU) for ``seed``; ``truncation`` redraws latent values beyond
        +-truncation (fidelity for diversity)."""
        return self.generate(self.inputs(n, seed, truncation), batch_size)

    @torch.no_grad()
    def generate(self, inputs: dict[str, Tensor], batch_size: int = 256) -> Tensor:
        """Samples for given inputs (see :meth:`inputs` for their names and shapes)."""
        n = len(next(iter(inputs.values())))
        out = []
        for start in range(0, n, batch_size):
            chunk = {k: v[start:start + batch_size].to(self.device) for k, v in inputs.items()}
            out.append(self.objective.sample(self.nets, chunk).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def translate(self, images: Tensor, reverse: bool = False, batch_size: int = 16) -> Tensor:
        """Translate images in [-1, 1] (N, C, H, W) of the source domain (``reverse``: from the
        target domain back, for CycleGAN)."""
        if not self.is_translation:
            raise GanforgeError(f"{self.folder} holds a {self.run.recipe.objective.type} model, which makes samples "
                                "from noise: use .sample(n)")
        expected = self.info.source_shape
        if images.dim() != 4 or tuple(images.shape[1:2]) != tuple(expected[:1]):
            raise GanforgeError(f"translate takes images of shape (N, {expected[0]}, H, W) in [-1, 1]; "
                                f"got {tuple(images.shape)}")
        out = [self.objective.translate(self.nets, images[i:i + batch_size].to(self.device), reverse).float().cpu()
               for i in range(0, len(images), batch_size)]
        return torch.cat(out)

    def training_data(self) -> Any:
        """The data adapter the run trained on, built from its saved recipe (the data must be
        where the recipe says)."""
        return self.run.ctx.build("data", self.run.recipe.data)

    def contract(self) -> dict[str, Any]:
        """What the generator takes and gives: input names, shapes (after the batch axis),
        types and distributions; the output's shape and range."""
        recipe = self.run.recipe
        base = {"recipe": recipe.name, "objective": recipe.objective.type, "step": self.step, "ema": self.ema,
                "output": {"shape": list(self.info.shape), "range": [-1.0, 1.0] if self.info.is_image else None}}
        if self.is_translation:
            return {**base, "inputs": {"source": {"shape": list(self.info.source_shape), "dtype": "float32",
                                                  "distribution": "image in [-1, 1]"}}}
        example = self.inputs(2)
        inputs = {}
        for name, value in example.items():
            kind = ("normal(0, 1)" if name == "z" and value.is_floating_point() else
                    f"class index in [0, {self.info.num_classes})" if not value.is_floating_point() else "as drawn")
            inputs[name] = {"shape": list(value.shape[1:]), "dtype": str(value.dtype).replace("torch.", ""),
                            "distribution": kind}
        if self.run.recipe.objective.type == "infogan":
            inputs["z"]["distribution"] = "noise then codes, as the objective's latent() lays them out"
        return {**base, "inputs": inputs, "classes": self.info.num_classes, "class_names": self.info.class_names}


def load(path: str | Path, *, device: str = "cpu", use_ema: bool = True) -> Generator:
    """The generator of a run folder (its newest good checkpoint) or of one checkpoint folder."""
    from ganforge.pipeline import load_weights, rebuild_run
    from ganforge.train.checkpoint import find_checkpoint
    from ganforge.train.rundir import RunFolder

    path = Path(path)
    if not path.exists():
        raise GanforgeError(f"{path} does not exist; give a run folder (it holds recipe.resolved.yaml, "
                            "manifest.json and checkpoints/) or one of its checkpoints/step_<N> folders")
    checkpoint = find_checkpoint(path)  # says so when there is none, or every one is corrupt
    folder = RunFolder(checkpoint.parent.parent)
    missing = [f.name for f in (folder.recipe_file, folder.manifest_file) if not f.is_file()]
    if missing:
        raise GanforgeError(f"{folder.path} is an incomplete run folder: {' and '.join(missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} missing (they are written when training starts); "
                            "copy the whole run folder, not only its checkpoints")
    run = rebuild_run(folder, folder.read_recipe(), device=device)
    step, ema = load_weights(run, checkpoint, use_ema=use_ema)
    return Generator(run, step, ema, folder.path)
