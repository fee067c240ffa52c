"""Finding image files on disk, leaving out the unreadable ones, and fingerprinting them: shared
by every adapter that reads image files (``image-folder`` and the translation folders)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from ganforge.data.images import UnreadableImage, probe_image
from ganforge.errors import DataError
from ganforge.files import file_sha256

Entry = TypeVar("Entry", Path, tuple)


def list_images(root: Path, extensions: Sequence[str]) -> list[Path]:
    """The files under ``root`` (recursively, sorted) with one of ``extensions``."""
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist; point the recipe at a folder of images")
    wanted = {e.lower() for e in extensions}
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in wanted and p.is_file())
    if not files:
        raise DataError(f"no images ({', '.join(sorted(wanted))}) found under {root}")
    return files


def readable_images(entries: Sequence[Entry], on_error: str, where: Path, *,
                    probe: Callable[[Path], object] = probe_image,
                    keep: int | None = None) -> tuple[list[Entry], list[UnreadableImage]]:
    """The entries (files, or tuples of files such as pairs) whose every file's header reads,
    up to ``keep`` of them, and the errors of those that do not. Unreadable files raise one
    :class:`DataError` naming them with ``on_error: raise``, or are left out with one warning
    with ``skip``."""
    good: list[Entry] = []
    bad: list[UnreadableImage] = []
    for entry in entries:
        if keep is not None and len(good) >= keep:
            break
        try:
            for file in entry if isinstance(entry, tuple) else (entry,):
                probe(file)
            good.append(entry)
        except UnreadableImage as exc:
            bad.append(exc)
    if bad and on_error == "raise":
        if len(bad) == 1:
            raise bad[0]
        raise DataError(f"cannot read {len(bad)} image files under {where}: {listing(bad, where)}. Remove or replace "
                        "them, or set data.on_error: skip to leave unreadable files out")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) under {where} (data.on_error: skip): "
                      f"{listing(bad, where)}", stacklevel=3)
    if not good:
        raise DataError(f"none of the {len(bad)} image files under {where} can be read: {listing(bad, where)}")
    return good, bad


def listing(errors: Sequence[UnreadableImage], where: Path, shown: int = 5) -> str:
    """``name (reason); ...`` for the first ``shown`` unreadable files."""
    names = [f"{relative(exc.path, where)} ({exc.reason})" for exc in errors[:shown]]
    return "; ".join(names) + (f"; and {len(errors) - shown} more" if len(errors) > shown else "")


def relative(file: Path, root: Path) -> Path:
    return file.relative_to(root) if file.is_relative_to(root) else file


def files_fingerprint(files: Sequence[Path], root: Path) -> str:
    """A hash of each file's name (relative to ``root``) and bytes: any added, removed or
    rewritten image changes it."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{relative(file, root)}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()
