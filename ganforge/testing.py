"""The conformance kit for ganforge components, in the spirit of scikit-learn's ``check_estimator``.

``check_component(kind, name)`` builds a registered component inside a tiny example recipe and
checks the contract of its kind; a failure is a :class:`ConformanceError` naming the check,
what was expected and what came back. Plugins offer example recipes through the
``ganforge_kit_examples(folder)`` hook (``folder`` is a scratch folder for any files they need);
data adapters, losses and trackers without one are tried with their defaults. In a test suite::

    import pytest
    from ganforge.testing import check_component, component_cases

    @pytest.mark.parametrize("kind,name", component_cases(distribution="my-plugin"))
    def test_conformance(kind, name, tmp_path):
        check_component(kind, name, folder=tmp_path)
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any, Callable

import yaml

from ganforge.capabilities import (
    ClosingTracker, Conditioned, HasFeatures, ImageTracker, JudgesCodes, NoiseInput, Tracker,
)
from ganforge.data.info import DataInfo
from ganforge.recipe.model import NET_KINDS

KINDS = ("data", *NET_KINDS, "loss", "objective", "evaluator", "tracker")
STANDALONE = ("data", "loss", "tracker")  # checked from their parameters alone


class ConformanceError(AssertionError):
    """A component breaks the contract of its kind."""

    def __init__(self, kind: str, name: str, check: str, expected: str, got: Any):
        self.kind, self.name, self.check = kind, name, check
        super().__init__(f"{kind} {name!r} fails {check}: expected {expected}; got {got}")


def component_cases(registry: Any = None, kinds: tuple[str, ...] = KINDS, distribution: str | None = None) -> list:
    """``(kind, name)`` pairs of every registered component (of ``distribution`` when given),
    as pytest parameters with readable ids."""
    import pytest

    registry = _registry(registry)
    return [pytest.param(spec.kind, spec.name, id=f"{spec.kind}:{spec.name}")
            for kind in kinds for spec in registry.specs(kind)
            if distribution is None or spec.distribution == distribution]


def check_component(kind: str, name: str, *, registry: Any = None, folder: Path | None = None) -> list[str]:
    """Run every check of ``kind`` on component ``name``; returns the names of the checks run."""
    registry = _registry(registry)
    registry.get(kind, name)  # an unknown component fails here, with suggestions
    if folder is None:
        with tempfile.TemporaryDirectory() as scratch:
            return check_component(kind, name, registry=registry, folder=Path(scratch))
    kit = _Kit(kind, name, registry, Path(folder))
    checks = [_Kit.params_round_trip, _Kit.in_schema, *CHECKS[kind], _Kit.no_global_state_leaks]
    for check in checks:
        check(kit)
    return [check.__name__ for check in checks]


def check_resume(recipe: dict, folder: Path, *, stop: int = 3, end: int = 5, registry: Any = None) -> None:
    """Train ``recipe`` (a dict) ``end`` steps straight, then resume a copy of that run from its
    step-``stop`` checkpoint to ``end``: raise :class:`ConformanceError` unless the last
    checkpoints agree bit for bit (a game's state, its RNG draws, its data order and every
    schedule over ``train.steps`` all restore)."""
    import shutil

    import torch

    from ganforge.pipeline import train
    from ganforge.recipe import recipe_from_data
    from ganforge.train.checkpoint import PREFIX, list_checkpoints, load_checkpoint

    registry = _registry(registry)
    data = copy.deepcopy(recipe)
    data["train"] = {**data.get("train", {}), "steps": end, "checkpoint_every": stop, "keep_checkpoints": end}
    data["output"] = {**data.get("output", {}), "dir": str(Path(folder) / "straight"), "trackers": []}
    straight = train(recipe_from_data(data, registry), registry=registry).path

    # what an interruption right after the step-stop checkpoint leaves behind
    shutil.copytree(straight, Path(folder) / "resumed")
    for later in list_checkpoints(Path(folder) / "resumed" / "checkpoints"):
        if int(later.name[len(PREFIX):]) > stop:
            shutil.rmtree(later)
    data["output"]["dir"] = str(Path(folder) / "resumed")
    resumed = train(recipe_from_data(data, registry), resume=True, registry=registry).checkpoints
    a, _, _ = load_checkpoint(list_checkpoints(resumed)[-1])
    b, _, _ = load_checkpoint(list_checkpoints(straight / "checkpoints")[-1])
    differ = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or not torch.equal(a[k], b[k]))
    if differ:
        raise ConformanceError("recipe", str(recipe.get("name")), "exact resume",
                               f"the weights of a run resumed at step {stop} to equal a straight run's at {end}",
                               f"{len(differ)} tensors differ, first {differ[:3]}")


def examples(registry: Any, folder: Path) -> list[dict]:
    """Every example recipe the installed plugins offer."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for offered in registry.plugins.manager.hook.ganforge_kit_examples(folder=folder):
        found.extend(offered or [])
    return found


