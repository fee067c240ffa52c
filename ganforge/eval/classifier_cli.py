"""``ganforge classifier train``: fit the small classifier on a recipe's data and save it, for
domain FID/KID, conditional accuracy and Stacked-MNIST mode counts."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.hookspecs import Commands

PUBLISHED_THREADS = 2
"""CPU threads of the classifiers docs/results.md scores with: a CPU's sums split by thread, so
the same seed at another thread count trains a slightly different network (another digest)."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_classifier_command(subparsers: Commands) -> None:
    """Add ``classifier train RECIPE --out FILE ...`` to the ``ganforge`` command line."""
    parser = subparsers.add_parser("classifier", help="train the small classifier used as a domain feature network")
    actions = parser.add_subparsers(dest="classifier_command", metavar="ACTION", required=True)
    p = actions.add_parser("train", help="train a classifier on a recipe's data and save it as .safetensors")
    p.add_argument("recipe", type=Path, help="recipe YAML file (only its data: block and seed are used)")
    p.add_argument("--out", type=Path, required=True, help="classifier file to write (.safetensors)")
    p.add_argument("--steps", type=_positive, default=2000, help="training steps (default 2000)")
    p.add_argument("--batch-size", type=_positive, default=128, help="images per step (default 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--width", type=_positive, default=32, help="channels of the first conv block (default 32)")
    p.add_argument("--test-fraction", type=_fraction, default=0.1, help="share of the data held out (default 0.1)")
    p.add_argument("--label", default="y", help="item key of the class label (default y)")
    p.add_argument("--seed", type=int, help="split and training seed (default: the recipe's seed)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--threads", type=_positive, default=PUBLISHED_THREADS,
                   help=f"CPU threads (default {PUBLISHED_THREADS}): the file is reproducible bit for bit at one thread "
                        f"count only, and docs/results.md's classifiers were trained with {PUBLISHED_THREADS}")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, parsed as YAML (e.g. data.size=32); repeatable")
    p.set_defaults(handler=cmd_classifier_train)


@functools.lru_cache(maxsize=8)
def _data_section_model(registry: Any) -> type:
    """A model of just a recipe's ``data`` and ``seed``; every other section is ignored."""
    from pydantic import ConfigDict, Field, create_model

    from ganforge.recipe.model import component_slot

    return create_model(
        "DataSection", __config__=ConfigDict(extra="ignore", frozen=True),
        data=(component_slot(registry, ("data",)), Field(..., description="The data adapter.")),
        seed=(int, Field(0, description="Seed for the data.")),
    )


def load_data_section(path: Path, overrides: list[str] = (), registry: Any = None) -> Any:
    """Compose ``path`` and validate only its ``data`` block and ``seed``, with located errors
    (:class:`RecipeError`) and data paths resolved relative to the recipe file."""
    from pydantic import ValidationError

    from ganforge.recipe.compose import compose_recipe
    from ganforge.recipe.errors import RecipeError
    from ganforge.recipe.validate import explain, resolve_paths
    from ganforge.registry import default_registry

    registry = registry or default_registry()
    raw, provenance = compose_recipe(path, list(overrides))
    model = _data_section_model(registry)
    try:
        section = model.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(explain(exc, raw, provenance, model, registry)) from None
    resolved = resolve_paths(section, raw, provenance)
    return model.model_validate(resolved) if resolved is not raw else section


def cmd_classifier_train(args: argparse.Namespace) -> int:
    """Build the recipe's data, split it, train, report test accuracy and save."""
    from ganforge.registry import default_registry

    registry = default_registry()
    section = load_data_section(args.recipe, args.overrides, registry)  # recipe mistakes surface before torch loads
    import torch
    from torch.utils.data import Subset

    from ganforge.build import BuildContext, resolve_device
    from ganforge.eval.classifier import save_classifier, train_classifier

    device = resolve_device(args.device)
    seed = section.seed if args.seed is None else args.seed
    ctx = BuildContext(recipe=section, seed=section.seed, device=device, registry=registry)
    data = registry.get("data", section.data.type).build(section.data, ctx)
    info = data.info
    if not info.is_image:
        raise GanforgeError(f"data {section.data.type!r} gives vectors of shape {info.shape}; the classifier needs images")
    if args.label == "y" and not info.num_classes:
        raise GanforgeError(f"data {section.data.type!r} has no class labels here; use labelled data "
                            "(for npz, set `labels:`; for image-folder, `labels: true`) or name a factor with --label")
    n_test = max(1, round(len(data) * args.test_fraction))
    if len(data) - n_test < 1:
        raise GanforgeError(f"data {section.data.type!r} has {len(data)} items: too few to split into train and test")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).tolist()
    train, test = Subset(data, order[n_test:]), Subset(data, order[:n_test])
    print(f"training a classifier on {len(train)} {section.data.type} images of shape {info.shape} "
          f"({len(test)} held out) on {device}, {args.steps} steps, {args.threads} CPU threads", flush=True)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        model, test_accuracy = train_classifier(
            train, test, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=seed, width=args.width,
            device=device, label_key=args.label, info=info, log=lambda line: print(line, flush=True))
    finally:
        torch.set_num_threads(threads_before)
    meta = {"class_names": list(info.class_names) if args.label == "y" and info.class_names else None,
            "test_accuracy": test_accuracy, "label": args.label, "data": section.data.model_dump(mode="json"),
            "data_info": info.to_json(), "recipe": str(args.recipe), "steps": args.steps,
            "batch_size": args.batch_size, "seed": seed}  # a new key here changes every retrained file's digest
    save_classifier(model, args.out, meta)
    print(f"test accuracy {test_accuracy:.4f} on {len(test)} held-out images; wrote {args.out}")
    return 0
