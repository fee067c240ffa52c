"""A cache of decoded images: uint8 pixels of one shape in a memory-mapped file, filled as
items are first decoded, so that later epochs read them instead of decoding. The file is named
by a hash of the data's content fingerprint and the decode settings: a changed image or setting
starts a new file. It lives in ``$GANFORGE_CACHE_DIR`` (default ``~/.cache/ganforge``)/decoded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


def cache_folder() -> Path:
    root = os.environ.get("GANFORGE_CACHE_DIR") or Path.home() / ".cache" / "ganforge"
    return Path(root) / "decoded"


class DecodedCache:
    """``count`` images of ``shape`` (C, H, W) uint8 under ``key``; safe to share between loader
    worker processes (each opens the file itself; a slot is marked filled after its pixels)."""

    def __init__(self, key: str, count: int, shape: tuple[int, int, int], folder: Path | None = None):
        name = hashlib.sha256(key.encode()).hexdigest()[:24]
        self.folder = folder or cache_folder()
        self.pixels_path, self.filled_path = self.folder / f"{name}.u8", self.folder / f"{name}.filled"
        self.count, self.shape = count, shape
        self._opened: tuple[int, np.memmap, np.memmap] | None = None

    def _maps(self) -> tuple[np.memmap, np.memmap]:
        if self._opened is None or self._opened[0] != os.getpid():
            self.folder.mkdir(parents=True, exist_ok=True)
            size = self.count * int(np.prod(self.shape))
            for path, length in ((self.pixels_path, size), (self.filled_path, self.count)):
                with open(path, "ab") as handle:  # created once, at its full length (sparse where supported)
                    if handle.tell() < length:
                        handle.truncate(length)
            pixels = np.memmap(self.pixels_path, np.uint8, "r+", shape=(self.count, *self.shape))
            filled = np.memmap(self.filled_path, np.uint8, "r+", shape=(self.count,))
            self._opened = (os.getpid(), pixels, filled)
        return self._opened[1], self._opened[2]

    def get(self, index: int) -> np.ndarray | None:
        """The pixels stored for ``index`` (a copy), or None before they are."""
        pixels, filled = self._maps()
        return np.array(pixels[index]) if filled[index] else None

    def put(self, index: int, image: np.ndarray) -> None:
        pixels, filled = self._maps()
        pixels[index] = image
        filled[index] = 1

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_opened": None}
