"""ganforge: train and evaluate generative adversarial networks from typed recipes.

Importing ganforge is cheap: nothing here imports torch. Model code is loaded when a recipe
is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganforge.hookspecs import hookimpl
from ganforge.params import ObjectiveParams, Params, RecipePath
from ganforge.version import __version__

if TYPE_CHECKING:
    from ganforge.recipe import LoadedRecipe


def load_recipe(path: Any, overrides: list[str] = (), registry: Any = None) -> "LoadedRecipe":
    """Load, compose and validate a recipe file (see :func:`ganforge.recipe.load_recipe`)."""
    from ganforge.recipe import load_recipe as _load

    return _load(path, overrides, registry)


def load(path: Any, *, device: str = "cpu", use_ema: bool = True) -> Any:
    """A trained generator from a run folder alone, with ``.sample(n, seed=...)`` and, for
    translation models, ``.translate(images)`` (see :class:`ganforge.api.Generator`)."""
    from ganforge.api import load as _load

    return _load(path, device=device, use_ema=use_ema)


__all__ = ["Params", "ObjectiveParams", "RecipePath", "hookimpl", "load", "load_recipe", "__version__"]
