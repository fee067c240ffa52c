"""Preflight: everything about a recipe that can be known before step 0, checked in seconds on
the CPU, each failure a located recipe error (file:line: key: what is wrong: how to fix it).

1. Build the data (its files exist, it holds at least one batch, its first items decode) and
   the held-out evaluation data.
2. Build the nets, losses and objective (sizes that fit the data, weights files of the losses).
3. Run one training step (every phase, forward and backward) on a few real items, in a
   throwaway copy of the run: a net that does not fit the data fails here, named.
4. Build the evaluators and resolve every file they will read (pretrained weights, classifier
   files, reference statistics, held-out data). Where others score the finished run in place
   of the recipe's (a bench suite's metrics), those, and the recipe's only if training runs them
   (``eval.every``).
5. Check that the run folder can be written and has room for a few checkpoints.

``ganforge validate`` runs it (``--no-preflight`` skips it), and so do ``train``, ``eval`` and
``bench`` before they start.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ganforge.errors import GanforgeError
from ganforge.train.checkpoint import checkpoint_bytes
from ganforge.recipe.errors import KeyPath, Location, Problem, RecipeError
from ganforge.recipe.validate import locate

CHECKPOINTS_OF_ROOM = 3
"""The run folder must have room for this many checkpoints (the newest are kept, the rest pruned)."""


@dataclass(frozen=True)
class Scorer:
    """An evaluator that will score the finished run outside its recipe (a bench suite's
    metrics): its validated slot, and where it is written, for a problem to point at."""

    slot: Any
    location: Location
    path: KeyPath


@dataclass
class Report:
    """What the preflight checked, for ``ganforge validate`` to print."""

    items: int = 0
    step_items: int = 0
    evaluators: list[str] = field(default_factory=list)
    checkpoint_bytes: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    """Warnings the checks raised (such as images skipped with ``on_error: skip``), for the
    command to say once."""
    data: Any = field(default=None, repr=False)
    """The data the checks built: a training that follows takes it instead of reading every file
    header again."""

    def describe(self) -> str:
        evaluators = f"{len(self.evaluators)} evaluator(s)" if self.evaluators else "no evaluators"
        return (f"preflight: {self.items} items, a step of every phase on {self.step_items}, {evaluators}, "
                f"room for checkpoints of {self.checkpoint_bytes / 2**20:.1f} MiB ({self.seconds:.1f}s)")


def preflight(loaded: Any, *, registry: Any = None, output: bool = True,
              scored_by: Sequence[Scorer] | None = None) -> Report:
    """Check ``loaded`` (a :class:`ganforge.recipe.LoadedRecipe`) as described above, with the
    evaluators ``scored_by`` in place of its ``eval.metrics`` when given; raise a
    :class:`RecipeError` listing every problem found."""
    import torch

    from ganforge.registry import default_registry

    started, report = time.perf_counter(), Report()
    registry = registry or default_registry()
    recipe, provenance = loaded.recipe, loaded.provenance
    problems: list[Problem] = []

    resolved = loaded.resolved()

    def located(exc: Exception, path: tuple = ()) -> Problem:
        where = refine(path or (exc.recipe_path if isinstance(exc, GanforgeError) else ()), str(exc), resolved)
        return Problem(locate(provenance, where) if where else Location(str(loaded.source) if loaded.source else None),
                       where, str(exc))

    with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = None
        try:
            run = _build(recipe, registry)
            report.data = run.data
            report.items = len(run.data)
            report.step_items = _one_step(run)
        except GanforgeError as exc:
            problems.append(located(exc))
        if run is not None:
            report.evaluators = _evaluators(run, problems, located, scored_by)
            report.checkpoint_bytes = checkpoint_bytes(run)
    if output:
        problem = _output_problem(recipe, report.checkpoint_bytes * CHECKPOINTS_OF_ROOM)
        if problem:
            problems.append(Problem(locate(provenance, ("output", "dir")), ("output", "dir"), problem))
    report.warnings = list(dict.fromkeys(str(w.message) for w in caught))
    if problems:
        raise RecipeError(problems)
    report.seconds = time.perf_counter() - started
    return report


def refine(path: tuple, message: str, resolved: dict) -> tuple:
    """``path`` narrowed to the setting of that slot that the message's fix names (```weights:```)
    or, failing that, the one whose value it quotes (the ``root`` of a data folder that does not
    exist), so the error points at the line that set it."""
    node: Any = resolved
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return path
    if not isinstance(node, dict):
        return path
    named = [key for key in re.findall(r"`(\w+):", message) if key in node]  # the setting the fix names
    if named:
        return path + (named[0],)
    quoted = [key for key, value in node.items() if key != "type" and isinstance(value, (str, int, float))
              and not isinstance(value, bool) and len(str(value)) > 3 and str(value) in message]
    return path + (quoted[0],) if len(quoted) == 1 else path


def _build(recipe: Any, registry: Any) -> Any:
    """The run, built on the CPU; its data checked for a batch and for items that decode."""
    import torch

    from ganforge.build import build_run

    run = build_run(recipe, registry=registry, device=torch.device("cpu"))
    batch = recipe.train.batch_size
    if len(run.data) < batch:
        error = GanforgeError(f"the data holds {len(run.data)} items, fewer than one batch of {batch}; lower "
                              f"train.batch_size (to {max(1, len(run.data))} at most) or add data")
        error.recipe_path = ("train", "batch_size")
        raise error
    for index in sorted({0, min(1, len(run.data) - 1), len(run.data) - 1}):
        try:
            run.data[index]
        except GanforgeError as exc:
            exc.recipe_path = exc.recipe_path or ("data",)
            raise
        except Exception as exc:
            error = GanforgeError(f"item {index} of the data cannot be read: {type(exc).__name__}: {exc}")
            error.recipe_path = ("data",)
            raise error from exc
    return run


def _one_step(run: Any) -> int:
    """One training step of ``run`` (a throwaway build) on up to four real items; returns how
    many. A failure names the net that raised it."""
    import torch
    from torch.utils.data import default_collate

    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    n = min(run.recipe.train.batch_size, 4, len(run.data))
    batch = default_collate([run.data[i] for i in range(n)])
    batch = {k: v for k, v in batch.items() if torch.is_tensor(v)}
    with tempfile.TemporaryDirectory(prefix="ganforge-preflight-") as scratch:
        try:
            trainer = Trainer(run, RunFolder(Path(scratch)))
        except GanforgeError as exc:
            exc.recipe_path = exc.recipe_path or ("train",)
            raise
        running: list[str] = []
        hooks = [net.register_forward_pre_hook(lambda module, args, name=name: running.append(name))
                 for name, net in run.nets.items()]
        hooks += [net.register_forward_hook(lambda module, args, out: running.pop() and None)
                  for net in run.nets.values()]
        try:
            trainer.train_step(0, iter([batch] * run.objective.d_steps))
        except GanforgeError as exc:
            exc.recipe_path = exc.recipe_path or (("models", running[-1]) if running else ("objective",))
            raise
        except Exception as exc:
            where = ("models", running[-1]) if running else ("objective",)
            shape = run.ctx.data_info.shape
            error = GanforgeError(
                f"a training step on {n} real item(s) fails{' in ' + running[-1] if running else ''}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}. The data's "
                f"items are {tuple(shape)}; check that the nets' sizes fit them and the objective's settings")
            error.recipe_path = where
            raise error from exc
        finally:
            for hook in hooks:
                hook.remove()
    return n


def _evaluators(run: Any, problems: list[Problem], located: Any, scored_by: Sequence[Scorer] | None) -> list[str]:
    """Build every evaluator that will run and resolve the files each will read: the recipe's
    (only those training runs, when ``scored_by`` replaces them afterwards) and ``scored_by``."""
    recipe, names = run.recipe, []
    ours = recipe.eval.metrics if scored_by is None or recipe.eval.every else []
    scored_by = scored_by or []
    if recipe.eval.data is not None and (ours or scored_by):
        try:
            from ganforge.build import slot

            with slot(("eval", "data")):
                run.ctx.build("data", recipe.eval.data)
        except GanforgeError as exc:
            problems.append(located(exc))
    for index, slot_params in enumerate(ours):
        try:
            _check_evaluator(run, slot_params)
            names.append(slot_params.type)
        except GanforgeError as exc:
            problems.append(located(exc, ("eval", "metrics", index)))
    for scorer in scored_by:
        try:
            _check_evaluator(run, scorer.slot)
            names.append(scorer.slot.type)
        except GanforgeError as exc:
            problems.append(Problem(scorer.location, scorer.path, str(exc)))
    return names


def _check_evaluator(run: Any, slot_params: Any) -> None:
    from ganforge.eval.runner import build_evaluators

    next(iter(build_evaluators(run, [slot_params]).values())).preflight()


def _output_problem(recipe: Any, needed: int) -> str | None:
    """Why the run folder cannot be written, or lacks ``needed`` bytes; None when it is fine."""
    folder = Path(recipe.output.dir) if recipe.output.dir else Path("runs") / recipe.name
    folder = folder.expanduser()
    limit = _name_limit(folder)
    long = next((part for part in folder.absolute().parts if len(part.encode()) > limit), None)
    if long is not None:
        return (f"the run folder {folder} has a name of {len(long.encode())} bytes ({long[:40]}...), more than the "
                f"filesystem's {limit}; choose a shorter `name` or output.dir")
    if folder.exists() and not folder.is_dir():
        return f"the run folder {folder} exists and is not a folder; choose another with output.dir"
    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a folder, so the run folder {folder} cannot be made under it; choose another output.dir"
    try:
        probe = tempfile.mkdtemp(prefix=".ganforge-write-probe-", dir=existing)
    except OSError as exc:
        return (f"cannot write the run folder {folder} ({existing}: {exc.strerror or exc}); choose a writable "
                "output.dir")
    os.rmdir(probe)
    free = shutil.disk_usage(existing).free
    if free < needed:
        return (f"the disk holding {folder} has {free / 2**20:.1f} MiB free, but the run needs about "
                f"{needed / 2**20:.1f} MiB ({CHECKPOINTS_OF_ROOM} checkpoints); free some space or choose another "
                "output.dir")
    return None


def _name_limit(folder: Path) -> int:
    existing = next((p for p in (folder.absolute(), *folder.absolute().parents) if p.exists()), Path("/"))
    try:
        return os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


__all__ = ["Report", "checkpoint_bytes", "preflight"]
