"""A suite's results store: one JSON line per finished (run, seed), appended under a lock by
whatever trained it (this machine, another, a cluster node), so a protocol too long for one
machine's day is finished over several and its numbers travel with the repository.

A row is reused while its run, seed, evaluator settings and the hash of what the run computes
(the resolved recipe without its name, where and how verbosely it writes, and its evaluation
settings, none of which change the weights) are those of the suite today. Paths in both are
compared relative to the store's folder, so a clone elsewhere finds the same rows.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from ganforge.errors import GanforgeError
from ganforge.recipe.later import without_later_defaults

NOT_COMPUTING = (("name",), ("output",), ("train", "progress"), ("train", "workers"), ("train", "sync_batch_norm"),
                 ("eval",))
"""Recipe settings that do not change the weights a suite's run computes (each run is one
process: how batch norm would synchronise ranks does not apply; loader workers change no number)."""


def portable(value: Any, root: Path) -> Any:
    """``value`` with every absolute path made relative to ``root``, so a store committed with
    the files it names keys the same runs in every clone (``/home/a/repo/../data/x.npz`` and
    ``/ci/repo/../data/x.npz`` are both ``../data/x.npz`` from the repository)."""
    if isinstance(value, dict):
        return {key: portable(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [portable(item, root) for item in value]
    if isinstance(value, str) and value.startswith("/"):
        return os.path.relpath(value, root)
    return value


def training_sha256(resolved: dict[str, Any], root: Path | None = None) -> str:
    """Hash of what a resolved recipe computes: ``NOT_COMPUTING`` left out, settings added later
    left out at their old defaults, and absolute paths taken relative to ``root`` when given (see
    :func:`portable`)."""
    kept = without_later_defaults(json.loads(json.dumps(resolved if root is None else portable(resolved, root))))
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

    @property
    def root(self) -> Path:
        """The folder that the paths in this store's keys are relative to: the store's own."""
        return self.path.resolve().parent

    def find(self, run: str, seed: int, sha256: str, evaluators: list[Any]) -> dict[str, Any] | None:
        """The newest row of this run and seed trained from ``sha256`` and scored by ``evaluators``
        (compared with their paths relative to :attr:`root`)."""
        evaluators = portable(evaluators, self.root)
        matches = [row for row in self.rows() if row["run"] == run and row["seed"] == seed
                   and row["training_sha256"] == sha256 and portable(row.get("evaluators"), self.root) == evaluators]
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
