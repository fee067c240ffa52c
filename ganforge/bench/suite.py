"""Benchmark suites: which recipes to train with which seeds, the evaluators that score them,
and the published rows they are compared with. A suite is a YAML file validated here."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganforge.recipe.errors import Location, Problem, RecipeError
from ganforge.recipe.yaml import load_yaml_file

if TYPE_CHECKING:
    from ganforge.recipe import LoadedRecipe


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteRun(_Strict):
    """One recipe of the suite, trained once per seed."""

    recipe: Path = Field(..., description="Recipe file, relative to the suite file.")
    set: list[str] = Field(default_factory=list, description="Overrides (KEY=VALUE) for this recipe only.")
    metrics: list[Any] | None = Field(None, description="Evaluators for this run (default: the suite's metrics).")


class PublishedValue(_Strict):
    """A published number: a mean with its spread (standard error or deviation, as the source
    reports it), or a range of values reported across settings."""

    mean: float | None = None
    spread: float = Field(0.0, ge=0, description="Published +- around the mean.")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "PublishedValue":
        if (self.mean is None) == (self.min is None and self.max is None):
            raise ValueError("give either mean (with an optional spread) or min and max")
        if self.mean is None and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError("a published range needs min <= max")
        return self

    @property
    def low(self) -> float:
        return self.mean - self.spread if self.mean is not None else self.min

    @property
    def high(self) -> float:
        return self.mean + self.spread if self.mean is not None else self.max

    def describe(self) -> str:
        if self.mean is not None:
            return f"{self.mean:g} +- {self.spread:g}" if self.spread else f"{self.mean:g}"
        return f"{self.min:g} to {self.max:g}"


class Reference(_Strict):
    """Published numbers for one of the suite's runs, with where they come from."""

    run: str = Field(..., description="Name of the suite run these numbers are compared with.")
    source: str = Field(..., min_length=1, description="Paper, table and setting of the numbers.")
    metrics: dict[str, PublishedValue] = Field(..., min_length=1, description="Metric name -> published value.")
    note: str | None = Field(None, description="How the published setting differs from the suite's.")


class Suite(_Strict):
    """A benchmark suite (``recipes/bench/*.yaml``)."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Suite name (default folder runs/bench/<name>).")
    description: str = Field("", description="What the suite measures.")
    seeds: int | list[int] = Field(1, description="Seeds per run: a count (0..N-1) or an explicit list.")
    deterministic: bool = Field(False, description="Train with PyTorch's deterministic algorithms (train.deterministic).")
    threads: int | None = Field(None, ge=1, description="CPU threads per run (default: the cores shared between the runs "
                                                        "trained at once). Float sums depend on it: pin it for numbers "
                                                        "that agree bit for bit across machines and --jobs.")
    device: str | None = Field(None, description="Device for training and evaluation (default: each recipe's).")
    metrics: list[Any] = Field(default_factory=list, description="Evaluators run on each finished run (recipe eval slots).")
    set: list[str] = Field(default_factory=list, description="Overrides applied to every run.")
    runs: dict[str, SuiteRun] = Field(..., min_length=1, description="Run name -> recipe and overrides.")
    reference: list[Reference] = Field(default_factory=list, description="Published rows to compare with.")
    baseline_tolerance: float = Field(0.02, ge=0, description="Relative difference to a baseline results file that is "
                                                              "flagged beyond the seeds' standard errors.")
    executor: Any = Field(None, description="Where the runs train: an executor's name or {type: NAME, ...its "
                                            "settings} (`ganforge plugins` lists them: local, ray, slurm); default "
                                            "local. `ganforge bench --executor` overrides it.")
    store: Path | None = Field(None, description="Results store (JSON lines, relative to the suite file) that every "
                                                 "finished run is appended to and reused from, on any machine; kept "
                                                 "with the repository for published numbers.")

    @model_validator(mode="after")
    def _check(self) -> "Suite":
        if isinstance(self.seeds, int) and self.seeds < 1:
            raise ValueError("seeds must be at least 1")
        if isinstance(self.seeds, list) and (not self.seeds or len(set(self.seeds)) != len(self.seeds)):
            raise ValueError("seeds must list distinct seeds")
        for ref in self.reference:
            if ref.run not in self.runs:
                raise ValueError(f"reference row for {ref.run!r} names no run of the suite (runs: {', '.join(self.runs)})")
        for name, run in self.runs.items():
            if not (run.metrics if run.metrics is not None else self.metrics):
                raise ValueError(f"run {name!r} has no evaluators: set the suite's metrics or the run's")
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def metrics_of(self, run: str) -> list[Any]:
        chosen = self.runs[run].metrics
        return list(chosen if chosen is not None else self.metrics)


class LoadedSuite:
    """A validated suite with its file (recipe paths, and files named in evaluator settings,
    are relative to it)."""

    def __init__(self, suite: Suite, path: Path, text: str, metrics: dict[str, list[Any]] | None = None,
                 provenance: dict | None = None):
        self.suite, self.path = suite, path
        self.sha256 = hashlib.sha256(text.encode()).hexdigest()
        self._metrics = metrics or {name: suite.metrics_of(name) for name in suite.runs}
        self._provenance = provenance or {}

    def load_recipe(self, run: str, overrides: list[str]) -> "LoadedRecipe":
        """``run``'s recipe with ``overrides`` (see :meth:`overrides`); a mistake in one of the
        suite's ``set:`` entries is placed at its line in the suite file, not on a ``--set``."""
        from ganforge.recipe import load_recipe

        try:
            return load_recipe(self.recipe_path(run), overrides)
        except RecipeError as exc:
            lines = {**{item: _where(self._provenance, ("set", i), self.path) for i, item in enumerate(self.suite.set)},
                     **{item: _where(self._provenance, ("runs", run, "set", i), self.path)
                        for i, item in enumerate(self.suite.runs[run].set)}}
            raise RecipeError([Problem(lines.get(p.location.override, p.location), p.path, p.message)
                               for p in exc.problems], f"run {run!r} of the suite") from None

    @property
    def executor_slot(self) -> dict[str, Any]:
        """The suite's executor as ``{"type": NAME, ...settings}`` (``local`` when it names none)."""
        slot = self.suite.executor or "local"
        return {"type": slot} if isinstance(slot, str) else dict(slot)

    def metrics_of(self, run: str) -> list[Any]:
        """The evaluator slots of ``run``, with file paths made absolute."""
        return list(self._metrics[run])

    def metric_location(self, run: str, index: int) -> tuple[Location, tuple]:
        """Where ``run``'s ``index``-th evaluator is written in the suite file, and its key."""
        key = ("runs", run, "metrics", index) if self.suite.runs[run].metrics is not None else ("metrics", index)
        return _where(self._provenance, key, self.path), key

    @property
    def store_path(self) -> Path | None:
        """The suite's results store, resolved against the suite file."""
        return (self.path.parent / self.suite.store).resolve() if self.suite.store else None

    def recipe_path(self, run: str) -> Path:
        return (self.path.parent / self.suite.runs[run].recipe).resolve()

    def overrides(self, run: str, seed: int, folder: Path) -> list[str]:
        """The ``--set`` list that trains ``run`` with ``seed`` into ``folder``."""
        suite = self.suite
        forced = [f"seed={seed}", f"output.dir={folder}", "train.progress=false", "output.trackers=[]"]
        if suite.deterministic:
            forced.append("train.deterministic=true")
        if suite.device:
            forced.append(f"train.device={suite.device}")
        return [*suite.set, *suite.runs[run].set, *forced]


