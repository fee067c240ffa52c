"""Old homes and names from ganforge 0.x, kept working with a warning until ganforge 2.0, so
plugins written against them keep running while they move to ``ganforge.sdk``."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

from ganforge.errors import GanforgeDeprecationWarning


def moved_module(old: str, new: str) -> None:
    """Warn that module ``old`` now lives at ``new`` (call it from ``old``'s alias module)."""
    warnings.warn(f"{old} moved to {new}; plugins import its names from ganforge.sdk (docs/sdk.md). The old "
                  "module goes in ganforge 2.0.", GanforgeDeprecationWarning, stacklevel=3)


def renamed(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` answering each old name in ``names`` with its new one, with a warning."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} is now {module}.{names[name]} (plugins: ganforge.sdk.{names[name]}); the old "
                      "name goes in ganforge 2.0.", GanforgeDeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), names[name])

    return __getattr__
