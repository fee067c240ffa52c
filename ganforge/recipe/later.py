"""Settings added to recipes after runs were trained and results recorded, with the default
that computes what those runs did. At that default they are left out wherever two resolved
recipes are compared (a results key, a resumed run's recipe against its folder's), so upgrading
ganforge neither loses a recorded result nor refuses to resume a run in progress.

Each later setting is declared where it is defined, as an ``AddedLater`` field (see
:mod:`ganforge.params`): a component's in its parameters, so a plugin's, and a class built on
another's (the image folder's), are covered like the core's; the recipe's own in its sections
(``train``, its ``augment`` and ``ema``, each net's ``optim``)."""

from __future__ import annotations

from typing import Any

from ganforge.params import later_defaults
from ganforge.recipe.model import AugmentConfig, EMAConfig, OptimConfig, TrainConfig
from ganforge.registry import Registry, default_registry

LATER_IN_OPTIM = later_defaults(OptimConfig)
LATER_IN_TRAIN = later_defaults(TrainConfig)
LATER_IN_TRAIN_SECTIONS = {"augment": later_defaults(AugmentConfig), "ema": later_defaults(EMAConfig)}


def without_later_defaults(node: Any, registry: Registry | None = None) -> Any:
    """``node`` (a resolved recipe, or part of one, built from ``registry``'s components) with the
    settings added later removed where they hold the default that computes what earlier results
    did (in place; returned)."""
    _drop(node, (registry or default_registry()).later_defaults())
    return node


def _drop(node: Any, later_by_type: dict[str, dict[str, Any]]) -> None:
    if isinstance(node, list):
        for item in node:
            _drop(item, later_by_type)
    elif isinstance(node, dict):
        _drop_defaults(node, later_by_type.get(node.get("type"), {}))
        optim = node.get("optim")
        for config in optim.values() if isinstance(optim, dict) else ():
            _drop_defaults(config, LATER_IN_OPTIM)
        train = node.get("train")
        if isinstance(train, dict):
            _drop_defaults(train, LATER_IN_TRAIN)
            for section, later in LATER_IN_TRAIN_SECTIONS.items():
                _drop_defaults(train.get(section), later)
        for item in node.values():
            _drop(item, later_by_type)


def _drop_defaults(settings: Any, later: dict[str, Any]) -> None:
    """Remove from ``settings`` (a dict) each of ``later`` that holds its default."""
    if not isinstance(settings, dict):
        return
    for key, default in later.items():
        if settings.get(key, default) == default:
            settings.pop(key, None)
