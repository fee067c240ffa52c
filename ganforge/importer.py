"""``ganforge import FORMAT CHECKPOINT --out RUN_DIR``: a checkpoint trained by another
implementation made into a run folder (recipe with the architecture spelled out, manifest
naming the source file, a checkpoint of the imported nets) from which ``translate``,
``sample``, ``eval``, ``export`` and :func:`ganforge.load` work with no other file.

Formats are components (kind ``format``) that plugins register: each reads a file into an
:class:`ImportedRun`; this module checks it against the nets its recipe builds and writes the
folder, all or nothing."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.capabilities import ReadsCheckpoints, require
from ganforge.data.info import DataInfo
from ganforge.errors import GanforgeError
from ganforge.files import file_sha256

IMPORTED_STEP = 0


class CheckpointImportError(GanforgeError):
    """A checkpoint that cannot be imported (wrong file, wrong layout, missing options)."""


@dataclass
class ImportedRun:
    """What a checkpoint format reads from a file: a complete recipe (the nets' architecture
    spelled out, a data block to fill in for fine-tuning), the shapes the nets take and give,
    the tensors of the nets the file holds (``"<net>.<parameter>"``, ganforge's names), and
    notes on what was detected, assumed or dropped."""

    recipe: dict[str, Any]
    data_info: DataInfo
    tensors: dict[str, Tensor]
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


def read_state_dict(path: Path, safe_classes: tuple[type, ...] = ()) -> dict[str, Any]:
    """The mapping a checkpoint file holds, loaded without running code from it: safetensors, or
    a ``torch.save`` file read with ``weights_only=True`` (a pickle that names anything but
    tensors, plain containers and ``safe_classes`` is refused, never executed). ``safe_classes``
    are plain-data classes a format knows its files to hold (``argparse.Namespace``, say)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointImportError(f"{path} does not exist; give the checkpoint file (a .pth state dict)")
    if path.stat().st_size == 0:
        raise CheckpointImportError(f"{path} is empty; download or copy it again")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return dict(load_file(path))
        except Exception as exc:
            raise CheckpointImportError(f"{path} is not a readable safetensors file ({exc}); is it truncated?") from None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # files pickled by hand
            with torch.serialization.safe_globals(list(safe_classes)):
                state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).split("\n\n")[0].strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CheckpointImportError(f"{path} was refused: loading it would import or run code, which ganforge never "
                           f"does with a file it is handed ({first[:300]}). A state dict saved with "
                           "torch.save(net.state_dict(), ...) holds only tensors; re-save it that way") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointImportError(f"{path} cannot be read as a PyTorch checkpoint ({type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0][:200]}); the file is truncated or not a "
                           "torch.save file: download or copy it again") from None
    if not isinstance(state, dict):
        raise CheckpointImportError(f"{path} holds a {type(state).__name__}, not a state dict (a mapping of names to tensors)")
    return dict(state)


def parse_options(words: list[str]) -> dict[str, Any]:
    """``--name value``, ``--name=value`` and bare ``--flag`` (true) into a mapping; dashes in
    names become underscores (``--no-dropout`` is ``no_dropout``)."""
    options: dict[str, Any] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if not word.startswith("--") or word == "--":
            raise CheckpointImportError(f"unexpected argument {word!r}; format options are written --name value or --flag")
        name, equals, value = word[2:].partition("=")
        name = name.replace("-", "_")
        if not equals:
            following = words[index + 1] if index + 1 < len(words) else None
            if following is None or following.startswith("--"):
                value = True
            else:
                value = following
                index += 1
        options[name] = value
        index += 1
    return options


def format_options(params: type) -> str:
    """One line per option of a format: name and description."""
    return "\n".join(f"  --{name}: {info.description or ''}" for name, info in params.model_fields.items())


def import_checkpoint(format_name: str, source: Path, out: Path, options: dict[str, Any],
                      registry: Any = None) -> tuple[Path, ImportedRun]:
    """Read ``source`` with format ``format_name`` and write the run folder ``out``. Nothing is
    written when any check fails. Returns (the folder, what was imported)."""
    import yaml
    from pydantic import ValidationError

    from ganforge.build import build_run
    from ganforge.files import atomic_write_text
    from ganforge.recipe import recipe_from_data
    from ganforge.registry import default_registry
    from ganforge.train.checkpoint import save_checkpoint
    from ganforge.train.rundir import manifest

    registry = registry or default_registry()
    spec = registry.get("format", format_name)
    try:
        params = spec.params.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors())
        raise CheckpointImportError(f"format {format_name} options: {problems}\noptions of {format_name}:\n"
                                    f"{format_options(spec.params)}") from None
    reader = spec.build(params, None)
    require(reader, ReadsCheckpoints, "ganforge import", f"format {format_name!r}")
    source, out = Path(source), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CheckpointImportError(f"{out} already exists and is not empty; choose a new --out folder")
    imported: ImportedRun = reader.read(source)

    loaded = recipe_from_data(imported.recipe, registry, source=f"{format_name} import of {source}")
    run = build_run(loaded.recipe, registry=registry, device=torch.device("cpu"), data_info=imported.data_info,
                    optimizers=False)
    held = sorted({key.split(".", 1)[0] for key in imported.tensors})
    for name in held:
        if name not in run.nets:
            raise CheckpointImportError(f"the {format_name} reader gave tensors for a net {name!r} that its recipe "
                                        "does not build")
        own = {k[len(name) + 1:]: v for k, v in imported.tensors.items() if k.startswith(name + ".")}
        check_tensors(run.nets[name], own, name, source)
    if not any(g in held for g in run.objective.generators):
        raise CheckpointImportError(f"{source} gave no generator weights; nothing to import")

    sha = file_sha256(source)
    record = {"format": format_name, "source": str(source.resolve()), "source_sha256": sha,
              "options": params.model_dump(mode="json", exclude_none=True), "nets": held, "notes": imported.notes}
    resolved = loaded.resolved()
    tmp = out.parent / f".{out.name}.importing"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / "checkpoints").mkdir(parents=True)
        (tmp / "samples").mkdir()
        atomic_write_text(tmp / "recipe.resolved.yaml", yaml.safe_dump(resolved, sort_keys=False))
        info = manifest(resolved, None, "cpu", imported.data_info.to_json())
        info["imported"] = record
        atomic_write_text(tmp / "manifest.json", json.dumps(info, indent=2) + "\n")
        save_checkpoint(tmp / "checkpoints", IMPORTED_STEP, {n: run.nets[n] for n in held}, None,
                        {"imported": record})
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, imported


def check_tensors(net: torch.nn.Module, tensors: dict[str, Tensor], name: str, source: Path) -> None:
    """Load ``tensors`` into ``net`` strictly, with an error naming the first key that does not fit."""
    expected = net.state_dict()
    for key, value in tensors.items():
        if key not in expected:
            raise CheckpointImportError(f"{source}: the tensor for {name}.{key} has no place in the net the recipe builds; "
                               "the file's layout does not match the options (report this with the file's key names)")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointImportError(f"{source}: {name}.{key} has shape {tuple(value.shape)}, but the net built from the "
                               f"detected options expects {tuple(expected[key].shape)}; check the format options")
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise CheckpointImportError(f"{source} lacks {len(missing)} tensor(s) of {name}, the first {name}.{missing[0]}; "
                           "the file's layout does not match the options")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
