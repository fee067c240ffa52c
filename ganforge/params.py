"""Base classes for component parameters: strict pydantic models plus a recipe-path type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python


class Params(BaseModel):
    """Parameters of a component. Unknown keys are errors; every field should have a default
    and a description, so recipes stay short and ``ganforge schema`` documents them."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _RelativeToRecipe:
    """Marker: a path written in a recipe is resolved relative to the file that wrote it."""

    def __repr__(self) -> str:
        return "RelativeToRecipe"


RELATIVE_TO_RECIPE = _RelativeToRecipe()

RecipePath = Annotated[Path, RELATIVE_TO_RECIPE]
"""A filesystem path in a recipe, resolved relative to the recipe file that sets it
(relative to the working directory when set with ``--set``)."""


class _AddedLater:
    """Marker: a setting added after results were recorded, whose default computes what they did."""

    def __repr__(self) -> str:
        return "ADDED_LATER"


ADDED_LATER = _AddedLater()
T = TypeVar("T")

AddedLater = Annotated[T, ADDED_LATER]
"""A setting added to a component after runs were trained with it (``AddedLater[bool]``). Its
default must compute what those runs did: at that default it is left out wherever two resolved
recipes are compared, so runs started before it still resume and their recorded bench results
are still found."""


def later_defaults(params: type[BaseModel]) -> dict[str, Any]:
    """The settings of ``params`` declared :data:`AddedLater` (inherited ones too), with their
    defaults as a resolved recipe writes them."""
    return {name: to_jsonable_python(field.get_default(call_default_factory=True))
            for name, field in params.model_fields.items() if ADDED_LATER in field.metadata}


class ObjectiveParams(Params):
    """Parameters of an objective. An objective names the models and losses it needs, so a
    recipe that lacks one is caught by ``ganforge validate`` before anything is built."""

    def required_models(self) -> dict[str, str]:
        """Model names this objective plays with, mapped to the kind each must be."""
        return {}

    def required_losses(self) -> tuple[str, ...]:
        """Entries of the recipe's ``losses:`` block this objective needs."""
        return ()

    def unused_losses(self) -> tuple[str, ...]:
        """Entries of ``losses:`` that these settings leave unused (a perceptual term at weight 0):
        they are not built, so their weights files are never needed."""
        return ()

    @classmethod
    def default_losses(cls) -> dict:
        """The ``losses:`` block of a recipe that has none (CycleGAN's least squares, say)."""
        return {"adversarial": {"type": "non-saturating"}}

    @classmethod
    def loss_examples(cls) -> dict:
        """An example setting of each loss the objective may need, shown when one is missing."""
        return cls.default_losses()
