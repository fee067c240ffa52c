"""``ganforge translate CHECKPOINT INPUT... --out DIR``: translate image files or folders with a
trained translation model, rebuilt from its run folder alone.

An input twice as wide as it is high is taken as a side-by-side A|B pair (pix2pix's layout): its
``--direction`` source half is translated and the other half is the target in the comparison
sheet. ``--direction`` defaults to the run's own; the opposite direction uses the model's
reverse generator (CycleGAN) and is an error for one-way models."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ganforge.sdk import (
    GanforgeError, Translates, comparison_sheet, convert, load, open_image, save_png, to_tensor, to_uint8,
)

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def input_files(inputs: list[Path]) -> list[Path]:
    files = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
            if not found:
                raise GanforgeError(f"no images ({', '.join(sorted(EXTENSIONS))}) in {path}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise GanforgeError(f"{path} does not exist; give image files or folders of images")
    return files


def trained_direction(recipe) -> str:
    """The direction the run's data was read in (AtoB for data without one)."""
    return recipe.data.model_dump().get("direction", "AtoB")


def load_pair(path: Path, direction: str, channels: tuple[int, int], size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(input, target or None) for one file, resized to ``size``; ``channels`` are (input, target)."""
    image = open_image(path, 3)
    width, height = image.size
    target = None
    if width == 2 * height:  # A|B side by side
        a, b = image.crop((0, 0, height, height)), image.crop((height, 0, width, height))
        image, target = (a, b) if direction == "AtoB" else (b, a)
        target = to_tensor(convert(target, channels[1]).resize((size, size), Image.Resampling.BICUBIC))
    source = to_tensor(convert(image, channels[0]).resize((size, size), Image.Resampling.BICUBIC))
    return source, target


def load_label_maps(label_file: Path, instance_file: Path | None, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(source ids, a colour picture of the labels for the sheets) of one label map (and its instance map)."""
    from ganforge_translation.data import read_label_map

    labels = read_label_map(label_file, size)
    maps = [labels] + ([read_label_map(instance_file, size)] if instance_file is not None else [])
    palette = torch.tensor([[((37 * i) % 256), ((91 * i) % 256), ((151 * i) % 256)] for i in range(256)],
                           dtype=torch.float32) / 127.5 - 1
    picture = palette[labels[0].long().clamp(0, 255)].permute(2, 0, 1)
    return torch.cat(maps), picture


def label_sources(files: list[Path], instances: list[Path] | None, needs_instances: bool) -> list[Path | None]:
    """The instance map of each label map, matched by sorted order as pix2pixHD does."""
    if not needs_instances:
        if instances:
            raise GanforgeError("this model takes no instance maps (it was imported with --no_instance); drop --instances")
        return [None] * len(files)
    if not instances:
        raise GanforgeError("this model also takes instance maps (pix2pixHD's instance boundaries): give their "
                            "folder or files with --instances, in the same sorted order as the label maps")
    found = input_files(instances)
    if len(found) != len(files):
        raise GanforgeError(f"{len(files)} label maps but {len(found)} instance maps; they are matched by sorted order")
    return found


@torch.no_grad()
def translate_files(checkpoint: Path, inputs: list[Path], out: Path, direction: str | None = None,
                    device: str = "cpu", batch_size: int = 8, instances: list[Path] | None = None) -> list[Path]:
    """Translate every image of ``inputs`` into ``out`` (one PNG each, named after the input) and
    write ``out/sheets/<name>.png`` (input | output | target when known) and ``out/comparison.png``
    (the first 16 rows). Returns the output files. Models that take label maps (pix2pixHD's,
    ``label-maps`` data) read ``inputs`` as label maps and ``instances`` as their instance maps."""
    model = load(checkpoint, device=device)
    run, objective, info = model.run, model.objective, model.info
    if not (isinstance(objective, Translates) and info.is_translation):
        raise GanforgeError(f"{checkpoint} holds a {run.recipe.objective.type!r} model, which does not translate "
                            "images; use `ganforge sample` for noise-to-image models")
    trained = trained_direction(run.recipe)
    direction = direction or trained
    reverse = direction != trained
    source_channels, target_channels = info.source_shape[0], info.shape[0]
    if reverse:
        source_channels, target_channels = target_channels, source_channels
    files = input_files(inputs)
    label_input = run.recipe.data.type == "label-maps"
    partners = label_sources(files, instances, source_channels == 2) if label_input else [None] * len(files)
    if instances and not label_input:
        raise GanforgeError(f"--instances is for models that take label maps; {checkpoint} takes images")
    (out / "sheets").mkdir(parents=True, exist_ok=True)
    written, rows = [], []
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        if label_input:
            loaded = [load_label_maps(f, p, info.size) for f, p in zip(chunk, partners[start:start + batch_size])]
            sources = torch.stack([ids for ids, _ in loaded]).to(run.device)
            pairs = [(picture, None) for _, picture in loaded]
        else:
            pairs = [load_pair(f, direction, (source_channels, target_channels), info.size) for f in chunk]
            sources = torch.stack([p[0] for p in pairs]).to(run.device)
        outputs = objective.translate(run.nets, sources, reverse=reverse).cpu()
        for file, (source, target), output in zip(chunk, pairs, outputs):
            name = unique_name(file, files)
            save_png(to_uint8(output), out / f"{name}.png")
            columns = [source[None], output[None]] + ([target[None]] if target is not None else [])
            sheet = comparison_sheet(columns)
            save_png(sheet, out / "sheets" / f"{name}.png")
            written.append(out / f"{name}.png")
            if len(rows) < 16:
                rows.append(columns)
    widest = max(len(r) for r in rows)
    rows = [r + [torch.ones_like(r[1])] * (widest - len(r)) for r in rows]  # blank cells where no target
    save_png(comparison_sheet([torch.cat([r[i] if r[i].shape[1] == 3 else r[i].expand(-1, 3, -1, -1) for r in rows])
                               for i in range(widest)]), out / "comparison.png")
    return written


def unique_name(file: Path, files: list[Path]) -> str:
    """The file's stem, or parent_stem when two inputs share a stem."""
    if sum(f.stem == file.stem for f in files) > 1:
        return f"{file.parent.name}_{file.stem}"
    return file.stem