def _registry(registry: Any) -> Any:
    from ganforge.registry import default_registry

    return registry or default_registry()


def _slots(recipe: dict, kind: str) -> list[tuple[tuple, Any]]:
    """(key path, slot) of every component slot of ``kind`` in a raw recipe."""
    def typed(value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    if kind == "data":
        return [(("data",), typed(recipe["data"]))] if "data" in recipe else []
    if kind in NET_KINDS:
        return [(("models", n), typed(v)) for n, v in recipe.get("models", {}).items()]
    if kind == "loss":
        return [(("losses", n), typed(v)) for n, v in recipe.get("losses", {}).items()]
    if kind == "objective":
        return [(("objective",), typed(recipe["objective"]))] if "objective" in recipe else []
    if kind == "evaluator":
        return [(("eval", "metrics", i), typed(v)) for i, v in enumerate(recipe.get("eval", {}).get("metrics", []))]
    return [(("output", "trackers", i), typed(v)) for i, v in enumerate(recipe.get("output", {}).get("trackers", []))]


class _Kit:
    """One component under test: its example recipe, and builds of it on demand."""

    def __init__(self, kind: str, name: str, registry: Any, folder: Path):
        self.kind, self.name, self.registry, self.folder = kind, name, registry, folder
        self.spec = registry.get(kind, name)
        self.recipe, self.path = self._example()

    def fail(self, check: str, expected: str, got: Any) -> None:
        raise ConformanceError(self.kind, self.name, check, expected, got)

    def _example(self) -> tuple[dict | None, tuple]:
        for recipe in examples(self.registry, self.folder / "examples"):
            for path, slot in _slots(recipe, self.kind):
                if isinstance(slot, dict) and slot.get("type") == self.name:
                    return copy.deepcopy(recipe), path
        if self.kind in STANDALONE:
            return None, ()
        self.fail("example", "an example recipe that uses it, returned by a plugin's ganforge_kit_examples hook",
                  "none")

    @property
    def params_data(self) -> dict:
        if self.recipe is None:
            return {"type": self.name}
        node: Any = self.recipe
        for key in self.path:
            node = node[key]
        return {"type": node} if isinstance(node, str) else dict(node)

    def params(self) -> Any:
        """The component's validated parameters (its tagged model)."""
        from pydantic import TypeAdapter

        from ganforge.recipe.model import tagged_params

        try:
            return TypeAdapter(tagged_params(self.spec)).validate_python(self.params_data)
        except Exception as exc:
            self.fail("params", "its example (or default) parameters to validate", exc)

    def context(self) -> Any:
        import torch

        from ganforge.build import BuildContext

        return BuildContext(recipe=None, seed=0, device=torch.device("cpu"), registry=self.registry,
                            run_dir=self.folder / "run")

    def build_alone(self) -> Any:
        try:
            return self.spec.build(self.params(), self.context())
        except ConformanceError:
            raise
        except Exception as exc:
            self.fail("build", "it to build on CPU from its parameters", f"{type(exc).__name__}: {exc}")

    def run(self) -> Any:
        """The example recipe built on CPU (output under the scratch folder)."""
        import torch

        from ganforge.build import build_run
        from ganforge.recipe import recipe_from_data

        data = copy.deepcopy(self.recipe)
        data.setdefault("train", {}).update(device="cpu", progress=False)
        data.setdefault("output", {}).update(dir=str(self.folder / "run"), trackers=[])
        try:
            loaded = recipe_from_data(data, self.registry)
            return build_run(loaded.recipe, registry=self.registry, device=torch.device("cpu"),
                             run_dir=self.folder / "run")
        except Exception as exc:
            self.fail("build", "its example recipe to build on CPU", f"{type(exc).__name__}: {exc}")

    def net_name(self) -> str:
        return self.path[1]

    # ------------------------------------------------------------ every kind

    def params_round_trip(self) -> None:
        """The parameters survive YAML: dump, safe_load, validate, compare."""
        params = self.params()
        text = yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False)
        again = type(params).model_validate(yaml.safe_load(text))
        if again != params:
            self.fail("params_round_trip", "the parameters to equal themselves after a YAML round trip",
                      f"{params!r} became {again!r}")

    def in_schema(self) -> None:
        """The component's parameter model is in the recipe JSON Schema."""
        from ganforge.recipe.schema import recipe_schema

        titles = {node.get("title") for node in recipe_schema(self.registry).get("$defs", {}).values()}
        title = f"{self.kind}: {self.name}"
        if title not in titles:
            self.fail("in_schema", f"a schema definition titled {title!r}", "no such definition")

    def no_global_state_leaks(self) -> None:
        """Two builds are alike, and building changes no torch-wide setting or RNG state."""
        import torch

        def settings() -> tuple:
            return (torch.get_default_dtype(), torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(),
                    torch.get_num_threads())

        before, rng = settings(), torch.get_rng_state()
        first = self.fingerprint()
        if settings() != before:
            self.fail("no_global_state_leaks", f"torch settings {before} unchanged by a build", settings())
        if not torch.equal(rng, torch.get_rng_state()):
            self.fail("no_global_state_leaks", "the global torch RNG untouched by a build (use a generator of your own)",
                      "its state changed")
        second = self.fingerprint()
        if first != second:
            self.fail("no_global_state_leaks", "two builds from the same recipe and seed to be alike",
                      f"{first} then {second}")

    def fingerprint(self) -> Any:
        """A summary of one fresh build: what should not differ between two builds."""
        import torch

        if self.kind == "data":
            data = self.build_alone()
            return [round(float(v.float().sum()), 4) for v in data[0].values() if torch.is_tensor(v)]
        if self.kind in ("loss", "tracker"):
            self.build_alone()
            return None
        run = self.run()
        return [round(float(sum(p.detach().double().sum() for p in net.parameters())), 6) for net in run.nets.values()]


