"""Atomic file writes: a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ganforge.errors import RunFolderError


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


UMASK = _umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` through a synced temporary file renamed into place, with the permissions a
    plain ``open(path, "w")`` would give it (the temporary file's private 0600 is not kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~UMASK)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def writing(what: str, folder: Path, needed: int | None = None) -> Iterator[None]:
    """Turn a full disk or a refused write into an error that says what to do (and, with
    ``needed``, how many bytes the write takes)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            room = ""
            if needed:
                import shutil

                try:
                    free = shutil.disk_usage(folder).free
                except OSError:
                    free = 0
                room = f"; it needs about {needed / 2**20:.1f} MiB and {free / 2**20:.1f} MiB are free"
            raise RunFolderError(
                f"the disk is full: could not write {what} in {folder} ({exc.strerror}{room}). Free some space (old "
                "runs, checkpoints; train.keep_checkpoints keeps fewer) or move the run with --set output.dir=..., "
                "then continue with --resume: the checkpoints written before are intact.") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise RunFolderError(
                f"cannot write {what} in {folder} ({exc.strerror}). Make the folder writable or choose another with "
                "--set output.dir=..., then continue with --resume.") from None
        raise
