"""The plugin manager: builtins first, then the ``ganforge`` entry points, tolerantly.

Environment switches:

- ``GANFORGE_PLUGINS=a,b``: load only these distributions (or entry-point names).
- ``GANFORGE_DISABLE_PLUGINS=a,b``: skip these.
- ``GANFORGE_STRICT_PLUGINS=1``: a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import functools
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from ganforge import hookspecs
from ganforge.version import __version__

ENTRY_POINT_GROUP = "ganforge"
BUILTIN_MODULES = (
    "ganforge.builtin.data",
    "ganforge.builtin.losses",
    "ganforge.builtin.trackers",
    "ganforge.builtin.executors",
    "ganforge.builtin.evaluators",
    "ganforge.builtin.stacked_mnist",
    "ganforge.builtin.commands",
    "ganforge.builtin.examples",
)


class PluginLoadError(RuntimeError):
    """A plugin failed to load while strict loading was asked for."""


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin: where it came from and what went wrong, if anything."""

    name: str
    distribution: str
    version: str
    module: str
    error: str | None = None
    traceback: str | None = field(default=None, repr=False)


@dataclass
class Plugins:
    """A plugin manager plus the record of every plugin it tried to load."""

    manager: pluggy.PluginManager
    loaded: list[PluginInfo]

    @property
    def failed(self) -> list[PluginInfo]:
        return [p for p in self.loaded if p.error]

    def info_for(self, plugin: object) -> PluginInfo | None:
        name = self.manager.get_name(plugin)
        return next((p for p in self.loaded if p.name == name), None)


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name, "").strip()
    return {item.strip() for item in value.split(",") if item.strip()} if value else None


def strict_from_env() -> bool:
    return os.environ.get("GANFORGE_STRICT_PLUGINS", "").lower() in {"1", "true", "yes"}


def create_plugins(*, entry_points: bool = True, strict: bool | None = None,
                   extra: tuple[object, ...] = ()) -> Plugins:
    """Build a fresh plugin manager: builtins, then entry points, then ``extra`` modules."""
    import importlib

    strict = strict_from_env() if strict is None else strict
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)

    loaded: list[PluginInfo] = []
    for module_name in BUILTIN_MODULES:
        pm.register(importlib.import_module(module_name), name=module_name)
        loaded.append(PluginInfo(module_name, "ganforge", __version__, module_name))
    if entry_points:
        loaded += _load_entry_points(pm, strict)
    for module in extra:
        name = getattr(module, "__name__", repr(module))
        pm.register(module, name=name)
        loaded.append(PluginInfo(name, "<local>", "", name))
    pm.check_pending()
    return Plugins(pm, loaded)


def _load_entry_points(pm: pluggy.PluginManager, strict: bool) -> list[PluginInfo]:
    only, blocked = _env_list("GANFORGE_PLUGINS"), _env_list("GANFORGE_DISABLE_PLUGINS") or set()
    seen: set[tuple[str, str]] = set()
    loaded: list[PluginInfo] = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else "<unknown>"
        version = ep.dist.version if ep.dist else ""
        if (dist, ep.name) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((dist, ep.name))
        if (only is not None and not ({dist, ep.name} & only)) or ({dist, ep.name} & blocked):
            continue
        info = PluginInfo(ep.name, dist, version, ep.value)
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not break the others
            info.error = f"{type(exc).__name__}: {exc}"
            info.traceback = traceback.format_exc()
            if strict:
                raise PluginLoadError(
                    f"plugin {ep.name!r} from distribution {dist!r} failed to load: {info.error}\n"
                    "Fix or uninstall it, or unset GANFORGE_STRICT_PLUGINS to continue without it."
                ) from exc
        loaded.append(info)
    return loaded


@functools.lru_cache(maxsize=1)
def default_plugins() -> Plugins:
    """The process-wide plugin manager used by the CLI (tests build their own)."""
    return create_plugins()
