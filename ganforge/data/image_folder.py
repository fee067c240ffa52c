"""A folder tree of images, resized and cropped to squares, with optional subfolder labels."""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data.attributes import read_attribute_table
from ganforge.data.adapter import DataAdapter
from ganforge.data.decoded_cache import DecodedCache
from ganforge.data.images import UnreadableImage, open_image, probe_image, uint8_to_unit
from ganforge.data.info import DataInfo
from ganforge.data.listing import files_fingerprint, list_images, readable_images
from ganforge.errors import DataError
from ganforge.files import file_sha256


class ImageFolder(DataAdapter):
    """Images under ``root``: converted to ``channels`` (16-bit scaled to 8, transparency on
    black), the shorter side resized to ``size`` (small images are upscaled), cropped square.

    Random crops and flips are drawn from ``default_rng([seed, epoch, index])``: the same
    item in the same epoch is always augmented the same way, in any worker.

    Unreadable files are found in two steps. Construction reads every file's header (no pixels
    are decoded): empty files, files that are not images and unsupported colour modes are
    caught there. With ``on_error: raise`` they are one :class:`DataError` naming them all;
    with ``skip`` they are left out (as if absent, ``limit`` counts readable files), listed in
    ``skipped`` and reported in one warning. A file whose header reads but whose pixels do not
    (a truncated JPEG) is found when its item is loaded: ``raise`` makes it a DataError naming
    the file; ``skip`` warns once, adds it to ``skipped`` (of the process that loaded it, so a
    worker's finds are not in the main process's list) and loads the next readable index in its
    place (wrapping around), keeping the item's own crop and flip. Item ``i`` is thus a function
    of the files and the seed alone: the same in every run, with or without workers.
    """

    def __init__(self, params, seed: int):
        self.p, self.seed, self.epoch = params, seed, 0
        self.root = root = Path(params.root)
        self.archive = find_archive(root)
        self._zip: tuple[int, zipfile.ZipFile] | None = None
        if self.archive is not None:
            files = self._archive_files({e.lower() for e in params.extensions})
            if not files:
                raise DataError(f"no images ({', '.join(sorted(params.extensions))}) found under {root}")
        elif root.is_dir():
            files = list_images(root, params.extensions)
        else:
            raise DataError(f"image folder {root} does not exist; set data.root to a folder of images "
                            "(or a .zip of them, or a folder inside one: images.zip/train)")
        if params.labels:
            loose = [f for f in files if len(f.relative_to(root).parts) == 1]
            if loose:
                raise DataError(f"labels: true needs every image inside a class subfolder of {root}; "
                                f"found {len(loose)} image(s) directly in it (e.g. {loose[0].name})")
        self.files, self.skipped = self._readable(files)
        self._unreadable: set[int] = set()
        self.classes: tuple[str, ...] | None = None
        if params.labels:
            self.classes = tuple(sorted({f.relative_to(root).parts[0] for f in self.files}))
            self.labels = [self.classes.index(f.relative_to(root).parts[0]) for f in self.files]
        self.attributes = read_attribute_table(params.attributes) if params.attributes else None
        self.attribute_rows = [self._attribute_row(f) for f in self.files] if self.attributes else []
        self.size = params.size or min(probe_image(self.files[0], self._bytes(self.files[0])))
        names = self.attributes.names if self.attributes else ()
        binary = self.attributes.binary if self.attributes else ()
        self._content_hash: str | None = None
        # the pixels depend on the files and the decode settings, not on the augmentation seed
        self.cache = DecodedCache(f"{self._decoding()};{self._content()};{params.channels};{self.size};{params.crop}",
                                  len(self.files), (params.channels, self.size, self.size)) if params.cache else None
        self.info = DataInfo(shape=(params.channels, self.size, self.size),
                             num_classes=len(self.classes) if self.classes else None, class_names=self.classes,
                             factors=names, factor_names={n: (f"not {n}", n) for n, b in zip(names, binary) if b})

    def _attribute_row(self, file: Path) -> tuple[float | int, ...]:
        row = self.attributes.values(file.relative_to(self.root).as_posix())
        if row is None:
            missing = [f.name for f in self.files if self.attributes.values(f.relative_to(self.root).as_posix()) is None]
            raise DataError(f"{len(missing)} image(s) under {self.root} have no row in the attributes file "
                            f"{self.p.attributes} (e.g. {', '.join(missing[:3])}); add their rows, or move them out")
        return row

    def _archive_files(self, extensions: set[str]) -> list[Path]:
        """Members of the archive under ``root``, as paths below ``root`` (for names and labels)."""
        archive, inner = self.archive
        try:
            with zipfile.ZipFile(archive) as handle:
                names = [n for n in handle.namelist() if not n.endswith("/")]
        except (OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read the archive {archive}: {exc}; replace it with a good copy") from None
        prefix = "" if inner == "." else inner.rstrip("/") + "/"
        files = sorted(self.root / n[len(prefix):] for n in names
                       if n.startswith(prefix) and PurePosixPath(n).suffix.lower() in extensions)
        if not files and prefix and not any(n.startswith(prefix) for n in names):
            raise DataError(f"{archive} has no folder {inner!r}; its top-level folders are "
                            f"{sorted({n.split('/')[0] for n in names if '/' in n})}")
        return files

    def _bytes(self, file: Path) -> bytes | None:
        """The file's bytes when it lives in an archive (None for files on disk)."""
        if self.archive is None:
            return None
        archive, inner = self.archive
        if self._zip is None or self._zip[0] != os.getpid():  # one handle per process (workers fork)
            self._zip = (os.getpid(), zipfile.ZipFile(archive))
        member = PurePosixPath(inner, file.relative_to(self.root).as_posix()).as_posix()
        return self._zip[1].read(member)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zip": None}

    def _readable(self, files: list[Path]) -> tuple[list[Path], list[Path]]:
        """The files whose headers read (after the first ``offset`` of them, at most ``limit``), and
        those that do not."""
        offset = self.p.offset
        good, bad = readable_images(files, self.p.on_error, self.root, probe=lambda f: probe_image(f, self._bytes(f)),
                             keep=offset + self.p.limit if self.p.limit else None)
        if offset >= len(good):
            raise DataError(f"data.offset {offset} skips all {len(good)} readable images under {self.root}; "
                            "lower it")
        return good[offset:], [exc.path for exc in bad]

    def fingerprint(self) -> str:
        """The images' content: a hash of each file's name and bytes (of the archive's bytes
        and the member list for a .zip), so any added, removed or rewritten image changes it."""
        return f"seed={self.seed};{self._decoding()};{self._content()}"

    def _content(self) -> str:
        """The hash part of the fingerprint, read once per dataset (the decoded cache's key uses it too)."""
        if self._content_hash is None:
            if self.archive is not None:
                digest = hashlib.sha256()
                digest.update(f"{self.archive[0].name}\0{file_sha256(self.archive[0])}\n".encode())
                for file in self.files:
                    digest.update(f"{file.relative_to(self.root)}\n".encode())
                self._content_hash = f"archive={digest.hexdigest()}" + self._attributes_fingerprint()
            else:
                self._content_hash = f"files={files_fingerprint(self.files, self.root)}" + self._attributes_fingerprint()
        return self._content_hash

    def _decoding(self) -> str:
        return "decode=3;fast_decode" if self.p.fast_decode else "decode=3"

    def _attributes_fingerprint(self) -> str:
        return f";attributes={file_sha256(Path(self.p.attributes))}" if self.attributes else ""

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _load(self, index: int) -> tuple[Image.Image, int]:
        """The decoded image at ``index`` and its index; under ``skip``, the first readable one
        from ``index`` on (wrapping around) when that one cannot be decoded."""
        for offset in range(len(self.files)):
            source = (index + offset) % len(self.files)
            if source in self._unreadable:
                continue
            try:
                at_least = self.size if self.p.fast_decode else None
                return open_image(self.files[source], self.p.channels, self._bytes(self.files[source]),
                                  at_least=at_least), source
            except UnreadableImage as exc:
                if self.p.on_error == "raise":
                    raise
                self._unreadable.add(source)
                self.skipped.append(self.files[source])
                warnings.warn(f"skipped unreadable image {exc.path}: {exc.reason}; the next readable "
                              "image is used in its place (data.on_error: skip)", stacklevel=3)
        raise DataError(f"none of the {len(self.files)} images under {self.root} can be decoded; "
                        "see the warnings above for why")

    def _square(self, image: Image.Image, rng: np.random.Generator) -> np.ndarray:
        """uint8 (C, size, size): the shorter side resized to ``size`` (bicubic, antialiased, by
        torch's uint8 kernel, as torchvision resizes tensors: within one level of Pillow's
        bicubic filter, four times faster), then cropped."""
        pixels = np.array(image, dtype=np.uint8)
        pixels = torch.from_numpy(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
        height, width = pixels.shape[1:]
        if self.p.size is not None or (height, width) != (self.size, self.size):
            short, long = sorted((height, width))
            long = int(self.size * long / short)
            shape = (self.size, long) if height <= width else (long, self.size)
            pixels = F.interpolate(pixels[None], size=shape, mode="bicubic", antialias=True)[0]
            height, width = shape
        if self.p.crop == "random":
            top, left = int(rng.integers(height - self.size + 1)), int(rng.integers(width - self.size + 1))
        else:
            top, left = (height - self.size) // 2, (width - self.size) // 2
        return pixels[:, top:top + self.size, left:left + self.size].numpy()

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pixels = self.cache.get(index) if self.cache is not None else None
        source = index  # only a readable file is ever cached
        if pixels is None:
            image, source = self._load(index)
            pixels = self._square(image, rng)
            if self.cache is not None and source == index:
                self.cache.put(index, pixels)
        if self.p.flip and rng.random() < 0.5:
            pixels = pixels[:, :, ::-1]
        item = {"x": uint8_to_unit(torch.from_numpy(np.ascontiguousarray(pixels)))}
        if self.classes:
            item["y"] = torch.tensor(self.labels[source])
        for name, value in zip(self.info.factors, self.attribute_rows[source] if self.attributes else ()):
            item[name] = torch.tensor(value, dtype=torch.float32 if isinstance(value, float) else torch.long)
        return item


def find_archive(root: Path) -> tuple[Path, str] | None:
    """(the .zip file, the folder inside it) when ``root`` is a zip archive or a path into one."""
    for candidate in (root, *root.parents):
        if candidate.suffix.lower() == ".zip" and candidate.is_file():
            return candidate, root.relative_to(candidate).as_posix()
    return None


def build(params, ctx) -> ImageFolder:
    return ImageFolder(params, params.seed if params.seed is not None else ctx.seed)