def load_suite(path: str | Path) -> LoadedSuite:
    """Read and validate a suite file; problems name the file, line and key."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError([Problem(Location(str(path)), (), "suite file not found; give the path of a suite YAML "
                                                            "such as recipes/bench/mode-collapse.yaml")], "the suite")
    data, provenance = load_yaml_file(path)
    if not isinstance(data, dict):
        raise RecipeError([Problem(Location(str(path), 1), (), "a suite is a mapping with name, runs, metrics, ...")],
                          "the suite")
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        from ganforge.recipe.validate import explain
        from ganforge.registry import default_registry

        raise RecipeError(explain(exc, data, provenance, Suite, default_registry()), "the suite") from None
    problems = [Problem(_where(provenance, ("runs", name, "recipe"), path), ("runs", name, "recipe"),
                        f"recipe file {run.recipe} not found (paths are relative to the suite file)")
                for name, run in suite.runs.items() if not (path.parent / run.recipe).is_file()]
    metrics = {}
    for name in suite.runs:
        where = ("runs", name, "metrics") if suite.runs[name].metrics is not None else ("metrics",)
        metrics[name] = [_resolve_slot(slot, path, where + (index,), provenance, problems)
                         for index, slot in enumerate(suite.metrics_of(name))]
    if suite.executor is not None:
        _check_executor(suite.executor, path, provenance, problems)
    if problems:
        raise RecipeError(list(dict.fromkeys(problems)), "the suite")  # a suite-wide slot is checked once per run
    return LoadedSuite(suite, path, path.read_text(), metrics, provenance)


def _resolve_slot(slot: Any, path: Path, key: tuple, provenance: dict, problems: list[Problem]) -> Any:
    """Check an evaluator slot against its component's parameters and make the files it names
    absolute, relative to the suite file. A bare name is kept: it means the recipe's own
    settings of that evaluator (or its defaults)."""
    from pydantic import ValidationError as ParamsError

    from ganforge.recipe.validate import _recipe_paths
    from ganforge.registry import UnknownComponent, default_registry

    if isinstance(slot, str):
        slot = {"type": slot}
        bare = True
    elif isinstance(slot, dict) and isinstance(slot.get("type"), str):
        bare = False
    else:
        problems.append(Problem(_where(provenance, key, path), key, "an evaluator is a name or a mapping with a 'type'"))
        return slot
    registry = default_registry()
    try:
        spec = registry.get("evaluator", slot["type"])
    except UnknownComponent:
        problems.append(Problem(_where(provenance, key, path), key, registry.unknown_message("evaluator", slot["type"])))
        return slot
    if bare:
        return slot["type"]
    settings = copy.deepcopy({k: v for k, v in slot.items() if k != "type"})
    try:
        params = spec.params.model_validate(settings)
    except ParamsError as exc:
        for error in exc.errors(include_url=False):
            where = key + tuple(error["loc"])
            problems.append(Problem(_where(provenance, where, path), where, error["msg"]))
        return slot
    for field_path in _recipe_paths(params):  # nested too: a held-out data block's path
        node = settings
        for part in field_path[:-1]:
            node = node[part]
        value = Path(str(node[field_path[-1]])).expanduser()
        node[field_path[-1]] = str(value if value.is_absolute() else (path.parent / value).resolve())
    return {"type": slot["type"], **settings}


def _check_executor(slot: Any, path: Path, provenance: dict, problems: list[Problem]) -> None:
    """The suite's ``executor``: a known executor with valid settings."""
    from ganforge.bench.executor import check_executor_slot

    key: tuple = ("executor",)
    for where, message in check_executor_slot(slot).problems:
        problems.append(Problem(_where(provenance, key + where, path), key + where, message))


def _where(provenance: dict, key: tuple, path: Path) -> Location:
    return provenance.get(key) or Location(str(path))
