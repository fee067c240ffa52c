"""The component registry: what each plugin provides, by kind and name.

Built from a plugin manager by calling every ``ganforge_register_<kind>`` hook, one plugin
at a time, so that each component knows the distribution it came from.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ganforge.params import ADDED_LATER, Params, later_defaults
from ganforge.plugins import Plugins, default_plugins

KINDS: dict[str, str] = {
    "data": "ganforge_register_data",
    "generator": "ganforge_register_generators",
    "discriminator": "ganforge_register_discriminators",
    "encoder": "ganforge_register_encoders",
    "loss": "ganforge_register_losses",
    "objective": "ganforge_register_objectives",
    "evaluator": "ganforge_register_evaluators",
    "tracker": "ganforge_register_trackers",
    "format": "ganforge_register_formats",
    "executor": "ganforge_register_executors",
}


class RegistryError(Exception):
    """A problem with the set of registered components (collision, bad registration)."""


class UnknownComponent(LookupError):
    """No component of this kind has this name."""


@dataclass(frozen=True)
class ComponentSpec:
    """A registered component. ``factory`` is resolved lazily by :meth:`load`."""

    kind: str
    name: str
    params: type[Params]
    factory: str
    summary: str
    distribution: str
    plugin: str = field(compare=False)

    def load(self) -> Callable[..., Any]:
        """Import and return the factory (``module:attribute``)."""
        module_name, _, attr = self.factory.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except Exception as exc:
            raise RegistryError(
                f"{self.kind} {self.name!r} (from {self.distribution}) could not load its factory "
                f"{self.factory!r}: {type(exc).__name__}: {exc}"
            ) from exc
        return target

    def build(self, params: Params, ctx: Any) -> Any:
        return self.load()(params, ctx)


class Registry:
    """Components by kind and name, plus the plugins that failed to load."""

    def __init__(self, plugins: Plugins):
        self.plugins = plugins
        self._specs: dict[str, dict[str, ComponentSpec]] = {kind: {} for kind in KINDS}
        for kind, hook_name in KINDS.items():
            for impl in getattr(plugins.manager.hook, hook_name).get_hookimpls():
                info = plugins.info_for(impl.plugin)
                distribution = info.distribution if info else impl.plugin_name
                impl.function(register=self._registrar(kind, distribution, impl.plugin_name))

    def _registrar(self, kind: str, distribution: str, plugin: str) -> Callable[..., None]:
        def register(name: str, *, params: type[Params], factory: str, summary: str = "") -> None:
            if not (isinstance(params, type) and issubclass(params, Params)):
                raise RegistryError(
                    f"{kind} {name!r} from {distribution}: params must be a ganforge.Params "
                    f"subclass, got {params!r}"
                )
            if ":" not in factory:
                raise RegistryError(
                    f"{kind} {name!r} from {distribution}: factory must be 'module:attribute', "
                    f"got {factory!r}"
                )
            if "type" in params.model_fields:
                raise RegistryError(
                    f"{kind} {name!r} from {distribution}: 'type' is reserved for the component "
                    "name; rename that parameter"
                )
            undefaulted = [key for key, value in params.model_fields.items()
                           if ADDED_LATER in value.metadata and value.is_required()]
            if undefaulted:
                raise RegistryError(
                    f"{kind} {name!r} from {distribution}: {', '.join(undefaulted)} is declared AddedLater "
                    "but has no default; give it the default that computes what runs made before it did"
                )
            previous = self._specs[kind].get(name)
            if previous is not None:
                raise RegistryError(
                    f"two {kind} components are named {name!r}: one from {previous.distribution} "
                    f"({previous.factory}) and one from {distribution} ({factory}). Uninstall one, "
                    "or block it with GANFORGE_DISABLE_PLUGINS."
                )
            self._specs[kind][name] = ComponentSpec(
                kind, name, params, factory, summary.strip(), distribution, plugin
            )

        return register

    def names(self, kind: str) -> list[str]:
        return sorted(self._specs[kind])

    def specs(self, kind: str) -> list[ComponentSpec]:
        return [self._specs[kind][name] for name in self.names(kind)]

    def all_specs(self) -> list[ComponentSpec]:
        return [spec for kind in KINDS for spec in self.specs(kind)]

    def later_defaults(self) -> dict[str, dict[str, Any]]:
        """Each component type's settings declared ``AddedLater``, with their defaults (by type
        name: a recipe block names its type, not its kind)."""
        later: dict[str, dict[str, Any]] = {}
        for spec in self.all_specs():
            later.setdefault(spec.name, {}).update(later_defaults(spec.params))
        return {name: settings for name, settings in later.items() if settings}

    def get(self, kind: str, name: str) -> ComponentSpec:
        if kind not in KINDS:
            raise UnknownComponent(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        try:
            return self._specs[kind][name]
        except KeyError:
            raise UnknownComponent(self.unknown_message(kind, name)) from None

    def unknown_message(self, kind: str, name: str) -> str:
        """Why ``name`` is not a known ``kind``: close matches and plugins that failed to load."""
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, self.names(kind), n=3, cutoff=0.5)
        if close:
            message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif self.names(kind):
            message += f"; available: {', '.join(self.names(kind))}"
        else:
            message += f"; no {kind} components are installed"
        for failed in self.plugins.failed:
            message += (
                f"\n  plugin {failed.name!r} ({failed.distribution}) failed to load and may "
                f"provide it: {failed.error}"
            )
        return message


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The process-wide registry from the installed plugins (tests build their own)."""
    return Registry(default_plugins())
