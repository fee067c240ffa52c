"""A suite's results store: one JSON line per finished (run, seed), appended under a lock by
whatever trained it (this machine, another, a cluster node), so a protocol too long for one
machine's day is finished over several and its numbers travel with the repository.

A row is reused while its run, seed, evaluator settings and the hash of what the run computes
(the resolved recipe without its name, where and how verbosely it writes, and its evaluation
settings, none of which change the weights) are those of the suite today.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from ganforge.errors import GanforgeError

NOT_COMPUTING = (("name",), ("output",), ("train", "progress"), ("train", "workers"), ("train", "sync_batch_norm"),
                 ("eval",))
"""Recipe settings that do not change the weights a suite's run computes (each run is one
process: how batch norm would synchronise ranks does not apply; loader workers change no number)."""


def training_sha256(resolved: dict[str, Any]) -> str:
    """Hash of what a resolved recipe computes: ``NOT_COMPUTING`` left out."""
    kept = json.loads(json.dumps(resolved))
    for path in NOT_COMPUTING:
        node = kept
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


class ResultsStore:
    """An append-only JSON-lines file of finished runs, safe under concurrent writers."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def rows(self) -> list[dict[str, Any]]:
        """Every complete row; a torn last line (a writer killed mid-line) is skipped."""
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and {"run", "seed", "training_sha256", "metrics"} <= set(row):
                rows.append(row)
        return rows

    def find(self, run: str, seed: int, sha256: str, evaluators: list[Any]) -> dict[str, Any] | None:
        """The newest row of this run and seed trained from ``sha256`` and scored by ``evaluators``."""
        matches = [row for row in self.rows() if row["run"] == run and row["seed"] == seed
                   and row["training_sha256"] == sha256 and row.get("evaluators") == evaluators]
        return matches[-1] if matches else None

    def append(self, row: dict[str, Any]) -> None:
        """Add ``row`` as one line: the file is locked for the write (POSIX locks hold on network
        filesystems too) and synced before the lock is released."""
        line = json.dumps(row, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked() as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() and not self._ends_with_newline(handle):
                handle.write("\n")  # a torn line from a killed writer stays alone on its line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def _locked(self) -> Iterator[Any]:
        from contextlib import contextmanager

        @contextmanager
        def lock() -> Iterator[Any]:
            try:
                handle = open(self.path, "a+", encoding="utf-8")
            except OSError as exc:
                raise GanforgeError(f"cannot write the results store {self.path} ({exc.strerror}); choose another "
                                    "with --store, or make its folder writable") from None
            with handle:
                fcntl.lockf(handle, fcntl.LOCK_EX)
                try:
                    yield handle
                finally:
                    fcntl.lockf(handle, fcntl.LOCK_UN)

        return lock()

    @staticmethod
    def _ends_with_newline(handle: Any) -> bool:
        handle.seek(handle.tell() - 1)
        last = handle.read(1)
        handle.seek(0, os.SEEK_END)
        return last == "\n"