# ------------------------------------------------------------ per-kind checks

def _finite(value: Any) -> bool:
    import torch

    return bool(torch.isfinite(value).all()) if torch.is_tensor(value) else math.isfinite(float(value))


def check_data(kit: _Kit) -> None:
    """Items carry the declared keys and shapes, images lie in [-1, 1], a seed fixes them."""
    import torch

    data = kit.build_alone()
    try:
        info = data.info
    except AttributeError:
        info = None
    if not isinstance(info, DataInfo) or len(data) < 1:
        kit.fail("data", "a non-empty dataset with an `info` (DataInfo)", f"{len(data)} items, info {info}")
    item = data[0]
    keys = {"x"} | ({"y"} if info.num_classes else set()) | ({"source"} if info.is_translation else set())
    if not keys <= set(item):
        kit.fail("data", f"item keys including {sorted(keys)}", sorted(item))
    if tuple(item["x"].shape) != tuple(info.shape):
        kit.fail("data", f"x of info.shape {tuple(info.shape)}", tuple(item["x"].shape))
    if info.is_translation and tuple(item["source"].shape) != tuple(info.source_shape):
        kit.fail("data", f"source of info.source_shape {tuple(info.source_shape)}", tuple(item["source"].shape))
    if info.is_image and not (item["x"].min() >= -1 and item["x"].max() <= 1):
        kit.fail("data", "images in [-1, 1]", f"[{float(item['x'].min())}, {float(item['x'].max())}]")
    again = kit.build_alone()
    for index in {0, len(data) - 1}:
        if not all(torch.equal(data[index][k], again[index][k]) for k in data[index] if torch.is_tensor(data[index][k])):
            kit.fail("data", f"item {index} to be the same in two builds with one seed", "different items")


def check_generator(kit: _Kit) -> None:
    """A generator maps noise (and a label) or a source image to samples of the data's shape,
    images in [-1, 1], under fp32 and bf16 autocast; its weights round-trip through safetensors."""
    import torch

    run = kit.run()
    net, info = run.nets[kit.net_name()], run.ctx.data_info
    batch = next(iter(torch.utils.data.DataLoader(run.data, batch_size=2)))
    if info.is_translation:
        args = (batch["source"],)
    elif isinstance(net, NoiseInput):
        args = (torch.randn(2, net.z_dim),) + ((batch["y"],) if isinstance(net, Conditioned) and net.conditional else ())
    else:
        kit.fail("generator", "a `z_dim` attribute (noise to samples) or translation data (sources to samples)",
                 "neither")
    net.eval()
    with torch.no_grad():
        out = net(*args)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(*args)
    if tuple(out.shape) != (2, *info.shape):
        kit.fail("generator", f"samples of shape {(2, *info.shape)}", tuple(out.shape))
    if info.is_image and not (out.min() >= -1 and out.max() <= 1):
        kit.fail("generator", "images in [-1, 1]", f"[{float(out.min())}, {float(out.max())}]")
    if not _finite(low.float()) or tuple(low.shape) != tuple(out.shape):
        kit.fail("generator", "finite samples of the same shape under bf16 autocast", tuple(low.shape))
    _round_trip(kit, run, net, args, out)


