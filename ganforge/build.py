"""Build a validated recipe into live objects: data first (its shape and classes feed the
nets), then nets, losses, the objective, and an optimizer and schedule per trained net."""

from __future__ import annotations

import inspect
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from ganforge.data.info import DataInfo
from ganforge.errors import GanforgeError
from ganforge.losses import adapt_adversarial
from ganforge.objective import Clock, Objective
from ganforge.optim import make_optimizer, make_scheduler
from ganforge.recipe.model import NET_KINDS, OptimConfig
from ganforge.registry import Registry, default_registry


@dataclass
class BuildContext:
    """What a factory may read while a recipe is built. Factories are called as
    ``factory(params, ctx)``; nets read ``ctx.data_info`` so recipes never repeat sizes."""

    recipe: Any
    seed: int
    device: torch.device
    registry: Registry
    data_info: DataInfo | None = None
    data: Any = None
    """The training data (None when a run is rebuilt for sampling or evaluation only)."""
    nets: dict[str, nn.Module] = field(default_factory=dict)
    losses: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    data_missing: str | None = None
    """Why the data could not be loaded, when a run is rebuilt for evaluation without it."""
    clock: Clock = field(default_factory=Clock)
    """Where training stands (the trainer advances it); lazy regularisers and schedules read it."""

    def build(self, kind: str, params: Any) -> Any:
        return self.registry.get(kind, params.type).build(params, self)

    def describe(self, kind: str, name: str) -> str:
        """``kind 'name' (from distribution)``, for messages about a registered component."""
        return f"{kind} {name!r} (from {self.registry.get(kind, name).distribution})"


@dataclass
class Run:
    """Everything the trainer needs, built from one recipe."""

    recipe: Any
    ctx: BuildContext
    data: Any
    nets: dict[str, nn.Module]
    losses: dict[str, Any]
    objective: Objective
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]

    @property
    def device(self) -> torch.device:
        return self.ctx.device


def resolve_device(requested: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; asking for a missing device is an error."""
    cuda, mps = torch.cuda.is_available(), getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (requested == "cuda" and not cuda) or (requested == "mps" and not mps):
        raise GanforgeError(f"train.device is {requested!r} but no such device is available here; "
                            "use `--set train.device=auto` (or cpu)")
    return torch.device(requested)


def net_seed(seed: int, name: str) -> int:
    """A per-net seed, so adding a net does not change the others' initial weights."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % 2**63


@contextmanager
def slot(path: tuple) -> Iterator[None]:
    """Build the component of recipe slot ``path``: a user-facing error says which slot it came
    from (``GanforgeError.recipe_path``), and a crash of its factory (a size the machine cannot
    allocate, a shape it cannot take) becomes such an error."""
    try:
        yield
    except GanforgeError as exc:
        if not exc.recipe_path:
            exc.recipe_path = path
        raise
    except (RuntimeError, ValueError, TypeError, MemoryError, OverflowError) as exc:
        error = GanforgeError(f"building {'.'.join(map(str, path))} failed: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'no message'}. Check its settings "
                              "(a size this machine cannot hold, or one the data does not fit)")
        error.recipe_path = path
        raise error from exc


def build_run(recipe: Any, *, registry: Registry | None = None, device: torch.device | None = None,
              run_dir: Path | None = None, data_info: DataInfo | None = None, optimizers: bool = True,
              data: Any = None) -> Run:
    """Build ``recipe``. With ``data_info`` given (from a run folder), no data is loaded; with
    ``data`` (the preflight's, built from the same recipe) it is not built again; without
    ``optimizers`` (sampling, evaluation, export) none are made, which also spares importing
    what PyTorch's optimizers import (torch._dynamo, over a second)."""
    registry = registry or default_registry()
    ctx = BuildContext(recipe, recipe.seed, device or resolve_device(recipe.train.device), registry,
                       run_dir=run_dir)
    if data is not None:
        ctx.data, data_info = data, data.info
    elif data_info is None:
        with slot(("data",)):
            data = ctx.data = ctx.build("data", recipe.data)
        data_info = data.info
    ctx.data_info = data_info
    ctx.clock.total_steps = recipe.train.steps
    playing = recipe.objective.required_models()  # nets the game does not name are not built
    for name, params in recipe.models.items():
        if playing and name not in playing:
            continue
        with torch.random.fork_rng(devices=[]), slot(("models", name)):
            torch.manual_seed(net_seed(recipe.seed, name))
            ctx.nets[name] = ctx.build(kind_of(registry, params.type), params).to(ctx.device)
    unused = set(recipe.objective.unused_losses())  # such as a VGG term at weight 0: never built
    for name, params in recipe.losses.items():
        if name not in unused:
            with slot(("losses", name)):
                ctx.losses[name] = adapt_adversarial(ctx.build("loss", params), ctx.describe("loss", params.type))
    with slot(("objective",)):
        objective = check_objective(ctx.build("objective", recipe.objective),
                                    ctx.describe("objective", recipe.objective.type))
    made, schedulers = {}, {}
    for name in (*objective.generators, *objective.discriminators) if optimizers else ():
        config = recipe.optim.get(name, OptimConfig())
        made[name] = make_optimizer(config, ctx.nets[name].parameters())
        schedulers[name] = make_scheduler(config.schedule, made[name], recipe.train.steps)
    return Run(recipe, ctx, data, ctx.nets, ctx.losses, objective, made, schedulers)


def check_objective(objective: Any, described_as: str) -> Objective:
    """``objective``, if it keeps the objective contract: it subclasses :class:`Objective`, and when
    it shares its generator forward (overrides ``generate``) its loss methods take ``generated``."""
    if not isinstance(objective, Objective):
        raise GanforgeError(f"{described_as} built a {type(objective).__name__}, which does not subclass "
                            "ganforge.sdk.Objective; the trainer relies on that base class (docs/sdk.md)")
    if type(objective).generate is not Objective.generate:
        for method in (objective.discriminator_loss, objective.generator_loss):
            parameters = inspect.signature(method).parameters
            if len(parameters) < 3 and not any(p.kind is p.VAR_POSITIONAL for p in parameters.values()):
                raise GanforgeError(f"{described_as} overrides generate() but its {method.__name__}(nets, batch) "
                                    "does not take the `generated` argument the trainer then passes; add "
                                    "`generated=None` (docs/sdk.md, 'One generator forward per step')")
    return objective


def kind_of(registry: Registry, net_type: str) -> str:
    return next(kind for kind in NET_KINDS if net_type in registry.names(kind))
