"""Images and labels from numpy arrays in an .npz file (MNIST as shipped in ``mnist.npz``)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.adapter import DataAdapter
from ganforge.data.images import uint8_to_unit
from ganforge.data.info import DataInfo
from ganforge.errors import DataError
from ganforge.files import file_sha256


def _to_nchw(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    if array.ndim == 3:
        return array[:, None]
    if array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        return array.transpose(0, 3, 1, 2)
    if array.ndim == 4 and array.shape[1] in (1, 3):
        return array
    if array.ndim == 4:
        raise DataError(f"{path}: array {key!r} has shape {array.shape}: neither (N, H, W, C) nor (N, C, H, W) "
                        "with 1 (greyscale) or 3 (RGB) channels. Other channel counts (2: grey + alpha, "
                        "4: RGBA) are not converted; keep 1 or 3 (e.g. x[..., :3] for RGBA) and save the .npz again")
    raise DataError(f"{path}: array {key!r} has shape {array.shape}; expected (N, H, W), (N, H, W, C) "
                    "or (N, C, H, W) with 1 or 3 channels")


def _to_uint8(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Pixel values 0..255: uint8 as is; bool, and integers that are all 0 or 1, as black and
    white; other integers if within 0..255; floats in [0, 1], [-1, 1] or [0, 255], rounded."""
    where = f"{path}: array {key!r}"
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if 0 <= low and high <= 255:
            return array.astype(np.uint8) * (255 if high <= 1 else 1)
        raise DataError(f"{where} holds {array.dtype} values from {low} to {high}; expected pixel values "
                        "0..255. Rescale it (for 16-bit images divide by 257) and save it as uint8")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise DataError(f"{where} contains NaN or infinite values; replace them before saving the .npz")
        low, high = float(array.min()), float(array.max())
        if 0 <= low and high <= 1:
            scaled = array * 255.0
        elif -1 <= low and high <= 1:
            scaled = (array + 1.0) * 127.5
        elif 0 <= low and high <= 255:
            scaled = array
        else:
            raise DataError(f"{where} holds {array.dtype} values from {low:g} to {high:g}; expected a range of "
                            "[0, 1], [-1, 1] or [0, 255]. Rescale it to one of them (or to uint8)")
        return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
    raise DataError(f"{where} has dtype {array.dtype}; expected uint8 (or bool, integer or float) pixel values")


class NpzImages(DataAdapter):
    """All images held in memory as uint8 (see :func:`_to_uint8` for other dtypes); converted to
    [-1, 1] per item. Arrays with other than 1 or 3 channels are rejected."""

    def __init__(self, path: Path | str, images: str = "x_train", labels: str | None = None, size: int | None = None,
                 limit: int | None = None, binarize: float | None = None):
        self.path = path = Path(path)
        if not path.is_file():
            raise DataError(f"npz file {path} not found; set data.path to your .npz file")
        try:
            archive = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path} as .npz: {exc}") from None
        with archive:
            for key in (images, labels):
                if key is not None and key not in archive.files:
                    raise DataError(f"{path} has no array {key!r}; it has: {', '.join(archive.files)}")
            try:
                array = archive[images][:limit]
                label_array = archive[labels][:limit] if labels else None
            except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
                raise DataError(f"cannot read the arrays in {path}: {exc}. Save it again with numpy.savez "
                                "(plain numeric arrays, no pickled objects)") from None
        array = _to_nchw(array, path, images)
        if len(array) == 0:
            raise DataError(f"{path}: array {images!r} holds no images")
        pixels = torch.from_numpy(np.ascontiguousarray(_to_uint8(array, path, images)))
        if size and pixels.shape[-2:] != (size, size):
            resized = F.interpolate(pixels.float(), size=(size, size), mode="bilinear",
                                    align_corners=False, antialias=True)
            pixels = resized.round_().clamp_(0, 255).to(torch.uint8)
        if binarize is not None:
            pixels = (pixels > binarize * 255).to(torch.uint8) * 255
        self.pixels = pixels
        self.labels = torch.as_tensor(label_array, dtype=torch.long) if label_array is not None else None
        if self.labels is not None and len(self.labels) != len(self.pixels):
            raise DataError(f"{path}: {len(self.pixels)} images but {len(self.labels)} labels")
        classes = int(self.labels.max()) + 1 if self.labels is not None else None
        self.info = DataInfo(shape=tuple(pixels.shape[1:]), num_classes=classes,
                             class_names=tuple(str(c) for c in range(classes)) if classes else None)

    def fingerprint(self) -> str:
        """The file's content hash (with the parameters, it keys cached reference statistics)."""
        return file_sha256(self.path)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {"x": uint8_to_unit(self.pixels[index])}
        if self.labels is not None:
            item["y"] = self.labels[index]
        return item


def build(params, ctx) -> NpzImages:
    return NpzImages(params.path, params.images, params.labels, params.size, params.limit, params.binarize)