def _logits(value: Any) -> list:
    """The logit tensors in a discriminator's output: a tensor, (logit, aux), or a list over scales."""
    if isinstance(value, (list, tuple)):
        return [value[0]] if isinstance(value, tuple) else list(value)
    return [value]


def check_discriminator(kit: _Kit) -> None:
    """A discriminator returns finite logits for each item of a batch (also under bf16
    autocast), and features when it declares them; its weights round-trip through safetensors."""
    import torch

    run = kit.run()
    net, info = run.nets[kit.net_name()], run.ctx.data_info
    batch = next(iter(torch.utils.data.DataLoader(run.data, batch_size=4)))
    args: tuple = (torch.randn(4, net.code_dim),) if isinstance(net, JudgesCodes) else (batch["x"],)
    if isinstance(net, Conditioned) and net.conditional:
        args += (batch["source"],) if info.is_translation else (batch["y"],)
    if isinstance(net, NoiseInput):  # a joint discriminator judges (x, z) pairs (BiGAN)
        args += (torch.randn(4, net.z_dim),)
    net.eval()
    with torch.no_grad():
        try:
            out = net(*args)
        except Exception as exc:
            kit.fail("discriminator", f"logits for inputs of shapes {[tuple(a.shape) for a in args]}",
                     f"{type(exc).__name__}: {exc}")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(*args)
    for logits in _logits(out):
        if logits.shape[0] != 4 or not _finite(logits):
            kit.fail("discriminator", "finite logits with the batch's 4 items first", tuple(logits.shape))
    if not all(_finite(l.float()) for l in _logits(low)):
        kit.fail("discriminator", "finite logits under bf16 autocast", "non-finite values")
    if isinstance(net, HasFeatures):
        features = net.features(*args)
        first = features[0] if isinstance(features, (list, tuple)) else features
        first = first[0] if isinstance(first, (list, tuple)) else first
        if first.shape[0] != 4:
            kit.fail("discriminator", "features with the batch first", tuple(first.shape))
    _round_trip(kit, run, net, args, out)


def check_encoder(kit: _Kit) -> None:
    """An encoder maps a batch of data to latents of its ``z_dim``."""
    import torch

    run = kit.run()
    net = run.nets[kit.net_name()]
    batch = next(iter(torch.utils.data.DataLoader(run.data, batch_size=2)))
    net.eval()
    with torch.no_grad():
        out = net(batch["x"])
    if tuple(out.shape) != (2, net.z_dim) or not _finite(out):
        kit.fail("encoder", f"finite latents of shape {(2, net.z_dim)}", tuple(out.shape))
    _round_trip(kit, run, net, (batch["x"],), out)


def _round_trip(kit: _Kit, run: Any, net: Any, args: tuple, out: Any) -> None:
    """Weights saved with safetensors and loaded into a fresh build give the same outputs."""
    import torch
    from safetensors.torch import load_file, save_file

    path = kit.folder / "net.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    fresh = kit.run().nets[kit.net_name()]
    fresh.load_state_dict(load_file(str(path)))
    fresh.eval()
    with torch.no_grad():
        again = fresh(*args)
    if not all(torch.allclose(a, b) for a, b in zip(_logits(out), _logits(again))):
        kit.fail("checkpoint", "the same outputs after a safetensors round trip of the weights", "different outputs")


def check_loss(kit: _Kit) -> None:
    """A loss returns a finite scalar with a gradient, for its role."""
    import torch

    from ganforge.losses import AdversarialLoss, adapt_adversarial

    loss = adapt_adversarial(kit.build_alone(), f"loss {kit.name!r}")  # as a run builds it
    role = getattr(loss, "role", None)
    torch.manual_seed(0)
    if role == "adversarial":
        if not isinstance(loss, AdversarialLoss):
            kit.fail("loss", "an adversarial loss adapted to ganforge.sdk.AdversarialLoss", type(loss).__name__)
        if not isinstance(loss.generator_needs_real, bool):
            kit.fail("loss", "generator_needs_real to be True or False", loss.generator_needs_real)
        real, fake = torch.randn(8, requires_grad=True), torch.randn(8, requires_grad=True)
        values = {"discriminator": loss.discriminator(real, fake),
                  "generator": loss.generator(fake, real.detach() if loss.generator_needs_real else None)}
        inputs = fake
    elif role == "discriminator-regulariser":
        critic = torch.nn.Linear(4, 1)
        if not loss.due():  # a lazy regulariser built alone (no training clock) is always due
            kit.fail("loss", "a regulariser built without a training clock to be due", "not due")
        values = {"penalty": loss(lambda x: critic(x).flatten(), torch.randn(8, 4), torch.randn(8, 4))}
        inputs = critic.weight
    elif role == "perceptual":
        inputs = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
        values = {"distance": loss(inputs, torch.rand(2, 3, 16, 16) * 2 - 1)}
    else:
        kit.fail("loss", "a `role`: adversarial, discriminator-regulariser or perceptual", role)
    for what, value in values.items():
        if not torch.is_tensor(value) or value.dim() != 0 or not _finite(value):
            kit.fail("loss", f"{what} to be a finite scalar tensor", value)
        (grad,) = torch.autograd.grad(value, inputs, retain_graph=True, allow_unused=True)
        if grad is None:
            kit.fail("loss", f"{what} to have a gradient", "none")


