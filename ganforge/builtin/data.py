"""Built-in data adapters: 2-D Gaussian mixtures, procedural shapes, image folders, npz arrays."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ganforge.hookspecs import hookimpl
from ganforge.params import AddedLater, Params, RecipePath


class GaussianMixtureParams(Params):
    """2-D Gaussian mixture; ``ring`` and ``grid`` follow the PacGAN/VEEGAN protocol."""

    layout: Literal["ring", "grid", "custom"] = Field("ring", description="ring: modes on a circle; grid: a square lattice; custom: `centers`.")
    modes: int = Field(8, ge=1, description="Number of modes on the ring.")
    radius: float = Field(1.0, gt=0, description="Ring radius.")
    grid: list[float] = Field([-4.0, -2.0, 0.0, 2.0, 4.0], min_length=1, description="Grid coordinates along each axis.")
    centers: list[tuple[float, float]] | None = Field(None, description="Mode centres for layout: custom.")
    std: float | None = Field(None, gt=0, description="Standard deviation of each mode (ring 0.01, grid 0.05 by default).")
    size: int = Field(100_000, ge=1, description="Points per epoch.")
    seed: int | None = Field(None, description="Data seed (default: the recipe seed).")

    @model_validator(mode="after")
    def _custom_needs_centers(self) -> "GaussianMixtureParams":
        if self.layout == "custom" and not self.centers:
            raise ValueError("layout: custom needs `centers: [[x, y], ...]`")
        return self


class ShapesParams(Params):
    """Procedural regular polygons with known factors: sides, colour, size, rotation, position."""

    size: int = Field(32, ge=16, le=128, description="Image side in pixels (16 to 128).")
    length: int = Field(20_000, ge=1, description="Images per epoch (image i is the same for a given seed).")
    sides: list[int] = Field([3, 4, 5, 6, 7, 8], min_length=1, description="Polygon side counts; the class label is the index in this list.")
    colors: list[str] = Field(["red", "lime", "blue", "yellow", "magenta", "cyan"], min_length=1, description="Fill colours (any PIL colour name or #rrggbb).")
    background: str = Field("black", description="Background colour.")
    scale: tuple[float, float] = Field((0.6, 1.0), description="Radius range as a fraction of the largest radius that stays inside the image.")
    rotate: bool = Field(True, description="Random rotation.")
    jitter: float = Field(0.12, ge=0, le=0.5, description="Largest centre offset as a fraction of the side.")
    channels: Literal[1, 3] = Field(3, description="3 for RGB, 1 for greyscale.")
    seed: int | None = Field(None, description="Data seed (default: the recipe seed).")

    @model_validator(mode="after")
    def _check(self) -> "ShapesParams":
        if any(s < 3 for s in self.sides):
            raise ValueError("sides must be 3 or more")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError("scale must be (low, high) with 0 < low <= high <= 1")
        return self


class ImageFolderParams(Params):
    """Any folder tree of images; optional class labels from the first level of subfolders and
    per-image attributes from a table."""

    root: RecipePath = Field(..., description="Folder of images (relative to the recipe file), a .zip of them, or a folder inside one (images.zip/train).")
    size: int | None = Field(None, ge=1, description="Resize the shorter side to this (antialiased bicubic), then crop square (default: the images' own size).")
    crop: Literal["center", "random"] = Field("center", description="How to crop to a square.")
    flip: bool = Field(False, description="Random horizontal flips.")
    labels: bool = Field(False, description="Use the first-level subfolder names as class labels.")
    attributes: RecipePath | None = Field(None, description="A table of per-image attributes, each one a label of its items: a CSV with a header `file,<name>,...` (file paths relative to root, or base names) or CelebA's list_attr_celeba.txt. Columns of -1/1 or 0/1 are binary.")
    channels: Literal[1, 3] = Field(3, description="3 for RGB, 1 for greyscale.")
    extensions: list[str] = Field([".jpg", ".jpeg", ".png", ".bmp", ".webp"], description="File extensions to read.")
    limit: int | None = Field(None, ge=1, description="Use only the first N readable files (sorted).")
    offset: int = Field(0, ge=0, description="Skip the first N readable files (sorted); with limit, a held-out slice (offset: 3600, limit: 400).")
    on_error: Literal["raise", "skip"] = Field("raise", description="What to do with files that cannot be decoded (empty, truncated, not an image): raise an error naming them, or skip them with a warning.")
    seed: int | None = Field(None, description="Augmentation seed (default: the recipe seed).")
    fast_decode: AddedLater[bool] = Field(False, description="Decode JPEGs at a reduced scale (1/2, 1/4 or 1/8, never below `size`) "
                                                 "before resizing: about 1.3x the images per second, slightly different "
                                                 "pixels (part of the data's fingerprint). Needs `size`.")

    cache: AddedLater[bool] = Field(False, description="Keep each decoded, resized and cropped image in a memory-mapped uint8 file "
                                           "($GANFORGE_CACHE_DIR, default ~/.cache/ganforge/decoded; keyed by the images' "
                                           "content and these settings), so epochs after the first decode nothing. "
                                           "Needs crop: center.")

    @model_validator(mode="after")
    def _settings_that_need_others(self) -> "ImageFolderParams":
        if self.fast_decode and self.size is None:
            raise ValueError("fast_decode decodes JPEGs no smaller than `size`; set size too (for example size: 64)")
        if self.cache and self.crop != "center":
            raise ValueError("cache keeps one crop of each image, so it needs crop: center (a random crop changes "
                             "every epoch); set crop: center or cache: false")
        return self


class NpzParams(Params):
    """Images (and labels) from arrays in a .npz file, such as MNIST's."""

    path: RecipePath = Field(..., description=".npz file (relative to the recipe file).")
    images: str = Field("x_train", description="Array of images: (N, H, W), (N, H, W, C) or (N, C, H, W).")
    labels: str | None = Field(None, description="Array of integer class labels, if any.")
    size: int | None = Field(None, ge=1, description="Resize images to size x size (e.g. 32 for MNIST in a DCGAN).")
    limit: int | None = Field(None, ge=1, description="Use only the first N images.")
    binarize: float | None = Field(None, gt=0, lt=1, description="Make every pixel black or white: white where its "
                                   "intensity (0..1, after resizing) exceeds this threshold (0.5 for binarised MNIST).")


@hookimpl
def ganforge_register_data(register):
    register("gaussian-mixture", params=GaussianMixtureParams, factory="ganforge.data.gaussian_mixture:build",
             summary="2-D Gaussian mixtures (ring, grid, custom) for mode-collapse studies.")
    register("shapes", params=ShapesParams, factory="ganforge.data.shapes:build",
             summary="Procedural polygons with known factors (sides, colour, size, rotation, position).")
    register("image-folder", params=ImageFolderParams, factory="ganforge.data.image_folder:build",
             summary="A folder tree of images, resized and cropped, with optional subfolder labels.")
    register("npz", params=NpzParams, factory="ganforge.data.npz:build",
             summary="Images and labels from numpy arrays in an .npz file.")
