"""Names a module exports but imports only on first use, so importing the module stays cheap."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_attributes(module: str, names: dict[str, str], listed_in: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` (a module path) when ``name`` is first
    read; unknown names are an ``AttributeError`` that says where the public names are listed."""

    def __getattr__(name: str) -> Any:
        try:
            source = names[name]
        except KeyError:
            raise AttributeError(f"{module} has no public {name!r}; {listed_in}") from None
        return getattr(importlib.import_module(source), name)

    return __getattr__
