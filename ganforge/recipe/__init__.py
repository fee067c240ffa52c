"""Recipes: YAML files composed (extends, overrides) and validated into typed models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganforge.recipe.compose import compose_recipe
from ganforge.recipe.errors import Location, Problem, RecipeError
from ganforge.recipe.yaml import Provenance


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe and where it came from."""

    recipe: Any
    source: Path | None
    provenance: Provenance

    def resolved(self) -> dict:
        """The recipe with every default filled in, as plain data (what a run folder saves)."""
        return self.recipe.model_dump(mode="json")


def load_recipe(path: str | Path, overrides: list[str] = (), registry: Any = None) -> LoadedRecipe:
    """Load ``path`` (with ``extends``), apply ``--set`` overrides, validate against ``registry``."""
    from ganforge.recipe.validate import validate_recipe
    from ganforge.registry import default_registry

    registry = registry or default_registry()
    data, provenance = compose_recipe(path, list(overrides))
    return LoadedRecipe(validate_recipe(data, provenance, registry), Path(path), provenance)


def recipe_from_data(data: dict, registry: Any = None, source: str | None = None) -> LoadedRecipe:
    """Validate an already-loaded recipe mapping (a run folder's saved recipe, a test's dict)."""
    from ganforge.recipe.validate import validate_recipe
    from ganforge.registry import default_registry

    registry = registry or default_registry()
    provenance = {(): Location(source or "<recipe>", 1)}
    return LoadedRecipe(validate_recipe(data, provenance, registry), Path(source) if source else None, provenance)


__all__ = ["LoadedRecipe", "Location", "Problem", "RecipeError", "compose_recipe", "load_recipe", "recipe_from_data"]
