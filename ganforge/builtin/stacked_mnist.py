"""Built-in data adapter: Stacked MNIST (three digits as R, G, B; 1000 modes), for mode counting."""

from __future__ import annotations

from pydantic import Field

from ganforge.hookspecs import hookimpl
from ganforge.params import Params, RecipePath


class StackedMNISTParams(Params):
    """Three MNIST digits stacked as the R, G and B channels; the label is 100*r + 10*g + b."""

    path: RecipePath = Field(..., description="MNIST .npz file (relative to the recipe file).")
    images: str = Field("x_train", description="Array of (N, 28, 28) uint8 digit images.")
    labels: str = Field("y_train", description="Array of digit labels 0 to 9.")
    length: int = Field(100_000, ge=1, description="Stacked images per epoch (image i is the same for a given seed).")
    size: int = Field(32, ge=1, description="Resize the 28 px digits to size x size (28 keeps them as they are).")
    seed: int | None = Field(None, description="Data seed (default: the recipe seed).")


@hookimpl
def ganforge_register_data(register):
    register("stacked-mnist", params=StackedMNISTParams, factory="ganforge.data.stacked_mnist:build",
             summary="Stacked MNIST: three digits as R, G, B channels, 1000 modes (mode-collapse studies).")