def check_objective(kit: _Kit) -> None:
    """One discriminator phase and one generator phase change the parameters of a trained net
    of each and return finite float logs; its state round-trips through a checkpoint; a step
    runs under bf16 autocast."""
    import io

    import torch

    from ganforge.train.rundir import RunFolder
    from ganforge.train.trainer import Trainer

    run = kit.run()
    objective = run.objective
    if not objective.generators or not objective.discriminators:
        kit.fail("objective", "generators and discriminators named", (objective.generators, objective.discriminators))
    trainer = Trainer(run, RunFolder(kit.folder / "run"))
    before = {n: [p.detach().clone() for p in run.nets[n].parameters()] for n in run.nets}
    for names, phase in ((objective.discriminators, objective.discriminator_loss),
                         (objective.generators, objective.generator_loss)):
        logs = trainer.phase(names, phase, next(trainer.stream))
        bad = {k: v for k, v in logs.items() if not _finite(v)}
        if not logs or bad:
            kit.fail("objective", "finite logged losses from each phase", bad or "no logs")
        moved = [n for n in names if any(not torch.equal(a, b) for a, b in zip(before[n], run.nets[n].parameters()))]
        if not moved:
            kit.fail("objective", f"a step to change the parameters of one of {names}", "no change")
    buffer = io.BytesIO()
    torch.save(objective.state_dict(), buffer)
    buffer.seek(0)
    try:
        objective.load_state_dict(torch.load(buffer, weights_only=True))
    except Exception as exc:
        kit.fail("checkpoint", "its state to load back with torch.load(weights_only=True)", f"{type(exc).__name__}: {exc}")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = objective.generator_loss(run.nets, next(trainer.stream))
    if not _finite(loss.float()):
        kit.fail("objective", "a finite generator loss under bf16 autocast", float(loss))


def check_evaluator(kit: _Kit) -> None:
    """An evaluator prepares, updates and computes numbers (its declared keys) on the example run."""
    from ganforge.eval.runner import build_evaluators, evaluate

    run = kit.run()
    slot = next(s for s in run.recipe.eval.metrics if s.type == kit.name)
    evaluators = build_evaluators(run, [slot])
    record = evaluate(run, evaluators, batch_size=8)
    metrics, declared = record["metrics"], evaluators[kit.name].keys
    if not metrics or not all(v is None or isinstance(v, (int, float)) for v in metrics.values()):
        kit.fail("evaluator", "a dict of numbers from compute()", metrics)
    if declared is not None and not set(metrics) <= set(declared):
        kit.fail("evaluator", f"only its declared keys {sorted(declared)}", sorted(metrics))


def check_tracker(kit: _Kit) -> None:
    """A tracker takes scalars (and images, when it has log_image) and closes."""
    import numpy as np

    (kit.folder / "run").mkdir(parents=True, exist_ok=True)
    tracker = kit.build_alone()
    if not isinstance(tracker, Tracker):
        kit.fail("tracker", "a log_scalars(step, values) method", type(tracker).__name__)
    tracker.log_scalars(1, {"g/loss": 1.5})
    if isinstance(tracker, ImageTracker):
        tracker.log_image(1, "samples", np.zeros((8, 8, 3), np.uint8))
    if isinstance(tracker, ClosingTracker):
        tracker.close()


CHECKS: dict[str, list[Callable[[_Kit], None]]] = {
    "data": [check_data], "generator": [check_generator], "discriminator": [check_discriminator],
    "encoder": [check_encoder], "loss": [check_loss], "objective": [check_objective],
    "evaluator": [check_evaluator], "tracker": [check_tracker],
}
