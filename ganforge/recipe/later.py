"""Settings added to recipes after runs were trained and results recorded, with the default
that computes what those runs did. At that default they are left out wherever two resolved
recipes are compared (a results key, a resumed run's recipe against its folder's), so upgrading
ganforge neither loses a recorded result nor refuses to resume a run in progress.

A component's own later settings are declared where its parameters are, as ``AddedLater``
fields (see :mod:`ganforge.params`), so a plugin's, and a class built on another's (the image
folder's), are covered like the core's; the recipe's own sections are listed here."""

from __future__ import annotations

from typing import Any

from ganforge.registry import Registry, default_registry

LATER_IN_OPTIM = [("beta2", None)]
LATER_IN_AUGMENT = [("adaptive", None), ("probability", None)]
LATER_IN_EMA = [("half_life_images", None), ("rampup", None)]
LATER_IN_TRAIN = [("channels_last", False), ("compile", False)]


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
        for key, value in later_by_type.get(node.get("type"), {}).items():
            if node.get(key, value) == value:
                node.pop(key, None)
        for config in (node.get("optim") or {}).values() if isinstance(node.get("optim"), dict) else ():
            for key, value in LATER_IN_OPTIM:
                if isinstance(config, dict) and config.get(key, value) == value:
                    config.pop(key, None)
        train = node.get("train") if isinstance(node.get("train"), dict) else {}
        for key, value in LATER_IN_TRAIN:
            if train.get(key, value) == value:
                train.pop(key, None)
        for section, later in (("augment", LATER_IN_AUGMENT), ("ema", LATER_IN_EMA)):
            settings = train.get(section)
            for key, value in later if isinstance(settings, dict) else ():
                if settings.get(key, value) == value:
                    settings.pop(key, None)
        for item in node.values():
            _drop(item, later_by_type)
